package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// metricsEnv moves the shipped configs' Prometheus endpoint off 8888.
const metricsEnv = "OTELCOL_METRICS_PORT"

// metricName finds the collector's metric names in the documentation; a
// name ending in "_" is a prefix ("otelcol_processor_dcomdetection_correlation_*").
var metricName = regexp.MustCompile(`otelcol_[a-z0-9_]+`)

// documentedMetrics returns every otelcol_* name the READMEs and docs/
// mention, with the files that mention it.
func documentedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	files := []string{
		collectortest.RepoPath(t, "README.md"),
		collectortest.RepoPath(t, "exporter", "sumologicexporter", "README.md"),
		collectortest.RepoPath(t, "receiver", "windowseventlogreceiver", "README.md"),
	}
	docs, err := filepath.Glob(collectortest.RepoPath(t, "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, docs...)
	names := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, _ := filepath.Rel(collectortest.RepoPath(t), f)
		for _, n := range metricName.FindAllString(string(raw), -1) {
			if len(names[n]) == 0 || names[n][len(names[n])-1] != rel {
				names[n] = append(names[n], rel)
			}
		}
	}
	return names
}

// TestMetricsScrape runs config/demo.yaml as shipped, with its Prometheus
// endpoint on a free port, plus a pipeline into two sumologic exporters
// that cannot deliver: one to a closed port without retries (its records
// fail), one whose queue holds a single record (its batches are refused).
// The scrape must hold the processor's own metrics, the exporters' sent,
// failed and refused counts, and every metric the documentation names,
// under that name.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	demoDir := collectortest.RepoPath(t, "testdata", "demo")
	output := filepath.Join(t.TempDir(), "demo-detections.json")
	port := collectortest.FreePort(t)
	closed := fmt.Sprintf("http://127.0.0.1:%d/receiver/v1/http/not-listening", collectortest.FreePort(t))
	extra := collectortest.WriteFile(t, "sumo.yaml", fmt.Sprintf(`exporters:
  sumologic/refused:
    endpoint: %[1]s
    log_format: text
    retry_on_failure:
      enabled: false
  sumologic/full:
    endpoint: %[1]s
    log_format: text
    sending_queue:
      sizer: items
      queue_size: 1
service:
  pipelines:
    logs/sumo:
      receivers: [file_log/xml, file_log/json]
      processors: [dcomdetection]
      exporters: [sumologic/refused, sumologic/full]
`, closed))
	col := collectortest.Start(t, collectortest.Options{
		Name: "collector", StopWait: stopWait, TailLines: 60, ExtraConfigs: []string{extra},
	}, collectortest.RepoPath(t, "config", "demo.yaml"),
		"DEMO_EVENTS_DIR="+demoDir, "DEMO_OUTPUT="+output, fmt.Sprintf("%s=%d", metricsEnv, port))

	waitFileRecords(t, col, output, len(readDemoExpected(t)))
	deadline := time.Now().Add(recordWait)
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	// The sumologic exporters see the same records; wait for their counts.
	var series map[string]float64
	for {
		series = collectortest.Scrape(t, url)
		failed := collectortest.SeriesOf(series, "otelcol_exporter_send_failed_log_records")[`{exporter="sumologic/refused"}`]
		refused := collectortest.SeriesOf(series, "otelcol_exporter_enqueue_failed_log_records")[`{exporter="sumologic/full"}`]
		if failed > 0 && refused > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the sumologic exporters' failed (%v) and refused (%v) counts", failed, refused)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The processor's own metrics: records seen, detections by pattern
	// (every pattern has a series, 0 until it fires), correlation state.
	assert.Positive(t, series["otelcol_processor_dcomdetection_records_inspected"], "records inspected")
	detections := collectortest.SeriesOf(series, "otelcol_processor_dcomdetection_detections")
	patterns := []string{
		"COM_SuspiciousChild", "DCOM_ServerActivation", "DCOM_SourceInvocation", "DCOM_CommandLineRef",
		"DCOM_ConfigTool", "DCOM_ServerChild", "DCOM_ShellWindows", "COM_LocalAutomation",
	}
	for _, pattern := range patterns {
		assert.Contains(t, detections, `{pattern="`+pattern+`"}`, "detections of %s", pattern)
	}
	assert.Positive(t, collectortest.Sum(series, "otelcol_processor_dcomdetection_detections"), "detections")
	assert.Contains(t, series, `otelcol_processor_dcomdetection_records_unreadable`)
	assert.Positive(t, series["otelcol_processor_dcomdetection_correlation_hosts"], "hosts in the correlation state")
	assert.Contains(t, series, "otelcol_processor_dcomdetection_correlation_entries")

	// The exporters: sent and failed counts of every exporter, the
	// sumologic exporter's requests by outcome.
	sent := collectortest.SeriesOf(series, "otelcol_exporter_sent_log_records")
	assert.Positive(t, sent[`{exporter="file/annotated"}`], "records the file exporter sent")
	assert.Contains(t, sent, `{exporter="sumologic/refused"}`)
	sumo := collectortest.SeriesOf(series, "otelcol_exporter_sumologic_records")
	for _, outcome := range []string{"success", "permanent_failure", "retryable_failure"} {
		assert.Contains(t, sumo, `{outcome="`+outcome+`"}`, "sumologic records, outcome %s", outcome)
	}
	assert.Positive(t, sumo[`{outcome="retryable_failure"}`], "records the closed port refused")

	// Every name the documentation gives is a metric of the scrape (or, for a
	// prefix, the start of one).
	documented := documentedMetrics(t)
	require.NotEmpty(t, documented)
	names := map[string]bool{}
	for s := range series {
		names[strings.SplitN(s, "{", 2)[0]] = true
	}
	var missing []string
	for name, files := range documented {
		if strings.HasPrefix(name, "otelcol_kafka_") {
			continue // the Kafka components' own: TestKafkaTier scrapes the tier's collectors for them
		}
		if strings.HasPrefix(name, "otelcol_processor_dcomdetection_sigma_") {
			continue // only with Sigma rules loaded: TestSigmaHQRegressionThroughTheCollector scrapes them
		}
		found := names[name]
		if strings.HasSuffix(name, "_") {
			for n := range names {
				found = found || strings.HasPrefix(n, name)
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (%s)", name, strings.Join(files, ", ")))
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "documented metrics that the scrape does not have")
	t.Logf("%d documented metric names, %d of them missing, in a scrape of %d series", len(documented), len(missing), len(series))
}
