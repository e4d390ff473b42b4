package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// TestSecretsNeverPrinted: the HTTP Source URL (and an x-sumo-token header)
// are credentials. Whatever the binary prints (components, validate,
// print-config, a run that meets connection refused, 401 and 400 answers
// that quote the URL path, its own metrics, a bad config at start-up), the
// secrets never appear.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	unauthorized := newSumoEmulator(t, modeStatus)
	unauthorized.setModeStatus(modeStatus, http.StatusUnauthorized)
	rejecting := newSumoEmulator(t, modeStatus)
	rejecting.setModeStatus(modeStatus, http.StatusBadRequest)
	refusedToken, headerSecret := randomToken(t), randomToken(t)
	secrets := map[string]string{
		"401 endpoint token":       unauthorized.token,
		"400 endpoint token (env)": rejecting.token,
		"refused endpoint token":   refusedToken,
		"x-sumo-token header":      headerSecret,
	}
	env := []string{"SUMO_HTTP_SOURCE_URL=" + rejecting.url()}
	metricsPort := collectortest.FreePort(t)

	exporters := fmt.Sprintf(`exporters:
  sumologic/refused:
    endpoint: https://127.0.0.1:1/receiver/v1/http/%s
    log_format: text
    timeout: 5s
    sending_queue: {}
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
  sumologic/unauthorized:
    endpoint: %s
    log_format: text
    # It keeps answering 401: at shutdown the exporter retries until its
    # timeout, which must stay under the test's stopWait.
    timeout: 5s
    headers:
      x-sumo-token: %s
    sending_queue: {}
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 500ms
  sumologic/rejected:
    endpoint: ${env:SUMO_HTTP_SOURCE_URL}
    log_format: json
`, refusedToken, unauthorized.url(), headerSecret)
	cfgText := fmt.Sprintf(`receivers:
  file_log:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
processors:
  dcomdetection:
    drop_unmatched: true
%s
service:
  telemetry:
    logs:
      level: debug
      sampling:
        enabled: false
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [file_log]
      processors: [dcomdetection]
      exporters: [sumologic/refused, sumologic/unauthorized, sumologic/rejected]
`, collectortest.YAMLPath(collectortest.RepoPath(t, "testdata", "catalogue", "map.jsonl")), exporters, metricsPort)
	cfg := collectortest.WriteFile(t, "secrets.yaml", cfgText)

	outputs := map[string]string{}
	check := func(what, out string) {
		t.Helper()
		outputs[what] = out
		for name, s := range secrets {
			assert.NotContains(t, out, s, "%s printed the %s", what, name)
		}
	}

	code, out := collectortest.RunBinary(t, env, "components")
	require.Equal(t, 0, code, out)
	check("components", out)

	code, out = collectortest.RunBinary(t, env, "validate", "--config", cfg)
	require.Equal(t, 0, code, out)
	check("validate", out)

	code, out = collectortest.RunBinary(t, env, "print-config", "--config", cfg)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "[REDACTED]")
	check("print-config", out)
	// The control: --mode unredacted prints them, by design, and this test
	// would see it.
	code, out = collectortest.RunBinary(t, env, "print-config", "--mode", "unredacted", "--config", cfg)
	require.Equal(t, 0, code, out)
	for name, s := range secrets {
		assert.Contains(t, out, s, "print-config --mode unredacted should show the %s", name)
	}

	// A run that meets every error path.
	col := startCollector(t, "collector", cfg, env...)
	waitFor(t, col, "the 401 endpoint to be retried and the 400 endpoint to reject", func() bool {
		return unauthorized.snapshot().statuses["401"] >= 2 && rejecting.snapshot().statuses["400"] >= 1 &&
			strings.Contains(col.Output(), "connection refused")
	})
	metrics := scrapeMetrics(t, metricsPort)
	require.Contains(t, metrics, "otelcol_exporter_sumologic_requests", "the exporter's own metrics")
	check("internal metrics (Prometheus)", metrics)
	_, err := col.Terminate(stopWait)
	require.NoError(t, err)
	out = col.Output()
	for _, want := range []string{"connection refused", "HTTP 401 Unauthorized", "HTTP 400 Bad Request", "Sumo Logic rejected the request", "<redacted>"} {
		assertLogged(t, out, want, "the run never logged it")
	}
	check("run with connection refused, 401 and 400", out)

	// Bad configurations that hold the secrets: at start-up and in validate.
	for _, bad := range []struct{ name, override string }{
		{"unknown log_format", "exporters::sumologic/unauthorized::log_format: csv"},
		{"unparsable endpoint", "exporters::sumologic/refused::endpoint: 'http://127.0.0.1:1/receiver/v1/http/" + refusedToken + "%zz'"},
		{"endpoint not http", "exporters::sumologic/refused::endpoint: 'ftp://127.0.0.1/receiver/v1/http/" + refusedToken + "'"},
		{"unknown key", "exporters::sumologic/unauthorized::endpoint_url: 'http://127.0.0.1:1/receiver/v1/http/" + refusedToken + "'"},
	} {
		for _, cmd := range [][]string{{"--config", cfg}, {"validate", "--config", cfg}} {
			args := append(append([]string{}, cmd...), "--config", "yaml:"+bad.override)
			code, out := collectortest.RunBinary(t, env, args...)
			assert.NotEqual(t, 0, code, "%s %v accepted:\n%s", bad.name, cmd[0], out)
			assert.NotContains(t, out, "Everything is ready", "%s: the collector started", bad.name)
			check(bad.name+" ("+cmd[0]+")", out)
		}
	}
	if t.Failed() {
		for what, out := range outputs {
			t.Logf("%s:\n%s", what, collectortest.Tail(out, 30))
		}
	}
}

