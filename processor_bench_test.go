package dcomdetectionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// splitCatalogue renders the catalogue in one shape and splits it into the
// records the profile flags and those it does not.
func splitCatalogue(b testing.TB, s shape, profile string) (matching, other plog.Logs) {
	expected := expectedOutcomes(b)
	all := catalogueLogs(b, s)
	matching, other = plog.NewLogs(), plog.NewLogs()
	m := matching.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	o := other.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	records := all.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < records.Len(); i++ {
		lr := records.At(i)
		if expected[catalogueID(b, lr)][profile] == "none" {
			lr.CopyTo(o.AppendEmpty())
		} else {
			lr.CopyTo(m.AppendEmpty())
		}
	}
	return matching, other
}

// BenchmarkProcessor reports ns/record and allocs/record per body shape and
// profile, for records that do not match (reused: nothing is written to them)
// and for records that match (a fresh copy each iteration, copied outside the timer).
func BenchmarkProcessor(b *testing.B) {
	for _, s := range shapes {
		if s.name == "flat attributes" {
			continue
		}
		for _, profile := range []string{ProfileExtended, ProfileSeed} {
			matching, other := splitCatalogue(b, s, profile)
			cfg := defaultConfig()
			cfg.Profile = profile
			proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(b, err)
			b.Run(s.name+"/"+profile+"/unmatched", func(b *testing.B) {
				b.ReportAllocs()
				n := other.LogRecordCount()
				for b.Loop() {
					_, _ = proc.processLogs(context.Background(), other)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			})
			b.Run(s.name+"/"+profile+"/matched", func(b *testing.B) {
				b.ReportAllocs()
				n := matching.LogRecordCount()
				batch := plog.NewLogs()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					matching.CopyTo(batch)
					b.StartTimer()
					_, _ = proc.processLogs(context.Background(), batch)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			})
		}
	}
}

// TestUnmatchedRecordsAllocateNothing holds the zero-allocation promise for
// records that are not detections, in the receiver's map shapes (raw XML
// allocates only to unescape entities; see internal/winevent).
func TestUnmatchedRecordsAllocateNothing(t *testing.T) {
	for _, s := range shapes[:2] {
		for _, profile := range []string{ProfileExtended, ProfileSeed} {
			_, other := splitCatalogue(t, s, profile)
			cfg := defaultConfig()
			cfg.Profile = profile
			proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			records := other.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			var stats batchStats
			var ev winevent.Event
			allocs := testing.AllocsPerRun(20, func() {
				for i := 0; i < records.Len(); i++ {
					proc.inspect(records.At(i), proc.reader.Admit(records.At(i).Body()), &ev, &stats)
				}
			})
			require.Zero(t, allocs, "%s/%s", s.name, profile)
		}
	}
}
