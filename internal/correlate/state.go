package correlate

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// totals are what the caps bound, counted over all shards: a cap means the
// same with one host as with ten thousand, however the hosts hash. Each
// slot is reserved (compare-and-swap) before it is taken, so a total is
// never exceeded, also by concurrent calls.
type totals struct {
	hosts         atomic.Int64
	entries       atomic.Int64
	originalBytes atomic.Int64
	// seen stamps every access to a host; the least recently seen host of
	// all is the tail of its shard with the lowest stamp.
	seen atomic.Uint64
}

// reserve takes n of a total capped at limit, if it fits.
func reserve(total *atomic.Int64, n, limit int64) bool {
	for {
		cur := total.Load()
		if cur+n > limit {
			return false
		}
		if total.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// shard holds the hosts whose name hashes to it.
type shard struct {
	// mu guards everything in the shard. All events of one host hash to the
	// same shard, so a lookup and the insert that races with it (a child and
	// the connection that explains it, arriving in two concurrent ConsumeLogs
	// calls) are serialised: whichever takes the lock second sees the other
	// and makes the finding exactly once. Hosts of other shards do not wait.
	mu         sync.Mutex
	hosts      map[string]*hostState
	lruHead    *hostState // most recently seen
	lruTail    *hostState // least recently seen in the shard
	lastSweep  int64      // wall clock of the last silent-host sweep
	stats      Stats
	tot        *totals    // the Correlator's
	serverPIDs *pidCounts // the Correlator's
	spares     spares     // buffers of entries that left, for the next ones
	_          [40]byte   // keep neighbouring shards' locks off one cache line
}

// table names a host's tables, for eviction.
type table uint8

const (
	tConns table = iota
	tChildren
	tServers
	tExits
	tLogons
	tWaits
	tableCount
)

// meta is what every slot carries: when it may go, and whether it already
// went (a tombstone, removed when it reaches the front of its ring). An
// entry goes when the host's clock has passed deadline (event time) and the
// wall clock has passed wallDeadline: the first bounds memory in event time,
// the second keeps an entry for max_delay of real time, however fast events
// are replayed, so that concurrent calls running out of step (a wall-clock
// effect) still find it. Joins never read these: they compare the two
// events' own times.
type meta struct {
	deadline     int64
	wallDeadline int64
	dead         bool
}

type slot[T any] struct {
	meta
	v T
	// buf holds v's strings (and a record copy): the entry's own, given
	// back to the shard's spares when the entry leaves.
	buf []byte
}

// ring is a bounded FIFO: entries are added at the back and leave at the
// front, by expiry or eviction; seq numbers entries for the logon indexes.
type ring[T any] struct {
	buf  []slot[T]
	head int
	n    int
	seq  uint64 // sequence number of the front entry
}

func (r *ring[T]) at(i int) *slot[T] { return &r.buf[(r.head+i)%len(r.buf)] }

// push adds at the back; the caller has made room (n < limit).
func (r *ring[T]) push(s slot[T], limit int) uint64 {
	if r.n == len(r.buf) {
		size := min(max(1, 2*len(r.buf)), limit) // most hosts hold one or two entries
		if size <= r.n {
			size = r.n + 1
		}
		buf := make([]slot[T], size)
		for i := 0; i < r.n; i++ {
			buf[i] = *r.at(i)
		}
		r.buf, r.head = buf, 0
	}
	*r.at(r.n) = s
	r.n++
	return r.seq + uint64(r.n-1) //nolint:gosec // G115: r.n counts the entries held and is at least 1 after the push
}

// pop removes the front entry. The buffer shrinks with the entries (half
// when they fill less than a quarter, at most slackSlots when the ring is
// empty), so that
// a ring holds at most 4n+3 slots for n entries, whatever it held before:
// the state's worst case in bytes follows from the entries it holds.
func (r *ring[T]) pop() {
	*r.at(0) = slot[T]{} // release the strings
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.seq++
	if r.n == 0 {
		// An empty ring keeps a small buffer (within the 4n+3 bound): most
		// hosts' tables empty and fill again.
		r.head = 0
		if len(r.buf) > slackSlots {
			r.buf = nil
		}
		return
	}
	if len(r.buf) > 4 && r.n < len(r.buf)/4 {
		buf := make([]slot[T], len(r.buf)/2)
		for i := 0; i < r.n; i++ {
			buf[i] = *r.at(i)
		}
		r.buf, r.head = buf, 0
	}
}

// bySeq returns the entry with sequence number seq, if it is still held.
func (r *ring[T]) bySeq(seq uint64) *slot[T] {
	if seq < r.seq || seq-r.seq >= uint64(r.n) { //nolint:gosec // G115: r.n counts the entries held, never negative
		return nil
	}
	return r.at(int(seq - r.seq)) //nolint:gosec // G115: seq-r.seq < r.n, an int, by the check above
}

type childEntry struct {
	proc  Process
	wants Kind // joins still open for this child
	// logon: the child's logon was reported already (on the record, or in a
	// late finding); it is neither joined nor awaited again.
	logon bool
}

type serverEntry struct {
	proc Process
	end  int64 // exit time (Unix ns); 0 while no exit was seen
	// reused is the start of another process with the server's id (0:
	// none seen): the server ended before it, when, unknown.
	reused int64
}

// exitEntry is the exit of a COM server's image, kept for max_delay: its
// start may arrive after it (another receiver, another batch, a shuffled
// stream), and must then not be taken for a server still running.
type exitEntry struct {
	guid string
	pid  uint32
	time int64
}

type logonEntry struct {
	info LogonInfo
	id   uint64
	addr netip.AddrPort
}

type waitEntry struct {
	proc  Process // the detection waiting for its logon
	kinds Kind    // what was found about it
	conn  Conn    // with an address wait
	id    uint64  // logon id wanted; 0 with an address wait
	addr  netip.AddrPort
}

// hostState is everything held about one host.
type hostState struct {
	key        string
	prev, next *hostState // shard LRU
	wm         [2]int64   // event-time watermarks: Sysmon, Security
	lastWall   int64
	seen       uint64        // totals.seen at the last access
	local      [4]netip.Addr // the host's own addresses, learned from outbound connections
	nlocal     int
	parents    [4]parentID // process ids of watched parents, learned from Sysmon 1 children
	nparents   int
	// firstExit is the earliest event time of an exit of a COM server's
	// image seen from this host (0: none): the host sends exits, so a
	// server whose exit is not seen still runs, for the full server timeout.
	firstExit int64
	// originalBytes: the bytes of the record copies held in children and
	// waits (a record in both counts twice), at most
	// Config.MaxOriginalBytesPerHost.
	originalBytes int

	conns    ring[Conn]
	children ring[childEntry]
	servers  ring[serverEntry]
	exits    ring[exitEntry]
	logons   ring[logonEntry]
	waits    ring[waitEntry]
	byID     map[uint64]uint64         // logon id -> seq in logons
	byAddr   map[netip.AddrPort]uint64 // source address and port -> seq in logons
	// indexed is the most logons the indexes were built for: a Go map
	// never shrinks, so they are rebuilt when the logons fall below a
	// quarter of it.
	indexed int
}

func (h *hostState) entries() int {
	return h.conns.n + h.children.n + h.servers.n + h.exits.n + h.logons.n + h.waits.n
}

// clock is the host's event time for expiry: the slower of its two logs, so
// that a log delivered late still finds its partners, but at most
// maxChannelLag behind the faster one.
func (h *hostState) clock() int64 {
	lo, hi := h.wm[0], h.wm[1]
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == 0 {
		return hi
	}
	return max(lo, hi-maxChannelLag)
}

// advance moves the watermark of the record's log.
func (h *hostState) advance(sysmon bool, t, wall int64) {
	if t <= 0 {
		return
	}
	t = min(t, wall+futureSlack)
	i := 1
	if sysmon {
		i = 0
	}
	if t > h.wm[i] {
		h.wm[i] = t
	}
}

func (h *hostState) isLocal(a netip.Addr) bool {
	for i := 0; i < h.nlocal; i++ {
		if h.local[i] == a {
			return true
		}
	}
	return false
}

func (h *hostState) learnLocal(a netip.Addr) {
	if !a.IsValid() || a.IsLoopback() || a.IsUnspecified() || h.isLocal(a) {
		return
	}
	if h.nlocal < len(h.local) {
		h.local[h.nlocal] = a
		h.nlocal++
		return
	}
	copy(h.local[:], h.local[1:])
	h.local[len(h.local)-1] = a
}

// parentID is the process id a Sysmon 1 child names for its parent's
// ProcessGuid. The GUID is held in the host's state itself (bounded by
// boundID), so that learning a parent allocates nothing.
type parentID struct {
	guid [maxStoredID]byte
	n    uint8
	pid  uint32
}

// is reports whether the parent's GUID is guid, ignoring case.
func (p *parentID) is(guid string) bool {
	// A view of the array, not a copy: EqualFold keeps neither.
	return strings.EqualFold(unsafe.String(&p.guid[0], int(p.n)), guid) //nolint:gosec // G103: a read-only view that saves an allocation per lookup
}

// parentPID returns the learned process id of a ProcessGuid, or 0.
func (h *hostState) parentPID(guid string) uint32 {
	for i := 0; i < h.nparents; i++ {
		if h.parents[i].is(guid) {
			return h.parents[i].pid
		}
	}
	return 0
}

// learnParent remembers a parent's process id (the last four parents); it
// reports whether it was new.
func (h *hostState) learnParent(guid string, pid uint32) bool {
	if guid == "" || pid == 0 || h.parentPID(guid) != 0 {
		return false
	}
	id := parentID{pid: pid}
	id.n = uint8(copy(id.guid[:], boundID(guid))) //nolint:gosec // G115: at most maxStoredID (64) bytes
	if h.nparents < len(h.parents) {
		h.parents[h.nparents] = id
		h.nparents++
		return true
	}
	copy(h.parents[:], h.parents[1:])
	h.parents[len(h.parents)-1] = id
	return true
}

// hostKey is the key of a host's state, written into buf without
// allocating: its computer name lower-cased, without surrounding spaces,
// and, unless full, only its first DNS label, so that "WS01" (a Security
// forwarder) and "ws01.corp.example" (Sysmon through another) are one host.
// An address literal is kept whole.
func hostKey(buf *[maxHostKey]byte, host string, full bool) []byte {
	host = strings.TrimSpace(host)
	if !full && !isAddressLiteral(host) {
		if i := strings.IndexByte(host, '.'); i > 0 {
			host = host[:i]
		}
	}
	n := min(len(host), maxHostKey)
	for i := 0; i < n; i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:n]
}

// isAddressLiteral: an IPv6 address (a colon), or only digits and dots (an
// IPv4 address) — a computer name never is either.
func isAddressLiteral(host string) bool {
	if strings.IndexByte(host, ':') >= 0 {
		return true
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return host != ""
}

func fnv1a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// lock finds and locks the host's shard and returns the host's state (nil
// when it has none and create is false). The caller unlocks s.mu.
func (c *Correlator) lock(host string, create bool, wall int64) (*shard, *hostState) {
	var buf [maxHostKey]byte
	key := hostKey(&buf, host, c.cfg.FullHostNames)
	s := &c.shards[uint64(fnv1a(key))%uint64(len(c.shards))]
	for {
		s.mu.Lock()
		if wall-s.lastSweep > sweepEvery {
			s.lastSweep = wall
			c.sweepIdle(s, wall)
		}
		h := s.hosts[string(key)] // no allocation for the lookup
		if h == nil {
			if !create {
				return s, nil
			}
			if !c.reserveHost(s) {
				// The hosts to evict are in shards other calls hold: wait for
				// them without holding this one, then look again (nothing
				// of this record has been done yet).
				s.mu.Unlock()
				c.evictOldest(nil, nil)
				continue
			}
			h = &hostState{key: string(key)}
			s.hosts[h.key] = h
		} else {
			s.unlink(h)
		}
		s.pushFront(h)
		h.lastWall = wall
		h.seen = c.tot.seen.Add(1)
		return s, h
	}
}

// reserveHost takes a host slot, evicting the least recently seen hosts at
// max_hosts; false when every host it could evict is in a shard another
// call holds. The caller holds s.
func (c *Correlator) reserveHost(s *shard) bool {
	for !reserve(&c.tot.hosts, 1, int64(c.cfg.MaxHosts)) {
		if !c.evictOldest(s, nil) {
			return false
		}
	}
	return true
}

// evictOldest drops the least recently seen host of all (but keep), whole.
// With held (the shard the caller holds), the other shards are only tried,
// never waited for, and a busy shard's hosts are passed over; without it,
// it waits for each shard in turn (in index order, holding at most the
// best candidate's shard besides, so two callers cannot wait for each
// other). It reports whether a host was dropped.
func (c *Correlator) evictOldest(held *shard, keep *hostState) bool {
	var best *shard
	for i := range c.shards {
		o := &c.shards[i]
		if o != held {
			if held == nil {
				o.mu.Lock()
			} else if !o.mu.TryLock() {
				continue
			}
		}
		v := o.lruTail
		if v == keep {
			v = nil // keep is the shard's most recent host: alone in it
		}
		if v != nil && (best == nil || v.seen < best.lruTail.seen) {
			if best != nil && best != held {
				best.mu.Unlock()
			}
			best = o
			continue
		}
		if o != held {
			o.mu.Unlock()
		}
	}
	if best == nil {
		return false
	}
	best.stats.HostsEvicted++
	c.removeHost(best, best.lruTail, true)
	if best != held {
		best.mu.Unlock()
	}
	return true
}

func (s *shard) unlink(h *hostState) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		s.lruHead = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		s.lruTail = h.prev
	}
	h.prev, h.next = nil, nil
}

