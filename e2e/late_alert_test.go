package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// httpSource stands in for a Sumo Logic HTTP Logs Source: it keeps every
// line of every request (log_format text, gzip) with its X-Sumo-Category.
type httpSource struct {
	server *httptest.Server
	mu     sync.Mutex
	lines  []sourceLine
	errs   []string
}

type sourceLine struct {
	category string
	text     string
}

func newHTTPSource(t *testing.T) *httpSource {
	t.Helper()
	s := &httpSource{}
	s.server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.server.Close)
	return s
}

func (s *httpSource) handle(w http.ResponseWriter, r *http.Request) {
	body, err := collectortest.RequestBody(r)
	if err != nil {
		s.fail(w, err.Error())
		return
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines []sourceLine
	for sc.Scan() {
		lines = append(lines, sourceLine{category: r.Header.Get("X-Sumo-Category"), text: sc.Text()})
	}
	if err := sc.Err(); err != nil {
		s.fail(w, err.Error())
		return
	}
	s.mu.Lock()
	s.lines = append(s.lines, lines...)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *httpSource) fail(w http.ResponseWriter, msg string) {
	s.mu.Lock()
	s.errs = append(s.errs, msg)
	s.mu.Unlock()
	w.WriteHeader(http.StatusBadRequest)
}

func (s *httpSource) snapshot() ([]sourceLine, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sourceLine(nil), s.lines...), append([]string(nil), s.errs...)
}

// shellWindowsStream is the recorded Empire ShellWindows attack: Sysmon and
// Security events of one host, whose joins cross the two logs.
const shellWindowsStream = "OTRF__Security-Datasets__datasets__atomic__windows__lateral_movement__host__empire_dcom_shellwindows_stager.stream.json"

// splitByChannel writes a recorded stream's Sysmon lines and its other
// (Security) lines to two files in dir, as two receivers read them; it
// returns their paths and the number of records.
func splitByChannel(t *testing.T, stream, dir string) (sysmonPath, securityPath string, records int) {
	t.Helper()
	data, err := os.ReadFile(collectortest.RepoPath(t, "testdata", "streams", stream))
	require.NoError(t, err)
	var sysmon, security strings.Builder
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, line := range lines {
		if strings.Contains(line, `"channel":"Microsoft-Windows-Sysmon/Operational"`) {
			sysmon.WriteString(line + "\n")
		} else {
			security.WriteString(line + "\n")
		}
	}
	sysmonPath, securityPath = filepath.Join(dir, "sysmon.jsonl"), filepath.Join(dir, "security.jsonl")
	require.NoError(t, os.WriteFile(sysmonPath, []byte(sysmon.String()), 0o600))
	require.NoError(t, os.WriteFile(securityPath, []byte(security.String()), 0o600))
	return sysmonPath, securityPath, len(lines)
}

// TestLateAlertsReachSumoAsTheWindowsEvent runs the recorded Empire
// ShellWindows stream through the built distribution with
// config/windows-edge.yaml as shipped (memory_limiter, dcomdetection with
// drop_unmatched, body_key and record_attributes: false, resource, batch,
// sumologic text with gzip), overlaid only where a Linux test must: two
// file_log receivers, one per channel, in place of the two windowseventlog
// receivers (each sets its channel's _sourceCategory, as a team that wants
// one category per channel would), storage and ports in the test's
// directory. Every correlation alert, late or not, must reach the HTTP
// Source as the Windows event Cloud SIEM maps (event_id, computer,
// event_data with the child's image and command line) with the verdict
// under dcom_detection, in a request with its own channel's category.
func TestLateAlertsReachSumoAsTheWindowsEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sysmonPath, securityPath, _ := splitByChannel(t, shellWindowsStream, dir)

	receiver := func(name, path, category string) string {
		return `  file_log/` + name + `:
    include: [` + collectortest.YAMLPath(path) + `]
    start_at: beginning
    resource:
      _sourceCategory: ` + category + `
    operators:
      - type: json_parser
        parse_to: body
`
	}
	overlay := collectortest.WriteFile(t, "overlay.yaml", edgeExtensions(t, dir)+`receivers:
`+receiver("sysmon", sysmonPath, "windows/sysmon")+receiver("security", securityPath, "windows/security")+`
service:
  pipelines:
    logs:
      receivers: [file_log/sysmon, file_log/security]
`)
	source := newHTTPSource(t)
	col := collectortest.Start(t, collectortest.Options{Name: "collector", StopWait: stopWait, TailLines: 60, ExtraConfigs: []string{overlay}},
		collectortest.RepoPath(t, "config", "windows-edge.yaml"),
		"SUMO_HTTP_SOURCE_URL="+source.server.URL+"/receiver/v1/http/dG9rZW4", "OTELCOL_METRICS_PORT=0")

	// The batch processor sends within 5 s; wait until the lines stop coming.
	deadline := time.Now().Add(60 * time.Second)
	last, stableSince := -1, time.Now()
	for time.Now().Before(deadline) {
		require.False(t, col.Exited(), "the collector exited:\n%s", collectortest.Tail(col.Output(), 40))
		lines, _ := source.snapshot()
		if len(lines) != last {
			last, stableSince = len(lines), time.Now()
		} else if last > 0 && time.Since(stableSince) > 7*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	lines, errs := source.snapshot()
	require.Empty(t, errs)
	require.NotEmpty(t, lines, "nothing reached the HTTP Source")

	var correlation, late int
	for _, l := range lines {
		var event map[string]any
		require.NoError(t, json.Unmarshal([]byte(l.text), &event), "a line is the body JSON: %.200s", l.text)
		verdict, ok := event["dcom_detection"].(map[string]any)
		require.True(t, ok, "every line is a detection with its verdict under dcom_detection: %.300s", l.text)
		channel, _ := event["channel"].(string)
		wantCategory := "windows/security"
		if channel == "Microsoft-Windows-Sysmon/Operational" {
			wantCategory = "windows/sysmon"
		}
		assert.Equal(t, wantCategory, l.category, "the category of its own channel: %.300s", l.text)
		id, _ := event["event_id"].(map[string]any)
		assert.NotNil(t, id["id"], "event_id: %.300s", l.text)
		assert.NotEmpty(t, event["computer"], "computer: %.300s", l.text)
		if _, ok := verdict["dcom.correlation.kinds"]; !ok {
			continue
		}
		if _, ok := verdict["DetectionPattern"]; !ok {
			continue // an enrichment of a detection that arrived before
		}
		correlation++
		if v, _ := verdict["dcom.correlation.late"].(bool); v {
			if late == 0 {
				t.Logf("a late alert as it arrives (X-Sumo-Category: %s):\n%s", l.category, l.text)
			}
			late++
		}
		ed, _ := event["event_data"].(map[string]any)
		image := ed["Image"]
		if image == nil {
			image = ed["NewProcessName"] // Security 4688
		}
		assert.NotEmpty(t, image, "event_data with the child's image: %.300s", l.text)
		assert.NotEmpty(t, ed["CommandLine"], "event_data with the child's command line: %.300s", l.text)
		assert.Equal(t, "T1021.003", verdict["threat.technique.subtechnique.id"])
	}
	t.Logf("%d lines, %d correlation alerts, %d of them late", len(lines), correlation, late)
	assert.Equal(t, 2, correlation, "the ShellWindows children (4688 and Sysmon 1 cmd.exe)")
	assert.Positive(t, late, "a late alert is among them")
}
