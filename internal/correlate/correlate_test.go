package correlate

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Synthetic events, as ReadContext fills them.

var t0 = time.Date(2020, 9, 18, 17, 0, 0, 0, time.UTC)

func ts(d time.Duration) string { return t0.Add(d).Format("2006-01-02T15:04:05.000Z") }

func utc(d time.Duration) string { return t0.Add(d).Format("2006-01-02 15:04:05.000") }

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	w6            = "WORKSTATION6.theshire.local"
)

func logon(host string, rid int64, at time.Duration, id, addr, port, user string) *winevent.Event {
	return &winevent.Event{
		EventID: 4624, Channel: "Security", Computer: host, RecordID: rid, SystemTime: ts(at),
		TargetUserName: user, TargetDomainName: "THESHIRE", TargetLogonID: id, LogonType: "3",
		LogonProcessName: "NtLmSsp ", AuthenticationPackageName: "NTLM", WorkstationName: "WORKSTATION5",
		IPAddress: addr, IPPort: port,
	}
}

func create4688(host string, rid int64, at time.Duration, image, parent string, pid, creator uint32, cmd, targetLogon string) *winevent.Event {
	return &winevent.Event{
		EventID: 4688, Channel: "Security", Computer: host, RecordID: rid, SystemTime: ts(at),
		NewProcessName: image, ParentProcessName: parent, CommandLine: cmd,
		NewProcessID: "0x" + strconv.FormatUint(uint64(pid), 16), ProcessID: "0x" + strconv.FormatUint(uint64(creator), 16),
		SubjectUserName: "WORKSTATION6$", SubjectDomainName: "THESHIRE", SubjectLogonID: "0x3e7",
		TargetUserName: "pgustavo", TargetDomainName: "THESHIRE", TargetLogonID: targetLogon,
	}
}

func create1(rid int64, at time.Duration, image, parent, guid, parentGUID string) *winevent.Event {
	return &winevent.Event{
		EventID: 1, Channel: sysmonChannel, Computer: w6, RecordID: rid, SystemTime: ts(at), UtcTime: utc(at),
		Image: image, ParentImage: parent, ProcessGUID: guid, ParentProcessGUID: parentGUID,
		ParentProcessID: "8200", User: `THESHIRE\sbeavers`, LogonID: "0x26ab88",
		CommandLine: "cmd.exe /c whoami",
	}
}

func conn3(rid int64, written time.Duration, image, guid, src, sport, dst, dport string) *winevent.Event {
	return &winevent.Event{
		EventID: 3, Channel: sysmonChannel, Computer: w6, RecordID: rid, SystemTime: ts(written), UtcTime: utc(0),
		Image: image, ProcessGUID: guid, Protocol: "tcp", Initiated: "false",
		SourceIP: src, SourceHostname: "-", SourcePort: sport, DestinationIP: dst, DestinationHostname: "-", DestinationPort: dport,
	}
}

// exit4689 is the exit of an mmc.exe (a COM server's image: exits of other
// images are not read).
func exit4689(host string, rid int64, at time.Duration, pid uint32) *winevent.Event {
	return &winevent.Event{
		EventID: 4689, Channel: "Security", Computer: host, RecordID: rid, SystemTime: ts(at),
		ProcessID: "0x" + strconv.FormatUint(uint64(pid), 16), ProcessName: `C:\Windows\System32\mmc.exe`,
	}
}

// fakeWall is a wall clock tests move by hand.
type fakeWall struct{ ns atomic.Int64 }

func (w *fakeWall) now() time.Time      { return time.Unix(0, w.ns.Load()) }
func (w *fakeWall) add(d time.Duration) { w.ns.Add(int64(d)) }
func newWall() *fakeWall                { w := &fakeWall{}; w.ns.Store(time.Now().UnixNano()); return w }

func (hn *harness) feed(ev *winevent.Event, detection, serverActivation bool) (Finding, []Finding) {
	in := Input{Event: ev, Detection: detection, ServerLaunch: serverActivation}
	in.Time, _ = winevent.ParseTime(ev.SystemTime)
	return hn.c.Observe(&in, nil)
}

func TestMillionHostsAndLogonsUnderCaps(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	// The two halves are independent and run in parallel.
	t.Run("a million hosts", func(t *testing.T) {
		t.Parallel()
		millionHosts(t, n)
	})
	t.Run("one host, a million logons", func(t *testing.T) {
		t.Parallel()
		millionLogonsOnOneHost(t, n)
	})
}