func (s *shard) pushFront(h *hostState) {
	h.next = s.lruHead
	if s.lruHead != nil {
		s.lruHead.prev = h
	}
	s.lruHead = h
	if s.lruTail == nil {
		s.lruTail = h
	}
}

// removeHost drops a host and all it holds; evicted says whether its live
// entries count as evicted.
func (c *Correlator) removeHost(s *shard, h *hostState, evicted bool) {
	if evicted {
		s.stats.EntriesEvicted += int64(h.live())
	}
	s.tot.entries.Add(-int64(h.entries()))
	s.tot.originalBytes.Add(-int64(h.originalBytes))
	s.tot.hosts.Add(-1)
	for i := 0; i < h.servers.n; i++ {
		s.serverPIDs.add(h.servers.at(i).v.proc.PID, -1)
	}
	s.unlink(h)
	delete(s.hosts, h.key)
}

func (h *hostState) live() int {
	n := 0
	count := func(dead bool) {
		if !dead {
			n++
		}
	}
	for i := 0; i < h.conns.n; i++ {
		count(h.conns.at(i).dead)
	}
	for i := 0; i < h.children.n; i++ {
		count(h.children.at(i).dead)
	}
	for i := 0; i < h.servers.n; i++ {
		count(h.servers.at(i).dead)
	}
	for i := 0; i < h.exits.n; i++ {
		count(h.exits.at(i).dead)
	}
	for i := 0; i < h.logons.n; i++ {
		count(h.logons.at(i).dead)
	}
	for i := 0; i < h.waits.n; i++ {
		count(h.waits.at(i).dead)
	}
	return n
}

