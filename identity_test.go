package dcomdetectionprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

// Regression tests of issue #23: the correlation joins processes and hosts
// by their identity, and moves a host's clock by event time only.

// clockedCall is one call to the processor, made when the correlation's
// wall clock says wall.
type clockedCall struct {
	wall   time.Time
	events []winEvent
}

// clockedProcessor is the processor's core with the correlation's wall
// clock in the test's hands: each call says when it is made. It returns the
// call's output, and false when the processor passed nothing on.
func clockedProcessor(t testing.TB, cfg *Config) func(wall time.Time, ld plog.Logs) (plog.Logs, bool) {
	t.Helper()
	proc, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	var now time.Time
	proc.corr, err = newCorrelationWithClock(processortest.NewNopSettings(metadata.Type), cfg.Correlation, cfg.Profile, proc.engine,
		func() time.Time { return now })
	require.NoError(t, err)
	return func(wall time.Time, ld plog.Logs) (plog.Logs, bool) {
		now = wall
		out, err := proc.processLogs(context.Background(), ld)
		if errors.Is(err, processorhelper.ErrSkipProcessingData) {
			return out, false
		}
		require.NoError(t, err)
		return out, true
	}
}

// runClocked feeds calls to the processor with the correlation's wall clock
// set per call (a collector replaying a backlog, for example), and returns
// every output batch.
func runClocked(t *testing.T, cfg *Config, shape string, calls []clockedCall) []plog.Logs {
	t.Helper()
	process := clockedProcessor(t, cfg)
	var out []plog.Logs
	for _, c := range calls {
		if ld, ok := process(c.wall, logsOf(shape, c.events...)); ok {
			out = append(out, ld)
		}
	}
	return out
}

// sysmon3Outbound is an outbound connection of explorer.exe, as Sysmon
// writes it; without written, the record has no TimeCreated; without utc,
// no UtcTime either.
func sysmon3Outbound(host string, rid int64, written, utc time.Time) winEvent {
	e := &genEvent{
		ID: 3, Host: host, RecordID: rid, Time: written, ConnTime: utc, Initiated: true, Image: genExplorer, PID: 0x1100,
		GUID: guidOf(host, 0x1100), LocalIP: "10.0.0.21", LocalPort: 50433, RemoteIP: "52.1.2.3", RemotePort: 443,
		NoTime: written.IsZero(), NoUtcTime: utc.IsZero(),
	}
	return e.render()
}

