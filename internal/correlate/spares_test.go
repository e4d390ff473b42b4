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

func TestSparesServeTheNextEntries(t *testing.T) {
	var sp spares
	a := sp.get(1000)
	require.Len(t, a, 1000)
	copy(a, strings.Repeat("x", 1000))
	sp.put(a)
	assert.Equal(t, 1, sp.n)
	assert.Equal(t, cap(a), sp.bytes)

	b := sp.get(900)
	assert.Same(t, &a[0], &b[0], "a spare that fits serves")
	assert.Equal(t, make([]byte, 900), b, "cleared when it came back")
	assert.Zero(t, sp.n)
	assert.Zero(t, sp.bytes)
	sp.put(b)

	c := sp.get(100)
	assert.NotSame(t, &a[0], &c[0], "a spare far larger than asked for is not wasted on a small entry")
	assert.Equal(t, 1, sp.n)

	// Bounded in number and in bytes; what does not fit goes to the GC.
	for range 2 * maxSpares {
		sp.put(make([]byte, 64))
	}
	assert.Equal(t, maxSpares, sp.n)
	sp = spares{}
	for range 3 {
		sp.put(make([]byte, maxSpareBytes/2))
	}
	assert.Equal(t, 2, sp.n)
	assert.LessOrEqual(t, sp.bytes, maxSpareBytes)
	assert.Nil(t, sp.get(0))
}

func TestOwnLaysOutAnEntry(t *testing.T) {
	var sp spares
	p := Process{Image: `C:\Windows\System32\cmd.exe`, GUID: "{g}", CommandLine: "cmd /c whoami"}
	rec := []byte("the record")
	p.Original.Record = rec
	f := p.fields()
	buf := sp.own(&p.Original.Record, f[:]...)
	assert.Len(t, buf, len(`C:\Windows\System32\cmd.exe`)+len("{g}")+len("cmd /c whoami")+len("the record"))
	rec[0] = 'X' // the caller's view is reused
	assert.Equal(t, `C:\Windows\System32\cmd.exe`, p.Image)
	assert.Equal(t, "cmd /c whoami", p.CommandLine)
	assert.Equal(t, "{g}", p.GUID)
	assert.Equal(t, "the record", string(p.Original.Record))
	assert.Equal(t, len("the record"), cap(p.Original.Record), "the copy cannot grow into the buffer")
	sp.put(buf)
	assert.Equal(t, strings.Repeat("\x00", len("cmd /c whoami")), p.CommandLine, "a view kept by mistake reads zeroes")
}

// viewKeeper hands out its record copy as the processor's keeper does: a
// view of one buffer, overwritten by the next call.
type viewKeeper struct {
	buf    []byte
	fill   byte
	size   int
	origin []byte
}

func (k *viewKeeper) Keep() Original {
	k.buf = k.buf[:0]
	for range k.size {
		k.buf = append(k.buf, k.fill)
	}
	return Original{Record: k.buf, Origin: k.origin}
}