// sweepIdle drops hosts not seen (wall clock) for longer than every timeout:
// a host that fell silent would otherwise keep its entries until evicted.
func (c *Correlator) sweepIdle(s *shard, wall int64) {
	for h := s.lruTail; h != nil && wall-h.lastWall > c.idle; h = s.lruTail {
		s.stats.HostsIdle++
		s.stats.EntriesExpired += int64(h.live())
		c.removeHost(s, h, false)
	}
}

// popFront removes the front entry of a table; reason counts a live entry
// as expired or evicted.
func (h *hostState) popFront(s *shard, t table, expired bool) {
	var dead bool
	switch t {
	case tConns:
		dead = h.conns.at(0).dead
		s.spares.put(h.conns.at(0).buf)
		h.conns.pop()
	case tChildren:
		dead = h.children.at(0).dead
		h.dropOriginal(s, h.children.at(0).v.proc.Original)
		s.spares.put(h.children.at(0).buf)
		h.children.pop()
	case tServers:
		dead = h.servers.at(0).dead
		s.serverPIDs.add(h.servers.at(0).v.proc.PID, -1)
		s.spares.put(h.servers.at(0).buf)
		h.servers.pop()
	case tExits:
		dead = h.exits.at(0).dead
		s.spares.put(h.exits.at(0).buf)
		h.exits.pop()
	case tLogons:
		f := h.logons.at(0)
		dead = f.dead
		seq := h.logons.seq
		if h.byID[f.v.id] == seq {
			delete(h.byID, f.v.id)
		}
		if f.v.addr.IsValid() && h.byAddr[f.v.addr] == seq {
			delete(h.byAddr, f.v.addr)
		}
		s.spares.put(h.logons.at(0).buf)
		h.logons.pop()
		if h.indexed > 8 && h.logons.n < h.indexed/4 {
			h.reindexLogons()
		}
	case tWaits:
		dead = h.waits.at(0).dead
		h.dropOriginal(s, h.waits.at(0).v.proc.Original)
		s.spares.put(h.waits.at(0).buf)
		h.waits.pop()
	}
	s.tot.entries.Add(-1)
	if dead {
		return
	}
	if expired {
		s.stats.EntriesExpired++
	} else {
		s.stats.EntriesEvicted++
	}
}

