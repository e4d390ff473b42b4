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

// TestNonMatchingRecordsDoNotAllocate checks, in every shape, that a batch
// of the realistic or the process mix without its detections (980-990
// records, a fresh batch per run) allocates exactly what a batch of one
// record allocates (the per-batch constant of the processor helper and
// telemetry, nothing per record) for both profiles without correlation and
// for the seed profile; with correlation on, the records that enter the
// correlation's state (a child of a watched parent waiting for its
// connection, a COM server) allocate the copy of their strings and of the
// record kept for a late alert, and nothing else: within a stated budget.
// It also reports what a detection allocates.
func TestNonMatchingRecordsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	for _, shape := range Shapes {
		for _, mix := range []Mix{Realistic, Process} {
			nonMatching(t, shape, "extended_nocorr", mix, func() (processor.Logs, error) { return NewDCOMWithoutCorrelation("extended") })
		}
		for _, profile := range []string{"seed", "extended"} {
			for _, mix := range []Mix{Realistic, Process} {
				nonMatching(t, shape, profile, mix, func() (processor.Logs, error) { return NewDCOM(profile) })
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

// stateEntryAllocations is the most a non-matching record may allocate, on
// average, with correlation on: an entry entering state allocates its
// strings, packed in one allocation, and the copy of its record kept for a
// late alert (measured: 0.046-0.049 per record on the process mix,
// 0.006-0.008 on the realistic mix, every shape).
var stateEntryAllocations = map[Mix]float64{Process: 0.06, Realistic: 0.01}

// nonMatching checks what a batch of a mix without its detections allocates
// against what a batch of one of its records allocates.
func nonMatching(t *testing.T, shape Shape, name string, mix Mix, build func() (processor.Logs, error)) {
	t.Helper()
	ctx := context.Background()
	p := newProcessor(t, build)
	consume := func(ld plog.Logs) {
		if err := p.ConsumeLogs(ctx, ld); err != nil {
			t.Fatal(err)
		}
	}
	src := source(t, shape, mix)
	// Fresh batches, one per run: each run's records are new to the
	// correlation's state, as on a live host (a batch seen again would find
	// its entries there already).
	const runs = 20
	fulls := make([]plog.Logs, runs+1)
	for i := range fulls {
		fulls[i] = withoutDetections(src.Batch(i), shape)
	}
	next := 0
	perFull := testing.AllocsPerRun(runs, func() { consume(fulls[next]); next++ })
	full := fulls[0]
	one := firstRecords(withoutDetections(src.Batch(0), shape), 1)
	perOne := testing.AllocsPerRun(20, func() { consume(one) })
	perRecord := (perFull - perOne) / float64(full.LogRecordCount()-1)
	t.Logf("%s/%s/%s: %d non-matching records allocate %.1f per batch, one record %.1f: %.3f allocations per record",
		shape, name, mix, full.LogRecordCount(), perFull, perOne, perRecord)
	if name == "extended" {
		if perRecord > stateEntryAllocations[mix] {
			t.Errorf("%s/%s/%s: %.3f allocations per non-matching record, more than the entries entering correlation state allocate (%.3f)",
				shape, name, mix, perRecord, stateEntryAllocations[mix])
		}
		return
	}
	if perFull != perOne {
		t.Errorf("%s/%s/%s: %d non-matching records allocate %.1f per batch, one record %.1f: %.3f allocations per record",
			shape, name, mix, full.LogRecordCount(), perFull, perOne, perRecord)
	}
}
