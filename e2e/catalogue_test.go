package e2e

import (
	"encoding/json"
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
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

const (
	attrFileName         = "log.file.name"
	attrDetectionPattern = "DetectionPattern"
	flatMessage          = "A new process has been created."
	none                 = "none"
)

// idPattern finds the catalogue id in any rendering of an event: every
// fixture's computer name is <id>.catalogue.test.
var idPattern = regexp.MustCompile(`\b([A-Z]\d{2})\.catalogue\.test\b`)

// shapeSpec is one way the catalogue reaches the processor. The test config
// reads each file with the receiver named here; a received record is matched
// to its shape by file name and body.
type shapeSpec struct {
	name     string
	file     string
	receiver string // file_log/parsed: JSON into the body; file_log/text: string body; file_log/attrs: JSON into attributes
}

var shapes = []shapeSpec{
	{"receiver map body", "map.jsonl", "parsed"},
	{"receiver array body", "array.jsonl", "parsed"},
	{"flat map body", "flat.jsonl", "parsed"},
	{"winlogbeat map body", "winlogbeat.jsonl", "parsed"},
	{"raw XML string body", "events.xml", "text"},
	{"JSON string body", "flat.jsonl", "text"},
	{"flat attributes", "flat.jsonl", "attrs"},
}

// shapeOf tells which shape a received record came in.
func shapeOf(lr plog.LogRecord) (shapeSpec, bool) {
	fileAttr, _ := lr.Attributes().Get(attrFileName)
	file := fileAttr.Str()
	receiver := "parsed"
	if lr.Body().Type() == pcommon.ValueTypeStr {
		receiver = "text"
		if lr.Body().Str() == flatMessage {
			receiver = "attrs"
		}
	}
	for _, s := range shapes {
		if s.file == file && s.receiver == receiver {
			return s, true
		}
	}
	return shapeSpec{}, false
}

// catalogue holds the fixtures and their expected verdicts.
type catalogue struct {
	dir      string
	expected map[string]map[string]string // id -> profile -> pattern or "none"
	lines    map[string]map[string]string // file -> id -> line
	ids      []string
}

func loadCatalogue(t *testing.T) *catalogue {
	t.Helper()
	c := &catalogue{dir: collectortest.RepoPath(t, "testdata", "catalogue"), lines: map[string]map[string]string{}}
	raw, err := os.ReadFile(filepath.Join(c.dir, "expected.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &c.expected))
	for id := range c.expected {
		c.ids = append(c.ids, id)
	}
	sort.Strings(c.ids)
	for _, s := range shapes {
		if c.lines[s.file] != nil {
			continue
		}
		byID := map[string]string{}
		for _, line := range streamtest.MustLines(t, filepath.Join(c.dir, s.file)) {
			m := idPattern.FindStringSubmatch(line)
			require.NotNil(t, m, "%s: line without a catalogue id: %.80s", s.file, line)
			byID[m[1]] = line
		}
		require.Len(t, byID, len(c.expected), "%s: one line per catalogue id", s.file)
		c.lines[s.file] = byID
	}
	return c
}

// detections counts the ids whose expected pattern for profile is not "none".
func (c *catalogue) detections(profile string) int {
	n := 0
	for _, id := range c.ids {
		if c.expected[id][profile] != none {
			n++
		}
	}
	return n
}

// pipelineConfig reads every fixture shape with file_log, runs dcomdetection
// with the given settings and exports over OTLP/HTTP (gzip) to endpoint.
func (c *catalogue) pipelineConfig(processorSettings, endpoint string) string {
	p := func(file string) string { return collectortest.YAMLPath(filepath.Join(c.dir, file)) }
	return fmt.Sprintf(`receivers:
  file_log/parsed:
    include: [%s, %s, %s, %s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
  file_log/text:
    include: [%s, %s]
    start_at: beginning
  file_log/attrs:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
      - type: add
        field: body
        value: %q
processors:
  dcomdetection:
%s
exporters:
  otlp_http:
    endpoint: %s
    compression: gzip
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_log/parsed, file_log/text, file_log/attrs]
      processors: [dcomdetection]
      exporters: [otlp_http]
`, p("map.jsonl"), p("array.jsonl"), p("flat.jsonl"), p("winlogbeat.jsonl"),
		p("events.xml"), p("flat.jsonl"), p("flat.jsonl"), flatMessage, processorSettings, endpoint)
}

// wantMITRE are the ATT&CK attributes of every detection.
var wantMITRE = map[string]string{
	"threat.framework":                 "MITRE ATT&CK",
	"threat.tactic.id":                 "TA0008",
	"threat.tactic.name":               "Lateral Movement",
	"threat.technique.id":              "T1021",
	"threat.technique.name":            "Remote Services",
	"threat.technique.subtechnique.id": "T1021.003",
	"event.kind":                       "alert",
}

// runCatalogue runs the catalogue through the collector and checks every
// record. With dropUnmatched only the detections must arrive.
func runCatalogue(t *testing.T, profile string, dropUnmatched bool) {
	cat := loadCatalogue(t)
	sink := newOTLPSink(t)
	settings := "    profile: " + profile
	if dropUnmatched {
		settings += "\n    drop_unmatched: true"
	}
	cfg := collectortest.WriteFile(t, "config.yaml", cat.pipelineConfig(settings, sink.server.URL))
	col := startCollector(t, cfg)

	perShape := len(cat.ids)
	if dropUnmatched {
		perShape = cat.detections(profile)
	}
	want := perShape * len(shapes)
	// Wait a little longer than needed, so that duplicates or (with
	// drop_unmatched) stray non-detections would be seen too.
	sink.waitRecords(t, col, want, 1500*time.Millisecond)

	seen := map[string]int{}
	var problems []string
	detected := map[string]int{}
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, lr := range sink.all() {
		shape, ok := shapeOf(lr)
		if !ok {
			problem("record of unknown shape: body %.100s", lr.Body().AsString())
			continue
		}
		id := recordID(lr)
		if id == "" {
			problem("%s: record without a catalogue id: %.100s", shape.name, lr.Body().AsString())
			continue
		}
		seen[shape.name+"/"+id]++
		wantPattern := cat.expected[id][profile]
		checkRecord(lr, shape, cat.lines[shape.file][id], wantPattern, profile, func(msg string) {
			problem("%s %s (want %s): %s", shape.name, id, wantPattern, msg)
		})
		if _, ok := lr.Attributes().Get(attrDetectionPattern); ok {
			detected[shape.name]++
		}
	}
	for _, s := range shapes {
		for _, id := range cat.ids {
			if dropUnmatched && cat.expected[id][profile] == none {
				if n := seen[s.name+"/"+id]; n != 0 {
					problem("%s %s: non-detection arrived %d time(s) despite drop_unmatched", s.name, id, n)
				}
				continue
			}
			if n := seen[s.name+"/"+id]; n != 1 {
				problem("%s %s: arrived %d times, want once", s.name, id, n)
			}
		}
		t.Logf("%-22s %d detections of %d expected", s.name, detected[s.name], cat.detections(profile))
	}
	assert.Equal(t, want, sink.count(), "records received")
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 40 {
			problems = append(problems[:40], fmt.Sprintf("... and %d more", len(problems)-40))
		}
		t.Errorf("%d problem(s):\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// recordID finds the catalogue id in the record's body or attributes.
func recordID(lr plog.LogRecord) string {
	if m := idPattern.FindStringSubmatch(lr.Body().AsString()); m != nil {
		return m[1]
	}
	for _, key := range []string{"Hostname", "host.name"} {
		if v, ok := lr.Attributes().Get(key); ok {
			if m := idPattern.FindStringSubmatch(v.AsString()); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// checkRecord checks one received record against its input line: the body is
// always unchanged; a detection carries the pattern and MITRE attributes; any
// other record carries exactly the attributes it was read with.
func checkRecord(lr plog.LogRecord, shape shapeSpec, line, wantPattern, profile string, fail func(string)) {
	// The body.
	switch shape.receiver {
	case "text":
		if lr.Body().Str() != line {
			fail(fmt.Sprintf("body changed: got %.120s", lr.Body().Str()))
		}
	case "attrs":
		// checked above by shapeOf
	default:
		want, err := jsonMap(line)
		if err != nil {
			fail(err.Error())
		} else if !assert.ObjectsAreEqual(want.AsRaw(), lr.Body().Map().AsRaw()) {
			fail(fmt.Sprintf("body changed: got %.200s", lr.Body().AsString()))
		}
	}
	// The attributes the record was read with.
	inputAttrs := pcommon.NewMap()
	if shape.receiver == "attrs" {
		m, err := jsonMap(line)
		if err != nil {
			fail(err.Error())
			return
		}
		m.CopyTo(inputAttrs)
	}
	inputAttrs.PutStr(attrFileName, shape.file)
	attrs := lr.Attributes()
	for k, v := range inputAttrs.All() {
		got, ok := attrs.Get(k)
		if !ok || !got.Equal(v) {
			fail(fmt.Sprintf("input attribute %s changed or missing: %q", k, got.AsString()))
		}
	}

	got, isDetection := attrs.Get(attrDetectionPattern)
	if wantPattern == none {
		if isDetection {
			fail("unexpected detection " + got.Str())
		}
		if attrs.Len() != inputAttrs.Len() {
			fail(fmt.Sprintf("non-detection gained attributes: %v", attrs.AsRaw()))
		}
		return
	}
	if !isDetection {
		fail("no DetectionPattern attribute")
		return
	}
	if got.Str() != wantPattern {
		fail("DetectionPattern " + got.Str())
	}
	want := map[string]string{"security_rule.name": wantPattern, "dcom.detection.profile": profile}
	for k, v := range wantMITRE {
		want[k] = v
	}
	for k, v := range want {
		if a, ok := attrs.Get(k); !ok || a.Str() != v {
			fail(fmt.Sprintf("attribute %s = %q, want %q", k, a.AsString(), v))
		}
	}
}

// jsonMap parses a JSON line as the json_parser operator does (numbers as
// doubles).
func jsonMap(line string) (pcommon.Map, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		return pcommon.Map{}, fmt.Errorf("fixture line is not JSON: %w", err)
	}
	m := pcommon.NewMap()
	if err := m.FromRaw(raw); err != nil {
		return pcommon.Map{}, err
	}
	return m, nil
}

// TestCatalogueExtended sends every fixture shape through the collector with
// the default profile and checks every record: detections annotated with the
// expected pattern and ATT&CK attributes, everything else untouched.
func TestCatalogueExtended(t *testing.T) {
	t.Parallel()
	runCatalogue(t, "extended", false)
}

// TestCatalogueDropUnmatched checks that with drop_unmatched only the
// expected detections leave the collector.
func TestCatalogueDropUnmatched(t *testing.T) {
	t.Parallel()
	runCatalogue(t, "extended", true)
}

// TestCatalogueSeed checks the seed profile against the seed expectations.
func TestCatalogueSeed(t *testing.T) {
	t.Parallel()
	runCatalogue(t, "seed", false)
}
