package dcomdetectionprocessor

import (
	"context"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

func loadCorrelationStreams(t testing.TB) []*streamtest.Stream {
	t.Helper()
	streams, err := streamtest.Load("testdata/streams")
	require.NoError(t, err)
	require.Len(t, streams, 6)
	return streams
}

// streamBatches renders a stream (in the given line order) into batches of
// size records each, one resource and scope per batch.
func streamBatches(t testing.TB, s *streamtest.Stream, shape string, order []int, size int) []plog.Logs {
	t.Helper()
	var out []plog.Logs
	var lrs plog.LogRecordSlice
	for n, i := range order {
		if n%size == 0 {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("host.name", "collector")
			lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
			out = append(out, ld)
		}
		body, err := s.Body(shape, i)
		require.NoError(t, err)
		body.CopyTo(lrs.AppendEmpty().Body())
	}
	return out
}

func lineOrder(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

func str(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func integer(m pcommon.Map, key string) int64 {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeInt {
		return v.Int()
	}
	return 0
}

// checkStream checks the findings and that the required ones carry the
// pattern the issue names.
func checkStream(t *testing.T, s *streamtest.Stream, lds []plog.Logs) *streamtest.Report {
	t.Helper()
	obs, patterns := streamtest.Observe(lds)
	rep := s.Check(obs)
	for _, e := range rep.Errors {
		t.Error(e)
	}
	require.Equal(t, rep.Required, rep.RequiredFound)
	for _, e := range s.Expect {
		if !e.Required {
			continue
		}
		p := patterns[streamtest.Key(e.Host, e.EventID, e.RecordID)]
		switch e.Feature {
		case streamtest.InboundChild:
			assert.Equal(t, "DCOM_ShellWindows", p, "line %d", e.Line)
		case streamtest.ServerChild:
			assert.Equal(t, "DCOM_ServerChild", p, "line %d", e.Line)
		case streamtest.Logon:
			assert.NotEmpty(t, p, "line %d: the logon goes with a detection", e.Line)
		}
	}
	return rep
}

func consumeAll(t testing.TB, cfg *Config, batches []plog.Logs) []plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	for _, ld := range batches {
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	}
	return sink.AllLogs()
}

// TestCorrelationStreams runs every stream through the processor in both
// body shapes: in order, one record per call, in batches, and in one call.
func TestCorrelationStreams(t *testing.T) {
	for _, s := range loadCorrelationStreams(t) {
		for _, shape := range []string{"json", "xml"} {
			for _, size := range []int{1, 16, 1 << 20} {
				t.Run(s.Short()+"/"+shape+"/batch="+itoa(min(size, len(s.JSON))), func(t *testing.T) {
					batches := streamBatches(t, s, shape, lineOrder(len(s.JSON)), size)
					out := consumeAll(t, defaultConfig(), batches)
					rep := checkStream(t, s, out)
					if size == 1 {
						t.Log(rep)
					}
					// every record passes, plus the late records
					total, late := 0, 0
					for _, ld := range out {
						total += ld.LogRecordCount()
						for _, rl := range ld.ResourceLogs().All() {
							for _, sl := range rl.ScopeLogs().All() {
								for _, lr := range sl.LogRecords().All() {
									if v, ok := lr.Attributes().Get(attrCorrLate); ok && v.Bool() {
										late++
									}
								}
							}
						}
					}
					assert.Equal(t, len(s.JSON)+late, total)
					assert.LessOrEqual(t, late, rep.Late, "a late record holds one or two findings")
				})
			}
		}
	}
}

// TestCorrelationStreamsShuffled moves every event by up to 3 s of its time.
func TestCorrelationStreamsShuffled(t *testing.T) {
	for _, s := range loadCorrelationStreams(t) {
		for _, shape := range []string{"json", "xml"} {
			t.Run(s.Short()+"/"+shape, func(t *testing.T) {
				t.Parallel()
				for seed := int64(1); seed <= 5; seed++ {
					batches := streamBatches(t, s, shape, s.Shuffled(seed, int64(3*time.Second)), 8)
					checkStream(t, s, consumeAll(t, defaultConfig(), batches))
				}
			})
		}
	}
}

// TestCorrelationStreamsConcurrent sends batches of 8 from 4 goroutines at
// once, and the Sysmon and Security logs from two goroutines (two
// receivers), through one processor.
func TestCorrelationStreamsConcurrent(t *testing.T) {
	for _, s := range loadCorrelationStreams(t) {
		for _, shape := range []string{"json", "xml"} {
			t.Run(s.Short()+"/"+shape, func(t *testing.T) {
				// 4 goroutines, batches in order from a queue
				sink := new(consumertest.LogsSink)
				p := newTestProcessor(t, defaultConfig(), sink)
				queue := make(chan plog.Logs)
				var wg sync.WaitGroup
				for w := 0; w < 4; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ld := range queue {
							assert.NoError(t, p.ConsumeLogs(context.Background(), ld))
						}
					}()
				}
				for _, ld := range streamBatches(t, s, shape, lineOrder(len(s.JSON)), 8) {
					queue <- ld
				}
				close(queue)
				wg.Wait()
				checkStream(t, s, sink.AllLogs())

				// one goroutine per log
				var sysmon, security []int
				for i := range s.JSON {
					if strings.Contains(s.XML[i], "Microsoft-Windows-Sysmon") {
						sysmon = append(sysmon, i)
					} else {
						security = append(security, i)
					}
				}
				sink = new(consumertest.LogsSink)
				p = newTestProcessor(t, defaultConfig(), sink)
				// the batches are built here: require must not run in the goroutines
				var perGoroutine [][]plog.Logs
				for _, order := range [][]int{sysmon, security} {
					perGoroutine = append(perGoroutine, streamBatches(t, s, shape, order, 4))
				}
				for _, lds := range perGoroutine {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for _, ld := range lds {
							assert.NoError(t, p.ConsumeLogs(context.Background(), ld))
						}
					}()
				}
				wg.Wait()
				checkStream(t, s, sink.AllLogs())
			})
		}
	}
}