func millionHosts(t *testing.T, n int) {
	hn := newHarness(t, func(c *Config) {
		c.MaxHosts, c.MaxEntries, c.MaxEntriesPerHost = 5000, 20000, 100
	})
	ev := logon("", 0, 0, "", "10.0.0.1", "50000", "u")
	var idText, host [32]byte
	for i := 0; i < n; i++ {
		ev.Computer = string(strconv.AppendInt(append(host[:0], "host-"...), int64(i), 10))
		ev.TargetLogonID = string(strconv.AppendUint(append(idText[:0], "0x"...), uint64(i+1), 16))
		ev.RecordID = int64(i)
		hn.feed(ev, false, false)
		if i%100_000 == 0 {
			st := hn.c.Stats()
			require.LessOrEqual(t, st.Hosts, 5000)
			require.LessOrEqual(t, st.Entries, 20000)
		}
	}
	st := hn.c.Stats()
	t.Logf("%d distinct hosts: %+v", n, st)
	assert.LessOrEqual(t, st.Hosts, 5000)
	assert.LessOrEqual(t, st.Entries, 20000)
	assert.Equal(t, int64(n-st.Hosts), st.HostsEvicted)
	assert.Equal(t, st.Hosts, st.Entries, "one logon per host held")
	assert.Equal(t, int64(n-st.Entries), st.EntriesEvicted)
}

func millionLogonsOnOneHost(t *testing.T, n int) {
	hn := newHarness(t, func(c *Config) { c.MaxEntriesPerHost = 1000 })
	ev := logon(w6, 0, 0, "", "10.0.0.1", "50000", "u")
	var idText [32]byte
	for i := 0; i < n; i++ {
		ev.TargetLogonID = string(strconv.AppendUint(append(idText[:0], "0x"...), uint64(i+1), 16))
		ev.IPPort = strconv.Itoa(1024 + i%60000)
		hn.feed(ev, false, false)
	}
	st := hn.c.Stats()
	t.Logf("%d logons on one host: %+v", n, st)
	assert.Equal(t, 1, st.Hosts)
	assert.Equal(t, 1000, st.Entries)
	assert.Equal(t, int64(n-1000), st.EntriesEvicted)
	s, h := hn.c.lock(w6, false, time.Now().UnixNano())
	assert.LessOrEqual(t, len(h.byID), 1000, "the logon-id index shrinks with the table")
	assert.LessOrEqual(t, len(h.byAddr), 1000)
	assert.LessOrEqual(t, len(h.logons.buf), 1000)
	s.mu.Unlock()

	// the newest logons are the ones kept: oldest first out
	f, _ := hn.feed(create4688(w6, 1, time.Second, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 5, 4,
		"mmc.exe -Embedding", "0x"+strconv.FormatInt(int64(n), 16)), true, true)
	assert.Equal(t, ByLogonID, f.LogonJoin)
	f, _ = hn.feed(create4688(w6, 2, time.Second, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 6, 4,
		"mmc.exe -Embedding", "0x1"), true, true)
	assert.Equal(t, NoLogon, f.LogonJoin, "evicted")
}

func TestExpiryEventTimeAndWallClock(t *testing.T) {
	wall := newWall()
	hn := newHarness(t, func(c *Config) { c.Now = wall.now })
	hn.feed(logon(w6, 1, 0, "0x10", "172.18.39.5", "51736", "pgustavo"), false, false)

	// replayed fast: event time runs 11 minutes ahead, the wall clock does
	// not, so the entry stays; the join still checks the two events' times
	server := create4688(w6, 2, 11*time.Minute, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 5, 4, "mmc.exe -Embedding", "0x10")
	f, _ := hn.feed(server, true, true)
	assert.Equal(t, NoLogon, f.LogonJoin, "11 minutes after the logon: beyond logon.timeout")
	// logon (kept for max_delay of wall time), server, and the server's wait
	// for a logon that may still come
	assert.Equal(t, 3, hn.c.Stats().Entries)

	// the wall clock catches up: the logon expires at the next access
	wall.add(2 * time.Minute)
	hn.feed(exit4689(w6, 3, 11*time.Minute+time.Second, 99), false, false)
	st := hn.c.Stats()
	assert.Equal(t, int64(1), st.EntriesExpired)
	assert.Equal(t, 3, st.Entries, "the server (1 h), the wait (until 12 min) and the exit (max_delay) stay")
	wall.add(2 * time.Minute)
	hn.feed(exit4689(w6, 4, 13*time.Minute, 99), false, false)
	st = hn.c.Stats()
	assert.Equal(t, int64(3), st.EntriesExpired, "the wait and the first exit expired")
	assert.Equal(t, 2, st.Entries, "the server and the second exit")

	// a silent host goes after every timeout has passed in wall time
	wall.add(2 * time.Hour)
	hn.feed(logon("other-host", 1, 3*time.Hour, "0x11", "10.1.1.1", "1234", "x"), false, false)
	st = hn.c.Stats()
	if st.HostsIdle == 0 {
		// the two hosts hash to different shards: touch w6's shard too
		hn.feed(exit4689(w6, 4, 3*time.Hour, 99), false, false)
		st = hn.c.Stats()
	}
	assert.GreaterOrEqual(t, st.HostsIdle, int64(1))
}

