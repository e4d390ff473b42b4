// Package e2e runs the built otelcol-dcom binary (make build) end to end:
// its component list, the shipped configs, bad processor configs, and the
// catalogue fixtures through file_log → dcomdetection → otlp_http.
package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

const (
	// recordWait bounds every wait for records from a running collector.
	recordWait = 60 * time.Second
	// commandWait bounds commands that should end by themselves (validate,
	// components, a collector refusing its config).
	commandWait = 60 * time.Second
	// stopWait is how long a collector gets to shut down after SIGTERM.
	stopWait = 15 * time.Second
	// binaryEnv overrides the location of the binary under test.
	binaryEnv = "OTELCOL_DCOM_BIN"
)

// binaryPath returns the collector binary: $OTELCOL_DCOM_BIN, or
// ../bin/otelcol-dcom as written by `make build`. A missing binary fails the
// test: skipping would let `go test ./...` pass without testing anything.
func binaryPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(binaryEnv)
	if path == "" {
		path = filepath.Join("..", "bin", "otelcol-dcom")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
	}
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	info, err := os.Stat(abs)
	if err != nil || info.IsDir() {
		t.Fatalf("collector binary %s not found: run `make build` first (or set %s to the binary): %v", abs, binaryEnv, err)
	}
	return abs
}

// repoPath returns an absolute path below the repository root.
func repoPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{".."}, elem...)...))
	require.NoError(t, err)
	return p
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// yamlPath quotes a file path for a YAML flow sequence or scalar.
func yamlPath(p string) string {
	return "'" + strings.ReplaceAll(filepath.ToSlash(p), "'", "''") + "'"
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runBinary runs the collector binary to completion and returns its exit
// code and combined output.
func runBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaryPath(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within %s; output:\n%s", args, commandWait, out)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), string(out)
	default:
		t.Fatalf("running %v: %v", args, err)
		return -1, ""
	}
}

// collector is a running otelcol-dcom process, stopped at the end of the test.
type collector struct {
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error
}

// startCollector starts the binary on a config file; the process gets
// SIGTERM (then SIGKILL) when the test ends. Its output is logged if the test
// failed.
func startCollector(t *testing.T, configPath string, env ...string) *collector {
	t.Helper()
	c := &collector{output: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(binaryPath(t), "--config", configPath)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout = c.output
	c.cmd.Stderr = c.output
	require.NoError(t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector output (%s):\n%s", configPath, tail(c.output.String(), 60))
		}
	})
	return c
}

// stop sends SIGTERM and waits for the process, killing it after stopWait.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
		return
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
	case <-time.After(stopWait):
		t.Errorf("collector did not stop within %s of SIGTERM; killing it", stopWait)
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// exited reports whether the process ended (it should not, while in use).
func (c *collector) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines omitted)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// otlpSink is an OTLP/HTTP logs endpoint on a free loopback port.
type otlpSink struct {
	server *httptest.Server

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
	var body io.Reader = r.Body
	gzipped := r.Header.Get("Content-Encoding") == "gzip"
	if gzipped {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.fail(w, fmt.Errorf("gzip: %w", err))
			return
		}
		defer zr.Close()
		body = zr
	}
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
func (s *otlpSink) waitRecords(t *testing.T, c *collector, n int, settle time.Duration) {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	for s.count() < n {
		if done, err := c.exited(); done {
			t.Fatalf("collector exited early (%v) with %d of %d records received", err, s.count(), n)
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
