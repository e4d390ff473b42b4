package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
)

// poolSize is the number of batches (of 1,000 records) each benchmark cycles
// over; BENCH_POOL overrides it. run.sh sets -benchtime to the same number of
// iterations, so that every timed iteration gets a batch that was decoded
// for it and never touched since: 100 batches take several hundred MB, far
// beyond the 32 MiB L3. With a longer -benchtime the pool wraps, and
// detections are then annotated a second time (cheaper: the keys exist).
func poolSize() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_POOL")); err == nil && n > 0 {
		return n
	}
	return 100
}

// contender is one implementation measured on a batch.
type contender struct {
	name   string
	shapes []Shape
	// build returns the function a timed iteration calls on one batch.
	build func(tb testing.TB, shape Shape) func(plog.Logs)
}

var sink int

func consumeWith(build func() (processor.Logs, error)) func(tb testing.TB, _ Shape) func(plog.Logs) {
	return func(tb testing.TB, _ Shape) func(plog.Logs) {
		p := newProcessor(tb, build)
		ctx := context.Background()
		return func(ld plog.Logs) {
			if err := p.ConsumeLogs(ctx, ld); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

var contenders = []contender{
	{"floor", Shapes, func(_ testing.TB, shape Shape) func(plog.Logs) {
		return func(ld plog.Logs) { sink += Floor(ld, shape) }
	}},
	{"floor_corr", Shapes, func(_ testing.TB, shape Shape) func(plog.Logs) {
		return func(ld plog.Logs) { sink += CorrelationFloor(ld, shape) }
	}},
	{"seed", Shapes, consumeWith(func() (processor.Logs, error) { return NewDCOM("seed") })},
	{"extended", Shapes, consumeWith(func() (processor.Logs, error) { return NewDCOM("extended") })},
	{"extended_nocorr", Shapes, consumeWith(func() (processor.Logs, error) { return NewDCOMWithoutCorrelation("extended") })},
	{"ottl", []Shape{MapShape}, consumeWith(NewOTTLSeed)},
	{"encodingxml", []Shape{XMLShape}, func(tb testing.TB, _ Shape) func(plog.Logs) {
		return func(ld plog.Logs) {
			n, err := DecodeXML(ld)
			if err != nil {
				tb.Fatal(err)
			}
			sink += n
		}
	}},
}

// BenchmarkDetect runs every contender on the same batches: 1,000 records per
// iteration, each batch fresh from a protobuf decode and cold in cache.
// ns/op, B/op and allocs/op are per batch; ns/record is per record.
func BenchmarkDetect(b *testing.B) {
	for _, mix := range Mixes {
		for _, shape := range Shapes {
			for _, c := range contenders {
				if !hasShape(c.shapes, shape) {
					continue
				}
				b.Run(fmt.Sprintf("shape=%s/mix=%s/contender=%s", shape, mix, c.name), func(b *testing.B) {
					run := c.build(b, shape)
					pool, err := source(b, shape, mix).Pool(poolSize())
					if err != nil {
						b.Fatal(err)
					}
					// One batch outside the pool first: it warms the contender
					// up and tells how much a batch allocates.
					var ms0, ms1 runtime.MemStats
					runtime.ReadMemStats(&ms0)
					run(source(b, shape, mix).Batch(distinctBatches - 1))
					runtime.ReadMemStats(&ms1)
					perBatch := ms1.TotalAlloc - ms0.TotalAlloc
					// The pool is several hundred MB of live heap: a collection
					// now and then would cost far more than in a collector and
					// land on whichever run happens to cross the threshold. So
					// the timed loop runs without GC (B/record shows what each
					// contender leaves for the collector), on heap pages that
					// were faulted in beforehand, as a running collector's are.
					defer debug.SetGCPercent(debug.SetGCPercent(-1))
					prefault(perBatch*uint64(len(pool))*5/4 + 64<<20)
					runtime.GC()
					b.ReportAllocs()
					i := 0
					var cpu0 time.Duration
					for b.Loop() {
						if i == 0 {
							cpu0 = processCPU()
						}
						run(pool[i%len(pool)])
						i++
					}
					cpu := processCPU() - cpu0

					records := float64(i * BatchSize)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
					// The machine is shared: CPU time is what this process
					// spent, whatever else ran beside it.
					b.ReportMetric(float64(cpu.Nanoseconds())/records, "cpu-ns/record")
				})
			}
		}
	}
}

// prefault maps n bytes into the heap and frees them again, so that the
// timed loop allocates from pages the heap already has instead of taking a
// page fault every 4 KiB. With GC off the runtime does not give them back.
func prefault(n uint64) {
	n = min(n, 4<<30)
	chunks := make([][]byte, 0, n>>20+1)
	for done := uint64(0); done < n; done += 1 << 20 {
		c := make([]byte, 1<<20)
		for i := 0; i < len(c); i += 4096 {
			c[i] = 1
		}
		chunks = append(chunks, c)
	}
	runtime.KeepAlive(chunks)
}

// processCPU is the CPU time (user and system) of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func hasShape(shapes []Shape, s Shape) bool {
	for _, x := range shapes {
		if x == s {
			return true
		}
	}
	return false
}