func TestFutureTimestampDoesNotExpireEverything(t *testing.T) {
	hn := newHarness(t, nil)
	hn.feed(logon(w6, 1, 0, "0x10", "172.18.39.5", "51736", "pgustavo"), false, false)
	bogus := logon(w6, 2, 0, "0x11", "172.18.39.5", "51737", "pgustavo")
	bogus.SystemTime = "2099-01-01T00:00:00Z"
	hn.feed(bogus, false, false)
	f, _ := hn.feed(create4688(w6, 3, time.Second, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 5, 4, "mmc.exe -Embedding", "0x10"), true, true)
	assert.Equal(t, ByLogonID, f.LogonJoin)
}

func TestServerChildExitAndPidReuse(t *testing.T) {
	hn := newHarness(t, nil)
	excel := `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`
	svchost := `C:\Windows\System32\svchost.exe`
	hn.feed(create4688(w6, 1, 0, excel, svchost, 0x52c, 0x380, `"EXCEL.EXE" /automation -Embedding`, "0x10"), true, true)

	childOf := func(parent string, rid uint32, at time.Duration, image string) Finding {
		f, _ := hn.feed(create4688(w6, int64(rid), at, image, parent, 0x900+rid, 0x52c, image, "0x0"), false, false)
		return f
	}
	child := func(rid uint32, at time.Duration, image string) Finding { return childOf(excel, rid, at, image) }
	f := child(2, 3*time.Second, `C:\Windows\System32\notepad.exe`)
	require.True(t, f.Kinds.Has(ServerChild))
	assert.Equal(t, `"EXCEL.EXE" /automation -Embedding`, f.Server.CommandLine)
	assert.Equal(t, uint32(0x52c), f.Server.PID)
	assert.False(t, child(3, 4*time.Second, `C:\Program Files\Microsoft Office\root\Client\AppVDllSurrogate64.exe`).Kinds.Has(ServerChild), "allow-listed")

	hn.feed(exit4689(w6, 4, 5*time.Second, 0x52c), false, false)
	assert.False(t, child(5, 10*time.Second, `C:\Windows\System32\notepad.exe`).Kinds.Has(ServerChild), "after the server ended")

	// the id comes back as another server
	hn.feed(create4688(w6, 6, time.Minute, `C:\Windows\System32\mmc.exe`, svchost, 0x52c, 0x380, "mmc.exe -Embedding", "0x11"), true, true)
	assert.False(t, child(10, time.Minute+time.Second, `C:\Windows\System32\cmd.exe`).Kinds.Has(ServerChild),
		"a child naming Excel, the id's former process, as its parent is not mmc's")
	f = childOf(`C:\Windows\System32\mmc.exe`, 7, time.Minute+time.Second, `C:\Windows\System32\cmd.exe`)
	require.True(t, f.Kinds.Has(ServerChild))
	assert.Equal(t, "mmc.exe -Embedding", f.Server.CommandLine)

	// a child that arrives before its server (reordered): a late finding
	hn.feed(create4688(w6, 9, 2*time.Minute+time.Second, `C:\Windows\System32\calc.exe`, excel, 0x999, 0x777, "calc", "0x0"), false, false)
	_, late := hn.feed(create4688(w6, 8, 2*time.Minute, excel, svchost, 0x777, 0x380, "EXCEL.EXE -Embedding", "0x12"), true, true)
	require.Len(t, late, 1)
	assert.True(t, late[0].Late)
	assert.Equal(t, int64(9), late[0].Record.RecordID)
	assert.Equal(t, `C:\Windows\System32\calc.exe`, late[0].Process.Image)
}

func TestServerChildExclusion(t *testing.T) {
	engine, err := rules.New(rules.Options{Exclusions: []rules.Exclusion{{
		Name: "excel-notepad", Patterns: []string{"DCOM_ServerChild"}, Image: `*\notepad.exe`, ParentCommandLine: "*/automation*",
	}}})
	require.NoError(t, err)
	c, err := New(testConfig(engine))
	require.NoError(t, err)
	hn := &harness{engine: engine, c: c}
	excel := `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`
	hn.feed(create4688(w6, 1, 0, excel, `C:\Windows\System32\svchost.exe`, 0x52c, 0x380, `"EXCEL.EXE" /automation -Embedding`, "0x10"), true, true)
	f, _ := hn.feed(create4688(w6, 2, time.Second, `C:\Windows\notepad.exe`, excel, 0x900, 0x52c, "notepad", "0x0"), false, false)
	assert.True(t, f.Empty(), "the exclusion matches the server's command line as the parent's")
	f, _ = hn.feed(create4688(w6, 3, time.Second, `C:\Windows\System32\cmd.exe`, excel, 0x901, 0x52c, "cmd", "0x0"), false, false)
	assert.True(t, f.Kinds.Has(ServerChild))
}

