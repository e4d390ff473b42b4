// Package reliability runs the built otelcol-dcom binary (make build) through
// outages, kills, shutdowns against a hanging endpoint, a load burst, secret
// handling and bad configurations. Every network address is on 127.0.0.1,
// and every wait and load loop is bounded in time and count.
//
// docs/reliability.md describes what these tests guarantee and the figures
// they measured.
package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

const (
	// logOutputEnv, when set, logs the whole output of every collector.
	logOutputEnv = "RELIABILITY_LOG_OUTPUT"
	// stopWait is how long a collector gets to exit after SIGTERM at the end
	// of a test (the shutdown test measures its own bound).
	stopWait = 30 * time.Second
	// deliveryWait bounds every wait for records to reach the emulator.
	deliveryWait = 60 * time.Second
	none         = "none"
)

// startCollector starts the binary on a config file; name tells the
// collectors of one test apart in its messages and logged output.
func startCollector(t *testing.T, name, configPath string, env ...string) *collectortest.Collector {
	t.Helper()
	return collectortest.Start(t, collectortest.Options{
		Name: name, StopWait: stopWait, TailLines: 80, LogAll: os.Getenv(logOutputEnv) != "",
	}, configPath, env...)
}

// waitFor polls cond every 50 ms until it holds; it fails the test after
// deliveryWait, or if c (when not nil) exits.
func waitFor(t *testing.T, c *collectortest.Collector, what string, cond func() bool) {
	t.Helper()
	const limit = deliveryWait
	deadline := time.Now().Add(limit)
	for !cond() {
		if c != nil && c.Exited() {
			t.Fatalf("%s exited (%v) while waiting for %s", c.Name(), c.Err(), what)
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

// repeatedCatalogue writes the catalogue (testdata/catalogue/map.jsonl)
// repeat times over into a fresh file and returns its path and the number
// of records in one copy.
func repeatedCatalogue(t *testing.T, repeat int) (path string, perCopy int) {
	t.Helper()
	raw, err := os.ReadFile(collectortest.RepoPath(t, "testdata", "catalogue", "map.jsonl"))
	require.NoError(t, err)
	catalogue := strings.TrimRight(string(raw), "\n") + "\n"
	return collectortest.WriteFile(t, "events.jsonl", strings.Repeat(catalogue, repeat)), strings.Count(catalogue, "\n")
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
	raw, err := os.ReadFile(collectortest.RepoPath(t, "testdata", "catalogue", "expected.json"))
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
