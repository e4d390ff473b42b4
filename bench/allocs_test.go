package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"

	dcom "github.com/otelcol-dcom/dcomdetectionprocessor"
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
// average, with correlation on, while the state only grows (this test's
// 20 batches stay within max_delay of wall time: nothing leaves): an entry
// entering the state allocates its one buffer, its strings and the copy of
// its record laid out in it (measured: 0.021-0.022 per record on the
// process mix, 0.002 on the realistic mix, every shape; 0.046-0.049 and
// 0.006-0.008 when the strings and the copy were two allocations). Once
// entries leave, new ones take their buffers:
// TestEnteringCorrelationStateAllocatesNothing.
var stateEntryAllocations = map[Mix]float64{Process: 0.03, Realistic: 0.004}

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

// steadyBatches and steadyWarmup: the steady-state test's fresh batches (of
// one generator, so that event time runs on, about 2 s per batch) and the
// first of them that only bring the state to its steady size.
const steadyBatches, steadyWarmup = 36, 16

// steadyAllocations is the most a record without detections may allocate,
// on average, once the correlation's state is steady: an entry allocates
// only when its shard's spare buffers hold none of its size, when a host's
// entries grow past what its shard shed before (measured 0.0001-0.0012 per
// record; 0 with arrivals at a steady rate, internal/correlate's
// TestEnteringStateAllocatesNothingWhenSteady).
const steadyAllocations = 0.003

// TestEnteringCorrelationStateAllocatesNothing checks, in every shape and
// both mixes, that with correlation on a batch without detections allocates
// what a batch of one record allocates, within steadyAllocations per record,
// once the correlation's state is steady: its entries leave as fast as new
// ones come, and each new entry takes the buffer of one that left. A live host reaches that state after
// its longest hold (max_delay, the logon and server timeouts); the test
// shortens the holds (max_delay 0, logon and server timeouts 5 s, the
// window's 10 s unchanged) so that a few batches of event time turn the
// state over, and counts every allocation of the batches after those.
func TestEnteringCorrelationStateAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	tmpl := loadTemplates(t)
	for _, shape := range Shapes {
		for _, mix := range []Mix{Realistic, Process} {
			src, err := NewSource(tmpl, shape, mix, steadyBatches, 7)
			if err != nil {
				t.Fatal(err)
			}
			p := newProcessor(t, func() (processor.Logs, error) {
				f := dcom.NewFactory()
				cfg := f.CreateDefaultConfig().(*dcom.Config)
				cfg.Correlation.MaxDelay = 0
				cfg.Correlation.Logon.Timeout = 5 * time.Second
				cfg.Correlation.ServerChild.Timeout, cfg.Correlation.ServerChild.TimeoutWithoutExits = 5*time.Second, 5*time.Second
				if err := cfg.Validate(); err != nil {
					return nil, err
				}
				return start(f, cfg)
			})
			consume := func(ld plog.Logs) {
				if err := p.ConsumeLogs(ctx, ld); err != nil {
					t.Fatal(err)
				}
			}
			batches := make([]plog.Logs, steadyBatches)
			records := 0
			for i := range batches {
				batches[i] = withoutDetections(src.Batch(i), shape)
				if i >= steadyWarmup {
					records += batches[i].LogRecordCount()
				}
			}
			one := firstRecords(withoutDetections(src.Batch(0), shape), 1)
			for _, ld := range batches[:steadyWarmup] {
				consume(ld)
			}
			perOne := testing.AllocsPerRun(20, func() { consume(one) })
			measured := steadyBatches - steadyWarmup
			total := mallocs(measured, func(i int) { consume(batches[steadyWarmup+i]) })
			extra := float64(total) - perOne*float64(measured)
			t.Logf("%s/%s: %d batches, %d records without detections, entering and leaving the steady state: %d allocations, %.0f per batch of one record: %.4f per record",
				shape, mix, measured, records, total, perOne, extra/float64(records))
			if extra > steadyAllocations*float64(records) {
				t.Errorf("%s/%s: %.0f allocations beyond the per-batch constant in %d records, more than %.4f per record", shape, mix, extra, records, steadyAllocations)
			}
		}
	}
}

// mallocs counts the heap allocations of runs calls of f exactly
// (testing.AllocsPerRun rounds the average down).
func mallocs(runs int, f func(i int)) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range runs {
		f(i)
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
