package sumologicexporter

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter/internal/metadata"
)

// secretCode stands for the HTTP Source's secret code in every test URL.
const secretCode = "U2VjcmV0U291cmNlQ29kZS1kby1ub3QtbGVhaw" //nolint:gosec // a fake code

// sumoRequest is one request as the HTTP Source saw it, body decompressed.
type sumoRequest struct {
	Path     string
	Header   http.Header
	Raw      []byte // as received
	Body     []byte // after Content-Encoding
	Response int
}

type reply struct {
	status int
	header map[string]string
	body   string
}

// sumoServer emulates a Sumo HTTP Logs Source: it decodes gzip/deflate,
// records every request and answers with respond (200 when nil).
type sumoServer struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []sumoRequest
	respond func(n int, r sumoRequest) reply
}

func newSumoServer(t *testing.T, respond func(n int, r sumoRequest) reply) *sumoServer {
	t.Helper()
	s := &sumoServer{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return // client gave up
		}
		req := sumoRequest{Path: r.URL.Path, Header: r.Header.Clone(), Raw: raw, Body: raw}
		switch r.Header.Get("Content-Encoding") {
		case "gzip":
			req.Body = decode(t, gzip.NewReader, raw)
		case "deflate":
			req.Body = decode(t, zlib.NewReader, raw)
		case "":
		default:
			t.Errorf("unexpected Content-Encoding %q", r.Header.Get("Content-Encoding"))
		}
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		rep := reply{status: http.StatusOK}
		if s.respond != nil {
			rep = s.respond(n, req)
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		s.mu.Lock()
		s.reqs[n].Response = rep.status
		s.mu.Unlock()
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func decode[R io.Reader](t *testing.T, open func(io.Reader) (R, error), raw []byte) []byte {
	t.Helper()
	r, err := open(bytes.NewReader(raw))
	if err != nil {
		t.Errorf("decoding body: %v", err)
		return nil
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("decoding body: %v", err)
	}
	return out
}

func (s *sumoServer) requests() []sumoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sumoRequest(nil), s.reqs...)
}

func (s *sumoServer) bodies() []string {
	var out []string
	for _, r := range s.requests() {
		out = append(out, string(r.Body))
	}
	return out
}

// endpoint is the Source URL, with the secret code in its path.
func (s *sumoServer) endpoint() string { return s.URL + "/receiver/v1/http/" + secretCode }

func testConfig(endpoint string, format LogFormat) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Endpoint = configopaque.String(endpoint)
	cfg.LogFormat = format
	return cfg
}

// startExporter builds the push path without exporterhelper.
func startExporter(t *testing.T, cfg *Config, set exporter.Settings) *sumoExporter {
	t.Helper()
	e, err := newSumoExporter(set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e
}

func nopSettings() exporter.Settings { return exportertest.NewNopSettings(metadata.Type) }

// newLogs returns one ResourceLogs with the given resource attributes and
// one record per body.
func newLogs(resource map[string]any, bodies ...any) plog.Logs {
	ld := plog.NewLogs()
	appendResource(ld, resource, bodies...)
	return ld
}

func appendResource(ld plog.Logs, resource map[string]any, bodies ...any) {
	rl := ld.ResourceLogs().AppendEmpty()
	_ = rl.Resource().Attributes().FromRaw(resource)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("test")
	for _, b := range bodies {
		lr := sl.LogRecords().AppendEmpty()
		_ = lr.Body().FromRaw(b)
	}
}

// windowsBody is shaped like the windowseventlog receiver's body map.
func windowsBody() map[string]any {
	return map[string]any{
		"channel":  "Security",
		"computer": "HOST1",
		"event_id": map[string]any{"id": int64(4688), "qualifiers": int64(0)},
		"event_data": map[string]any{
			"NewProcessName": `C:\Windows\System32\mmc.exe`,
			"CommandLine":    `"C:\Windows\system32\mmc.exe" -Embedding`,
		},
		"keywords":    []any{"Audit Success"},
		"message":     "A new process has been created.\r\n\r\nCreator: <x> & y",
		"record_id":   int64(123),
		"system_time": "2025-01-01T12:00:00.1234567Z",
	}
}

// windowsLine is windowsBody as Cloud SIEM's parser expects it in _raw.
const windowsLine = `{"channel":"Security","computer":"HOST1",` +
	`"event_data":{"CommandLine":"\"C:\\Windows\\system32\\mmc.exe\" -Embedding","NewProcessName":"C:\\Windows\\System32\\mmc.exe"},` +
	`"event_id":{"id":4688,"qualifiers":0},"keywords":["Audit Success"],` +
	`"message":"A new process has been created.\r\n\r\nCreator: <x> & y","record_id":123,` +
	`"system_time":"2025-01-01T12:00:00.1234567Z"}`

func bodiesOf(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().AsString())
			}
		}
	}
	return out
}
