package reliability

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

const (
	// fullQueueBytes bounds the sending queue in the full-queue test: a small
	// part of the input, so that it fills at once.
	fullQueueBytes = 256 << 10
	// fullQueueRepeat is how many times the catalogue is repeated in the
	// input (1,560 records, about 1.9 MB of OTLP).
	fullQueueRepeat = 20
)

// TestFullQueue: the HTTP Source answers 503 while the collector reads the
// catalogue 20 times over into a sending queue bounded at 256 KiB (sizer:
// bytes). The queue fills and refuses; otelcol_exporter_enqueue_failed_log_records
// counts the refusals. Then the endpoint comes back.
//
//   - receiver with retry_on_failure (never giving up), persistent queue: the
//     receiver stops reading while the queue is full, and every record arrives
//     exactly once after the outage. The queue's file stays near its bound.
//   - receiver without retry_on_failure, memory queue: what the full queue
//     refused is lost, exactly the records the metric counts.
//
// file_log stands in for windowseventlog, which runs only on Windows: both
// are stanza receivers, with the same retry_on_failure and the same
// hand-over to the pipeline (the bookmark, like file_log's offset, only
// advances past what was handed over).
func TestFullQueue(t *testing.T) {
	t.Parallel()
	t.Run("receiver retries, persistent queue", func(t *testing.T) {
		t.Parallel()
		fullQueue(t, true)
	})
	t.Run("receiver without retry, memory queue", func(t *testing.T) {
		t.Parallel()
		fullQueue(t, false)
	})
}

func fullQueue(t *testing.T, retry bool) {
	emu := newSumoEmulator(t, modeUnavailable)
	input, perCopy := repeatedCatalogue(t, fullQueueRepeat)
	total := perCopy * fullQueueRepeat

	port := collectortest.FreePort(t)
	storageDir := filepath.Join(t.TempDir(), "storage")
	pipeline := sumoPipeline{
		endpoint: emu.url(), storageDir: storageDir, input: input, keepUnmatched: true,
		persistentQueue: retry, receiverRetry: retry, queueBytes: fullQueueBytes, consumers: 2,
		metricsPort: port,
	}
	col := startCollector(t, "collector", collectortest.WriteFile(t, "fullqueue.yaml", pipeline.config(t)))
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	// metric sums a metric's series; -1 while the endpoint does not serve.
	metric := func(name string) float64 {
		series, err := collectortest.TryScrape(metricsURL)
		if err != nil {
			return -1
		}
		return collectortest.Sum(series, name)
	}

	// The queue is full and refuses.
	waitFor(t, col, "the full queue to refuse records", func() bool {
		return metric("otelcol_exporter_enqueue_failed_log_records") > 0
	})
	if !retry {
		// Without retry, file_log reads on: wait until it has offered every record.
		waitFor(t, col, "file_log to offer every record", func() bool {
			return metric("otelcol_receiver_accepted_log_records")+metric("otelcol_receiver_refused_log_records") >= float64(total)
		})
	}
	time.Sleep(settle)
	series := collectortest.Scrape(t, metricsURL)
	capacity := collectortest.SeriesOf(series, "otelcol_exporter_queue_capacity")
	queued := collectortest.SeriesOf(series, "otelcol_exporter_queue_size")
	require.Len(t, capacity, 1)
	for labels, c := range capacity {
		assert.InDelta(t, float64(fullQueueBytes), c, 0, "queue capacity (bytes)")
		assert.LessOrEqual(t, queued[labels], c, "what the queue holds")
		t.Logf("queue holds %.0f of %.0f bytes", queued[labels], c)
	}
	refusedAttempts := metric("otelcol_exporter_enqueue_failed_log_records")
	refusedToReceiver := metric("otelcol_receiver_refused_log_records")
	if retry {
		onDisk := dirSize(t, storageDir)
		t.Logf("persistent queue full: %d bytes on disk for a %d-byte bound (%.1fx), %.0f refused offers so far",
			onDisk, fullQueueBytes, float64(onDisk)/fullQueueBytes, refusedAttempts)
		assert.LessOrEqual(t, onDisk, int64(4*fullQueueBytes), "the queue's files stay near the bound")
	}

	emu.setMode(modeOK)
	want := total
	if !retry {
		want = total - int(refusedToReceiver)
	}
	waitFor(t, col, "the queued records to arrive", func() bool { return emu.snapshot().okLines >= want })
	time.Sleep(settle)
	snap := emu.snapshot()
	t.Logf("retry_on_failure %t: %d of %d records arrived; the full queue refused %.0f offers (enqueue_failed), "+
		"%.0f records refused to the receiver", retry, snap.okLines, total, refusedAttempts, metric("otelcol_receiver_refused_log_records"))
	if retry {
		assert.Equal(t, total, snap.okLines, "every record arrives")
		for id, n := range snap.accepted {
			assert.Equal(t, fullQueueRepeat, n, "deliveries of catalogue record %s", id)
		}
		assert.Len(t, snap.accepted, perCopy)
		return
	}
	assert.Positive(t, refusedToReceiver, "the full queue refused records")
	assert.InDelta(t, refusedToReceiver, refusedAttempts, 0, "enqueue_failed counts exactly the refused records")
	assert.Equal(t, total-int(refusedToReceiver), snap.okLines, "what the queue refused is lost, the rest arrives")
}

// dirSize adds up the sizes of the regular files below dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var size int64
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			size += info.Size()
		}
		return err
	}))
	return size
}
