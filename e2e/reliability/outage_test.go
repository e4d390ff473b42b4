package reliability

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// The catalogue (testdata/catalogue/map.jsonl: 78 events, 48 of them
// detections for the extended profile) goes through file_log →
// dcomdetection (drop_unmatched) → sumologic (text) to the emulator, whose
// outages the exporter must ride out.

const (
	// settle is how long a test keeps listening after the last expected
	// record, so that duplicates would be seen too.
	settle = 2 * time.Second
	// outagePhase is how long each kind of outage lasts.
	outagePhase = 3 * time.Second
)

// sumoPipeline describes the collector config of the outage and shutdown
// tests: file_log → dcomdetection → sumologic, with file_storage.
type sumoPipeline struct {
	endpoint   string
	storageDir string // file_storage directory (persistent across restarts of one test)
	// input is the file file_log reads; the catalogue when empty.
	input string
	// persistentQueue puts the exporter's sending_queue in file_storage;
	// otherwise it is in memory.
	persistentQueue bool
	// consumers is the sending queue's num_consumers (10 when 0); queueSize,
	// when > 0, bounds it to that many requests.
	consumers, queueSize int
	// batchMax, when > 0, turns exporter-side batching on (items) with this
	// maximum request size.
	batchMax int
	timeout  time.Duration
	// multiplier is retry_on_failure's backoff multiplier (1.5 when 0).
	multiplier float64
	// noOffsets leaves file_log without storage: its offsets are not saved.
	noOffsets bool
	// keepUnmatched passes the non-detections on too (no drop_unmatched).
	keepUnmatched bool
	// initialInterval is retry_on_failure's first wait (100ms when 0).
	initialInterval time.Duration
	// metricsPort, when > 0, serves the collector's metrics there.
	metricsPort int
	// queueBytes, when > 0, bounds the sending queue to that many bytes
	// (sizer: bytes); queueSize must then be 0.
	queueBytes int
	// receiverRetry turns file_log's retry_on_failure on, never giving up:
	// what the pipeline refuses is offered again.
	receiverRetry bool
}

func (p sumoPipeline) config(t *testing.T) string {
	t.Helper()
	input := p.input
	if input == "" {
		input = collectortest.RepoPath(t, "testdata", "catalogue", "map.jsonl")
	}
	consumers := p.consumers
	if consumers == 0 {
		consumers = 10
	}
	queue := ""
	switch {
	case p.queueSize > 0:
		queue = fmt.Sprintf("\n      sizer: requests\n      queue_size: %d", p.queueSize)
	case p.queueBytes > 0:
		queue = fmt.Sprintf("\n      sizer: bytes\n      queue_size: %d", p.queueBytes)
	}
	storage := ""
	if p.persistentQueue {
		storage = "\n      storage: file_storage"
	}
	batch := ""
	if p.batchMax > 0 {
		batch = fmt.Sprintf("\n      batch:\n        flush_timeout: 200ms\n        min_size: %d\n        max_size: %d", p.batchMax, p.batchMax)
	}
	timeout := p.timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	multiplier := p.multiplier
	if multiplier == 0 {
		multiplier = 1.5
	}
	initial := p.initialInterval
	if initial == 0 {
		initial = 100 * time.Millisecond
	}
	metrics := "\n      level: none"
	if p.metricsPort > 0 {
		metrics = "\n" + collectortest.PrometheusReaders(p.metricsPort)
	}
	// receiverSettings: file_log's offsets and retry.
	receiverSettings := `
    # Offsets persist here, so a restarted collector does not read the file again.
    storage: file_storage`
	if p.noOffsets {
		receiverSettings = ""
	}
	if p.receiverRetry {
		receiverSettings += `
    retry_on_failure:
      enabled: true
      initial_interval: 100ms
      max_interval: 500ms
      max_elapsed_time: 0s`
	}
	return fmt.Sprintf(`extensions:
  file_storage:
    directory: %s
    create_directory: true
receivers:
  file_log:
    include: [%s]
    start_at: beginning%s
    operators:
      - type: json_parser
        parse_to: body
processors:
  dcomdetection:
    profile: extended
    drop_unmatched: %t
exporters:
  sumologic:
    endpoint: %s
    log_format: text
    timeout: %s
    sending_queue:
      num_consumers: %d%s%s%s
    retry_on_failure:
      initial_interval: %s
      multiplier: %g
      max_interval: 500ms
      max_elapsed_time: 0s # never give up: the tests bring the endpoint back
service:
  extensions: [file_storage]
  telemetry:
    logs:
      # Unsampled, so that every failed attempt is in the output.
      sampling:
        enabled: false
    metrics:%s
  pipelines:
    logs:
      receivers: [file_log]
      processors: [dcomdetection]
      exporters: [sumologic]
`, collectortest.YAMLPath(p.storageDir), collectortest.YAMLPath(input), receiverSettings, !p.keepUnmatched,
		p.endpoint, timeout, consumers, queue, storage, batch, initial, multiplier, metrics)
}