// TestCorrelationLateRecord checks the ShellWindows late alert in detail.
func TestCorrelationLateRecord(t *testing.T) {
	s := correlationStream(t, "shellwindows")
	var late []pcommon.Map
	for _, l := range lateRecords(consumeAll(t, defaultConfig(), shapeChannelBatches(t, s, "receiver map", 16)), "") {
		if integer(l.lr.Attributes(), attrCorrRecord+"record_id") != 1729868 {
			continue
		}
		late = append(late, l.lr.Attributes())
		line := s.Index[streamtest.Key("workstation6.theshire.local", 1, 1729868)] - 1
		want := plog.NewLogRecord()
		require.NoError(t, s.Record("receiver map", line, want))
		assert.Equal(t, want.Body().AsRaw(), l.lr.Body().AsRaw(), "the late record is the original event")
		assert.Equal(t, "windows/sysmon", str(l.rl.Resource().Attributes(), "_sourceCategory"), "in the resource of its own channel")
		assert.Equal(t, "windowseventlog/sysmon", l.sl.Scope().Name())
		assert.Equal(t, streamTimestamp(s, line), l.lr.Timestamp())
	}
	require.Len(t, late, 1, "one late record for the Sysmon 1 cmd.exe")
	a := late[0].AsRaw()
	assert.Equal(t, "DCOM_ShellWindows", a["DetectionPattern"])
	assert.Equal(t, "alert", a["event.kind"])
	assert.Equal(t, "high", a["dcom.detection.severity"])
	assert.Equal(t, "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a07", a["security_rule.uuid"])
	assert.Equal(t, "WORKSTATION6.theshire.local", a["dcom.correlation.host"])
	assert.Equal(t, "Microsoft-Windows-Sysmon/Operational", a["dcom.correlation.record.channel"])
	assert.Equal(t, "2020-09-18T17:08:36.03Z", a["dcom.correlation.record.time"])
	assert.Equal(t, []any{"inbound_child"}, a["dcom.correlation.kinds"])
	assert.Equal(t, "172.18.39.5", a["source.address"])
	assert.Equal(t, int64(58406), a["source.port"])
	assert.Equal(t, "172.18.39.6", a["destination.address"])
	assert.Equal(t, int64(49913), a["destination.port"])
	assert.Equal(t, int64(1729970), a["dcom.correlation.connection.record_id"])
	assert.Equal(t, `C:\Windows\explorer.exe`, a["dcom.correlation.connection.process.executable.path"])
	assert.InDelta(t, 0.224, a["dcom.correlation.connection.child_start_offset_s"], 0.0005)
	assert.Equal(t, "pgustavo", a["user.name"])
	assert.Equal(t, "THESHIRE.LOCAL", a["user.domain"])
	assert.Equal(t, "0x3ae71f", a["dcom.correlation.logon.id"])
	assert.Equal(t, "address_port", a["dcom.correlation.logon.joined_on"])
	assert.Equal(t, "Kerberos", a["dcom.correlation.logon.authentication_package"])
	assert.Equal(t, "cmd.exe", a["process.executable.name"])
	assert.Equal(t, "explorer.exe", a["process.parent.executable.name"])
	assert.Equal(t, `THESHIRE\sbeavers`, a["process.owner"], "the child runs as the interactive user")
}

