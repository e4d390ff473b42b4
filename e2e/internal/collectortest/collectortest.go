// Package collectortest runs the built otelcol-dcom binary for the e2e test
// packages (e2e and e2e/reliability): where it is, how a run or a started
// collector is bounded, and what of its output a failed test logs.
package collectortest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// BinaryEnv overrides the location of the binary under test.
	BinaryEnv = "OTELCOL_DCOM_BIN"
	// CommandWait bounds commands that end by themselves (validate,
	// components, a collector refusing its config).
	CommandWait = 60 * time.Second
)

// BinaryPath returns the collector binary: $OTELCOL_DCOM_BIN, or
// bin/otelcol-dcom below the repository root as written by `make build`. A
// missing binary fails the test: skipping would let `go test ./...` pass
// without testing anything.
func BinaryPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(BinaryEnv)
	if path == "" {
		path = RepoPath(t, "bin", "otelcol-dcom")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
	}
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	info, err := os.Stat(abs) //nolint:gosec // G703: the binary under test, named by the tester
	if err != nil || info.IsDir() {
		t.Fatalf("collector binary %s not found: run `make build` first (or set %s to the binary): %v", abs, BinaryEnv, err)
	}
	return abs
}

// RepoPath returns an absolute path below the repository root: the nearest
// directory above the working directory with a go.mod (go test runs each
// package in its own directory, and e2e has no go.mod of its own).
func RepoPath(t *testing.T, elem ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir}, elem...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory: run the e2e tests from within the repository")
		}
		dir = parent
	}
}

// WriteFile writes content to name in a fresh temporary directory.
func WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// YAMLPath quotes a file path for a YAML flow sequence or scalar.
func YAMLPath(p string) string {
	return "'" + strings.ReplaceAll(filepath.ToSlash(p), "'", "''") + "'"
}

// PrometheusReaders is the service.telemetry.metrics readers of a test
// config, under metrics (six spaces in): the collector's metrics on
// 127.0.0.1:port with the names the README gives (no type or unit
// suffixes, no scope info).
func PrometheusReaders(port int) string {
	return fmt.Sprintf(`      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
                without_type_suffix: true
                without_units: true
                without_scope_info: true`, port)
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// SyncBuffer collects a process's output while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RunBinary runs the collector binary to completion and returns its exit
// code and combined output.
func RunBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, BinaryPath(t), args...) //nolint:gosec // G204: the binary under test, named by the tester
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within %s; output:\n%s", args, CommandWait, out)
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

// Options are what the test packages want differently of a started
// collector.
type Options struct {
	// Name tells collectors apart in messages and logs ("collector",
	// "restarted collector").
	Name string
	// StopWait is how long the process gets to exit after SIGTERM at the end
	// of the test, or after SIGKILL from Kill.
	StopWait time.Duration
	// TailLines is how many of the last output lines are logged if the test
	// failed; LogAll logs all of the output, failed or not.
	TailLines int
	LogAll    bool
	// ExtraConfigs are more --config files, merged over the first one
	// (maps merge; a list is replaced whole).
	ExtraConfigs []string
}

// Collector is a running otelcol-dcom process. It gets SIGTERM (then
// SIGKILL) when the test ends, and its output is logged if the test failed.
type Collector struct {
	opts   Options
	cmd    *exec.Cmd
	output *SyncBuffer
	done   chan struct{}
	err    error
}

// Start starts the binary on a config file, with env added to the test's
// environment.
func Start(t *testing.T, opts Options, configPath string, env ...string) *Collector {
	t.Helper()
	c := &Collector{opts: opts, output: &SyncBuffer{}, done: make(chan struct{})}
	args := []string{"--config", configPath}
	for _, extra := range opts.ExtraConfigs {
		args = append(args, "--config", extra)
	}
	c.cmd = exec.Command(BinaryPath(t), args...) //nolint:gosec // G204: the binary under test, named by the tester
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout = c.output
	c.cmd.Stderr = c.output
	require.NoError(t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if !c.Exited() {
			if _, err := c.Terminate(opts.StopWait); err != nil {
				t.Errorf("%s: %v", opts.Name, err)
			}
		}
		switch {
		case opts.LogAll:
			t.Logf("%s output (%s):\n%s", opts.Name, configPath, c.Output())
		case t.Failed():
			t.Logf("%s output (%s):\n%s", opts.Name, configPath, Tail(c.Output(), opts.TailLines))
		}
	})
	return c
}

