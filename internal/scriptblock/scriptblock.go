// Package scriptblock keeps what a search for tokens needs of PowerShell
// script blocks that Windows logs in parts: a block longer than an event can
// hold is written as several 4104 events of one ScriptBlockId, MessageNumber
// n of MessageTotal, and a token can be cut in two between parts. Parts come
// in any order. Of each part only its two ends are kept (EdgeBytes each), and
// only while a neighbouring part is still missing, so that the state of a
// block whose parts arrive in order is one part's ends whatever its length.
// It depends on nothing but the standard library.
package scriptblock // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/scriptblock"

import (
	"sync"
	"time"
	"unsafe"
)

// Bounds of the state, over all hosts.
const (
	// MaxBlocks is how many incomplete blocks are kept; the oldest goes first.
	MaxBlocks = 1024
	// MaxBytes bounds the kept ends and the bookkeeping of the parts.
	MaxBytes = 8 << 20
	// Hold is how long, in event time, a block waits for its missing parts
	// after its latest one: Windows writes a block's parts within
	// milliseconds of each other.
	Hold = 5 * time.Minute
	// MaxParts is the largest MessageTotal taken: the recordings' parts
	// are some 17,000 characters, so 10,000 parts are 170 M characters.
	MaxParts = 10_000

	// partOverhead and blockOverhead are what the bookkeeping of a part and
	// a block costs, counted against MaxBytes.
	partOverhead  = 64
	blockOverhead = 256
)

// Part is one 4104 event of a multi-part block. Text is not kept: its ends
// are copied.
type Part struct {
	Host, ID      string
	Number, Total int
	Text          string
	Time          int64 // event time, Unix ns; 0 when unknown (the block then leaves by the caps only)
	Facts         Facts // what the caller found in Text
}

// Across is asked about the seam between two neighbouring parts: window is
// the end of the earlier part and the start of the later one, seam where
// they meet. It reports whether the seam splits a token, and the window's
// facts. The window is valid only during the call.
type Across func(window string, seam int) (found bool, facts Facts)

// Facts are what the caller found in a block's parts and seams toward a
// finding that needs two things anywhere in the block (a dual-use token
// and a target): Bits are OR-ed over the block, Tag keeps the first
// non-zero value. Their meaning is the caller's.
type Facts struct{ Bits, Tag uint8 }

func (f *Facts) add(g Facts) {
	f.Bits |= g.Bits
	if f.Tag == 0 {
		f.Tag = g.Tag
	}
}

// Joins reports whether a block's facts make a finding.
type Joins func(Facts) bool

// Added is what Add found: a token split by a seam between the part and
// one seen before (Found), or the block's facts making a finding for the
// first time with this part (Joined, with the block's Facts).
type Added struct {
	Found, Joined bool
	Facts         Facts
}

// Stats describe the state.
type Stats struct {
	Blocks, Bytes       int
	Completed, Evicted  int64 // blocks that left complete; blocks let go incomplete (caps or Hold)
	Ignored             int64 // parts not taken: a number out of range, a repeat
	SeamsChecked, Found int64
	Joined              int64 // blocks whose facts made a finding
}

type key struct{ host, id string }

// ends are the first and last edge bytes of a part, copied into one buffer
// (the whole part, once, when it is no longer than two edges' worth);
// buf is nil once both neighbours were seen.
type ends struct {
	buf   []byte
	split int // head is buf[:split]; tail is buf[split:], or the head too when whole
	whole bool
}

func (e ends) head() []byte { return e.buf[:e.split] }

func (e ends) tail() []byte {
	if e.whole {
		return e.buf
	}
	return e.buf[e.split:]
}

type block struct {
	key    key
	keyBuf []byte // the key's bytes: the key's strings are views of it
	total  int
	parts  map[int]ends // every part seen; its ends while a neighbour is missing
	last   int64        // event time of the latest part
	bytes  int
	gone   bool
	facts  Facts // over the parts and seams seen
}

// Reuse: blocks and ends buffers that left serve the next ones, so that a
// part allocates nothing in the steady state.
const (
	maxSpareBuffers = 256
	maxSpareBlocks  = 64
)

