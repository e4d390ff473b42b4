package bench

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
)

// withoutDetections removes the injected catalogue events from a batch.
func withoutDetections(ld plog.Logs, shape Shape) plog.Logs {
	ids := catalogueIDs(ld, shape)
	i := 0
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().RemoveIf(func(plog.LogRecord) bool {
		drop := ids[i] != ""
		i++
		return drop
	})
	return ld
}

// firstRecords keeps the first n records of a batch.
func firstRecords(ld plog.Logs, n int) plog.Logs {
	i := 0
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().RemoveIf(func(plog.LogRecord) bool {
		i++
		return i > n
	})
	return ld
}

// TestNonMatchingRecordsDoNotAllocate checks, in every shape and for both
// profiles, that a batch of the realistic or the process mix without its
// detections (980-990 records)
// allocates exactly what a batch of one record allocates: the per-batch
// constant of the processor helper and telemetry, nothing per record.
// It also reports what a detection allocates.
func TestNonMatchingRecordsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	for _, shape := range Shapes {
		for _, profile := range []string{"seed", "extended"} {
			for _, mix := range []Mix{Realistic, Process} {
				nonMatching(t, shape, profile, mix)
			}
			p := newProcessor(t, func() (processor.Logs, error) { return NewDCOM(profile) })
			consume := func(ld plog.Logs) {
				if err := p.ConsumeLogs(ctx, ld); err != nil {
					t.Fatal(err)
				}
			}
			src := source(t, shape, Realistic)
			one := firstRecords(withoutDetections(src.Batch(0), shape), 1)
			perOne := testing.AllocsPerRun(20, func() { consume(one) })
			// detections: a fresh batch each run, since annotating twice reuses the keys
			all := source(t, shape, AllMatch)
			const runs = 5
			batches := make([]plog.Logs, runs+1)
			for i := range batches {
				batches[i] = all.Batch(i)
			}
			next := 0
			perAll := testing.AllocsPerRun(runs, func() { consume(batches[next]); next++ })
			attrs := 0
			lrs := batches[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				attrs += lrs.At(i).Attributes().Len()
			}
			t.Logf("%s/%s: per batch %.0f allocations without detections; per detection %.1f allocations for %.1f attributes written",
				shape, profile, perOne, (perAll-perOne)/BatchSize, float64(attrs)/BatchSize)
		}
	}
}

// nonMatching checks that a batch of a mix without its detections allocates
// what a batch of one of its records allocates.
func nonMatching(t *testing.T, shape Shape, profile string, mix Mix) {
	t.Helper()
	ctx := context.Background()
	p := newProcessor(t, func() (processor.Logs, error) { return NewDCOM(profile) })
	consume := func(ld plog.Logs) {
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			t.Fatal(err)
		}
	}
	src := source(t, shape, mix)
	full := withoutDetections(src.Batch(0), shape)
	one := firstRecords(withoutDetections(src.Batch(0), shape), 1)
	perFull := testing.AllocsPerRun(20, func() { consume(full) })
	perOne := testing.AllocsPerRun(20, func() { consume(one) })
	if mix == Process && profile == "extended" {
		// Process creations that enter the correlation's state (children of
		// explorer.exe waiting for a connection, COM servers) are copied
		// into it: issue #27 pools those entries. Reported, not asserted.
		t.Logf("%s/%s/%s: %d non-matching records allocate %.1f per batch, one record %.1f: %.3f allocations per record (entries entering correlation state)",
			shape, profile, mix, full.LogRecordCount(), perFull, perOne, (perFull-perOne)/float64(full.LogRecordCount()-1))
		return
	}
	if perFull != perOne {
		t.Errorf("%s/%s/%s: %d non-matching records allocate %.1f per batch, one record %.1f: %.3f allocations per record",
			shape, profile, mix, full.LogRecordCount(), perFull, perOne, (perFull-perOne)/float64(full.LogRecordCount()-1))
	}
}