// TestFindingsOutliveTheirEntries: what a finding took from the state stays
// as it was after the entries left and their buffers served other entries,
// and what an entry keeps of the caller's record copy is its own.
func TestFindingsOutliveTheirEntries(t *testing.T) {
	wall := newWall()
	hn := newHarness(t, func(c *Config) { c.Now = wall.now; c.Shards = 1 })
	explorer := `C:\Windows\explorer.exe`
	keep := &viewKeeper{fill: 'a', size: 700}

	// A child first (kept with its record's copy), its connection after: a
	// late finding about the child, with the connection.
	hn.feedKept(create1(20, 0, `C:\Windows\System32\cmd.exe`, explorer, "{c}", "{g}"), false, false, keep)
	keep.fill = 'b' // the keeper's buffer serves the next record
	hn.feedKept(create1(21, 0, `C:\Windows\System32\notepad.exe`, `C:\Windows\System32\svchost.exe`, "{d}", "{s}"), false, false, keep)
	_, late := hn.feedKept(conn3(1, time.Second, explorer, "{g}", "172.18.39.5", "58406", "172.18.39.6", "49913"), false, false, keep)
	require.Len(t, late, 1)
	lf := late[0]
	assert.Equal(t, strings.Repeat("a", 700), string(lf.Process.Original.Record), "the entry copied the record when it was kept")

	// A connection first, its child after: a finding about the child, with
	// the connection from the state.
	hn.feed(conn3(2, 2*time.Second, explorer, "{h}", "172.18.39.7", "58407", "172.18.39.6", "49914"), false, false)
	f, _ := hn.feed(create1(22, 2*time.Second, `C:\Windows\System32\calc.exe`, explorer, "{e}", "{h}"), false, false)
	require.True(t, f.Kinds.Has(InboundChild))

	type seen struct{ image, host, guid, addr, cmd string }
	before := []seen{
		{lf.Process.Image, lf.Record.Host, lf.Process.GUID, lf.Conn.RemoteAddr, lf.Process.CommandLine},
		{f.Process.Image, f.Conn.Record.Host, f.Conn.GUID, f.Conn.RemoteAddr, f.Conn.Image},
	}
	for _, s := range before {
		assert.NotEmpty(t, s.image)
		assert.NotEmpty(t, s.addr)
	}
	want := make([]seen, len(before))
	for i, s := range before {
		want[i] = seen{strings.Clone(s.image), strings.Clone(s.host), strings.Clone(s.guid), strings.Clone(s.addr), strings.Clone(s.cmd)}
	}

	// Everything expires; new entries of other sizes and strings take the
	// buffers the old ones gave back.
	wall.add(10 * time.Minute)
	keep.fill, keep.size = 'z', 650
	for i := range 200 {
		at := 10*time.Minute + time.Duration(i)*time.Millisecond
		g := "{" + strings.Repeat("q", i%40) + strconv.Itoa(i) + "}"
		hn.feedKept(create1(int64(1000+i), at, `C:\Windows\System32\`+strings.Repeat("w", i%50)+".exe", explorer, g, "{p"+strconv.Itoa(i)+"}"), false, false, keep)
		hn.feed(conn3(int64(5000+i), at, explorer, "{r"+strconv.Itoa(i)+"}", "10.9.9."+strconv.Itoa(i%250), "5"+strconv.Itoa(1000+i), "10.9.8.1", "50000"), false, false)
	}
	require.Positive(t, hn.c.Stats().EntriesExpired, "the first entries left")

	after := []seen{
		{lf.Process.Image, lf.Record.Host, lf.Process.GUID, lf.Conn.RemoteAddr, lf.Process.CommandLine},
		{f.Process.Image, f.Conn.Record.Host, f.Conn.GUID, f.Conn.RemoteAddr, f.Conn.Image},
	}
	assert.Equal(t, want, after)
	assert.Equal(t, strings.Repeat("a", 700), string(lf.Process.Original.Record))
}

// TestEnteringStateAllocatesNothingWhenSteady: once a host's entries come
// and go at a steady rate (children of a watched parent, each kept with its
// record's copy, their connections, network logons), a record that enters
// the state allocates nothing: its entry takes the buffer of one that left.
func TestEnteringStateAllocatesNothingWhenSteady(t *testing.T) {
	wall := newWall()
	hn := newHarness(t, func(c *Config) { c.Now = wall.now })
	explorer := `C:\Windows\explorer.exe`
	const hosts, n = 20, 60000
	events := make([]*winevent.Event, n)
	for i := range events {
		at := time.Duration(i) * 300 * time.Millisecond
		host := "ws" + strconv.Itoa(i%hosts) + ".corp.example"
		var ev *winevent.Event
		switch i % 3 {
		case 0:
			ev = create1(int64(i), at, `C:\Program Files\App`+strings.Repeat("x", i%37)+`\app.exe`, explorer,
				"{"+strconv.Itoa(i)+"-c}", "{"+strconv.Itoa(i%hosts)+"-explorer}")
			ev.CommandLine = `"C:\Program Files\App\app.exe" --open ` + strings.Repeat("f", i%300)
		case 1:
			ev = conn3(int64(i), at, explorer, "{"+strconv.Itoa(i%hosts)+"-other}", "10.1.2."+strconv.Itoa(i%200+1),
				strconv.Itoa(50000+i%10000), "10.1.3.4", strconv.Itoa(49700+i%10000))
			ev.UtcTime = utc(at)
		default:
			ev = logon(host, int64(i), at, "0x"+strconv.FormatInt(int64(0x100000+i), 16), "10.1.2."+strconv.Itoa(i%200+1),
				strconv.Itoa(1024+i%5000), "user"+strings.Repeat("u", i%20))
		}
		ev.Computer = host
		events[i] = ev
	}
	keep := &viewKeeper{fill: 'r', origin: []byte("origin")}
	late := make([]Finding, 0, 16)
	next := 0
	observe := func() {
		ev := events[next]
		keep.size = 800 + next%1500
		in := Input{Event: ev}
		in.Time, _ = winevent.ParseTime(ev.SystemTime)
		wall.add(300 * time.Millisecond)
		_, late = hn.c.ObserveKeeping(&in, keep, late[:0])
		next++
	}
	// Warm-up: 2.5 hours of event time, far past every entry's expiry (the
	// logons' 10 minutes and max_delay), so that entries leave as fast as
	// they come.
	for next < n/2 {
		observe()
	}
	require.Positive(t, hn.c.Stats().EntriesExpired)
	runs := n/2 - 10
	allocs := mallocs(runs, observe)
	st := hn.c.Stats()
	t.Logf("%d entries held, %d expired; %d allocations in %d records", st.Entries, st.EntriesExpired, allocs, runs)
	assert.Zero(t, allocs)
}

// mallocs counts the heap allocations of runs calls of f, exactly
// (testing.AllocsPerRun rounds the average down).
func mallocs(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
