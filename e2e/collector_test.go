// Package e2e runs the built otelcol-dcom binary (make build) end to end:
// its component list, the shipped configs, bad processor configs, and the
// catalogue fixtures through file_log → dcomdetection → otlp_http.
package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

const (
	// recordWait bounds every wait for records from a running collector.
	recordWait = 60 * time.Second
	// stopWait is how long a collector gets to shut down after SIGTERM.
	stopWait = 15 * time.Second
)

// startCollector starts the binary on a config file; the process gets
// SIGTERM (then SIGKILL) when the test ends. Its output is logged if the test
// failed.
func startCollector(t *testing.T, configPath string, env ...string) *collectortest.Collector {
	t.Helper()
	return collectortest.Start(t, collectortest.Options{Name: "collector", StopWait: stopWait, TailLines: 60}, configPath, env...)
}

// edgeExtensions is the extensions section of an overlay of a shipped edge
// config (windows-edge, edge-kafka, wef-collector): health_check on a free
// loopback port, the event log bookmarks and the persistent queue in dir.
func edgeExtensions(t *testing.T, dir string) string {
	t.Helper()
	return `extensions:
  health_check:
    endpoint: 127.0.0.1:` + strconv.Itoa(collectortest.FreePort(t)) + `
  file_storage/bookmarks:
    directory: ` + collectortest.YAMLPath(filepath.Join(dir, "bookmarks")) + `
  file_storage/queue:
    directory: ` + collectortest.YAMLPath(filepath.Join(dir, "queue")) + `
`
}

// otlpSink is an OTLP/HTTP logs endpoint on a free loopback port.
type otlpSink struct {
	server *httptest.Server
	// refuse makes the endpoint answer 503 Service Unavailable, as a
	// backend in an outage; refused counts those answers.
	refuse  atomic.Bool
	refused atomic.Int64

	mu        sync.Mutex
	batches   []plog.Logs
	records   int
	requests  int
	gzipped   int
	bodyError error
}

func newOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	s := &otlpSink{}
	s.server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.server.Close)
	return s
}

// handle decodes one export request. The body of an OTLP
// ExportLogsServiceRequest is wire-identical to LogsData (field 1: repeated
// ResourceLogs), so plog's protobuf unmarshaler reads it; plogotlp would add
// the gRPC modules to the root module for nothing.
func (s *otlpSink) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/logs" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	if s.refuse.Load() {
		s.refused.Add(1)
		http.Error(w, "outage", http.StatusServiceUnavailable)
		return
	}
	gzipped := r.Header.Get("Content-Encoding") == "gzip"
	body, err := collectortest.RequestBody(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer body.Close()
	raw, err := io.ReadAll(body)
	if err != nil {
		s.fail(w, fmt.Errorf("read: %w", err))
		return
	}
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(raw)
	if err != nil {
		s.fail(w, fmt.Errorf("protobuf: %w", err))
		return
	}
	s.mu.Lock()
	s.batches = append(s.batches, ld)
	s.records += ld.LogRecordCount()
	s.requests++
	if gzipped {
		s.gzipped++
	}
	s.mu.Unlock()
	// An empty ExportLogsServiceResponse encodes to zero bytes.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (s *otlpSink) fail(w http.ResponseWriter, err error) {
	s.mu.Lock()
	s.bodyError = err
	s.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (s *otlpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// waitRecords waits until at least n records arrived, the collector exited,
// or recordWait passed; then it waits `settle` more for stragglers.
func (s *otlpSink) waitRecords(t *testing.T, c *collectortest.Collector, n int, settle time.Duration) {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	for s.count() < n {
		if c.Exited() {
			t.Fatalf("collector exited early (%v) with %d of %d records received", c.Err(), s.count(), n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %d of %d records received", recordWait, s.count(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(settle)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NoError(t, s.bodyError, "a request could not be decoded")
	require.Equal(t, s.requests, s.gzipped, "every request must be gzip-compressed (compression: gzip)")
}

// all returns every received record.
func (s *otlpSink) all() []plog.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plog.LogRecord
	for _, ld := range s.batches {
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
