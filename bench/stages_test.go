package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// stage is one step of the work on a batch, measured on its own.
type stage struct {
	name string
	run  func(plog.Logs)
}

// TestStageCosts says where a record's time goes: the floors, the event id
// (Reader.Admit), the read of the rules' fields, the rules, and the whole
// processor in three configurations, each measured on cold batches (fresh
// from a protobuf decode, as in BenchmarkDetect). The stages take turns
// batch by batch within one process, so drift on the shared machine hits
// them alike; the 25th percentile of the per-batch times is robust against
// a batch interrupted by other work. It runs only with BENCH_STAGES=<file>
// (bench/run.sh), which gets a markdown table; BENCH_STAGES_SHAPE and
// BENCH_STAGES_MIX pick the case (default map, process).
func TestStageCosts(t *testing.T) {
	out := os.Getenv("BENCH_STAGES")
	if out == "" {
		t.Skip("BENCH_STAGES not set")
	}
	shape, mix := MapShape, Process
	if s := os.Getenv("BENCH_STAGES_SHAPE"); s != "" {
		shape = Shape(s)
	}
	if m := os.Getenv("BENCH_STAGES_MIX"); m != "" {
		mix = Mix(m)
	}
	stages := stagesOf(t, shape)
	const batches, rounds = 140, 5
	pool, err := source(t, shape, mix).Pool(batches + len(stages))
	if err != nil {
		t.Fatal(err)
	}
	// One batch per stage first, outside the timing: detections are
	// annotated once (a second time is cheaper) and every stage warmed up.
	for i := range stages {
		for _, s := range stages {
			s.run(pool[i])
		}
	}
	pool = pool[len(stages):]
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as BenchmarkDetect: no collection over the pool mid-run
	runtime.GC()
	times := make([][]float64, len(stages))
	for r := range rounds {
		for i, ld := range pool {
			k := (i + r) % len(stages)
			start := time.Now()
			stages[k].run(ld)
			times[k] = append(times[k], float64(time.Since(start).Nanoseconds())/float64(ld.LogRecordCount()))
		}
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	floor := quantile(times[0], 0.25)
	for k, s := range stages {
		p25 := quantile(times[k], 0.25)
		fmt.Fprintf(f, "| %s | %s | %s | %.0f | %.0f | %s |\n", shapeNamesShort[shape], mix, s.name, p25, quantile(times[k], 0.5),
			strconv.FormatFloat(p25/floor, 'f', 2, 64)+"x")
	}
}

var shapeNamesShort = map[Shape]string{MapShape: "receiver map", ArrayShape: "receiver map, array", XMLShape: "raw XML"}

func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// stagesOf builds the stages for a shape. The read stages use a reader with
// the extended rules' plan, the engine's own, as the processor does.
func stagesOf(t *testing.T, shape Shape) []stage {
	engine, err := rules.New(rules.Options{Profile: rules.Extended})
	if err != nil {
		t.Fatal(err)
	}
	reader := winevent.NewReader(engine.Needs()...)
	var ev winevent.Event
	read := func(evaluate bool) func(plog.Logs) {
		return func(ld plog.Logs) {
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				lr := lrs.At(i)
				a := reader.Admit(lr.Body())
				if reader.ReadAdmitted(lr.Body(), lr.Attributes(), a, &ev) == winevent.Filled && evaluate {
					sink += int(engine.Evaluate(&ev).Pattern)
				}
			}
		}
	}
	consume := func(build func() (processor.Logs, error)) func(plog.Logs) {
		p, err := build()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		return func(ld plog.Logs) {
			if err := p.ConsumeLogs(context.Background(), ld); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []stage{
		{"floor", func(ld plog.Logs) { sink += Floor(ld, shape) }},
		{"correlation floor", func(ld plog.Logs) { sink += CorrelationFloor(ld, shape) }},
		{"event id (Reader.Admit)", func(ld plog.Logs) {
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				if reader.Admit(lrs.At(i).Body()).PassedOver() {
					sink++
				}
			}
		}},
		{"read the extended rules' fields", read(false)},
		{"read + extended rules", read(true)},
		{"dcomdetection `seed`", consume(func() (processor.Logs, error) { return NewDCOM("seed") })},
		{"dcomdetection `extended`, correlation off", consume(func() (processor.Logs, error) { return NewDCOMWithoutCorrelation("extended") })},
		{"dcomdetection `extended`", consume(func() (processor.Logs, error) { return NewDCOM("extended") })},
	}
}
