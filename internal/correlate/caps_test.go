package correlate

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// The caps bound totals over all 64 shards: they must mean what the docs
// say with one host and with many, however the hosts hash.

func hostName(i int) string { return "host-" + strconv.Itoa(i) }

// logonID is logon number i's id, far from 0x3e7 (the SubjectLogonId of
// the test's process creations).
func logonID(i int) string { return "0x" + strconv.FormatInt(int64(i)+0x100000, 16) }

// feedLogon stores network logon number i on a host.
func (hn *harness) feedLogon(host string, i int) {
	hn.feed(logon(host, int64(i), time.Duration(i)*time.Millisecond, logonID(i), "10.0.0.1", strconv.Itoa(1024+i%60000), "u"), false, false)
}

// joinsLogon reports whether a detection on host in logon number i finds
// that logon: whether the logon is still held.
func (hn *harness) joinsLogon(host string, i int) bool {
	f, _ := hn.feed(create4688(host, 1, time.Second, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\svchost.exe`, 0x900, 4,
		"cmd.exe", logonID(i)), true, false)
	return f.LogonJoin == ByLogonID
}

func TestMaxHostsIsTheNumberOfHostsHeld(t *testing.T) {
	for _, maxHosts := range []int{1, 2, 3, 63, 64, 65, 100, 1000} {
		t.Run(strconv.Itoa(maxHosts), func(t *testing.T) {
			hn := newHarness(t, func(c *Config) { c.MaxHosts = maxHosts })
			for i := range maxHosts {
				hn.feedLogon(hostName(i), i)
			}
			st := hn.c.Stats()
			require.Equal(t, maxHosts, st.Hosts, "every host up to the cap is held")
			require.Zero(t, st.HostsEvicted)

			// Host 0 is seen again; then one host more than the cap: the least
			// recently seen host goes (host 1; host 0 when it is the only one).
			hn.feedLogon(hostName(0), maxHosts)
			hn.feedLogon(hostName(maxHosts), maxHosts+1)
			st = hn.c.Stats()
			assert.Equal(t, maxHosts, st.Hosts)
			assert.Equal(t, int64(1), st.HostsEvicted)
			if maxHosts == 1 {
				assert.True(t, hn.joinsLogon(hostName(1), maxHosts+1), "the newest host is held")
				assert.False(t, hn.joinsLogon(hostName(0), 0), "the older host went")
				return
			}
			assert.True(t, hn.joinsLogon(hostName(0), 0), "the host seen again is held")
			assert.True(t, hn.joinsLogon(hostName(maxHosts), maxHosts+1), "the newest host is held")
			assert.False(t, hn.joinsLogon(hostName(1), 1), "the least recently seen host went")
		})
	}
}

func TestMaxEntriesHeldByOneHost(t *testing.T) {
	for _, maxEntries := range []int{1, 64, 640, 5000} {
		t.Run(strconv.Itoa(maxEntries), func(t *testing.T) {
			hn := newHarness(t, func(c *Config) { c.MaxEntries, c.MaxEntriesPerHost = maxEntries, 10000 })
			for i := range maxEntries {
				hn.feedLogon(w6, i)
			}
			st := hn.c.Stats()
			require.Equal(t, maxEntries, st.Entries, "one host holds max_entries")
			require.Zero(t, st.EntriesEvicted)
			hn.feedLogon(w6, maxEntries)
			st = hn.c.Stats()
			assert.Equal(t, maxEntries, st.Entries)
			assert.Equal(t, int64(1), st.EntriesEvicted, "its oldest entry goes")
			assert.Zero(t, st.HostsEvicted)
			assert.True(t, hn.joinsLogon(w6, maxEntries), "the newest logon is held")
			if maxEntries > 1 {
				assert.True(t, hn.joinsLogon(w6, 1), "the second oldest is held")
			}
			assert.False(t, hn.joinsLogon(w6, 0), "the oldest went")
		})
	}
}

func TestMaxEntriesHeldByManyHosts(t *testing.T) {
	const hosts, each = 100, 10
	hn := newHarness(t, func(c *Config) { c.MaxEntries = hosts * each })
	for i := range hosts * each {
		hn.feedLogon(hostName(i%hosts), i)
	}
	st := hn.c.Stats()
	require.Equal(t, hosts*each, st.Entries, "max_entries held, spread over 100 hosts")
	require.Equal(t, hosts, st.Hosts)
	require.Zero(t, st.EntriesEvicted)

	// One more entry: the least recently seen host (host 0) goes whole.
	hn.feedLogon(hostName(50), hosts*each)
	st = hn.c.Stats()
	assert.Equal(t, hosts*each-each+1, st.Entries)
	assert.Equal(t, hosts-1, st.Hosts)
	assert.Equal(t, int64(1), st.HostsEvicted)
	assert.Equal(t, int64(each), st.EntriesEvicted)
	assert.True(t, hn.joinsLogon(hostName(1), 1), "host 1 is held")
	assert.True(t, hn.joinsLogon(hostName(50), hosts*each))
	assert.False(t, hn.joinsLogon(hostName(0), 0), "host 0 went")
}

// TestMaxEntriesPerHostIsPerTable: each of a host's six tables holds up to
// max_entries_per_host, its oldest entry going first; the host holds six
// times that in all when max_entries allows.
func TestMaxEntriesPerHostIsPerTable(t *testing.T) {
	const perTable = 5
	hn := newHarness(t, func(c *Config) { c.MaxEntriesPerHost = perTable })
	mmc, svchost, explorer := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, `C:\Windows\explorer.exe`
	for i := range 3 * perTable {
		at := time.Duration(i) * time.Millisecond
		hn.feedLogon(w6, i)                                                                                                                           // logons
		hn.feed(exit4689(w6, int64(i), at, uint32(0x10000+4*i)), false, false)                                                                        // exits
		hn.feed(create4688(w6, int64(i), at, mmc, svchost, uint32(0x20000+4*i), 0x380, "mmc.exe -Embedding", "0x3e7"), false, true)                   // servers
		hn.feed(create4688(w6, int64(i), at, `C:\Windows\System32\cmd.exe`, explorer, uint32(0x30000+4*i), 0x1100, "cmd.exe", "0x3e7"), false, false) // pending children
		hn.feed(create4688(w6, int64(i), at, `C:\Windows\System32\calc.exe`, svchost, uint32(0x40000+4*i), 4, "calc", logonID(1000+i)), true, false)  // waits for a logon
		cn := conn3(int64(i), at, explorer, fmt.Sprintf("{%d}", i), "172.18.39.5", strconv.Itoa(50000+i), "172.18.39.6", strconv.Itoa(49700+i))       // connections
		cn.ProcessID = strconv.Itoa(0x50000 + 4*i)
		hn.feed(cn, false, false)
	}
	s, h := hn.c.lock(w6, false, time.Now().UnixNano())
	require.NotNil(t, h)
	for tb := table(0); tb < tableCount; tb++ {
		assert.Equal(t, perTable, h.tableLen(tb), "table %d", tb)
	}
	s.mu.Unlock()
	assert.Equal(t, int(tableCount)*perTable, hn.c.Stats().Entries, "one host holds six tables' worth")
}

// keepBytes is a Keeper whose copies are n bytes.
type keepBytes int

func (k keepBytes) Keep() Original { return Original{Record: make([]byte, int(k))} }

// TestLateRecordBytesAreOneBudget: late_records_max_bytes bounds the copies
// of all hosts together, not a share per shard: one host holds up to the
// smaller of its own budget and the total.
func TestLateRecordBytesAreOneBudget(t *testing.T) {
	const copyBytes, total = 1000, 100_000
	for _, perHost := range []int{1 << 20, 30_000} {
		hn := newHarness(t, func(c *Config) { c.MaxOriginalBytes, c.MaxOriginalBytesPerHost = total, perHost })
		explorer := `C:\Windows\explorer.exe`
		for i := range 150 {
			in := Input{Event: create4688(w6, int64(i), time.Duration(i)*time.Millisecond, `C:\Windows\System32\cmd.exe`, explorer,
				uint32(0x900+4*i), 0x1100, "cmd.exe", "0x3e7")}
			in.Time, _ = winevent.ParseTime(in.Event.SystemTime)
			hn.c.ObserveKeeping(&in, keepBytes(copyBytes), nil)
		}
		assert.Equal(t, min(total, perHost), hn.c.Stats().OriginalBytes, "per host %d", perHost)
		// A second host fills the rest of the total.
		for i := range 150 {
			in := Input{Event: create4688("ws02", int64(i), time.Duration(i)*time.Millisecond, `C:\Windows\System32\cmd.exe`, explorer,
				uint32(0x900+4*i), 0x1100, "cmd.exe", "0x3e7")}
			in.Time, _ = winevent.ParseTime(in.Event.SystemTime)
			hn.c.ObserveKeeping(&in, keepBytes(copyBytes), nil)
		}
		assert.Equal(t, min(total, 2*perHost), hn.c.Stats().OriginalBytes, "per host %d, two hosts", perHost)
	}
}

// checkTotals compares the totals the caps are enforced on with what the
// shards hold.
func checkTotals(t *testing.T, c *Correlator) {
	t.Helper()
	hosts, entries, bytes := 0, 0, 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		hosts += len(s.hosts)
		for _, h := range s.hosts {
			entries += h.entries()
			bytes += h.originalBytes
		}
		s.mu.Unlock()
	}
	assert.Equal(t, int64(hosts), c.tot.hosts.Load(), "hosts")
	assert.Equal(t, int64(entries), c.tot.entries.Load(), "entries")
	assert.Equal(t, int64(bytes), c.tot.originalBytes.Load(), "copied bytes")
}

// TestConcurrentCallsAtTheCaps: callers that keep adding hosts, entries and
// copies at every cap at once never see a total above its cap, never wait
// for each other for ever (evictions take other shards' locks), and leave
// totals that match what the shards hold.
func TestConcurrentCallsAtTheCaps(t *testing.T) {
	const maxHosts, maxEntries, maxBytes = 10, 50, 20_000
	hn := newHarness(t, func(c *Config) {
		c.MaxHosts, c.MaxEntries, c.MaxEntriesPerHost, c.MaxOriginalBytes = maxHosts, maxEntries, 8, maxBytes
	})
	explorer := `C:\Windows\explorer.exe`
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-done:
				return
			default:
			}
			assert.LessOrEqual(t, hn.c.tot.hosts.Load(), int64(maxHosts))
			assert.LessOrEqual(t, hn.c.tot.entries.Load(), int64(maxEntries))
			assert.LessOrEqual(t, hn.c.tot.originalBytes.Load(), int64(maxBytes))
		}
	}()
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 3000 {
				host := hostName((g + i) % 8) // eight busy hosts, and now and then a new one
				if i%10 == 0 {
					host = hostName(1000 + 10000*g + i)
				}
				at := time.Duration(i) * time.Millisecond
				hn.feedLogon(host, g*100000+i)
				in := Input{Event: create4688(host, int64(i), at, `C:\Windows\System32\cmd.exe`, explorer, uint32(0x900+4*i), 0x1100, "cmd.exe", "0x3e7")}
				in.Time, _ = winevent.ParseTime(in.Event.SystemTime)
				hn.c.ObserveKeeping(&in, keepBytes(700), nil)
			}
		})
	}
	wg.Wait()
	close(done)
	<-watched
	checkTotals(t, hn.c)
	st := hn.c.Stats()
	assert.Positive(t, st.HostsEvicted)
	assert.Positive(t, st.EntriesEvicted)
	t.Logf("%+v", st)
}
