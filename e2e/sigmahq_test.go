package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// sigmaHQHost finds a record's case in its computer name (rendered by
// internal/tools/render_sigmahq.py).
var sigmaHQHost = regexp.MustCompile(`(c\d{3})-\d+\.sigmahq\.test`)

// TestSigmaHQRegressionThroughTheCollector: SigmaHQ's process_creation
// rules that have regression data, loaded by the built collector from a
// rules directory, each fire on its own recorded sample as often as its
// test says, read by file_log as the receiver's map and as raw XML.
func TestSigmaHQRegressionThroughTheCollector(t *testing.T) {
	dir := collectortest.RepoPath(t, "testdata", "sigmahq")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	require.NoError(t, err)
	var doc struct {
		Cases []struct {
			Case       string `json:"case"`
			Name       string `json:"name"`
			RuleID     string `json:"rule_id"`
			MatchCount int    `json:"match_count"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Cases, 130)

	sink := newOTLPSink(t)
	port := collectortest.FreePort(t)
	p := func(file string) string { return collectortest.YAMLPath(filepath.Join(dir, file)) }
	cfg := collectortest.WriteFile(t, "config.yaml", fmt.Sprintf(`receivers:
  file_log/map:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
  file_log/xml:
    include: [%s]
    start_at: beginning
processors:
  dcomdetection:
    sigma:
      rules: [%s]
exporters:
  otlp_http:
    endpoint: %s
service:
  telemetry:
    metrics:
      level: normal
%s
  pipelines:
    logs:
      receivers: [file_log/map, file_log/xml]
      processors: [dcomdetection]
      exporters: [otlp_http]
`, p("map.jsonl"), p("events.xml"), p("rules"), sink.server.URL, collectortest.PrometheusReaders(port)))
	col := startCollector(t, cfg)
	const events = 139
	sink.waitRecords(t, col, 2*events, time.Second)

	fired := map[string]map[string]int{} // shape/case -> rule id -> records
	for _, lr := range sink.all() {
		shape := "map"
		if lr.Body().Type() == pcommon.ValueTypeStr {
			shape = "xml"
		}
		m := sigmaHQHost.FindStringSubmatch(lr.Body().AsString())
		require.NotNil(t, m, "%.200s", lr.Body().AsString())
		key := shape + "/" + m[1]
		if fired[key] == nil {
			fired[key] = map[string]int{}
		}
		if ids, ok := lr.Attributes().Get("dcom.sigma.rule_ids"); ok {
			for _, id := range ids.Slice().AsRaw() {
				fired[key][id.(string)]++
			}
		}
	}
	assert.Equal(t, 2*events, sink.count(), "every record once")
	matches, sigmaVerdicts := 0, 0
	for _, lr := range sink.all() {
		if ids, ok := lr.Attributes().Get("dcom.sigma.rule_ids"); ok {
			matches += ids.Slice().Len()
			if v, _ := lr.Attributes().Get("security_rule.ruleset.name"); v.Str() == "sigma" {
				sigmaVerdicts++
			}
		}
	}

	// The metrics of the rules: all loaded, none rejected, matches by rule
	// and Sigma detections as the records carry them.
	series := collectortest.Scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	rules := collectortest.SeriesOf(series, "otelcol_processor_dcomdetection_sigma_rules")
	assert.InDelta(t, 130, rules[`{state="loaded"}`], 0, "rules loaded: %v", rules)
	assert.InDelta(t, 0, rules[`{state="rejected_unsupported"}`], 0)
	assert.InDelta(t, 0, rules[`{state="rejected_invalid"}`], 0)
	assert.InDelta(t, float64(matches), collectortest.Sum(series, "otelcol_processor_dcomdetection_sigma_matches"), 0)
	assert.InDelta(t, float64(sigmaVerdicts), collectortest.SeriesOf(series, "otelcol_processor_dcomdetection_detections")[`{pattern="sigma"}`], 0)
	assert.Positive(t, sigmaVerdicts)
	for _, shape := range []string{"map", "xml"} {
		passed := 0
		for _, c := range doc.Cases {
			got := fired[shape+"/"+c.Case][c.RuleID]
			if assert.Equal(t, c.MatchCount, got, "%s %s %s", shape, c.Case, c.Name) {
				passed++
			}
		}
		t.Logf("%s: %d of %d SigmaHQ regression cases pass", shape, passed, len(doc.Cases))
	}
}

// TestSigmaRejectionsThroughTheCollector: the built collector starts with
// a rules directory that holds a broken file and a rule of another
// logsource beside the shipped pack; each rejection is logged once with
// its file (and the broken file's line), the rest loads and runs.
func TestSigmaRejectionsThroughTheCollector(t *testing.T) {
	dir := t.TempDir()
	pack := collectortest.RepoPath(t, "sigma", "windows", "process_creation")
	entries, err := os.ReadDir(pack)
	require.NoError(t, err)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(pack, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yml"), []byte("title: broken\ndetection:\n  s: [\n    x\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "network.yml"), []byte("title: RPC endpoint mapper\nid: 0e3f0e6c-0000-4000-8000-000000000135\n"+
		"logsource:\n  category: network_connection\n  product: windows\ndetection:\n  s:\n    DestinationPort: 135\n  condition: s\n"), 0o600))

	sink := newOTLPSink(t)
	cfg := collectortest.WriteFile(t, "config.yaml", fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
processors:
  dcomdetection:
    sigma:
      rules: [%s]
exporters:
  otlp_http:
    endpoint: %s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [dcomdetection]
      exporters: [otlp_http]
`, collectortest.FreePort(t), collectortest.YAMLPath(dir), sink.server.URL))
	col := startCollector(t, cfg)
	col.WaitOutput(t, "Everything is ready", recordWait)
	out := col.Output()
	assert.Equal(t, 2, strings.Count(out, "Sigma rule rejected"), "each rejection logged once")
	assert.Regexp(t, `Sigma rule rejected.*broken\.yml.*"line": [1-9].*"kind": "invalid"`, out)
	assert.Regexp(t, `Sigma rule rejected.*network\.yml.*"rule_id": "0e3f0e6c-0000-4000-8000-000000000135".*"kind": "unsupported".*network_connection`, out)
	assert.Regexp(t, `Sigma rules loaded.*"files": 8, "rules": 6, "rejected_unsupported": 1, "rejected_invalid": 1`, out)
}