// dropOriginal stops counting a record copy that leaves with its entry.
func (h *hostState) dropOriginal(s *shard, o Original) {
	n := o.Size()
	h.originalBytes -= n
	s.tot.originalBytes.Add(-int64(n))
}

func (h *hostState) tableLen(t table) int {
	switch t {
	case tConns:
		return h.conns.n
	case tChildren:
		return h.children.n
	case tServers:
		return h.servers.n
	case tExits:
		return h.exits.n
	case tLogons:
		return h.logons.n
	default:
		return h.waits.n
	}
}

func (h *hostState) front(t table) *meta {
	switch t {
	case tConns:
		return &h.conns.at(0).meta
	case tChildren:
		return &h.children.at(0).meta
	case tServers:
		return &h.servers.at(0).meta
	case tExits:
		return &h.exits.at(0).meta
	case tLogons:
		return &h.logons.at(0).meta
	default:
		return &h.waits.at(0).meta
	}
}

// expire drops, oldest first, the entries whose time is up and the
// tombstones at the front of each table. Entries behind a longer-lived front
// entry stay until it goes.
func (h *hostState) expire(s *shard, clock, wall int64) {
	for t := table(0); t < tableCount; t++ {
		for h.tableLen(t) > 0 {
			m := h.front(t)
			if !m.dead && (m.deadline >= clock || m.wallDeadline >= wall) {
				break
			}
			h.popFront(s, t, true)
		}
	}
}

