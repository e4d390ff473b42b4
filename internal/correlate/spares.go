package correlate

import (
	"slices"
	"unsafe"
)

// A shard keeps at most maxSpares buffers, of at most maxSpareBytes in all,
// for reuse: enough for a shard's hosts' entries to grow again by what they
// shed (a burst of children on a host, then its window closing) without
// allocating, and a bound the state's worst case counts
// (Footprint.Spares). The spares never hold more than the state held
// before: each is the buffer of an entry that left.
const (
	maxSpares     = 128
	maxSpareBytes = 256 << 10
)

// spares are the buffers of entries that left a shard's state, kept for the
// entries that come next: once the state has reached its steady size, a
// record that enters it allocates nothing. Each entry owns one buffer, its
// strings and the copy of its record laid out in it, and no one else holds
// a view into it: findings copy what they take from the state (lateFinding,
// clone), entries never share strings. A buffer is cleared when it comes
// back, so that a view kept by mistake reads zeroes, never another
// record's strings. The shard's lock guards it.
type spares struct {
	free  [maxSpares][]byte
	n     int
	bytes int
}

// fits reports whether a spare of capacity c may serve n bytes: at most a
// quarter (and 64 bytes) more, so that a spare serves entries of similar
// sizes (a record's copy varies from record to record) and the waste stays
// bounded (spareBytes, which the state's worst case counts).
func fits(c, n int) bool { return c >= n && int64(c) <= spareBytes(int64(n)) }

// spareBytes bounds the buffer an entry of n bytes holds: a spare that fits,
// or a new buffer of the allocator's size class (within 12.5 % and a
// little, allocBytes).
func spareBytes(n int64) int64 {
	if n == 0 {
		return 0
	}
	return n + n/4 + 64
}

// get returns a buffer of length n: the smallest spare that fits, or a new
// one (of the allocator's full size class, so that it serves more sizes when
// it comes back).
func (sp *spares) get(n int) []byte {
	if n == 0 {
		return nil
	}
	best := -1
	for i := 0; i < sp.n; i++ {
		if c := cap(sp.free[i]); fits(c, n) && (best < 0 || c < cap(sp.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return slices.Grow([]byte(nil), n)[:n]
	}
	b := sp.free[best]
	sp.n--
	sp.free[best], sp.free[sp.n] = sp.free[sp.n], nil
	sp.bytes -= cap(b)
	return b[:n]
}

// put takes back the buffer of an entry that left: cleared, and kept if
// there is room.
func (sp *spares) put(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	clear(b)
	if sp.n == maxSpares || sp.bytes+cap(b) > maxSpareBytes {
		return
	}
	sp.free[sp.n] = b
	sp.n++
	sp.bytes += cap(b)
}

// own copies an entry's strings and its record copy (record may be nil)
// into one buffer of the spares and points them into it; the entry keeps
// the buffer and gives it back when it leaves.
func (sp *spares) own(record *[]byte, fields ...*string) []byte {
	total := 0
	for _, f := range fields {
		total += len(*f)
	}
	if record != nil {
		total += len(*record)
	}
	buf := sp.get(total)
	off := 0
	for _, f := range fields {
		if n := len(*f); n > 0 {
			copy(buf[off:], *f)
			*f = unsafe.String(&buf[off], n) //nolint:gosec // G103: a view into the entry's own buffer, which no one writes while the entry holds it
			off += n
		}
	}
	if record != nil && len(*record) > 0 {
		n := copy(buf[off:], *record)
		*record = buf[off : off+n : off+n]
	}
	return buf
}

// ownProcess is own for a process: its strings, its command line cut to
// maxStoredCommandLine (the start is kept), its record copy, and the
// strings of extra (a wait's connection).
func (sp *spares) ownProcess(p *Process, extra []*string) []byte {
	p.CommandLine = truncate(p.CommandLine, maxStoredCommandLine)
	// Element by element: the compiler takes copy's source to leak, which
	// would move every pushed entry to the heap.
	var f [17]*string
	n := 0
	for _, s := range p.fields() {
		f[n] = s
		n++
	}
	for _, s := range extra {
		f[n] = s
		n++
	}
	return sp.own(&p.Original.Record, f[:n]...)
}

// The strings of each kind of state value, for own and for copies that
// leave the state.
func (p *Process) fields() [11]*string {
	return [11]*string{
		&p.Record.Host, &p.Record.Channel, &p.Image, &p.CommandLine, &p.ParentImage, &p.UserDomain,
		&p.UserName, &p.GUID, &p.ParentGUID, &p.LogonID, &p.SubjectLogonID,
	}
}

func (c *Conn) fields() [6]*string {
	return [6]*string{&c.Record.Host, &c.Record.Channel, &c.Image, &c.GUID, &c.RemoteAddr, &c.LocalAddr}
}

func (l *LogonInfo) fields() [9]*string {
	return [9]*string{
		&l.Record.Host, &l.Record.Channel, &l.ID, &l.UserName, &l.UserDomain, &l.AuthPackage,
		&l.LogonProcess, &l.Workstation, &l.Address,
	}
}
