package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

var xmlRecordID = regexp.MustCompile(`<EventRecordID>(\d+)</EventRecordID>`)

// TestDemo runs config/demo.yaml (what `make run` runs) on the sample events
// and checks both outputs: the OTLP JSON file holds every record with the
// detections of testdata/demo/expected.json, and stdout holds one summary
// line per detection.
func TestDemo(t *testing.T) {
	t.Parallel()
	demoDir := collectortest.RepoPath(t, "testdata", "demo")
	expected := readDemoExpected(t)
	wantDetections := 0
	for _, p := range expected {
		if p != none {
			wantDetections++
		}
	}
	require.Positive(t, wantDetections)

	output := filepath.Join(t.TempDir(), "demo-detections.json")
	col := startCollector(t, collectortest.RepoPath(t, "config", "demo.yaml"),
		"DEMO_EVENTS_DIR="+demoDir, "DEMO_OUTPUT="+output, "OTELCOL_METRICS_PORT=0")

	records := waitFileRecords(t, col, output, len(expected))
	require.Len(t, records, len(expected))

	got := map[string]string{}
	for _, lr := range records {
		id := demoRecordID(lr)
		require.NotEmpty(t, id, "record without a record id: %.200s", lr.Body().AsString())
		pattern := none
		if v, ok := lr.Attributes().Get(attrDetectionPattern); ok {
			pattern = v.Str()
		}
		got[id] = pattern
	}
	assert.Equal(t, expected, got)

	// The console pipeline prints one line per detection.
	deadline := time.Now().Add(recordWait)
	for strings.Count(col.Output(), "DETECTION | ") < wantDetections && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	out := col.Output()
	assert.Equal(t, wantDetections, strings.Count(out, "DETECTION | "), "summary lines on stdout:\n%s", out)
	for _, p := range expected {
		if p != none {
			assert.Contains(t, out, "DETECTION | "+p+" | severity=")
		}
	}
}

// waitFileRecords waits until the file exporter has written at least n
// records to path and returns them; it fails the test if the collector
// exits first or recordWait passes.
func waitFileRecords(t *testing.T, col *collectortest.Collector, path string, n int) []plog.LogRecord {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	for {
		records := readOTLPJSONFile(t, path)
		if len(records) >= n {
			return records
		}
		if col.Exited() {
			t.Fatalf("collector exited early (%v) with %d of %d records written", col.Err(), len(records), n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %d of %d records written", recordWait, len(records), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readDemoExpected reads testdata/demo/expected.json: record id to pattern
// or "none".
func readDemoExpected(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(collectortest.RepoPath(t, "testdata", "demo", "expected.json"))
	require.NoError(t, err)
	var expected map[string]string
	require.NoError(t, json.Unmarshal(raw, &expected))
	return expected
}

// readOTLPJSONFile reads the file exporter's output: one OTLP JSON request
// per line. A missing file or a partly written last line count as not yet
// written.
func readOTLPJSONFile(t *testing.T, path string) []plog.LogRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []plog.LogRecord
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return out // the exporter is still writing this line
		}
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr)
				}
			}
		}
	}
	return out
}

// demoRecordID returns the event record id of a demo record, from the raw
// XML or the receiver map body.
func demoRecordID(lr plog.LogRecord) string {
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeStr:
		if m := xmlRecordID.FindStringSubmatch(body.Str()); m != nil {
			return m[1]
		}
	case pcommon.ValueTypeMap:
		if v, ok := body.Map().Get("record_id"); ok {
			switch v.Type() {
			case pcommon.ValueTypeDouble:
				return strconv.FormatInt(int64(v.Double()), 10)
			case pcommon.ValueTypeInt:
				return strconv.FormatInt(v.Int(), 10)
			default:
				return fmt.Sprint(v.AsRaw())
			}
		}
	default:
	}
	return ""
}