// makeRoom is called before adding an entry to table t of h, and reserves
// its slot: it drops the table's oldest entry at max_entries_per_host, and at
// max_entries the least recently seen hosts of all, whole, then h's own
// oldest entries when no other host can go. It reports false (the entry is
// not kept, and counts as evicted) only when every other host is in a shard
// another call holds at that instant and h holds nothing.
func (c *Correlator) makeRoom(s *shard, h *hostState, t table) bool {
	for h.tableLen(t) >= c.cfg.MaxEntriesPerHost {
		h.popFront(s, t, false)
	}
	for !reserve(&c.tot.entries, 1, int64(c.cfg.MaxEntries)) {
		if c.evictOldest(s, h) {
			continue
		}
		if h.tableLen(t) > 0 {
			h.popFront(s, t, false)
			continue
		}
		// h holds entries in other tables only: take the oldest of the largest.
		largest := t
		for u := table(0); u < tableCount; u++ {
			if h.tableLen(u) > h.tableLen(largest) {
				largest = u
			}
		}
		if h.tableLen(largest) == 0 {
			s.stats.EntriesEvicted++
			return false
		}
		h.popFront(s, largest, false)
	}
	return true
}

// The push functions add an entry to a table of h; each copies the entry's
// strings (and record copy) into a buffer of its own from the shard's
// spares: v may point into the record, never into another entry.