// Assembler holds the incomplete blocks. It is safe for concurrent use.
type Assembler struct {
	edge int

	mu           sync.Mutex
	blocks       map[key]*block
	queue        []*block // in order of arrival; blocks that left stay until they reach the front
	head         int
	stats        Stats
	window       []byte
	spareBuffers [][]byte
	spareBlocks  []*block
}

// New returns an Assembler that keeps edge bytes of each end of a part.
func New(edge int) *Assembler {
	return &Assembler{edge: max(edge, 1), blocks: map[key]*block{}}
}

// Add takes one part and reports whether a seam between it and a part
// already seen splits a token (across says so; the part that completes a
// seam is the one reported), and whether with it the facts of its block
// (the parts' and the seams') make a finding for the first time (joins
// says so; nil: never). Parts of single-part blocks, numbers out of range
// and repeats are not taken.
func (a *Assembler) Add(p Part, across Across, joins Joins) Added {
	if p.Total <= 1 || p.Total > MaxParts || p.Number < 1 || p.Number > p.Total {
		if p.Total > 1 {
			a.mu.Lock()
			a.stats.Ignored++
			a.mu.Unlock()
		}
		return Added{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expire(p.Time)
	k := key{p.Host, p.ID}
	b := a.blocks[k]
	if b == nil || b.total != p.Total {
		if b != nil {
			a.remove(b, false) // the same id with another total: not the same block
		}
		b = a.open(k, p.Total)
	}
	if _, seen := b.parts[p.Number]; seen {
		a.stats.Ignored++
		return Added{}
	}
	e := a.ends(p.Text)
	b.parts[p.Number] = e
	a.charge(b, partOverhead+len(e.buf))
	b.last = max(b.last, p.Time)

	before := b.facts
	b.facts.add(p.Facts)
	var added Added
	if prev := b.parts[p.Number-1]; prev.buf != nil {
		added.Found = a.check(b, prev.tail(), e.head(), across)
	}
	if next := b.parts[p.Number+1]; next.buf != nil {
		// Both seams are checked, for their facts.
		added.Found = a.check(b, e.tail(), next.head(), across) || added.Found
	}
	if added.Found {
		a.stats.Found++
	}
	if joins != nil && !joins(before) && joins(b.facts) {
		added.Joined, added.Facts = true, b.facts
		a.stats.Joined++
	}
	if len(b.parts) == b.total {
		a.remove(b, true)
	} else {
		for n := p.Number - 1; n <= p.Number+1; n++ {
			a.release(b, n)
		}
	}
	for a.stats.Bytes > MaxBytes {
		if !a.evictFront() {
			break
		}
	}
	a.compact()
	return added
}

// Stats returns the state's counters.
func (a *Assembler) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

func (a *Assembler) open(k key, total int) *block {
	for len(a.blocks) >= MaxBlocks {
		if !a.evictFront() {
			break
		}
	}
	var b *block
	if n := len(a.spareBlocks); n > 0 {
		b = a.spareBlocks[n-1]
		a.spareBlocks = a.spareBlocks[:n-1]
	} else {
		b = &block{parts: map[int]ends{}}
	}
	b.total, b.last, b.bytes, b.gone, b.facts = total, 0, 0, false, Facts{}
	// The key is copied into the block's own bytes: the caller's strings
	// may be views of a record or of a read's scratch.
	b.keyBuf = append(append(b.keyBuf[:0], k.host...), k.id...)
	b.key = key{view(b.keyBuf[:len(k.host)]), view(b.keyBuf[len(k.host):])}
	a.blocks[b.key] = b
	a.queue = append(a.queue, b)
	a.stats.Blocks = len(a.blocks)
	a.charge(b, blockOverhead+len(b.keyBuf))
	return b
}

// view is a string of a buffer that does not change while the string is
// in use: a block's key bytes are rewritten only once its key has left the
// map.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) //nolint:gosec // G103: see the comment above
}

// ends copies the ends of a part's text into a spare buffer.
func (a *Assembler) ends(text string) ends {
	var buf []byte
	if n := len(a.spareBuffers); n > 0 {
		buf = a.spareBuffers[n-1][:0]
		a.spareBuffers = a.spareBuffers[:n-1]
	} else {
		buf = make([]byte, 0, 2*a.edge)
	}
	if len(text) <= 2*a.edge {
		return ends{buf: append(buf, text...), split: len(text), whole: true}
	}
	buf = append(append(buf, text[:a.edge]...), text[len(text)-a.edge:]...)
	return ends{buf: buf, split: a.edge}
}

// spare keeps a released buffer for the next part.
func (a *Assembler) spare(buf []byte) {
	if buf != nil && cap(buf) == 2*a.edge && len(a.spareBuffers) < maxSpareBuffers {
		a.spareBuffers = append(a.spareBuffers, buf)
	}
}

// check joins two ends in the reused window, asks across about their seam
// and adds the window's facts to the block's.
func (a *Assembler) check(b *block, left, right []byte, across Across) bool {
	a.stats.SeamsChecked++
	a.window = append(append(a.window[:0], left...), right...)
	if len(a.window) == 0 {
		return false
	}
	found, facts := across(view(a.window), len(left))
	b.facts.add(facts)
	return found
}

// release drops the ends of part n once both its neighbours were seen (or
// are past the block's ends): no seam of it is left to check.
func (a *Assembler) release(b *block, n int) {
	e := b.parts[n]
	if e.buf == nil {
		return
	}
	_, before := b.parts[n-1]
	_, after := b.parts[n+1]
	if (before || n == 1) && (after || n == b.total) {
		a.charge(b, -len(e.buf))
		a.spare(e.buf)
		b.parts[n] = ends{}
	}
}

func (a *Assembler) charge(b *block, n int) {
	b.bytes += n
	a.stats.Bytes += n
}

// remove lets a block go: complete, or evicted.
func (a *Assembler) remove(b *block, complete bool) {
	if b.gone {
		return
	}
	b.gone = true
	delete(a.blocks, b.key)
	a.stats.Bytes -= b.bytes
	for _, e := range b.parts {
		a.spare(e.buf)
	}
	clear(b.parts)
	if complete {
		a.stats.Completed++
	} else {
		a.stats.Evicted++
	}
	a.stats.Blocks = len(a.blocks)
}

// evictFront lets the oldest block go; false when there is none.
func (a *Assembler) evictFront() bool {
	for a.head < len(a.queue) {
		b := a.queue[a.head]
		if !b.gone {
			a.remove(b, false)
			return true
		}
		a.dequeue()
	}
	return false
}

// dequeue takes the queue's front, a block that left, and keeps it for
// reuse: nothing else refers to it any more.
func (a *Assembler) dequeue() {
	b := a.queue[a.head]
	a.queue[a.head] = nil
	a.head++
	if len(a.spareBlocks) < maxSpareBlocks {
		a.spareBlocks = append(a.spareBlocks, b)
	}
}

// expire lets go the blocks, oldest first, whose latest part is more than
// Hold older than now. Blocks are queued by arrival, not by their latest
// part: one that is still fed but queued before an expired one waits for
// its turn, which only delays the expiry of those behind it.
func (a *Assembler) expire(now int64) {
	if now == 0 {
		return
	}
	for a.head < len(a.queue) {
		b := a.queue[a.head]
		if !b.gone && (b.last == 0 || b.last+int64(Hold) >= now) {
			return
		}
		if !b.gone {
			a.remove(b, false)
		}
		a.dequeue()
	}
}

// compact drops the queue's consumed front once it is most of the queue.
func (a *Assembler) compact() {
	a.stats.Blocks = len(a.blocks)
	for a.head < len(a.queue) && a.queue[a.head].gone {
		a.dequeue()
	}
	if a.head > 64 && a.head > len(a.queue)/2 {
		n := copy(a.queue, a.queue[a.head:])
		clear(a.queue[n:])
		a.queue = a.queue[:n]
		a.head = 0
	}
}
