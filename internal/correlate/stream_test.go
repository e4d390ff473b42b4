package correlate

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

const streamsDir = "../../testdata/streams"

func loadStreams(t testing.TB) []*streamtest.Stream {
	t.Helper()
	streams, err := streamtest.Load(streamsDir)
	require.NoError(t, err)
	require.Len(t, streams, 6)
	return streams
}

// testConfig is the processor's default correlation configuration.
func testConfig(engine *rules.Engine) Config {
	return Config{
		InboundChild: true, Window: 10 * time.Second, InboundParents: []string{"explorer.exe", "mmc.exe", "mshta.exe"},
		PortMin: 49152, PortMax: 65535,
		ServerChild: true, ServerTimeout: time.Hour, ServerTimeoutWithoutExits: 5 * time.Minute,
		Logon: true, LogonTimeout: 10 * time.Minute,
		MaxDelay: time.Minute, LateFindings: true,
		MaxHosts: 10000, MaxEntriesPerHost: 1000, MaxEntries: 250000,
		Judge: EngineJudge{Engine: engine},
	}
}

// harness feeds records the way the processor does: the engine's verdict
// first, then the correlation.
type harness struct {
	engine *rules.Engine
	c      *Correlator
	reader *winevent.Reader
	mu     sync.Mutex
	obs    []streamtest.Observed
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	engine, err := rules.New(rules.Options{})
	require.NoError(t, err)
	cfg := testConfig(engine)
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	reader := winevent.NewReader(append(engine.Needs(), c.Needs()...)...)
	return &harness{engine: engine, c: c, reader: reader}
}

func (hn *harness) observe(body pcommon.Value) {
	// As the processor reads: once, with the plan of the engine and the
	// correlation.
	var ev winevent.Event
	if hn.reader.Read(body, pcommon.NewMap(), &ev) != winevent.Filled || !ev.FromExpectedLog() {
		return
	}
	in := Input{Event: &ev}
	in.Time, _ = winevent.ParseTime(ev.SystemTime)
	if ev.IsProcessCreation() {
		v := hn.engine.Evaluate(&ev)
		in.Detection = v.Detected()
		in.Excluded = v.Excluded != ""
		in.ServerLaunch = v.ServerLaunch
	}
	f, late := hn.c.Observe(&in, nil)
	hn.mu.Lock()
	defer hn.mu.Unlock()
	if !f.Empty() {
		hn.obs = append(hn.obs, observed(&f)...)
	}
	for i := range late {
		hn.obs = append(hn.obs, observed(&late[i])...)
	}
}

// observed turns a finding into what the expect files name.
func observed(f *Finding) []streamtest.Observed {
	base := streamtest.Observed{Host: f.Record.Host, EventID: f.Record.EventID, RecordID: f.Record.RecordID, Late: f.Late}
	var out []streamtest.Observed
	if f.Kinds.Has(InboundChild) {
		o := base
		o.Feature = streamtest.InboundChild
		o.RemoteAddress, o.RemotePort, o.LocalPort = f.Conn.RemoteAddr, int(f.Conn.RemotePort), int(f.Conn.LocalPort)
		out = append(out, o)
	}
	if f.Kinds.Has(ServerChild) {
		o := base
		o.Feature = streamtest.ServerChild
		o.ServerCommandLine, o.ServerPID = f.Server.CommandLine, int64(f.Server.PID)
		out = append(out, o)
	}
	if f.LogonJoin != NoLogon {
		o := base
		o.Feature = streamtest.Logon
		if f.LogonJoin == ByAddress {
			o.Feature = streamtest.AddressLogon
		}
		l := &f.Logon
		o.LogonID, o.Account, o.Domain, o.AuthPackage = l.ID, l.UserName, l.UserDomain, l.AuthPackage
		o.LogonProcess, o.Workstation = l.LogonProcess, l.Workstation
		o.RemoteAddress, o.RemotePort = l.Address, int(l.Port)
		out = append(out, o)
	}
	return out
}

var (
	renderedMu sync.Mutex
	rendered   = map[string][]pcommon.Value{}
)

// bodies renders a stream once per shape (the bodies are only read, also
// from several goroutines) and returns them in the given order.
func bodies(t testing.TB, s *streamtest.Stream, shape string, order []int) []pcommon.Value {
	t.Helper()
	renderedMu.Lock()
	all, ok := rendered[s.Name+"/"+shape]
	if !ok {
		for i := range s.JSON {
			v, err := s.Body(shape, i)
			require.NoError(t, err)
			all = append(all, v)
		}
		rendered[s.Name+"/"+shape] = all
	}
	renderedMu.Unlock()
	out := make([]pcommon.Value, 0, len(order))
	for _, i := range order {
		out = append(out, all[i])
	}
	return out
}

