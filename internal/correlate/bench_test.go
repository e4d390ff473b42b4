package correlate

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// benchRecords picks stream records (both shapes' bodies) by what the
// correlation does with them:
//   - unused: event ids it does not read (4634, 4672, 4103, 4104, 10016):
//     passed over by the reader after the event id;
//   - stateless: ids it reads that keep nothing and join nothing (outbound
//     Sysmon 3, exits of processes that are not servers, logons that are not
//     network logons from another host, process creations whose parent is
//     neither watched nor a COM server);
func benchRecords(b *testing.B, shape string) (unused, stateless []pcommon.Value) {
	engine, err := rules.New(rules.Options{})
	require.NoError(b, err)
	for _, s := range loadStreams(b) {
		for _, body := range bodies(b, s, shape, inOrder(len(s.JSON))) {
			var ce winevent.Event
			// PowerShell's events are read by the rules, never by the
			// correlation.
			if !winevent.ReadContext(body, pcommon.NewMap(), &ce) || ce.IsPowerShell() {
				unused = append(unused, body)
				continue
			}
			// probe with a fresh correlator: does it keep anything?
			c, err := New(testConfig(engine))
			require.NoError(b, err)
			in := Input{Event: &ce}
			in.Time, _ = winevent.ParseTime(ce.SystemTime)
			if ce.EventID == winevent.SysmonProcessTerminate || ce.EventID == winevent.SecurityProcessExit {
				// exits only look: give the host state first
				c.Observe(&Input{Event: &winevent.Event{
					EventID: 4624, Channel: "Security", Computer: ce.Computer,
					LogonType: "3", TargetLogonID: "0x1", IPAddress: "10.9.9.9", IPPort: "1",
				}, Time: in.Time}, nil)
			}
			before := c.Stats().Entries
			c.Observe(&in, nil)
			if c.Stats().Entries == before {
				stateless = append(stateless, body)
			}
		}
	}
	return unused, stateless
}

// BenchmarkObserve measures the read with the correlation's plan + Observe
// per record, the way the processor calls them, for records that need no
// state. Both allocate
// nothing (raw XML bodies with entities allocate to unescape them).
func BenchmarkObserve(b *testing.B) {
	for _, shape := range shapes {
		unused, stateless := benchRecords(b, shape)
		engine, err := rules.New(rules.Options{})
		require.NoError(b, err)
		c, err := New(testConfig(engine))
		require.NoError(b, err)
		reader := winevent.NewReader(c.Needs()...)
		attrs := pcommon.NewMap()
		run := func(name string, records []pcommon.Value) {
			b.Run(shape+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				var ce winevent.Event
				var late []Finding
				for b.Loop() {
					for _, body := range records {
						if reader.Read(body, attrs, &ce) != winevent.Filled || !ce.FromExpectedLog() {
							continue
						}
						in := Input{Event: &ce}
						in.Time, _ = winevent.ParseTime(ce.SystemTime)
						_, late = c.Observe(&in, late[:0])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
				b.ReportMetric(float64(len(records)), "records")
			})
		}
		run("unused-event-ids", unused)
		var noEntities []pcommon.Value
		for _, v := range stateless {
			if shape == "json" || !containsAmp(v.Str()) {
				noEntities = append(noEntities, v)
			}
		}
		run("used-ids-no-state", noEntities)
	}
}

func containsAmp(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			return true
		}
	}
	return false
}

// TestObserveAllocatesNothingWithoutState holds the benchmark's promise.
func TestObserveAllocatesNothingWithoutState(t *testing.T) {
	b := &testing.B{}
	_ = b
	engine, err := rules.New(rules.Options{})
	require.NoError(t, err)
	for _, shape := range shapes {
		unused, stateless := benchRecords(&testing.B{}, shape)
		require.Greater(t, len(unused), 500)
		require.Greater(t, len(stateless), 100)
		c, err := New(testConfig(engine))
		require.NoError(t, err)
		reader := winevent.NewReader(c.Needs()...)
		attrs := pcommon.NewMap()
		for name, records := range map[string][]pcommon.Value{"unused": unused, "stateless": stateless} {
			var ce winevent.Event
			late := make([]Finding, 0, 4)
			allocs := testing.AllocsPerRun(3, func() {
				for _, body := range records {
					if shape == "xml" && containsAmp(body.Str()) && name == "stateless" {
						continue
					}
					if reader.Read(body, attrs, &ce) != winevent.Filled || !ce.FromExpectedLog() {
						continue
					}
					in := Input{Event: &ce}
					in.Time, _ = winevent.ParseTime(ce.SystemTime)
					_, late = c.Observe(&in, late[:0])
				}
			})
			require.Zero(t, allocs, "%s/%s", shape, name)
		}
	}
}