// TestCorrelationInPlace checks a finding written on the record itself: the
// notepad.exe started by the DCOM-launched iexplore.exe (4688), and the
// logon of the server.
func TestCorrelationInPlace(t *testing.T) {
	s := correlationStream(t, "iertutil")
	out := consumeAll(t, defaultConfig(), streamBatches(t, s, "xml", lineOrder(len(s.JSON)), 64))
	found := map[int64]map[string]any{}
	for _, ld := range out {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					var ce winevent.Event
					if winevent.ReadContext(lr.Body(), lr.Attributes(), &ce) && ce.EventID == 4688 {
						found[ce.RecordID] = lr.Attributes().AsRaw()
					}
				}
			}
		}
	}
	notepad := found[243410]
	assert.Equal(t, "DCOM_ServerChild", notepad["DetectionPattern"])
	assert.Equal(t, []any{"server_child", "logon"}, notepad["dcom.correlation.kinds"])
	assert.Equal(t, `"C:\Program Files\Internet Explorer\iexplore.exe" -Embedding`, notepad["dcom.correlation.server.command_line"])
	assert.Equal(t, int64(9428), notepad["dcom.correlation.server.pid"])
	assert.Equal(t, int64(243404), notepad["dcom.correlation.server.record_id"])
	server := found[243404]
	assert.Equal(t, "DCOM_ServerActivation", server["DetectionPattern"])
	assert.Equal(t, []any{"logon"}, server["dcom.correlation.kinds"])
	assert.Equal(t, "0x23e37bb", server["dcom.correlation.logon.id"])
	assert.Equal(t, "logon_id", server["dcom.correlation.logon.joined_on"])
	assert.Equal(t, "172.18.39.5", server["source.address"])
	assert.Equal(t, int64(51736), server["source.port"])
	assert.Equal(t, "pgustavo", server["user.name"])
	assert.Equal(t, "THESHIRE", server["user.domain"])
	assert.Equal(t, "NTLM", server["dcom.correlation.logon.authentication_package"])
	assert.Equal(t, "NtLmSsp", server["dcom.correlation.logon.process"])
	assert.Equal(t, "WORKSTATION5", server["dcom.correlation.logon.workstation"])
	assert.Equal(t, "WORKSTATION6.theshire.local", server["dcom.correlation.host"])
	// a record without a finding passes unchanged
	_, ok := found[243236+1]
	assert.False(t, ok)
}

// TestCorrelationDropUnmatchedAndBodyKey: late records survive
// drop_unmatched, and with body_key the findings are in the body too.
func TestCorrelationDropUnmatchedAndBodyKey(t *testing.T) {
	for _, s := range loadCorrelationStreams(t) {
		cfg := defaultConfig()
		cfg.DropUnmatched = true
		cfg.BodyKey = "dcom_detection"
		out := consumeAll(t, cfg, streamBatches(t, s, "json", lineOrder(len(s.JSON)), 16))
		checkStream(t, s, out)
		for _, ld := range out {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						if _, ok := lr.Attributes().Get(attrCorrKinds); !ok {
							continue
						}
						require.Equal(t, pcommon.ValueTypeMap, lr.Body().Type(), s.Short())
						v, ok := lr.Body().Map().Get("dcom_detection")
						require.True(t, ok)
						_, ok = v.Map().Get(attrCorrKinds)
						assert.True(t, ok, "%s: the body verdict carries the correlation", s.Short())
					}
				}
			}
		}
	}
}