// Name is the collector's name in messages.
func (c *Collector) Name() string { return c.opts.Name }

// PID is the process id.
func (c *Collector) PID() int { return c.cmd.Process.Pid }

// Output is everything the process wrote so far, stdout and stderr.
func (c *Collector) Output() string { return c.output.String() }

// Exited reports whether the process ended (it should not, while in use).
func (c *Collector) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err is the process's exit error; nil while it runs.
func (c *Collector) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Terminate sends SIGTERM and returns how long the process took to exit; it
// kills the process and returns an error if that took longer than limit.
func (c *Collector) Terminate(limit time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = c.cmd.Process.Kill()
	}
	select {
	case <-c.done:
		return time.Since(start), nil
	case <-time.After(limit):
		_ = c.cmd.Process.Kill()
		<-c.done
		return time.Since(start), fmt.Errorf("did not exit within %s of SIGTERM; killed", limit)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (c *Collector) Kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-c.done:
	case <-time.After(c.opts.StopWait):
		t.Fatalf("%s: still running %s after SIGKILL", c.opts.Name, c.opts.StopWait)
	}
}

// WaitOutput waits until the output contains s, the process exited, or
// limit passed.
func (c *Collector) WaitOutput(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(c.Output(), s) {
		if c.Exited() {
			t.Fatalf("%s exited (%v) before logging %q", c.opts.Name, c.Err(), s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s", c.opts.Name, s, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// portTries is how many times StartReady starts a collector whose port was
// taken.
const portTries = 3

// StartReady calls start, which starts a collector on ports it picks anew
// with FreePort, until that collector logs "Everything is ready" within
// limit. A port FreePort found free can be bound by another test's
// listener before the collector binds it; a collector that exits for that
// ("address already in use") is started again, up to portTries times.
// Any other exit, or a wait past limit, fails the test.
func StartReady(t *testing.T, limit time.Duration, start func() *Collector) *Collector {
	t.Helper()
	for try := 1; ; try++ {
		c := start()
		deadline := time.Now().Add(limit)
		for !strings.Contains(c.Output(), "Everything is ready") && !c.Exited() {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not ready within %s", c.opts.Name, limit)
			}
			time.Sleep(50 * time.Millisecond)
		}
		switch {
		case !c.Exited():
			return c
		case try < portTries && strings.Contains(c.Output(), "address already in use"):
			t.Logf("%s: a port was taken before it could bind it; starting it again (%d of %d)", c.opts.Name, try+1, portTries)
		default:
			t.Fatalf("%s exited (%v) before it was ready:\n%s", c.opts.Name, c.Err(), Tail(c.Output(), c.opts.TailLines))
		}
	}
}

// Tail returns the last lines of s, saying how many it left out.
func Tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines omitted)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// Scrape reads a Prometheus text exposition at url: every series (name and
// labels as written) to its value.
func Scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	series, err := TryScrape(url)
	require.NoError(t, err)
	return series
}

// TryScrape is Scrape for a caller that polls: an endpoint not serving yet
// is an error, not a failed test.
func TryScrape(url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("exposition line %q: %w", line, err)
		}
		series[line[:i]] = v
	}
	return series, sc.Err()
}

// SeriesOf returns the series of one metric name of a Scrape, keyed by
// their labels as written ("" without labels).
func SeriesOf(series map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for s, v := range series {
		if s == name || strings.HasPrefix(s, name+"{") {
			out[strings.TrimPrefix(s, name)] = v
		}
	}
	return out
}

// Sum adds up every series of one metric name of a Scrape.
func Sum(series map[string]float64, name string) float64 {
	sum := 0.0
	for _, v := range SeriesOf(series, name) {
		sum += v
	}
	return sum
}