// waitAllAttempted waits until the emulator has failed a request holding
// each of ids: every detection was read, processed and queued, and the
// queue's consumers hold them. It then waits another second so that
// file_log has saved its offsets (it does after every 200 ms poll).
func waitAllAttempted(t *testing.T, c *collectortest.Collector, emu *sumoEmulator, ids []string) {
	t.Helper()
	waitFor(t, c, "every detection to be tried (and failed) at least once", func() bool {
		return coversAll(emu.snapshot().attempted, ids)
	})
	time.Sleep(time.Second)
}

// waitDelivered waits until every id was accepted, then settles.
func waitDelivered(t *testing.T, c *collectortest.Collector, emu *sumoEmulator, ids []string) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, c, "every detection to arrive", func() bool {
		return coversAll(emu.snapshot().accepted, ids)
	})
	took := time.Since(start)
	time.Sleep(settle)
	return took
}

func assertNoSecret(t *testing.T, what, output, secret string) {
	t.Helper()
	if strings.Contains(output, secret) {
		t.Errorf("%s contains the endpoint's secret token:\n%s", what, collectortest.Tail(output, 40))
	}
}

// TestOutageRecovery: the HTTP Source answers 503, then refuses
// connections, then comes back. Every detection arrives, once.
func TestOutageRecovery(t *testing.T) {
	t.Parallel()
	ids := extendedDetections(t)
	require.Len(t, ids, 48, "the catalogue's extended detections")
	emu := newSumoEmulator(t, modeUnavailable)
	cfg := collectortest.WriteFile(t, "outage.yaml", sumoPipeline{
		endpoint: emu.url(), storageDir: filepath.Join(t.TempDir(), "storage"), persistentQueue: true, batchMax: 10,
	}.config(t))
	col := startCollector(t, "collector", cfg)

	waitAllAttempted(t, col, emu, ids)
	time.Sleep(outagePhase - time.Second)
	emu.setMode(modeDown)
	time.Sleep(outagePhase)
	require.False(t, col.Exited(), "the collector exited during the outage: %v", col.Err())
	require.Empty(t, emu.snapshot().accepted, "nothing may be accepted during the outage")
	emu.setMode(modeOK)
	recovery := waitDelivered(t, col, emu, ids)

	snap := emu.snapshot()
	d := compareDelivery(ids, snap.accepted)
	t.Logf("outage (503 then connection refused, %s each): %s; requests by answer %v; all delivered %s after the endpoint came back",
		outagePhase, d, snap.statuses, recovery.Round(10*time.Millisecond))
	assert.Zero(t, d.missing, d.String())
	assert.Zero(t, d.duplicated, "no request was accepted before the endpoint came back, so nothing may repeat: %s", d)
	assert.Zero(t, d.extra, d.String())
	out := col.Output()
	assertLogged(t, out, "connection refused", "the exporter never saw the endpoint down")
	assertLogged(t, out, "HTTP 503 Service Unavailable", "the exporter never saw a 503")
	assertNoSecret(t, "collector output", out, emu.token)
}