// TestCorrelationOff: switched off, or with the seed profile, nothing is
// correlated.
func TestCorrelationOff(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Correlation.Enabled = false },
		func(c *Config) { c.Profile = ProfileSeed },
	} {
		cfg := defaultConfig()
		mutate(cfg)
		for _, s := range loadCorrelationStreams(t) {
			out := consumeAll(t, cfg, streamBatches(t, s, "json", lineOrder(len(s.JSON)), 32))
			obs, _ := streamtest.Observe(out)
			assert.Empty(t, obs)
		}
	}
	// each correlation switched off alone removes its findings only
	cfg := defaultConfig()
	cfg.Correlation.InboundChild.Enabled = false
	cfg.Correlation.ServerChild.Enabled = false
	cfg.Correlation.LateRecords = false
	for _, s := range loadCorrelationStreams(t) {
		obs, _ := streamtest.Observe(consumeAll(t, cfg, streamBatches(t, s, "json", lineOrder(len(s.JSON)), 32)))
		for _, o := range obs {
			assert.Equal(t, streamtest.Logon, o.Feature)
			assert.False(t, o.Late)
		}
	}
}

// TestReaderPlan: the processor's reader reads the ids its consumers read,
// and no more: with the correlation the events it joins, without it the
// process creations alone; the seed profile without process attributes the
// three fields of the query.
func TestReaderPlan(t *testing.T) {
	proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), defaultConfig())
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 3, 5, 4624, 4688, 4689, 4103, 4104}, proc.reader.IDs())
	for _, id := range []int64{7, 4634, 4672, 400, 800} {
		assert.Zero(t, proc.reader.Fields(id), "event %d", id)
	}
	assert.Equal(t, winevent.FieldScriptBlockText|scriptBlockAttributeFields|scriptBlockPartFields, proc.reader.Fields(4104))
	assert.Equal(t, winevent.FieldPayload|moduleAttributeFields, proc.reader.Fields(4103))
	cfg := defaultConfig()
	cfg.Correlation.Enabled = false
	proc, err = newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 4688, 4103, 4104}, proc.reader.IDs(), "correlation off")

	// PowerShell's events are read for DCOM_SourceInvocation alone.
	cfg = defaultConfig()
	cfg.Correlation.Enabled, cfg.ProcessAttributes = false, false
	cfg.Patterns = map[string]PatternConfig{"DCOM_SourceInvocation": {Enabled: new(false)}}
	proc, err = newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 4688}, proc.reader.IDs(), "DCOM_SourceInvocation off")

	cfg = defaultConfig()
	cfg.Profile, cfg.ProcessAttributes = ProfileSeed, false
	proc, err = newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.ElementsMatch(t, []int64{1, 4688}, proc.reader.IDs(), "seed")
	assert.Equal(t, winevent.FieldImage|winevent.FieldParentImage|winevent.FieldCommandLine, proc.reader.Fields(1))
}

// TestCorrelationUnusedEventsTouchNoState: records of the ids the
// correlation does not use (4634, 4672, 4103, 4104, 10016, ...) leave the
// state empty and allocate nothing.
func TestCorrelationUnusedEventsTouchNoState(t *testing.T) {
	for _, shape := range []string{"json", "xml"} {
		proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), defaultConfig())
		require.NoError(t, err)
		require.NotNil(t, proc.corr)
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, s := range loadCorrelationStreams(t) {
			for i := range s.JSON {
				body, err := s.Body(shape, i)
				require.NoError(t, err)
				var ce winevent.Event
				if winevent.ReadContext(body, pcommon.NewMap(), &ce) && !ce.IsPowerShell() {
					continue // PowerShell's events are the rules', never the correlation's
				}
				if ce.IsPowerShell() && proc.engine.Evaluate(&ce).Detected() {
					continue // Empire loading Invoke-DCOM on its source host: a detection, annotated
				}
				body.CopyTo(lrs.AppendEmpty().Body())
			}
		}
		require.Greater(t, lrs.Len(), 400, shape)
		var stats batchStats
		var ev winevent.Event
		allocs := testing.AllocsPerRun(10, func() {
			for i := 0; i < lrs.Len(); i++ {
				proc.inspect(lrs.At(i), proc.reader.Admit(lrs.At(i).Body()), &ev, &stats)
			}
		})
		assert.Zero(t, allocs, shape)
		st := proc.corr.c.Stats()
		assert.Zero(t, st.Hosts, shape)
		assert.Zero(t, st.Entries, shape)
	}
}