func inOrder(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

func checkReport(t *testing.T, s *streamtest.Stream, obs []streamtest.Observed) *streamtest.Report {
	t.Helper()
	rep := s.Check(obs)
	for _, e := range rep.Errors {
		t.Error(e)
	}
	require.Equal(t, rep.Required, rep.RequiredFound, "required findings")
	require.Zero(t, rep.LookalikesFlagged)
	return rep
}

var shapes = []string{"json", "xml"}

// TestStreamsInOrder: every required finding with its values, nothing on a
// look-alike, in both shapes, events in the recorded order.
func TestStreamsInOrder(t *testing.T) {
	for _, s := range loadStreams(t) {
		for _, shape := range shapes {
			t.Run(s.Short()+"/"+shape, func(t *testing.T) {
				hn := newHarness(t, nil)
				for _, b := range bodies(t, s, shape, inOrder(len(s.JSON))) {
					hn.observe(b)
				}
				rep := checkReport(t, s, hn.obs)
				t.Log(rep)
			})
		}
	}
}

// TestStreamsShuffled moves every event by up to 3 s of its time (ten
// seeds): findings whose partner now comes first are made on the record,
// the others late.
func TestStreamsShuffled(t *testing.T) {
	for _, s := range loadStreams(t) {
		for _, shape := range shapes {
			t.Run(s.Short()+"/"+shape, func(t *testing.T) {
				t.Parallel()
				for seed := int64(1); seed <= 10; seed++ {
					hn := newHarness(t, nil)
					for _, b := range bodies(t, s, shape, s.Shuffled(seed, int64(3*time.Second))) {
						hn.observe(b)
					}
					rep := s.Check(hn.obs)
					for _, e := range rep.Errors {
						t.Errorf("seed %d: %s", seed, e)
					}
					require.Equal(t, rep.Required, rep.RequiredFound, "seed %d", seed)
				}
			})
		}
	}
}

// TestStreamsConcurrent splits each stream into batches of 8 consumed by 4
// goroutines at once (as concurrent ConsumeLogs calls), and separately feeds
// the Sysmon and Security logs from two goroutines (two receivers), each log
// in order but with no order between them.
func TestStreamsConcurrent(t *testing.T) {
	for _, s := range loadStreams(t) {
		for _, shape := range shapes {
			t.Run(s.Short()+"/"+shape+"/batches", func(t *testing.T) {
				for round := 0; round < 5; round++ {
					hn := newHarness(t, nil)
					all := bodies(t, s, shape, inOrder(len(s.JSON)))
					batches := make(chan []pcommon.Value)
					var wg sync.WaitGroup
					for w := 0; w < 4; w++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for batch := range batches {
								for _, b := range batch {
									hn.observe(b)
								}
							}
						}()
					}
					for i := 0; i < len(all); i += 8 {
						batches <- all[i:min(i+8, len(all))]
					}
					close(batches)
					wg.Wait()
					checkReport(t, s, hn.obs)
				}
			})
			t.Run(s.Short()+"/"+shape+"/per-log", func(t *testing.T) {
				for round := 0; round < 5; round++ {
					hn := newHarness(t, nil)
					all := bodies(t, s, shape, inOrder(len(s.JSON)))
					var sysmon, other []pcommon.Value
					for i, b := range all {
						var ce winevent.Event
						if winevent.ReadContext(b, pcommon.NewMap(), &ce) && ce.IsSysmon() {
							sysmon = append(sysmon, all[i])
						} else {
							other = append(other, all[i])
						}
					}
					var wg sync.WaitGroup
					for _, log := range [][]pcommon.Value{sysmon, other} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for _, b := range log {
								hn.observe(b)
							}
						}()
					}
					wg.Wait()
					checkReport(t, s, hn.obs)
				}
			})
		}
	}
}

// TestStreamsReverseLogs feeds the whole Security log before the whole
// Sysmon log and the other way round: the extreme of two receivers out of
// step.
func TestStreamsReverseLogs(t *testing.T) {
	for _, s := range loadStreams(t) {
		for _, first := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sysmon-first=%v", s.Short(), first), func(t *testing.T) {
				hn := newHarness(t, nil)
				all := bodies(t, s, "json", inOrder(len(s.JSON)))
				var a, b []pcommon.Value
				for _, v := range all {
					var ce winevent.Event
					isSysmon := winevent.ReadContext(v, pcommon.NewMap(), &ce) && ce.IsSysmon()
					if isSysmon == first {
						a = append(a, v)
					} else {
						b = append(b, v)
					}
				}
				for _, v := range append(a, b...) {
					hn.observe(v)
				}
				checkReport(t, s, hn.obs)
			})
		}
	}
}

// TestStreamsDelivery twice: a record delivered again (at-least-once
// delivery) is not joined twice into late findings.
func TestStreamsDeliveredTwice(t *testing.T) {
	for _, s := range loadStreams(t) {
		hn := newHarness(t, nil)
		all := bodies(t, s, "json", inOrder(len(s.JSON)))
		for _, v := range all {
			hn.observe(v)
			hn.observe(v)
		}
		rep := s.Check(hn.obs)
		for _, e := range rep.Errors {
			t.Errorf("%s: %s", s.Short(), e)
		}
		lateSeen := map[string]int{}
		for _, o := range hn.obs {
			if o.Late {
				lateSeen[fmt.Sprint(o.Host, o.EventID, o.RecordID, o.Feature)]++
			}
		}
		for k, n := range lateSeen {
			require.Equal(t, 1, n, "%s: late finding %s made %d times", s.Short(), k, n)
		}
	}
}