func (c *Correlator) pushConn(s *shard, h *hostState, v Conn, deadline, wall int64) {
	if !c.makeRoom(s, h, tConns) {
		return
	}
	f := v.fields()
	buf := s.spares.own(nil, f[:]...)
	h.conns.push(slot[Conn]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
}

func (c *Correlator) pushChild(s *shard, h *hostState, v childEntry, deadline, wall int64) {
	if !c.makeRoom(s, h, tChildren) {
		return
	}
	c.countOriginal(s, h, &v.proc)
	buf := s.spares.ownProcess(&v.proc, nil)
	h.children.push(slot[childEntry]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
}

// roomForOriginal reports whether the host and all hosts hold fewer copies
// than their budgets allow.
func (c *Correlator) roomForOriginal(h *hostState) bool {
	return h.originalBytes < c.cfg.MaxOriginalBytesPerHost && c.tot.originalBytes.Load() < int64(c.cfg.MaxOriginalBytes)
}

// countOriginal counts the record copy an entry is about to hold, or drops
// it when the host's or all hosts' copies would exceed their budget
// (makeRoom has already released what an eviction freed).
func (c *Correlator) countOriginal(s *shard, h *hostState, p *Process) {
	n := p.Original.Size()
	if n == 0 {
		return
	}
	if h.originalBytes+n > c.cfg.MaxOriginalBytesPerHost || !reserve(&s.tot.originalBytes, int64(n), int64(c.cfg.MaxOriginalBytes)) {
		p.Original = Original{}
		return
	}
	h.originalBytes += n
}

func (c *Correlator) pushServer(s *shard, h *hostState, v serverEntry, deadline, wall int64) {
	if !c.makeRoom(s, h, tServers) {
		return
	}
	v.proc.Original = Original{}
	buf := s.spares.ownProcess(&v.proc, nil)
	h.servers.push(slot[serverEntry]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
	s.serverPIDs.add(v.proc.PID, 1)
}

func (c *Correlator) pushExit(s *shard, h *hostState, v exitEntry, deadline, wall int64) {
	if !c.makeRoom(s, h, tExits) {
		return
	}
	buf := s.spares.own(nil, &v.guid)
	h.exits.push(slot[exitEntry]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
}

func (c *Correlator) pushLogon(s *shard, h *hostState, v logonEntry, deadline, wall int64) {
	if !c.makeRoom(s, h, tLogons) {
		return
	}
	f := v.info.fields()
	buf := s.spares.own(nil, f[:]...)
	seq := h.logons.push(slot[logonEntry]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
	if h.byID == nil {
		h.byID = make(map[uint64]uint64)
		h.byAddr = make(map[netip.AddrPort]uint64)
	}
	h.byID[v.id] = seq
	if v.addr.IsValid() {
		h.byAddr[v.addr] = seq
	}
	h.indexed = max(h.indexed, h.logons.n)
}

// reindexLogons rebuilds the logon indexes for the logons held (in order:
// a later logon with the same id or address wins, as when they were added).
func (h *hostState) reindexLogons() {
	h.indexed = h.logons.n
	if h.logons.n == 0 {
		h.byID, h.byAddr = nil, nil
		return
	}
	h.byID = make(map[uint64]uint64, h.logons.n)
	h.byAddr = make(map[netip.AddrPort]uint64, h.logons.n)
	for i := 0; i < h.logons.n; i++ {
		v := &h.logons.at(i).v
		seq := h.logons.seq + uint64(i)
		h.byID[v.id] = seq
		if v.addr.IsValid() {
			h.byAddr[v.addr] = seq
		}
	}
}

func (c *Correlator) pushWait(s *shard, h *hostState, v waitEntry, deadline, wall int64) {
	if !c.makeRoom(s, h, tWaits) {
		return
	}
	c.countOriginal(s, h, &v.proc)
	cf := v.conn.fields()
	buf := s.spares.ownProcess(&v.proc, cf[:])
	h.waits.push(slot[waitEntry]{meta: meta{deadline: deadline, wallDeadline: wall + c.delay}, v: v, buf: buf}, c.cfg.MaxEntriesPerHost)
}