// TestCorrelationTelemetry: the correlation's metrics are reported.
func TestCorrelationTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p, err := NewFactory().CreateLogs(context.Background(), set, defaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	for _, s := range loadCorrelationStreams(t) {
		for _, ld := range streamBatches(t, s, "json", lineOrder(len(s.JSON)), 16) {
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		}
	}
	for _, name := range []string{metricCorrEntries, metricCorrHosts, metricCorrEvicted, metricCorrExpired, metricCorrFindings, metricCorrCopies} {
		_, err := tel.GetMetric(name)
		require.NoError(t, err, name)
	}
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestCorrelationConfigValidate(t *testing.T) {
	cfg := defaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.Correlation.InboundChild.Window = 0
	cfg.Correlation.InboundChild.Parents = []string{`C:\Windows\explorer.exe`}
	cfg.Correlation.InboundChild.LocalPorts = "65535-1"
	cfg.Correlation.ServerChild.Timeout = -time.Second
	cfg.Correlation.Logon.Timeout = 0
	cfg.Correlation.MaxDelay = -1
	cfg.Correlation.MaxHosts = 0
	cfg.Correlation.MaxEntriesPerHost = 0
	cfg.Correlation.MaxEntries = -5
	cfg.Correlation.LateRecordsMaxBytesPerHost = 0
	cfg.Correlation.HostNames = "fqdn"
	err := cfg.Validate()
	require.Error(t, err)
	for _, key := range []string{
		"correlation::inbound_child::window", "correlation::inbound_child::parents::0", "correlation::inbound_child::local_ports",
		"correlation::server_child::timeout", "correlation::logon::timeout", "correlation::max_delay",
		"correlation::max_hosts", "correlation::max_entries_per_host", "correlation::max_entries",
		"correlation::late_records_max_bytes_per_host", "correlation::host_names",
	} {
		assert.Contains(t, err.Error(), key+":")
	}
	cfg = defaultConfig()
	cfg.Correlation.LateRecordsMaxBytes = cfg.Correlation.LateRecordsMaxBytesPerHost - 1
	require.ErrorContains(t, cfg.Validate(), "correlation::late_records_max_bytes: must be at least late_records_max_bytes_per_host")
	cfg.Correlation.LateRecords = false
	require.NoError(t, cfg.Validate(), "the copies' budgets are not read without late records")
	cfg.Correlation.ServerChild.TimeoutWithoutExits = 2 * time.Hour
	require.ErrorContains(t, cfg.Validate(), "correlation::server_child::timeout_without_exits: must be positive and at most correlation::server_child::timeout")
	cfg.Correlation.ServerChild.TimeoutWithoutExits = 0
	require.ErrorContains(t, cfg.Validate(), "correlation::server_child::timeout_without_exits:")
	cfg.Correlation.ServerChild.Enabled = false
	assert.NoError(t, cfg.Validate(), "the server join's timeouts are not read when it is off")
	cfg.Correlation.Enabled = false
	assert.NoError(t, cfg.Validate(), "nothing is checked when correlation is off")
}

// BenchmarkCorrelation measures, with correlation on and off, records whose
// event ids the correlation does not use (all six streams), and every record
// of the streams (the state warmed by the first pass; late records are
// appended to a copy, outside the timer).
func BenchmarkCorrelation(b *testing.B) {
	streams := loadCorrelationStreams(b)
	for _, set := range []string{"unused-ids", "all-records"} {
		for _, shape := range []string{"json", "xml"} {
			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			for _, s := range streams {
				for i := range s.JSON {
					body, err := s.Body(shape, i)
					require.NoError(b, err)
					var ce winevent.Event
					if set == "all-records" || !winevent.ReadContext(body, pcommon.NewMap(), &ce) {
						body.CopyTo(lrs.AppendEmpty().Body())
					}
				}
			}
			for _, on := range []bool{false, true} {
				cfg := defaultConfig()
				cfg.Correlation.Enabled = on
				proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
				require.NoError(b, err)
				b.Run(set+"/"+shape+"/correlation="+map[bool]string{true: "on", false: "off"}[on], func(b *testing.B) {
					b.ReportAllocs()
					n := lrs.Len()
					batch := plog.NewLogs()
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						ld.CopyTo(batch)
						b.StartTimer()
						_, _ = proc.processLogs(context.Background(), batch)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
					b.ReportMetric(float64(n), "records")
				})
			}
		}
	}
}

// linesAbout reads the output records (original or late) about the record
// with this record id, as the differential test reads them.
func linesAbout(t testing.TB, lds []plog.Logs, recordID int64) []refLine {
	var out []refLine
	for _, l := range outputLines(t, lds) {
		if strings.HasSuffix(l.key, "|"+strconv.FormatInt(recordID, 10)) {
			out = append(out, l)
		}
	}
	return out
}

// detectionsOn lists the DetectionPattern of every record (original or late)
// about the record with this record id.
func detectionsOn(t testing.TB, lds []plog.Logs, recordID int64) []string {
	var out []string
	for _, l := range linesAbout(t, lds, recordID) {
		if l.pattern != "" {
			out = append(out, l.pattern)
		}
	}
	return out
}

// TestCorrelationExitInTheSameBatchAsItsServer: a server's exit in the same
// call as its start ends it, whatever the batch and drop_unmatched, so that
// a process reusing the id later (a user's own mmc.exe) is not taken for
// the server and its child for a DCOM_ServerChild.
func TestCorrelationExitInTheSameBatchAsItsServer(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost, explorer := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\explorer.exe`
	server := security4688("WS01", 1, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	exit := security4689("WS01", 2, t0.Add(2*time.Second), mmc, 0x52c)
	reuse := security4688("WS01", 3, t0.Add(30*time.Second), mmc, explorer, 0x52c, 0x1100, `"C:\Windows\system32\mmc.exe" C:\Windows\system32\compmgmt.msc`, "0x1f4a2")
	// notepad: no single-event rule flags it under mmc.exe (cmd.exe would be
	// COM_SuspiciousChild on its own)
	child := security4688("WS01", 4, t0.Add(31*time.Second), `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x1f4a2")
	for _, shape := range []string{"map", "xml"} {
		for _, drop := range []bool{false, true} {
			for _, batches := range [][][]winEvent{
				{{server, exit}, {reuse, child}},
				{{server, exit, reuse, child}},
				{{server}, {exit}, {reuse}, {child}},
			} {
				cfg := defaultConfig()
				cfg.DropUnmatched = drop
				var lds []plog.Logs
				for _, b := range batches {
					lds = append(lds, logsOf(shape, b...))
				}
				out := consumeAll(t, cfg, lds)
				assert.Equal(t, []string{"DCOM_ServerActivation"}, detectionsOn(t, out, 1), "%s drop=%v batches=%d", shape, drop, len(batches))
				assert.Empty(t, detectionsOn(t, out, 4), "%s drop=%v batches=%d: the child of the reused id", shape, drop, len(batches))
			}
		}
	}
}

// kindsOf counts the alerts and enrichments among the records (original or
// late) about the record with this record id.
func kindsOf(t testing.TB, lds []plog.Logs, recordID int64) (alerts, enrichments int) {
	for _, l := range linesAbout(t, lds, recordID) {
		switch l.kind {
		case "alert":
			alerts++
		case eventKindEnrichment:
			enrichments++
		}
	}
	return alerts, enrichments
}

// TestCorrelationOneAlertPerRecord: a 4688 child completed late by both
// joins (its parent mmc.exe accepted an inbound DCOM connection, and is a
// DCOM-launched server) is one alert; the second finding is an enrichment
// of it, and the detection is counted once.
func TestCorrelationOneAlertPerRecord(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	child := security4688("ws02.corp.example", 10, t0.Add(2*time.Second), `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x1f4a2")
	conn := sysmon3Inbound("ws02.corp.example", 11, t0.Add(3*time.Second), t0.Add(time.Second), mmc, 0x52c, "{5f1e0a52-0000-0000-0000-000000000001}", "10.0.0.9", 50112, "10.0.0.21", 49702)
	server := security4688("ws02.corp.example", 12, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	for _, shape := range []string{"map", "xml"} {
		for _, order := range [][]winEvent{{child, conn, server}, {child, server, conn}} {
			for _, perCall := range []int{1, 3} {
				var lds []plog.Logs
				for i := 0; i < len(order); i += perCall {
					lds = append(lds, logsOf(shape, order[i:i+perCall]...))
				}
				out := consumeAll(t, defaultConfig(), lds)
				alerts, enrichments := kindsOf(t, out, 10)
				assert.Equal(t, 1, alerts, "%s, second %d, %d per call", shape, order[1].ID, perCall)
				assert.Equal(t, 1, enrichments, "%s, second %d, %d per call", shape, order[1].ID, perCall)
			}
		}
	}
}

// TestCorrelationStreamsEveryShapeOrderAndSplit: the recorded streams give
// every required finding and flag no look-alike in each of the eight body
// shapes, in the recorded order and shuffled within max_delay (by up to
// 3 s and 50 s), in one call, one record per call, and calls of random
// sizes.
func TestCorrelationStreamsEveryShapeOrderAndSplit(t *testing.T) {
	for _, s := range loadCorrelationStreams(t) {
		t.Run(s.Short(), func(t *testing.T) {
			t.Parallel()
			for _, shape := range streamtest.Shapes {
				orders := map[string][]int{
					"recorded":     lineOrder(len(s.JSON)),
					"shuffled 3s":  s.Shuffled(1, int64(3*time.Second)),
					"shuffled 50s": s.Shuffled(2, int64(50*time.Second)),
				}
				for name, order := range orders {
					for _, split := range []int{1, 0, 1 << 20} {
						rnd := rand.New(rand.NewSource(int64(split) + 7))
						var batches []plog.Logs
						for i := 0; i < len(order); {
							n := split
							if n == 0 {
								n = 1 + rnd.Intn(40)
							}
							n = min(n, len(order)-i)
							ld := plog.NewLogs()
							lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
							for _, line := range order[i : i+n] {
								require.NoError(t, s.Record(shape, line, lrs.AppendEmpty()))
							}
							batches = append(batches, ld)
							i += n
						}
						t.Run(shape+"/"+name+"/split="+itoa(split), func(t *testing.T) {
							checkStream(t, s, consumeAll(t, defaultConfig(), batches))
						})
					}
				}
			}
		})
	}
}

// TestReaderPlanCoversTheAnnotation: the process attributes a detection
// carries are the same read with the processor's plan as read in full, in
// every shape, with and without the correlation (whose plan reads most
// process fields too) and for both profiles.
func TestReaderPlanCoversTheAnnotation(t *testing.T) {
	for _, c := range []struct {
		name    string
		profile string
		corr    bool
	}{{"seed", ProfileSeed, false}, {"extended", ProfileExtended, true}, {"extended, correlation off", ProfileExtended, false}} {
		cfg := defaultConfig()
		cfg.Profile, cfg.Correlation.Enabled = c.profile, c.corr
		proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		for _, s := range shapes {
			lrs := catalogueLogs(t, s).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				lr := lrs.At(i)
				var full, planned winevent.Event
				require.Equal(t, winevent.Filled, winevent.Read(lr.Body(), lr.Attributes(), &full))
				require.Equal(t, winevent.Filled, proc.reader.Read(lr.Body(), lr.Attributes(), &planned))
				want, got := pcommon.NewMap(), pcommon.NewMap()
				putProcess(want, &full)
				putProcess(got, &planned)
				require.Positive(t, want.Len())
				assert.Equal(t, want.AsRaw(), got.AsRaw(), "%s, %s, record %d", c.name, s.name, i)
			}
		}
	}
}
