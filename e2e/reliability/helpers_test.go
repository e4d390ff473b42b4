// Package reliability runs the built otelcol-dcom binary (make build) through
// outages, kills, shutdowns against a hanging endpoint, a load burst, secret
// handling and bad configurations. Every network address is on 127.0.0.1,
// and every wait and load loop is bounded in time and count.
//
// docs/reliability.md describes what these tests guarantee and the figures
// they measured.
package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// binaryEnv overrides the location of the binary under test.
	binaryEnv = "OTELCOL_DCOM_BIN"
	// logOutputEnv, when set, logs the whole output of every collector.
	logOutputEnv = "RELIABILITY_LOG_OUTPUT"
	// commandWait bounds commands that end by themselves (validate,
	// components, a collector refusing its config).
	commandWait = 60 * time.Second
	// stopWait is how long a collector gets to exit after SIGTERM at the end
	// of a test (the shutdown test measures its own bound).
	stopWait = 30 * time.Second
	// deliveryWait bounds every wait for records to reach the emulator.
	deliveryWait = 60 * time.Second
	none         = "none"
)

// binaryPath returns the collector binary: $OTELCOL_DCOM_BIN, or
// ../../bin/otelcol-dcom as written by `make build`. A missing binary fails
// the test: skipping would let `go test ./...` pass without testing anything.
func binaryPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(binaryEnv)
	if path == "" {
		path = filepath.Join("..", "..", "bin", "otelcol-dcom")
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
	p, err := filepath.Abs(filepath.Join(append([]string{"..", ".."}, elem...)...))
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

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
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

// collector is a running otelcol-dcom process. It gets SIGTERM (then
// SIGKILL) when the test ends, and its output is logged if the test failed.
type collector struct {
	name   string
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error
}

func startCollector(t *testing.T, name, configPath string, env ...string) *collector {
	t.Helper()
	c := &collector{name: name, output: &syncBuffer{}, done: make(chan struct{})}
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
		if !c.exited() {
			if _, err := c.terminate(stopWait); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		switch {
		case os.Getenv(logOutputEnv) != "":
			t.Logf("%s output:\n%s", c.name, c.output.String())
		case t.Failed():
			t.Logf("%s output:\n%s", c.name, tail(c.output.String(), 80))
		}
	})
	return c
}

func (c *collector) pid() int { return c.cmd.Process.Pid }

func (c *collector) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and returns how long the process took to exit; it
// kills the process and returns an error if that took longer than limit.
func (c *collector) terminate(limit time.Duration) (time.Duration, error) {
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

// kill sends SIGKILL and waits for the process to be gone.
func (c *collector) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-c.done:
	case <-time.After(stopWait):
		t.Fatalf("%s: still running %s after SIGKILL", c.name, stopWait)
	}
}

// waitOutput waits until the output contains s, the process exited, or
// limit passed.
func (c *collector) waitOutput(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(c.output.String(), s) {
		if c.exited() {
			t.Fatalf("%s exited (%v) before logging %q", c.name, c.err, s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s", c.name, s, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond every 50 ms until it holds; it fails the test after
// deliveryWait, or if c (when not nil) exits.
func waitFor(t *testing.T, c *collector, what string, cond func() bool) {
	t.Helper()
	const limit = deliveryWait
	deadline := time.Now().Add(limit)
	for !cond() {
		if c != nil && c.exited() {
			t.Fatalf("%s exited (%v) while waiting for %s", c.name, c.err, what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertLogged checks that output contains want without printing all of
// the output (the collector's log is long; it is logged on failure anyway).
func assertLogged(t *testing.T, output, want, msg string) {
	t.Helper()
	if !strings.Contains(output, want) {
		t.Errorf("%s: %q not in the output (%d bytes)", msg, want, len(output))
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines omitted)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// procStatusKiB reads a "VmRSS"/"VmHWM"-style field (kB) of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// extendedDetections returns the catalogue ids that the extended profile
// (the default) flags, from testdata/catalogue/expected.json, sorted.
func extendedDetections(t *testing.T) []string {
	t.Helper()
	const profile = "extended"
	raw, err := os.ReadFile(repoPath(t, "testdata", "catalogue", "expected.json"))
	require.NoError(t, err)
	var expected map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &expected))
	var ids []string
	for id, verdicts := range expected {
		v, ok := verdicts[profile]
		require.True(t, ok, "expected.json: %s has no %s verdict", id, profile)
		if v != none {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// delivery compares what arrived with what went in.
type delivery struct {
	want, arrived, missing, duplicated, extra int
	missingIDs, duplicatedIDs                 []string
}

func compareDelivery(want []string, got map[string]int) delivery {
	d := delivery{want: len(want)}
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
		switch n := got[id]; {
		case n == 0:
			d.missing++
			d.missingIDs = append(d.missingIDs, id)
		case n > 1:
			d.duplicated += n - 1
			d.duplicatedIDs = append(d.duplicatedIDs, id)
			d.arrived++
		default:
			d.arrived++
		}
	}
	for id, n := range got {
		if !wanted[id] {
			d.extra += n
		}
	}
	return d
}

func (d delivery) String() string {
	return fmt.Sprintf("%d of %d detections arrived, %d missing %v, %d duplicate deliveries %v, %d unexpected records",
		d.arrived, d.want, d.missing, d.missingIDs, d.duplicated, d.duplicatedIDs, d.extra)
}