func TestInboundChildWindowAndOrder(t *testing.T) {
	explorer := `C:\Windows\explorer.exe`
	guid := "{d273d0f0-e905-5f64-1701-000000000800}"
	for _, tc := range []struct {
		name      string
		childAt   time.Duration
		connFirst bool
		want      bool
	}{
		{"child 0.2s after, connection first", 200 * time.Millisecond, true, true},
		{"child 0.2s after, connection written later", 200 * time.Millisecond, false, true},
		{"child 9s after", 9 * time.Second, true, true},
		{"child 11s after", 11 * time.Second, true, false},
		{"child 9s before, connection later", -9 * time.Second, false, true},
		{"child 2 minutes before", -2 * time.Minute, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hn := newHarness(t, nil)
			conn := conn3(10, 14*time.Second, explorer, guid, "172.18.39.5", "58406", "172.18.39.6", "49913")
			child := create1(20, tc.childAt, `C:\Windows\System32\cmd.exe`, explorer, "{child}", guid)
			var got []Finding
			if tc.connFirst {
				hn.feed(conn, false, false)
				f, _ := hn.feed(child, false, false)
				got = append(got, f)
			} else {
				f, _ := hn.feed(child, false, false)
				got = append(got, f)
				_, late := hn.feed(conn, false, false)
				got = append(got, late...)
			}
			var found *Finding
			for i := range got {
				if got[i].Kinds.Has(InboundChild) {
					found = &got[i]
				}
			}
			if !tc.want {
				assert.Nil(t, found)
				return
			}
			require.NotNil(t, found)
			assert.Equal(t, !tc.connFirst, found.Late)
			assert.Equal(t, "172.18.39.5", found.Conn.RemoteAddr)
			assert.Equal(t, uint16(58406), found.Conn.RemotePort)
			assert.Equal(t, uint16(49913), found.Conn.LocalPort)
			assert.Equal(t, int64(20), found.Record.RecordID)
		})
	}
}