// scrapeMetrics reads the collector's Prometheus endpoint, waiting for the
// sumologic exporter's metrics to be there.
func scrapeMetrics(t *testing.T, port int) string {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	client := &http.Client{Timeout: 5 * time.Second}
	var body string
	waitFor(t, nil, "the collector's metrics", func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		body = string(raw)
		return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(body, "otelcol_exporter_sumologic_requests")
	})
	return body
}

// catalogueCommandLines returns every CommandLine and ParentCommandLine of
// the catalogue's map.jsonl that is long enough not to occur by chance, in
// the forms a log line can hold them: as is, and JSON-escaped (zap's
// encoders escape backslashes and quotes, not HTML).
func catalogueCommandLines(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, line := range streamtest.MustLines(t, collectortest.RepoPath(t, "testdata", "catalogue", "map.jsonl")) {
		var ev struct {
			EventData map[string]any `json:"event_data"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &ev))
		for _, key := range []string{"CommandLine", "ParentCommandLine"} {
			cl, _ := ev.EventData[key].(string)
			if len(cl) < 8 {
				continue
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(cl))
			escaped := strings.TrimSuffix(strings.TrimSpace(buf.String()), `"`)[1:]
			out[cl] = []string{cl, escaped}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestCommandLinesOnlyAtDebug: the processor logs a detection's command line
// only at debug level. At info, no catalogue command line appears in the
// collector's output; at debug, they do (so the check can see them).
func TestCommandLinesOnlyAtDebug(t *testing.T) {
	t.Parallel()
	commandLines := catalogueCommandLines(t)
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			output := filepath.Join(t.TempDir(), "records.json")
			cfg := collectortest.WriteFile(t, "cmdline.yaml", fmt.Sprintf(`receivers:
  file_log:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
processors:
  dcomdetection:
exporters:
  file:
    path: %s
    format: json
    flush_interval: 100ms
service:
  telemetry:
    logs:
      level: %s
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_log]
      processors: [dcomdetection]
      exporters: [file]
`, collectortest.YAMLPath(collectortest.RepoPath(t, "testdata", "catalogue", "map.jsonl")), collectortest.YAMLPath(output), level))
			col := startCollector(t, "collector", cfg)
			waitFor(t, col, "every catalogue record in the file", func() bool { return countOTLPJSONRecords(t, output) >= 78 })
			_, err := col.Terminate(stopWait)
			require.NoError(t, err)
			out := col.Output()

			var found []string
			for cl, forms := range commandLines {
				for _, f := range forms {
					if strings.Contains(out, f) {
						found = append(found, cl)
						break
					}
				}
			}
			t.Logf("level %s: %d of %d catalogue command lines in the collector's output", level, len(found), len(commandLines))
			if level == "info" {
				assert.Empty(t, found, "command lines logged at info level")
				return
			}
			assert.NotEmpty(t, found, "at debug level the detections' command lines are logged; the check could not see them")
			assertLogged(t, out, "DCOM detection", "no debug detection entry")
		})
	}
}

// countOTLPJSONRecords counts the records in the file exporter's output (one
// OTLP JSON request per line); a line still being written is not counted.
func countOTLPJSONRecords(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	n := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			return n
		}
		n += ld.LogRecordCount()
	}
	return n
}
