package correlate

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// The worst case in bytes (Config.WorstCase) is checked by filling the caps
// with events whose every string is far longer than its bound (64 KiB: the
// reader accepts strings of any length) and measuring the heap the state
// holds then.

// long is a 64 KiB string of one character.
func long(c byte) string { return strings.Repeat(string(c), 64<<10) }

// hugeEvents makes the events of every table with the longest strings, for
// host, entry number i.
type hugeEvents struct {
	name, channel, path, cmd, user, guid string
}

func newHugeEvents() *hugeEvents {
	return &hugeEvents{
		name: long('n'), channel: long('c'), path: long('p'), cmd: long('x'),
		user: long('u'), guid: long('g'),
	}
}

func (e *hugeEvents) host(h int) string { return "h" + strconv.Itoa(h) + e.name }

func (e *hugeEvents) image(name string) string { return e.path + `\` + name }

func (e *hugeEvents) event(t table, h, i int) (*winevent.Event, bool) {
	at := time.Duration(i) * time.Millisecond
	pid := "0x" + strconv.FormatInt(int64(0x1000+4*i), 16)
	switch t {
	case tLogons:
		ev := logon(e.host(h), int64(i), at, "0x"+strconv.FormatInt(int64(0x100000+i), 16), "10.0.0.1", strconv.Itoa(1024+i), e.user)
		ev.Channel, ev.TargetDomainName, ev.WorkstationName = e.channel, e.user, e.user
		ev.AuthenticationPackageName, ev.LogonProcessName = e.user, e.user
		return ev, false
	case tConns:
		ev := conn3(int64(i), at, e.image("explorer.exe"), e.guid+strconv.Itoa(i), "172.18.39.5", strconv.Itoa(50000+i%10000), "172.18.39.6", strconv.Itoa(49700+i%10000))
		ev.Computer, ev.Channel, ev.ProcessID = e.host(h), e.channel, strconv.Itoa(0x50000+4*i)
		return ev, false
	case tServers:
		ev := e.process(h, i, at, "mmc.exe", "svchost.exe", pid)
		return ev, true
	case tExits:
		ev := exit4689(e.host(h), int64(i), at, uint32(0x1000+4*i)) //nolint:gosec // G115: small test numbers
		ev.ProcessName, ev.ProcessGUID, ev.Channel = e.image("mmc.exe"), e.guid, e.channel
		return ev, false
	case tChildren:
		return e.process(h, i, at, "cmd.exe", "explorer.exe", pid), false
	default: // a detection waiting for its logon (by the subject's logon id)
		ev := e.process(h, i, at, "calc.exe", "svchost.exe", pid)
		ev.SubjectLogonID = "0x" + strconv.FormatInt(int64(0x200000+i), 16)
		return ev, false
	}
}

func (e *hugeEvents) process(h, i int, at time.Duration, image, parent, pid string) *winevent.Event {
	ev := create4688(e.host(h), int64(i), at, e.image(image), e.image(parent), 0, 0x1100, e.cmd, e.guid)
	ev.NewProcessID, ev.Channel = pid, e.channel
	ev.TargetUserName, ev.TargetDomainName = e.user, e.user
	ev.SubjectUserName, ev.SubjectDomainName = e.user, e.user
	ev.ProcessGUID, ev.ParentProcessGUID = e.guid, e.guid
	return ev
}

func (e *hugeEvents) feed(c *Correlator, t table, h, i int) {
	ev, server := e.event(t, h, i)
	in := Input{Event: ev, ServerLaunch: server, Detection: t == tWaits}
	in.Time, _ = winevent.ParseTime(ev.SystemTime)
	c.Observe(&in, nil)
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc) //nolint:gosec // G115: a heap is far below 2^63 bytes
}

// measure returns the heap a correlator holds after fill.
func measure(t *testing.T, cfg Config, fill func(c *Correlator)) (int64, *Correlator) {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	before := heapInUse()
	fill(c)
	after := heapInUse()
	runtime.KeepAlive(c)
	return after - before, c
}

func footprintConfig(maxHosts, perHost, entries int) Config {
	cfg := testConfig(nil)
	cfg.Judge = nil
	cfg.MaxHosts, cfg.MaxEntriesPerHost, cfg.MaxEntries = maxHosts, perHost, entries
	return cfg
}

// TestFootprintOfEachTable: one host with one table full of entries whose
// strings are all beyond their bounds holds no more than the stated cost
// of its entries.
func TestFootprintOfEachTable(t *testing.T) {
	e := newHugeEvents()
	const n = 300
	costs := entryCosts()
	for _, tb := range []table{tConns, tChildren, tServers, tExits, tLogons, tWaits} {
		cfg := footprintConfig(10, n, 100_000)
		held, c := measure(t, cfg, func(c *Correlator) {
			for i := range 3 * n {
				e.feed(c, tb, 0, i)
			}
		})
		s, h := c.lock(e.host(0), false, time.Now().UnixNano())
		require.Equal(t, n, h.tableLen(tb), "table %d full", tb)
		stated := hostCost() // with what else the events keep (a server launch is also a pending child)
		for u := table(0); u < tableCount; u++ {
			stated += int64(h.tableLen(u)) * costs[u]
		}
		s.mu.Unlock()
		t.Logf("table %d: %d entries hold %d bytes, %.0f per entry; stated %d (%.2f of it) and its shard's spares", tb, c.Stats().Entries, held, float64(held)/float64(c.Stats().Entries), stated, float64(held)/float64(stated))
		assert.LessOrEqual(t, held, stated+maxSpareBytes, "table %d", tb)
		assert.Greater(t, held, stated/4, "table %d: the strings are kept up to their bounds", tb)
	}
}

// TestFootprintOfOneHostAndOfAll: one host with its six tables full, and
// many hosts at max_hosts and max_entries, hold no more than WorstCase says.
func TestFootprintOfOneHostAndOfAll(t *testing.T) {
	e := newHugeEvents()
	tables := []table{tConns, tChildren, tServers, tExits, tLogons, tWaits}

	cfg := footprintConfig(10, 100, 100_000)
	held, c := measure(t, cfg, func(c *Correlator) {
		for i := range 300 {
			for _, tb := range tables {
				e.feed(c, tb, 0, i)
			}
		}
	})
	require.Equal(t, 600, c.Stats().Entries, "six full tables")
	wc := cfg.WorstCase()
	t.Logf("one host: %d bytes held, stated %d (%.2f of it)", held, wc.PerHost, float64(held)/float64(wc.PerHost))
	assert.LessOrEqual(t, held, wc.PerHost+maxSpareBytes, "one host, and its shard's spares")

	cfg = footprintConfig(40, 50, 1000)
	held, c = measure(t, cfg, func(c *Correlator) {
		for i := range 3000 {
			host := i % 40
			if i%100 == 0 {
				host = 100 + i // now and then a new host
			}
			e.feed(c, tables[(i/40)%len(tables)], host, i)
		}
	})
	st := c.Stats()
	require.Equal(t, 40, st.Hosts)
	require.Positive(t, st.HostsEvicted)
	wc = cfg.WorstCase()
	t.Logf("all: %d hosts, %d entries hold %d bytes, stated %d (%.2f of it)", st.Hosts, st.Entries, held, wc.Total, float64(held)/float64(wc.Total))
	assert.LessOrEqual(t, held, wc.Total+wc.Spares)
}

// TestFootprintAfterAHostShrinks: a host that held a full table and now
// holds a few entries holds what those few cost: its ring and its logon
// indexes shrink with it (a Go map never shrinks by itself). The table never
// empties on the way (an empty ring lets its buffer go).
func TestFootprintAfterAHostShrinks(t *testing.T) {
	e := newHugeEvents()
	costs := entryCosts()
	for _, tc := range []struct {
		tb   table
		keep time.Duration // how long an entry of the table is kept
	}{{tLogons, 10 * time.Minute}, {tConns, 70 * time.Second}, {tChildren, 70 * time.Second}} {
		wall := newWall()
		cfg := footprintConfig(10, 1000, 100_000)
		cfg.Now = wall.now
		at := func(c *Correlator, i int, d time.Duration) {
			ev, server := e.event(tc.tb, 0, i)
			ev.SystemTime, ev.UtcTime = ts(d), utc(d)
			in := Input{Event: ev, ServerLaunch: server}
			in.Time, _ = winevent.ParseTime(ev.SystemTime)
			c.Observe(&in, nil)
		}
		held, c := measure(t, cfg, func(c *Correlator) {
			for i := range 1000 {
				at(c, i, time.Duration(i)*time.Millisecond)
			}
			// Two more shortly before the first thousand expire, then one after.
			wall.add(tc.keep - 5*time.Second)
			at(c, 2000, tc.keep-5*time.Second)
			at(c, 2001, tc.keep-5*time.Second)
			wall.add(15 * time.Second)
			at(c, 2002, tc.keep+10*time.Second)
		})
		const few = 3
		s, h := c.lock(e.host(0), false, wall.now().UnixNano())
		require.NotNil(t, h)
		n := h.tableLen(tc.tb)
		s.mu.Unlock()
		require.Equal(t, few, n, "table %d: the first thousand expired", tc.tb)
		stated := hostCost() + few*costs[tc.tb]
		t.Logf("table %d after 1,000 entries: %d entries hold %d bytes, stated %d and its shard's spares (%d)", tc.tb, few, held, stated, maxSpareBytes)
		assert.LessOrEqual(t, held, stated+maxSpareBytes, "table %d", tc.tb)
	}
}

// TestJoinsOfOverlongValues: values cut to their bounds are cut alike where
// they are kept and where they are compared, so the joins of events whose
// paths, GUIDs and names exceed the bounds are still made (on the file
// names the cut keeps).
func TestJoinsOfOverlongValues(t *testing.T) {
	e := newHugeEvents()
	c, err := New(footprintConfig(10, 100, 1000))
	require.NoError(t, err)
	observe := func(ev *winevent.Event, server bool) (Finding, []Finding) {
		in := Input{Event: ev, ServerLaunch: server}
		in.Time, _ = winevent.ParseTime(ev.SystemTime)
		return c.Observe(&in, nil)
	}
	// A DCOM-launched mmc.exe with a 64 KiB path, and its 4688 child.
	server := e.process(0, 1, 0, "mmc.exe", "svchost.exe", "0x52c")
	observe(server, true)
	child := e.process(0, 2, time.Second, "cmd.exe", "mmc.exe", "0x900")
	child.ProcessID = "0x52c"
	f, _ := observe(child, false)
	assert.True(t, f.Kinds.Has(ServerChild), "server child")
	assert.Len(t, f.Server.Image, maxStoredPath, "the server's path, cut to its bound")
	assert.True(t, strings.HasSuffix(f.Server.Image, `\mmc.exe`), "the file name kept")
	assert.LessOrEqual(t, len(f.Server.CommandLine), maxStoredCommandLine)
	assert.LessOrEqual(t, len(f.Server.Record.Host), maxStoredName)

	// explorer.exe with a 64 KiB path accepts a connection; its child
	// arrives first (a pending child), then the connection (a late finding).
	kid := e.process(0, 3, 2*time.Second, "cmd.exe", "explorer.exe", "0xa00")
	kid.ProcessID = "0x1100"
	observe(kid, false)
	conn, _ := e.event(tConns, 0, 4)
	conn.ProcessID = strconv.Itoa(0x1100)
	conn.UtcTime = utc(2 * time.Second)
	_, late := observe(conn, false)
	require.Len(t, late, 1, "inbound child")
	assert.True(t, late[0].Kinds.Has(InboundChild))
	assert.True(t, strings.HasSuffix(late[0].Conn.Image, `\explorer.exe`))
	assert.Len(t, late[0].Conn.GUID, maxStoredID)
}
