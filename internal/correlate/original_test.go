package correlate

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// countingKeeper stands in for the processor's copy of a record.
type countingKeeper struct {
	calls int
	size  int
	name  string
}

func (k *countingKeeper) Keep() Original {
	k.calls++
	return Original{Record: make([]byte, k.size), Origin: []byte(k.name)}
}

func (hn *harness) feedKept(ev *winevent.Event, detection, serverActivation bool, k Keeper) (Finding, []Finding) {
	in := Input{Event: ev, Detection: detection, ServerLaunch: serverActivation}
	in.Time, _ = winevent.ParseTime(ev.SystemTime)
	return hn.c.ObserveKeeping(&in, k, nil)
}

// A pending child keeps the caller's copy of its record, and the late
// finding about it hands the copy back; it is released with the entry.
func TestLateFindingCarriesTheOriginal(t *testing.T) {
	wall := newWall()
	hn := newHarness(t, func(c *Config) { c.Now = wall.now })
	explorer := `C:\Windows\explorer.exe`
	child := &countingKeeper{size: 1000, name: "sysmon"}
	hn.feedKept(create1(20, 0, `C:\Windows\System32\cmd.exe`, explorer, "{c}", "{g}"), false, false, child)
	require.Equal(t, 1, child.calls)
	assert.Equal(t, 1006, hn.c.Stats().OriginalBytes)

	connKeeper := &countingKeeper{size: 10}
	_, late := hn.feedKept(conn3(1, time.Second, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913"), false, false, connKeeper)
	require.Len(t, late, 1)
	assert.Len(t, late[0].Process.Original.Record, 1000)
	assert.Equal(t, "sysmon", string(late[0].Process.Original.Origin))
	assert.Zero(t, connKeeper.calls, "a connection is never the subject of a late finding")

	// The child's window closes, and its wait for a logon: its copy goes
	// with them.
	assert.Equal(t, 2012, hn.c.Stats().OriginalBytes, "the child and its wait for a logon")
	wall.add(5 * time.Minute)
	hn.feed(logon(w6, 99, 10*time.Minute, "0x5", "10.0.0.9", "1", "u"), false, false)
	hn.feed(create1(21, 10*time.Minute, `C:\Windows\System32\notepad.exe`, explorer, "{n}", "{g}"), false, false)
	assert.Zero(t, hn.c.Stats().OriginalBytes, "released when the join window closed")
}

// Only records that may become the subject of a late finding are copied:
// not a server, not a record kept for nothing with late findings off, not
// a record no join wants.
func TestOnlySubjectsAreCopied(t *testing.T) {
	hn := newHarness(t, nil)
	server := &countingKeeper{size: 10}
	hn.feedKept(create4688(w6, 1, 0, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, 0x100, 0x200, "mmc.exe -Embedding", "0x3e7"), true, true, server)
	assert.Zero(t, server.calls, "a server holds no copy")

	unrelated := &countingKeeper{size: 10}
	hn.feedKept(create1(2, 0, `C:\Windows\System32\notepad.exe`, `C:\Windows\System32\svchost.exe`, "{n}", "{s}"), false, false, unrelated)
	assert.Zero(t, unrelated.calls)

	off := newHarness(t, func(c *Config) { c.LateFindings = false })
	k := &countingKeeper{size: 10}
	off.feedKept(create1(20, 0, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, "{c}", "{g}"), false, false, k)
	assert.Zero(t, k.calls, "late findings off")

	// A child of a server found on the record waits for its logon: one copy
	// for the child entry and the wait.
	child := &countingKeeper{size: 10}
	f, _ := hn.feedKept(create4688(w6, 3, time.Second, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\mmc.exe`, 0x300, 0x100, "cmd.exe /c whoami", "0x77"), false, false, child)
	require.True(t, f.Kinds.Has(ServerChild))
	assert.Equal(t, 1, child.calls)
	_, late := hn.feed(logon(w6, 4, 2*time.Second, "0x77", "10.0.0.9", "50000", "admin"), false, false)
	require.Len(t, late, 1)
	assert.Len(t, late[0].Process.Original.Record, 10, "the late logon enrichment names the record's copy")
}

// The copies one host holds stay within DefaultMaxOriginalBytesPerHost; past it a
// record is kept without its copy and its late finding still comes.
func TestOriginalBytesPerHostBounded(t *testing.T) {
	hn := newHarness(t, func(c *Config) { c.MaxEntriesPerHost, c.MaxEntries = 1000, 100000 })
	explorer := `C:\Windows\explorer.exe`
	const size = 100 << 10
	n := DefaultMaxOriginalBytesPerHost/size + 5
	for i := 0; i < n; i++ {
		guid := "{c" + strconv.Itoa(i) + "}"
		hn.feedKept(create1(int64(100+i), time.Duration(i)*time.Millisecond, `C:\Windows\System32\cmd.exe`, explorer, guid, "{g}"), false, false, &countingKeeper{size: size})
		require.LessOrEqual(t, hn.c.Stats().OriginalBytes, DefaultMaxOriginalBytesPerHost)
	}
	_, late := hn.feed(conn3(1, time.Second, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913"), false, false)
	require.Len(t, late, n, "every child is found")
	with := 0
	for _, f := range late {
		if len(f.Process.Original.Record) > 0 {
			with++
		}
	}
	assert.Equal(t, DefaultMaxOriginalBytesPerHost/size, with, "copies within the budget")

	// Another host has a budget of its own.
	other := create1(1, 0, `C:\Windows\System32\cmd.exe`, explorer, "{x}", "{g}")
	other.Computer = "other"
	k := &countingKeeper{size: size}
	hn.feedKept(other, false, false, k)
	assert.Equal(t, 1, k.calls)
}

// All hosts together stay within MaxOriginalBytes.
func TestOriginalBytesInAllBounded(t *testing.T) {
	hn := newHarness(t, func(c *Config) { c.MaxOriginalBytes, c.Shards = 1<<20, 4 })
	explorer := `C:\Windows\explorer.exe`
	for i := 0; i < 200; i++ {
		ev := create1(1, 0, `C:\Windows\System32\cmd.exe`, explorer, "{c}", "{g}")
		ev.Computer = "host-" + strconv.Itoa(i)
		k := &countingKeeper{size: 20 << 10}
		hn.feedKept(ev, false, false, k)
		require.LessOrEqual(t, hn.c.Stats().OriginalBytes, 1<<20)
	}
	assert.Greater(t, hn.c.Stats().OriginalBytes, 3<<18, "each shard keeps copies up to its share")
}