// TestKillDuringOutage: the collector is SIGKILLed while every detection
// sits in its persistent queue (file_storage), then started again with the
// same config and storage while the endpoint still refuses connections.
// Once the endpoint is back, every detection queued before the kill
// arrives; file_log's saved offsets keep it from reading the file again.
func TestKillDuringOutage(t *testing.T) {
	t.Parallel()
	d, snap := killAndRestart(t, true, true)
	assert.Zero(t, d.missing, d.String())
	assert.Zero(t, d.duplicated, "nothing was accepted before the kill and file_log must not read the file again: %s", d)
	assert.Zero(t, d.extra, d.String())
	require.Positive(t, snap.statuses["503"], "the first collector never failed a request")
}

// TestKillDuringOutageMemoryQueue is the same with the sending queue in
// memory: what was queued at the kill is lost. file_log's offsets are still
// saved, so the restarted collector does not read the events again; this
// test measures the loss that docs/reliability.md reports.
func TestKillDuringOutageMemoryQueue(t *testing.T) {
	t.Parallel()
	d, _ := killAndRestart(t, false, true)
	assert.Zero(t, d.duplicated, d.String())
	assert.Zero(t, d.extra, d.String())
	assert.Equal(t, d.want, d.missing, "with an in-memory queue, every detection queued at the kill is lost: %s", d)
}

// TestKillDuringOutageWithoutOffsets shows why the outage configs give
// file_log a storage: without saved offsets the restarted collector reads
// the file from the beginning again (start_at: beginning) and every
// detection is queued twice: once restored from the persistent queue, once
// read again.
func TestKillDuringOutageWithoutOffsets(t *testing.T) {
	t.Parallel()
	d, _ := killAndRestart(t, true, false)
	assert.Zero(t, d.missing, d.String())
	assert.Zero(t, d.extra, d.String())
	assert.Equal(t, d.want, d.duplicated, "every detection arrives twice: %s", d)
}

// killAndRestart runs the kill-and-restart scenario and returns what
// reached the emulator.
func killAndRestart(t *testing.T, persistent, offsets bool) (delivery, emuSnapshot) {
	ids := extendedDetections(t)
	require.Len(t, ids, 48, "the catalogue's extended detections")
	emu := newSumoEmulator(t, modeUnavailable)
	cfg := collectortest.WriteFile(t, "kill.yaml", sumoPipeline{
		endpoint: emu.url(), storageDir: filepath.Join(t.TempDir(), "storage"), persistentQueue: persistent, batchMax: 10,
		noOffsets: !offsets,
	}.config(t))
	first := startCollector(t, "first collector", cfg)
	waitAllAttempted(t, first, emu, ids)
	first.Kill(t)
	killed := emu.snapshot()
	require.Empty(t, killed.accepted, "nothing may be accepted before the kill")

	// Restart during the outage; the endpoint now refuses connections.
	emu.setMode(modeDown)
	second := startCollector(t, "restarted collector", cfg)
	second.WaitOutput(t, "Everything is ready", deliveryWait)
	time.Sleep(outagePhase)
	emu.setMode(modeOK)

	queue := "memory"
	var recovery time.Duration
	if persistent {
		queue = "file_storage"
		recovery = waitDelivered(t, second, emu, ids)
	} else {
		// Nothing should come; give it the same time the persistent queue
		// needs, and then some.
		time.Sleep(3 * settle)
	}
	snap := emu.snapshot()
	d := compareDelivery(ids, snap.accepted)
	if !offsets {
		queue += " (file_log offsets not saved)"
	}
	after := "nothing arrived in the " + (3 * settle).String() + " after the endpoint came back"
	if persistent {
		after = "all arrived " + recovery.Round(10*time.Millisecond).String() + " after the endpoint came back"
	}
	t.Logf("SIGKILL during the outage, %s queue: %s; requests by answer %v; %s", queue, d, snap.statuses, after)
	require.False(t, second.Exited(), "the restarted collector exited: %v", second.Err())
	assertNoSecret(t, "first collector output", first.Output(), emu.token)
	assertNoSecret(t, "restarted collector output", second.Output(), emu.token)
	return d, snap
}