// TestCorrelationClockMovesByEventTime: a collector delivers a host's
// backlog three hours late. A DCOM-launched mmc.exe, then an outbound
// Sysmon 3 of the same host, then, in a later call, mmc's child 30 s after
// the server started. The connection moves the host's clock by its own
// event time (its UtcTime when the record has no TimeCreated), or not at
// all when it has none; it never moves it to the time it was received,
// which would expire the server before its child arrives.
func TestCorrelationClockMovesByEventTime(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	wall := t0.Add(3 * time.Hour)
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	server := security4688("WS01", 1, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	child := security4688("WS01", 3, t0.Add(30*time.Second), `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x2a1f0")
	for _, tc := range []struct {
		name string
		conn winEvent
	}{
		{"with TimeCreated", sysmon3Outbound("WS01", 2, t0.Add(11*time.Second), t0.Add(10*time.Second))},
		{"UtcTime only", sysmon3Outbound("WS01", 2, time.Time{}, t0.Add(10*time.Second))},
		{"no time at all", sysmon3Outbound("WS01", 2, time.Time{}, time.Time{})},
	} {
		for _, shape := range []string{"map", "xml", "nxlog"} {
			out := runClocked(t, defaultConfig(), shape, []clockedCall{
				{wall, []winEvent{server, tc.conn}},
				{wall.Add(2 * time.Minute), []winEvent{child}}, // past max_delay in real time
			})
			assert.Equal(t, []string{"DCOM_ServerChild"}, detectionsOn(t, out, 3), "%s, %s", tc.name, shape)
		}
	}
}

// TestCorrelationNXLogEventTime: NXLog's EventTime is each event's time. A
// 4688 child written two hours after its server started (past
// server_child.timeout), or before it, is not that server's child, however
// close together the two records arrive.
func TestCorrelationNXLogEventTime(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	server := security4688("WS01", 1, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	for _, tc := range []struct {
		after time.Duration
		want  []string
	}{
		{30 * time.Second, []string{"DCOM_ServerChild"}},
		{2 * time.Hour, nil},
		{-10 * time.Second, nil},
	} {
		child := security4688("WS01", 2, t0.Add(tc.after), `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x2a1f0")
		for _, events := range [][]winEvent{{server, child}, {child, server}} {
			out := consumeAll(t, defaultConfig(), []plog.Logs{logsOf("nxlog", events...)})
			assert.Equal(t, tc.want, detectionsOn(t, out, 2), "child %v after its server, record %d first", tc.after, events[0].RecordID)
		}
	}
}

// TestCorrelationHostNamedTwoWays: Sysmon comes through one forwarder that
// names the host ws01.corp.example, the Security log through another that
// names it WS01. ShellWindows: explorer.exe accepts the inbound DCOM
// connection (Sysmon 3) and starts a 4688 child: one host, one join. With
// host_names: full they are two hosts, and so are two machines whose short
// names collide in two domains; by default those are one.
func TestCorrelationHostNamedTwoWays(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	explorer := genExplorer
	conn := func(host string) winEvent {
		return sysmon3Inbound(host, 1, t0.Add(2*time.Second), t0, explorer, 0x1100, guidOf("ws01", 0x1100), "10.0.0.9", 50112, "10.0.0.21", 49702)
	}
	child := func(host string) winEvent {
		return security4688(host, 2, t0.Add(time.Second), `C:\Windows\System32\cmd.exe`, explorer, 0x900, 0x1100, "cmd.exe", "0x1f4a2")
	}
	for _, tc := range []struct {
		sysmonHost, securityHost, hostNames string
		want                                []string
	}{
		{"ws01.corp.example", "WS01", HostNamesShort, []string{"DCOM_ShellWindows"}},
		{"WS01", "ws01.corp.example", HostNamesShort, []string{"DCOM_ShellWindows"}},
		{"WS01.CORP.EXAMPLE", "ws01.corp.example ", HostNamesShort, []string{"DCOM_ShellWindows"}},
		{"ws01.corp.example", "WS01", HostNamesFull, nil},
		{"ws01.corp.example", "ws01.lab.example", HostNamesFull, nil},
		{"ws01.corp.example", "ws01.lab.example", HostNamesShort, []string{"DCOM_ShellWindows"}}, // the collision full avoids
		{"ws01.corp.example", "WS01.corp.example", HostNamesFull, []string{"DCOM_ShellWindows"}},
		{"10.0.0.21", "10.0.0.22", HostNamesShort, nil}, // addresses are kept whole
	} {
		for _, shape := range []string{"map", "xml", "nxlog"} {
			for _, order := range [][]winEvent{{conn(tc.sysmonHost), child(tc.securityHost)}, {child(tc.securityHost), conn(tc.sysmonHost)}} {
				cfg := defaultConfig()
				cfg.Correlation.HostNames = tc.hostNames
				out := consumeAll(t, cfg, []plog.Logs{logsOf(shape, order[0]), logsOf(shape, order[1])})
				assert.Equal(t, tc.want, detectionsOn(t, out, 2), "Sysmon %q, Security %q, host_names %s, %s, record %d first",
					tc.sysmonHost, tc.securityHost, tc.hostNames, shape, order[0].RecordID)
			}
		}
	}
}

// TestCorrelationPIDReuse: a DCOM-launched mmc.exe whose exit is never
// seen; 30 minutes later its process id belongs to another process, and
// that process starts a child. The child is not the server's: its
// ParentProcessName is not the server's image (Outlook), or the other
// process's start ended the server (the user's own mmc.exe, on a host whose
// server exits are forwarded, so servers are held for the full hour).
func TestCorrelationPIDReuse(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost, explorer := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\explorer.exe`
	outlook := genOutlook
	// an Excel automation server that exited earlier: the host sends exits
	excelExit := security4689("WS01", 1, t0.Add(-10*time.Minute), genExcel, 0x1a0)
	server := security4688("WS01", 2, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	ownChild := security4688("WS01", 3, t0.Add(5*time.Second), `C:\Windows\System32\notepad.exe`, mmc, 0x600, 0x52c, "notepad.exe", "0x2a1f0")
	reuseAt := t0.Add(30 * time.Minute)
	for _, tc := range []struct {
		name  string
		reuse winEvent
	}{
		{"outlook", security4688("WS01", 4, reuseAt, outlook, explorer, 0x52c, 0x1100, `"`+outlook+`"`, "0x1f4a2")},
		{"own mmc", security4688("WS01", 4, reuseAt, mmc, explorer, 0x52c, 0x1100, `"C:\Windows\system32\mmc.exe" compmgmt.msc`, "0x1f4a2")},
	} {
		parent := tc.reuse.Data[5][1] // NewProcessName
		child := security4688("WS01", 5, reuseAt.Add(2*time.Second), `C:\Windows\System32\notepad.exe`, parent, 0x900, 0x52c, "notepad.exe", "0x1f4a2")
		for _, shape := range []string{"map", "xml", "nxlog"} {
			for _, calls := range [][][]winEvent{
				{{excelExit, server, ownChild, tc.reuse, child}},
				{{excelExit}, {server}, {ownChild}, {tc.reuse}, {child}},
			} {
				var lds []plog.Logs
				for _, c := range calls {
					lds = append(lds, logsOf(shape, c...))
				}
				out := consumeAll(t, defaultConfig(), lds)
				assert.Equal(t, []string{"DCOM_ServerChild"}, detectionsOn(t, out, 3), "%s, %s, %d calls: the server's own child", tc.name, shape, len(calls))
				assert.Empty(t, detectionsOn(t, out, 5), "%s, %s, %d calls: the child of the process that reused the id", tc.name, shape, len(calls))
			}
		}
	}
}

// TestCorrelationServerHoldWithoutExits: on a host that has sent no exit of
// a COM server's image, a server whose exit is not seen is held for
// server_child.timeout_without_exits (5m), not server_child.timeout (1h): a
// child 20 minutes later is not its child. Once the host has sent such an
// exit (more than max_delay before the child) it is held for the hour; and
// when the server's own exit arrives after the child, the child is found
// then, as a late record.
func TestCorrelationServerHoldWithoutExits(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	server := security4688("WS01", 2, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0")
	child := security4688("WS01", 3, t0.Add(20*time.Minute), `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x2a1f0")
	excelExit := security4689("WS01", 1, t0.Add(-10*time.Minute), genExcel, 0x1a0)
	ownExit := security4689("WS01", 4, t0.Add(20*time.Minute+10*time.Second), mmc, 0x52c)
	for _, shape := range []string{"map", "xml", "nxlog"} {
		for _, tc := range []struct {
			name   string
			events []winEvent
			want   []string
			late   bool
		}{
			{"no exit from the host", []winEvent{server, child}, nil, false},
			{"an earlier exit from the host", []winEvent{excelExit, server, child}, []string{"DCOM_ServerChild"}, false},
			{"the server's exit after the child", []winEvent{server, child, ownExit}, []string{"DCOM_ServerChild"}, true},
		} {
			for _, perCall := range []int{1, len(tc.events)} {
				var lds []plog.Logs
				for i := 0; i < len(tc.events); i += perCall {
					lds = append(lds, logsOf(shape, tc.events[i:i+perCall]...))
				}
				out := consumeAll(t, defaultConfig(), lds)
				assert.Equal(t, tc.want, detectionsOn(t, out, 3), "%s, %s, %d per call", tc.name, shape, perCall)
				for _, l := range linesAbout(t, out, 3) {
					if l.pattern != "" {
						assert.Equal(t, tc.late, l.late, "%s, %s, %d per call", tc.name, shape, perCall)
					}
				}
			}
		}
	}
}