func TestInboundConnectionFilters(t *testing.T) {
	explorer := `C:\Windows\explorer.exe`
	cases := []struct {
		name string
		ev   *winevent.Event
		want bool
	}{
		{"dynamic port from another host", conn3(1, 0, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913"), true},
		{"endpoint mapper", conn3(1, 0, explorer, "{g}", "172.18.39.5", "58405", "172.18.39.6", "135"), false},
		{"loopback", conn3(1, 0, explorer, "{g}", "127.0.0.1", "58406", "127.0.0.1", "49913"), false},
		{"not a watched process", conn3(1, 0, `C:\Windows\System32\lsass.exe`, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49674"), false},
		{"outbound", func() *winevent.Event {
			e := conn3(1, 0, explorer, "{g}", "172.18.39.6", "58406", "172.18.39.5", "49913")
			e.Initiated = "true"
			return e
		}(), false},
		{"udp", func() *winevent.Event {
			e := conn3(1, 0, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913")
			e.Protocol = "udp"
			return e
		}(), false},
	}
	for _, tc := range cases {
		hn := newHarness(t, nil)
		hn.feed(tc.ev, false, false)
		assert.Equal(t, tc.want, hn.c.Stats().Entries == 1, tc.name)
	}
}

// TestInboundLocalEnd: older Sysmon versions write inbound TCP with the
// local end in Source*; the host is recognised by name or by address.
func TestInboundLocalEnd(t *testing.T) {
	explorer := `C:\Windows\explorer.exe`
	guid := "{g}"
	child := create1(20, time.Second, `C:\Windows\System32\cmd.exe`, explorer, "{c}", guid)

	// by name
	hn := newHarness(t, nil)
	old := conn3(1, 0, explorer, guid, "172.18.39.6", "49913", "172.18.39.5", "58406")
	old.SourceHostname = "WORKSTATION6"
	hn.feed(old, false, false)
	f, _ := hn.feed(child, false, false)
	require.True(t, f.Kinds.Has(InboundChild))
	assert.Equal(t, "172.18.39.5", f.Conn.RemoteAddr)
	assert.Equal(t, uint16(58406), f.Conn.RemotePort)
	assert.Equal(t, uint16(49913), f.Conn.LocalPort)

	// by an address learned from an outbound connection
	hn = newHarness(t, nil)
	hn.feed(create1(2, 0, `C:\Windows\System32\notepad.exe`, explorer, "{n}", guid), false, false) // the host has state
	out := conn3(3, 0, `C:\Windows\System32\svchost.exe`, "{s}", "172.18.39.6", "50000", "172.18.38.5", "445")
	out.Initiated = "true"
	hn.feed(out, false, false)
	hn.feed(conn3(1, 0, explorer, guid, "172.18.39.6", "49913", "172.18.39.5", "58406"), false, false)
	f, _ = hn.feed(child, false, false)
	require.True(t, f.Kinds.Has(InboundChild))
	assert.Equal(t, "172.18.39.5", f.Conn.RemoteAddr)
	assert.Equal(t, uint16(49913), f.Conn.LocalPort)
}

func TestLogonJoinStrictlyByID(t *testing.T) {
	hn := newHarness(t, nil)
	// three NTLM logons of the same account from the same address within 0.3 s
	hn.feed(logon(w6, 1, 0, "0x0000000005429550", "10.23.123.11", "47450", "admmig"), false, false)
	hn.feed(logon(w6, 2, 100*time.Millisecond, "0x000000000542957e", "10.23.123.11", "34544", "admmig"), false, false)
	hn.feed(logon(w6, 3, 300*time.Millisecond, "0x000000000542a072", "10.23.123.11", "40000", "admmig"), false, false)
	f, _ := hn.feed(create4688(w6, 4, time.Second, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 0xda4, 0x294,
		`C:\Windows\system32\mmc.exe -Embedding`, "0x000000000542957e"), true, true)
	require.Equal(t, ByLogonID, f.LogonJoin)
	assert.Equal(t, "0x000000000542957e", f.Logon.ID)
	assert.Equal(t, uint16(34544), f.Logon.Port)
	assert.Equal(t, "NtLmSsp", f.Logon.LogonProcess, "trimmed")

	// the logon arrives after the detection: a late enrichment, once
	f, _ = hn.feed(create4688(w6, 5, 2*time.Second, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 0xdb0, 0x294,
		`C:\Windows\system32\mmc.exe -Embedding`, "0x99"), true, true)
	require.Equal(t, NoLogon, f.LogonJoin)
	_, late := hn.feed(logon(w6, 6, 1500*time.Millisecond, "0x99", "10.23.123.11", "40001", "admmig"), false, false)
	require.Len(t, late, 1)
	assert.Equal(t, Logon, late[0].Kinds)
	assert.Equal(t, int64(5), late[0].Record.RecordID)
	_, late = hn.feed(logon(w6, 6, 1500*time.Millisecond, "0x99", "10.23.123.11", "40001", "admmig"), false, false)
	assert.Empty(t, late, "delivered twice")
}

func TestLateFindingsOff(t *testing.T) {
	hn := newHarness(t, func(c *Config) { c.LateFindings = false })
	explorer := `C:\Windows\explorer.exe`
	hn.feed(create1(20, 0, `C:\Windows\System32\cmd.exe`, explorer, "{c}", "{g}"), false, false)
	assert.Zero(t, hn.c.Stats().Entries, "nothing is kept for a late join")
	_, late := hn.feed(conn3(1, time.Second, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913"), false, false)
	assert.Empty(t, late)
}

func TestConcurrentHostsRace(t *testing.T) {
	hn := newHarness(t, func(c *Config) { c.MaxHosts, c.MaxEntries, c.MaxEntriesPerHost = 64, 512, 16 })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				host := fmt.Sprintf("h%d", (g*7+i)%100)
				at := time.Duration(i) * time.Millisecond
				hn.feed(logon(host, int64(i), at, fmt.Sprintf("0x%x", i+1), "10.0.0.1", strconv.Itoa(1024+i), "u"), false, false)
				hn.feed(create4688(host, int64(i), at, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`,
					uint32(i+10), 4, "mmc.exe -Embedding", fmt.Sprintf("0x%x", i+1)), true, true)
				hn.feed(create4688(host, int64(i+5000), at, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\mmc.exe`,
					uint32(i+20000), uint32(i+10), "cmd", "0x0"), false, false)
				hn.feed(exit4689(host, int64(i), at, uint32(i+10)), false, false)
				if i%500 == 0 {
					_ = hn.c.Stats()
				}
			}
		}()
	}
	wg.Wait()
	st := hn.c.Stats()
	assert.LessOrEqual(t, st.Hosts, 64)
	assert.LessOrEqual(t, st.Entries, 512)
}

// needOf returns the correlation's need of an event id (zero when none).
func needOf(c *Correlator, id int64) winevent.Need {
	for _, n := range c.Needs() {
		if n.ID == id {
			return n
		}
	}
	return winevent.Need{}
}

// more is what a need decides for an event: the rest of it, or not. It
// reads the event as the reader does, with a plan of this need alone.
func more(n winevent.Need, ev *winevent.Event) bool {
	if n.More == nil {
		return true
	}
	var values []string
	for b := n.By; b != 0; b &= b - 1 {
		values = append(values, fieldValue(ev, b&-b))
	}
	values = append(values, "", "")
	return n.More(values[0], values[1])
}

// fieldValue is the value of one field of an event.
func fieldValue(ev *winevent.Event, f winevent.Fields) string {
	switch f {
	case winevent.FieldImage:
		return ev.Image
	case winevent.FieldInitiated:
		return ev.Initiated
	case winevent.FieldLogonType:
		return ev.LogonType
	case winevent.FieldProcessName:
		return ev.ProcessName
	}
	panic("no test accessor for this field")
}

// TestFieldsReadFirst: which events are read at all, and in full, from the
// few fields that decide it.
func TestFieldsReadFirst(t *testing.T) {
	hn := newHarness(t, nil)
	c := hn.c
	conn := needOf(c, 3)
	assert.NotZero(t, conn.First&winevent.FieldInitiated)
	assert.Equal(t, winevent.AllFields, conn.Rest)
	lgn := needOf(c, 4624)
	assert.Equal(t, winevent.FieldLogonType, lgn.First)
	assert.Equal(t, logonFields, lgn.Rest)
	assert.Zero(t, needOf(c, 7).ID, "image load")
	assert.Equal(t, processFields, needOf(c, 4688).First)
	assert.Nil(t, needOf(c, 1).More, "a process creation is read in full")

	out := conn3(1, 0, `C:\Windows\explorer.exe`, "{g}", "10.0.0.6", "49700", "10.0.0.5", "443")
	out.Initiated = "true"
	assert.False(t, more(conn, out), "outbound: the source address is enough")
	svc := conn3(1, 0, `C:\Windows\System32\svchost.exe`, "{g}", "10.0.0.5", "50000", "10.0.0.6", "49700")
	assert.False(t, more(conn, svc), "inbound to a process not watched")
	in := conn3(1, 0, `C:\Windows\explorer.exe`, "{g}", "10.0.0.5", "50000", "10.0.0.6", "49700")
	assert.True(t, more(conn, in), "inbound to explorer")
	lg := logon(w6, 1, 0, "0x10", "10.0.0.5", "50000", "u")
	assert.True(t, more(lgn, lg))
	lg.LogonType = "2"
	assert.False(t, more(lgn, lg), "interactive logon")

	off := newHarness(t, func(c *Config) { c.InboundChild, c.Logon = false, false })
	assert.Zero(t, needOf(off.c, 3).ID)
	assert.Zero(t, needOf(off.c, 4624).ID)
	none := newHarness(t, func(c *Config) { c.InboundChild, c.Logon, c.ServerChild = false, false, false })
	assert.Empty(t, none.c.Needs(), "nothing to join: nothing read")
}

// TestExitsOfServerImagesOnly: which exits are read does not depend on the
// state (a record's fate must not depend on the records before it), only on
// the image: the exit of a COM server's image is read in full, any other
// exit by one field.
func TestExitsOfServerImagesOnly(t *testing.T) {
	hn := newHarness(t, nil)
	c := hn.c
	for _, id := range []int64{winevent.SecurityProcessExit, winevent.SysmonProcessTerminate} {
		n := needOf(c, id)
		assert.Equal(t, n.By, n.First, "no server held: the image alone")
		assert.Equal(t, exitFields, n.Rest)
	}
	exit := needOf(c, 4689)
	mmc := &winevent.Event{EventID: 4689, ProcessName: `C:\Windows\System32\mmc.exe`}
	assert.True(t, more(exit, mmc))
	notepad := &winevent.Event{EventID: 4689, ProcessName: `C:\Windows\System32\notepad.exe`}
	assert.False(t, more(exit, notepad))
	sysmon := &winevent.Event{EventID: 5, Image: `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`}
	assert.True(t, more(needOf(c, 5), sysmon))

	off := newHarness(t, func(c *Config) { c.ServerChild = false })
	assert.Zero(t, needOf(off.c, 4689).ID)
}

// TestExitBeforeItsStart: an exit that arrives before the server's start
// (another batch, a reordered stream) still ends the server, so that a
// later process reusing the id is not taken for its child.
func TestExitBeforeItsStart(t *testing.T) {
	hn := newHarness(t, nil)
	mmc := `C:\Windows\System32\mmc.exe`
	exit := exit4689(w6, 2, 2*time.Second, 0x52c)
	exit.ProcessName = mmc
	hn.feed(exit, false, false)
	hn.feed(create4688(w6, 1, 0, mmc, `C:\Windows\System32\svchost.exe`, 0x52c, 0x380, "mmc.exe -Embedding", "0x10"), true, true)
	f, _ := hn.feed(create4688(w6, 3, time.Second, `C:\Windows\System32\cmd.exe`, mmc, 0x900, 0x52c, "cmd", "0x0"), false, false)
	assert.True(t, f.Kinds.Has(ServerChild), "started while the server ran")
	f, _ = hn.feed(create4688(w6, 4, 30*time.Second, `C:\Windows\System32\cmd.exe`, mmc, 0x901, 0x52c, "cmd", "0x0"), false, false)
	assert.False(t, f.Kinds.Has(ServerChild), "started after the server's exit, which arrived first")
}

// TestNoEvictionInsideAJoinLoop: a connection that completes several
// pending children finds every one of them, also when the logon waits it
// adds for them reach the cap and evict the oldest children (an eviction
// inside the loop over the children used to skip the next one).
func TestNoEvictionInsideAJoinLoop(t *testing.T) {
	hn := newHarness(t, func(c *Config) { c.Shards, c.MaxEntries = 1, 3 })
	explorer := `C:\Windows\explorer.exe`
	for i := range 2 {
		f, _ := hn.feed(create4688(w6, int64(10+i), time.Duration(i)*time.Second, `C:\Windows\System32\cmd.exe`, explorer, uint32(0x900+i), 8200, "cmd.exe", "0x1f4a2"), false, false)
		require.True(t, f.Empty())
	}
	require.Equal(t, 2, hn.c.Stats().Entries, "two pending children")
	cn := conn3(20, 3*time.Second, explorer, "{d273d0f0-e905-5f64-1701-000000000800}", "172.18.39.5", "51736", "172.18.39.6", "49702")
	cn.ProcessID = "8200"
	_, late := hn.feed(cn, false, false)
	require.Len(t, late, 2, "both children")
	assert.Equal(t, int64(10), late[0].Record.RecordID)
	assert.Equal(t, int64(11), late[1].Record.RecordID)
	assert.LessOrEqual(t, hn.c.Stats().Entries, 3)
}

// TestLateServerChildLogon: a child made a detection late (its server
// arrived after it) gets its network logon also when the logon arrives
// later still; a logon already reported about a record is not reported
// again with a later finding.
func TestLateServerChildLogon(t *testing.T) {
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	server := create4688(w6, 1, 0, mmc, svchost, 0x52c, 0x380, "mmc.exe -Embedding", "0x2a1f0")
	child := create4688(w6, 2, time.Second, `C:\Windows\System32\notepad.exe`, mmc, 0x900, 0x52c, "notepad.exe", "0x0")
	child.SubjectLogonID = "0x2a1f0"
	lg := logon(w6, 3, -time.Second, "0x2a1f0", "172.18.39.5", "51736", "pgustavo")

	t.Run("logon after the late finding", func(t *testing.T) {
		hn := newHarness(t, nil)
		hn.feed(child, false, false)
		_, late := hn.feed(server, true, true)
		require.Len(t, late, 1)
		require.True(t, late[0].Kinds.Has(ServerChild))
		require.Equal(t, NoLogon, late[0].LogonJoin, "the logon has not arrived")
		_, late = hn.feed(lg, false, false)
		var about []int64
		for _, f := range late {
			about = append(about, f.Record.RecordID)
			assert.Equal(t, ByLogonID, f.LogonJoin)
		}
		assert.ElementsMatch(t, []int64{1, 2}, about, "the server and its child")
	})
	t.Run("logon reported once", func(t *testing.T) {
		hn := newHarness(t, nil)
		f, _ := hn.feed(child, true, false) // a detection of the engine's own
		require.Equal(t, NoLogon, f.LogonJoin)
		_, late := hn.feed(lg, false, false)
		require.Len(t, late, 1)
		require.Equal(t, ByLogonID, late[0].LogonJoin)
		_, late = hn.feed(server, true, true)
		require.Len(t, late, 1)
		assert.True(t, late[0].Kinds.Has(ServerChild))
		assert.Equal(t, NoLogon, late[0].LogonJoin, "reported with the logon's own late finding already")
	})
}

// TestOneLogonPerRecord: a detection waiting for its logon by id that
// becomes an inbound child waits by the connection's remote end instead:
// the logon, when it arrives, is reported once.
func TestOneLogonPerRecord(t *testing.T) {
	hn := newHarness(t, nil)
	mmc := `C:\Windows\System32\mmc.exe`
	child := create4688(w6, 2, time.Second, `C:\Windows\System32\cmd.exe`, mmc, 0x900, 0x52c, "cmd.exe", "0x0")
	child.SubjectLogonID = "0x2a1f0"
	f, _ := hn.feed(child, true, false) // COM_SuspiciousChild of the engine's own: waits by logon id
	require.Equal(t, NoLogon, f.LogonJoin)
	cn := conn3(3, 2*time.Second, mmc, "{d273d0f0-e905-5f64-1701-000000000900}", "172.18.39.5", "51736", "172.18.39.6", "49702")
	cn.ProcessID = strconv.Itoa(0x52c)
	_, late := hn.feed(cn, false, false)
	require.Len(t, late, 1)
	require.True(t, late[0].Kinds.Has(InboundChild))
	_, late = hn.feed(logon(w6, 4, -time.Second, "0x2a1f0", "172.18.39.5", "51736", "pgustavo"), false, false)
	require.Len(t, late, 1, "one logon finding")
	assert.Equal(t, ByAddress, late[0].LogonJoin, "an inbound child's logon is the connection's remote end")
}

// TestConnectionAfterItsServersExitArrived: a server's connection that
// arrives after the server's exit but was made while it ran still explains
// the server's children; one made after the exit does not.
func TestConnectionAfterItsServersExitArrived(t *testing.T) {
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	guid := "{d273d0f0-e905-5f64-1701-000000000900}"
	for _, tc := range []struct {
		name  string
		at    time.Duration // the connection's UtcTime
		found bool
	}{{"made while it ran", 0, true}, {"made after its exit", 50 * time.Second, false}} {
		t.Run(tc.name, func(t *testing.T) {
			hn := newHarness(t, nil)
			hn.feed(create4688(w6, 1, 0, mmc, svchost, 0x52c, 0x380, "mmc.exe -Embedding", "0x2a1f0"), true, true)
			child := create1(2, tc.at+time.Second, `C:\Windows\System32\calc.exe`, mmc, "{d273d0f0-e905-5f64-1701-000000000901}", guid)
			hn.feed(child, false, false)
			exit := exit4689(w6, 3, 40*time.Second, 0x52c)
			hn.feed(exit, false, false)
			cn := conn3(4, tc.at+time.Minute, mmc, guid, "172.18.39.5", "51736", "172.18.39.6", "49702")
			cn.UtcTime = utc(tc.at)
			cn.ProcessID = strconv.Itoa(0x52c)
			_, late := hn.feed(cn, false, false)
			assert.Equal(t, tc.found, len(late) == 1, "late findings: %v", late)
		})
	}
}

// TestConnectionWithoutProcessID: a connection recorded without ProcessId
// (collectors that drop it) joins the 4688 children of its process once a
// Sysmon 1 child names the id for its ProcessGuid, in any order: a 4688 that
// arrived before the naming child is joined late, and a child that named it
// long before (and was itself joined then) still counts.
func TestConnectionWithoutProcessID(t *testing.T) {
	explorer := `C:\Windows\explorer.exe`
	guid := "{d273d0f0-e905-5f64-1701-000000000800}"
	sysmonChild := func(rid int64, at time.Duration) *winevent.Event {
		ev := create1(rid, at, `C:\Windows\System32\notepad.exe`, explorer, fmt.Sprintf("{d273d0f0-0000-0000-0000-%012d}", rid), guid)
		ev.ParentProcessID = "8200"
		return ev
	}
	child4688 := func(rid int64, at time.Duration) *winevent.Event {
		return create4688(w6, rid, at, `C:\Windows\System32\cmd.exe`, explorer, 0x901, 8200, "cmd.exe", "0x0")
	}
	conn := func(rid int64, at time.Duration, port string) *winevent.Event {
		cn := conn3(rid, at+time.Second, explorer, guid, "172.18.39.5", port, "172.18.39.6", "49702")
		cn.UtcTime = utc(at)
		return cn
	}

	t.Run("the 4688 before the naming child", func(t *testing.T) {
		hn := newHarness(t, nil)
		hn.feed(conn(1, 0, "51736"), false, false)
		f, _ := hn.feed(child4688(2, time.Second), false, false)
		require.False(t, f.Kinds.Has(InboundChild), "the connection's process id is not known yet")
		_, late := hn.feed(sysmonChild(3, 30*time.Second), false, false)
		require.Len(t, late, 1)
		assert.Equal(t, int64(2), late[0].Record.RecordID)
		assert.True(t, late[0].Kinds.Has(InboundChild))
	})
	t.Run("named long before, by a child joined then", func(t *testing.T) {
		hn := newHarness(t, nil)
		first := conn(1, 0, "51700")
		first.ProcessID = "8200"
		hn.feed(first, false, false)
		f, _ := hn.feed(sysmonChild(2, time.Second), false, false)
		require.True(t, f.Kinds.Has(InboundChild), "joined in place: nothing left pending")
		hn.feed(conn(3, 5*time.Minute, "51800"), false, false)
		f, _ = hn.feed(child4688(4, 5*time.Minute+time.Second), false, false)
		assert.True(t, f.Kinds.Has(InboundChild))
		assert.Equal(t, int64(3), f.Conn.Record.RecordID)
	})
}