// TestKillAfterPartialDelivery: the HTTP Source accepts the first two
// requests (exporter batches of 10 records) and then answers 503; the
// collector is SIGKILLed and started again, and the endpoint recovers. Every
// detection arrives. A queue entry is removed from file_storage only when
// all of its requests succeeded, so records of an entry that was partly
// delivered before the kill are sent again: duplicates, but only of records
// the endpoint had accepted.
func TestKillAfterPartialDelivery(t *testing.T) {
	t.Parallel()
	ids := extendedDetections(t)
	emu := newSumoEmulator(t, modeOK)
	emu.setOKBudget(2)
	cfg := collectortest.WriteFile(t, "partial.yaml", sumoPipeline{
		endpoint: emu.url(), storageDir: filepath.Join(t.TempDir(), "storage"), persistentQueue: true, batchMax: 10,
	}.config(t))
	first := startCollector(t, "first collector", cfg)
	waitFor(t, first, "two accepted requests and every detection tried", func() bool {
		s := emu.snapshot()
		if s.statuses["200"] < 2 {
			return false
		}
		for _, id := range ids {
			if s.accepted[id]+s.attempted[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // file_log saves its offsets
	first.Kill(t)
	before := emu.snapshot()

	emu.setOKBudget(-1)
	second := startCollector(t, "restarted collector", cfg)
	waitDelivered(t, second, emu, ids)
	snap := emu.snapshot()
	d := compareDelivery(ids, snap.accepted)
	acceptedBefore := 0
	for _, n := range before.accepted {
		acceptedBefore += n
	}
	t.Logf("SIGKILL after %d of the detections were accepted (%d requests), the rest failing: %s; requests by answer %v",
		acceptedBefore, before.statuses["200"], d, snap.statuses)
	assert.Zero(t, d.missing, d.String())
	assert.Zero(t, d.extra, d.String())
	assert.LessOrEqual(t, d.duplicated, acceptedBefore, "only records accepted before the kill may repeat")
	for _, id := range d.duplicatedIDs {
		assert.Positive(t, before.accepted[id], "%s repeated, but it had not been accepted before the kill", id)
	}
	assertNoSecret(t, "first collector output", first.Output(), emu.token)
	assertNoSecret(t, "restarted collector output", second.Output(), emu.token)
}

// TestLostResponseDuplicates: the HTTP Source accepts the first requests but
// the connection drops before the answer. The exporter cannot tell them from
// failures and sends them again: at-least-once means those records arrive
// twice, and nothing else does.
func TestLostResponseDuplicates(t *testing.T) {
	t.Parallel()
	ids := extendedDetections(t)
	emu := newSumoEmulator(t, modeLoseResponse)
	cfg := collectortest.WriteFile(t, "lost.yaml", sumoPipeline{
		endpoint: emu.url(), storageDir: filepath.Join(t.TempDir(), "storage"), persistentQueue: true, batchMax: 10,
	}.config(t))
	col := startCollector(t, "collector", cfg)
	waitFor(t, col, "a request whose response is lost", func() bool {
		return emu.snapshot().statuses["lost"] > 0
	})
	emu.setMode(modeOK)
	waitDelivered(t, col, emu, ids)

	snap := emu.snapshot()
	d := compareDelivery(ids, snap.accepted)
	lost := 0
	for _, n := range snap.lost {
		lost += n
	}
	t.Logf("responses lost for %d request(s) holding %d records: %s; requests by answer %v", snap.statuses["lost"], lost, d, snap.statuses)
	assert.Zero(t, d.missing, d.String())
	assert.Zero(t, d.extra, d.String())
	assert.Positive(t, lost)
	assert.Equal(t, lost, d.duplicated, "exactly the records whose response was lost arrive twice")
	for id := range snap.lost {
		assert.GreaterOrEqual(t, snap.accepted[id], 2, "%s: its response was lost, so it must have been sent again", id)
	}
	assertNoSecret(t, "collector output", col.Output(), emu.token)
}
