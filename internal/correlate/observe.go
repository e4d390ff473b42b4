package correlate

import (
	"net/netip"
	"strings"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// observeProcess handles Sysmon 1 and Security 4688.
func (c *Correlator) observeProcess(in *Input, keep Keeper, late []Finding) (Finding, []Finding) {
	ev := in.Event
	p := processOf(ev, in.Time)
	p.Excluded = in.Excluded
	sysmon := ev.EventID == winevent.SysmonProcessCreate
	judge := c.cfg.Judge

	// Which joins can this process take part in? Everything else returns
	// before any lock is taken.
	wants := c.processWants(sysmon, p.ParentImage, p.ParentPID != 0, in.Excluded)
	remember := c.cfg.ServerChild && in.ServerLaunch && (p.PID != 0 || p.GUID != "")
	reuses := c.serverPIDs.mayHold(p.PID)
	if wants == 0 && !remember && (!c.cfg.Logon || !in.Detection) && !reuses {
		return Finding{}, late
	}

	wall := c.now().UnixNano()
	s, h := c.lock(ev.Computer, true, wall) // the name as written: hostKey bounds it
	defer s.mu.Unlock()
	h.advance(sysmon, in.clockTime(), wall)
	h.expire(s, h.clock(), wall)
	if reuses {
		c.endReusedServers(h, &p)
	}

	f := Finding{Record: p.Record}
	if wants.Has(ServerChild) {
		if srv := c.serverFor(h, &p); srv != nil && (judge == nil || judge.ServerChild(p, srv.proc)) {
			f.Kinds |= ServerChild
			f.Server = srv.proc.clone() // before anything is added: an addition may evict the server
		}
	}
	if wants.Has(InboundChild) {
		if sysmon {
			late = c.learnConnPID(s, h, &p, wall, late)
		}
		if cn := c.connFor(h, &p); cn != nil && (judge == nil || judge.InboundChild(p, *cn)) {
			f.Kinds |= InboundChild
			f.Conn = cn.clone()
		}
	}
	detected := in.Detection || f.Kinds&(InboundChild|ServerChild) != 0
	p.Detected = detected
	if c.cfg.Logon && detected {
		c.joinLogon(h, &f, &p)
	}
	f.Process = p

	// What is kept: a server, a child still open to a join with an event
	// that may come later, a detection waiting for its logon. Each entry
	// copies the strings it keeps into a buffer of its own (spares), and
	// the record's copy when it may become the subject of a late finding.
	var k keeper
	if remember {
		late = c.rememberServer(s, h, &p, wall, late)
	}
	if open := wants &^ f.Kinds; open != 0 && c.cfg.LateFindings && !hasChild(h, &p) {
		ch := childEntry{proc: p, wants: open, logon: f.LogonJoin != NoLogon}
		ch.proc.Original = k.original(c.roomForOriginal(h), keep)
		c.pushChild(s, h, ch, max(p.Time, in.Time)+c.window+c.delay, wall)
	}
	if c.cfg.Logon && c.cfg.LateFindings && detected && f.LogonJoin == NoLogon {
		if w, ok := planWait(h, &p, &f); ok {
			w.proc = p
			w.proc.Original = k.original(c.roomForOriginal(h), keep)
			c.pushWait(s, h, w, max(in.Time, p.Time)+c.delay, wall)
		}
	}
	if !f.Empty() {
		s.stats.Findings++
	}
	return f, late
}

// keeper asks for the caller's copy of the record the first time it is
// kept as a possible subject of a late finding (a child, a wait), and only
// when the host's copies leave room for one. The copy is a view valid
// until the next Keep: each entry copies it into its own buffer. A server
// entry holds no copy: a server is never the subject of a late finding.
type keeper struct {
	kept  Original
	asked bool
}

func (k *keeper) original(room bool, keep Keeper) Original {
	if !k.asked && keep != nil && room {
		k.asked = true
		k.kept = keep.Keep()
	}
	return k.kept
}

// processWants says which joins a process creation can take part in, from
// its parent alone.
func (c *Correlator) processWants(sysmon bool, parentImage string, hasCreator, excluded bool) Kind {
	if excluded {
		return 0
	}
	var wants Kind
	if c.cfg.InboundChild && (c.isParent(parentImage) || (!sysmon && parentImage == "")) {
		wants |= InboundChild
	}
	if c.cfg.ServerChild && !sysmon && hasCreator &&
		(parentImage == "" || c.cfg.Judge == nil || c.cfg.Judge.IsServer(parentImage)) {
		wants |= ServerChild
	}
	return wants
}

// WantsProcess reports whether a process creation can take part in any
// join, from what the rule engine's reader already has: the event id, the
// parent's path, whether the creator's id is known, the engine's verdict,
// and the process's own id (a start may end a server whose id it reuses).
// The processor skips reading the rest of the record otherwise.
func (c *Correlator) WantsProcess(eventID int64, parentImage string, hasCreator, detection, serverLaunch, excluded bool, pid string) bool {
	sysmon := eventID == winevent.SysmonProcessCreate
	return c.processWants(sysmon, parentImage, hasCreator, excluded) != 0 ||
		(c.cfg.ServerChild && serverLaunch) || (c.cfg.Logon && detection) ||
		c.serverPIDs.mayHold(parsePID(pid))
}

// endReusedServers ends the servers whose process id another process's
// start reuses: Windows reuses an id only after its process ended, so the
// server ended before p started, whether or not its exit was seen. A copy
// of the server's own start (the Sysmon 1 of a 4688) is not another
// process: same ProcessGuid, or same image within the Security log's
// truncation.
func (c *Correlator) endReusedServers(h *hostState, p *Process) {
	for i := 0; i < h.servers.n; i++ {
		sl := h.servers.at(i)
		srv := &sl.v
		if sl.dead || srv.proc.PID != p.PID || p.Time <= srv.proc.Time ||
			(srv.end != 0 && srv.end <= p.Time) || (srv.reused != 0 && srv.reused <= p.Time) {
			continue
		}
		another := p.Time > srv.proc.Time+timeSlack || !strings.EqualFold(p.Image, srv.proc.Image)
		if p.GUID != "" && srv.proc.GUID != "" {
			another = !strings.EqualFold(p.GUID, srv.proc.GUID)
		}
		if !another {
			continue
		}
		srv.reused = p.Time
		sl.deadline = min(sl.deadline, srv.reused+c.delay)
	}
}

// parentIs reports whether a child's creator, joined by process id, can be
// the process whose image is given: the child's ParentProcessName (4688)
// or ParentImage (Sysmon 1) names it, or one of the two is unknown. It
// tells a server from a later process that reused its id.
func parentIs(child *Process, image string) bool {
	return child.ParentImage == "" || image == "" || strings.EqualFold(strings.TrimSpace(child.ParentImage), strings.TrimSpace(image))
}

// processFields are what Observe reads of a process creation (processOf,
// WantsProcess, the judge), under both schemas.
const processFields = winevent.FieldUtcTime | winevent.FieldImage | winevent.FieldParentImage | winevent.FieldCommandLine |
	winevent.FieldProcessID | winevent.FieldParentProcessID | winevent.FieldProcessGUID | winevent.FieldParentProcessGUID |
	winevent.FieldUser | winevent.FieldLogonID | winevent.FieldNewProcessName | winevent.FieldParentProcessName |
	winevent.FieldNewProcessID | winevent.FieldTargetUserName | winevent.FieldTargetDomainName |
	winevent.FieldSubjectUserName | winevent.FieldSubjectDomainName | winevent.FieldTargetLogonID |
	winevent.FieldSubjectLogonID | winevent.FieldSystemTime | winevent.FieldRecordID

// connFields are what decides about a connection: an outbound one needs
// nothing more (its source address and the host are enough), and its times
// move its host's clock, also in shapes without a record timestamp.
const connFields = winevent.FieldProtocol | winevent.FieldInitiated | winevent.FieldImage | winevent.FieldSourceIP |
	winevent.FieldUtcTime | winevent.FieldSystemTime

// Needs returns what Observe reads of each kind of event, for the reader's
// plan. The common events are kept to a few fields: outbound connections,
// inbound ones accepted by a process that is not watched, logons of other
// types than 3, and exits of processes that are not COM servers are read
// only as far as it takes to know that. It depends on the configuration
// only, never on the state: a record's fate must not depend on what other
// records arrived before it.
func (c *Correlator) Needs() []winevent.Need {
	var needs []winevent.Need
	if c.cfg.InboundChild || c.cfg.ServerChild || c.cfg.Logon {
		needs = append(needs,
			winevent.Need{ID: winevent.SysmonProcessCreate, First: processFields},
			winevent.Need{ID: winevent.SecurityProcessCreate, First: processFields})
	}
	if c.cfg.InboundChild {
		needs = append(needs, winevent.Need{
			ID: winevent.SysmonNetworkConnect, First: connFields, Rest: winevent.AllFields,
			By: winevent.FieldImage | winevent.FieldInitiated, More: c.isWatchedInbound,
		})
	}
	if c.cfg.ServerChild {
		needs = append(needs,
			winevent.Need{ID: winevent.SysmonProcessTerminate, First: winevent.FieldImage, Rest: exitFields, By: winevent.FieldImage, More: c.isServerExit},
			winevent.Need{ID: winevent.SecurityProcessExit, First: winevent.FieldProcessName, Rest: exitFields, By: winevent.FieldProcessName, More: c.isServerExit})
	}
	if c.cfg.Logon {
		needs = append(needs, winevent.Need{ID: winevent.SecurityLogon, First: winevent.FieldLogonType, Rest: logonFields, By: winevent.FieldLogonType, More: isNetworkLogon})
	}
	return needs
}

// isWatchedInbound: every field of an inbound connection to a watched
// process (Image, Initiated).
func (c *Correlator) isWatchedInbound(image, initiated string) bool {
	in, ok := parseBool(initiated)
	return ok && !in && c.isParent(image)
}

// isServerExit: the ids and times of a COM server's exit (Sysmon 5 Image,
// 4689 ProcessName).
func (c *Correlator) isServerExit(image, _ string) bool {
	return c.isServerImage(image)
}

// isNetworkLogon: the account and address of a network logon (LogonType).
func isNetworkLogon(logonType, _ string) bool {
	return strings.TrimSpace(logonType) == "3"
}

// exitFields are what observeExit reads of the exit of a COM server's image.
const exitFields = winevent.FieldProcessID | winevent.FieldProcessGUID | winevent.FieldUtcTime | winevent.FieldSystemTime

// exitImage is the path of the process that ended: Sysmon 5 Image, 4689
// ProcessName.
func exitImage(ev *winevent.Event) string {
	if ev.EventID == winevent.SysmonProcessTerminate {
		return ev.Image
	}
	return ev.ProcessName
}

// isServerImage reports whether a path names a COM server whose start can be
// a server launch (every path without a judge).
func (c *Correlator) isServerImage(path string) bool {
	return c.cfg.Judge == nil || c.cfg.Judge.IsServer(path)
}

// logonFields are what observeLogon keeps of a network logon.
const logonFields = winevent.FieldTargetLogonID | winevent.FieldIPAddress | winevent.FieldIPPort |
	winevent.FieldTargetUserName | winevent.FieldTargetDomainName | winevent.FieldAuthenticationPackageName |
	winevent.FieldLogonProcessName | winevent.FieldWorkstationName | winevent.FieldSystemTime | winevent.FieldRecordID

// serverFor finds the running DCOM-launched server that created p (4688:
// the creator process id), checking that p started while it ran.
func (c *Correlator) serverFor(h *hostState, p *Process) *serverEntry {
	var best *serverEntry
	for i := 0; i < h.servers.n; i++ {
		sl := h.servers.at(i)
		if sl.dead || !sameProcess(p.ParentGUID, p.ParentPID, sl.v.proc.GUID, sl.v.proc.PID) || !parentIs(p, sl.v.proc.Image) {
			continue
		}
		if !c.startedWhileRunning(h, p.Time, &sl.v) {
			continue
		}
		if best == nil || sl.v.proc.Time > best.proc.Time {
			best = &sl.v
		}
	}
	return best
}

// hold is how long a server whose exit was not seen is taken to run, for a
// child that started at t: the server timeout when the host sends exits,
// the shorter one otherwise. A host sends exits when an exit of a COM
// server's image more than max_delay before t was seen: such an exit
// arrives before the child whatever the order within max_delay, so the
// hold does not depend on which of the two arrived first.
func (c *Correlator) hold(h *hostState, t int64) int64 {
	if h.firstExit != 0 && h.firstExit < t-c.delay {
		return int64(c.cfg.ServerTimeout)
	}
	return int64(c.cfg.ServerTimeoutWithoutExits)
}

// startedWhileRunning: after the server started, and before it ended (or
// within the hold when its end was not seen: the server timeout on a host
// that sends exits, the shorter one otherwise). Both sides allow for
// Security times truncated to the second.
func (c *Correlator) startedWhileRunning(h *hostState, t int64, srv *serverEntry) bool {
	// A child at or after the start of the process that reused the id is
	// that process's (the server ended before it).
	if t < srv.proc.Time-timeSlack || (srv.reused != 0 && t >= srv.reused) {
		return false
	}
	if srv.end == 0 {
		return t <= srv.proc.Time+c.hold(h, t)
	}
	return t <= srv.end+timeSlack
}

// connFor finds the watched connection of p's parent nearest to p's start.
func (c *Correlator) connFor(h *hostState, p *Process) *Conn {
	var best *Conn
	bestDelta := int64(-1)
	for i := 0; i < h.conns.n; i++ {
		sl := h.conns.at(i)
		if sl.dead || !sameProcess(p.ParentGUID, p.ParentPID, sl.v.GUID, sl.v.PID) || !parentIs(p, sl.v.Image) {
			continue
		}
		d := abs64(p.Time - sl.v.Time)
		if d > c.window {
			continue
		}
		if bestDelta < 0 || d < bestDelta {
			best, bestDelta = &sl.v, d
		}
	}
	return best
}

// learnConnPID remembers the process id a Sysmon 1 child names for its
// parent's ProcessGuid, and gives it to connections recorded without
// ProcessId (some collectors drop it), so that 4688 children can be joined
// to them by process id; the 4688 children that arrived before it are
// joined now (late).
func (c *Correlator) learnConnPID(s *shard, h *hostState, p *Process, wall int64, late []Finding) []Finding {
	if p.ParentGUID == "" || p.ParentPID == 0 || !h.learnParent(p.ParentGUID, p.ParentPID) {
		return late
	}
	var learned []Conn // rare: only the first child after a connection without ProcessId
	for i := 0; i < h.conns.n; i++ {
		sl := h.conns.at(i)
		if cn := &sl.v; !sl.dead && cn.PID == 0 && strings.EqualFold(cn.GUID, p.ParentGUID) {
			cn.PID = p.ParentPID
			learned = append(learned, cn.clone()) // joining may evict the entry
		}
	}
	// Outside the loop over the connections: joining adds waits, which may
	// evict connections.
	for _, cn := range learned {
		late = c.childrenOf(s, h, cn, wall, late)
	}
	return late
}

// hasChild reports whether the same record is already pending (a record
// delivered twice must not be joined twice).
func hasChild(h *hostState, p *Process) bool {
	for i := 0; i < h.children.n; i++ {
		if sl := h.children.at(i); !sl.dead && sameRecord(&sl.v.proc, p) {
			return true
		}
	}
	return false
}

func sameRecord(a, b *Process) bool {
	if a.Record.EventID != b.Record.EventID {
		return false
	}
	if a.Record.RecordID != 0 || b.Record.RecordID != 0 {
		return a.Record.RecordID == b.Record.RecordID
	}
	return a.PID == b.PID && a.Time == b.Time && a.Image == b.Image
}

// rememberServer records a DCOM-launched server (its 4688 and Sysmon 1
// copies merge into one entry) and joins the 4688 children already pending.
func (c *Correlator) rememberServer(s *shard, h *hostState, p *Process, wall int64, late []Finding) []Finding {
	var srv *serverEntry
	for i := 0; i < h.servers.n; i++ {
		sl := h.servers.at(i)
		if sl.dead || !sameProcess(p.GUID, p.PID, sl.v.proc.GUID, sl.v.proc.PID) {
			continue
		}
		if abs64(p.Time-sl.v.proc.Time) > c.window+timeSlack {
			sl.dead = true // the id was reused: the old server is gone
			continue
		}
		if sl.v.proc.PID == 0 {
			sl.v.proc.PID = p.PID
			s.serverPIDs.add(p.PID, 1)
		}
		if sl.v.proc.GUID == "" {
			sl.v.proc.GUID = strings.Clone(p.GUID) // not in the entry's buffer: the GC frees it
		}
		srv = &sl.v
	}
	if srv == nil {
		end := c.exitOf(h, p)
		deadline := p.Time + int64(c.cfg.ServerTimeout)
		if end != 0 {
			deadline = end + c.delay
		}
		c.pushServer(s, h, serverEntry{proc: *p, end: end}, deadline, wall)
		srv = &h.servers.at(h.servers.n - 1).v
	}
	return c.lateServerChildren(s, h, *srv, wall, late)
}

// lateServerChildren joins the pending 4688 children of a server that
// started while it ran, as late server children: when the server arrives
// after them, and when its exit arrives after them (a child past the hold
// for a server whose exit was not seen yet). srv is a copy: joining adds
// waits, which may evict entries.
func (c *Correlator) lateServerChildren(s *shard, h *hostState, srv serverEntry, wall int64, late []Finding) []Finding {
	judge := c.cfg.Judge
	first := len(late)
	for i := 0; i < h.children.n; i++ {
		sl := h.children.at(i)
		ch := &sl.v
		if sl.dead || !ch.wants.Has(ServerChild) || ch.proc.Excluded ||
			!sameProcess(ch.proc.ParentGUID, ch.proc.ParentPID, srv.proc.GUID, srv.proc.PID) ||
			!parentIs(&ch.proc, srv.proc.Image) || !c.startedWhileRunning(h, ch.proc.Time, &srv) {
			continue
		}
		ch.wants &^= ServerChild
		if judge != nil && !judge.ServerChild(ch.proc, srv.proc) {
			continue
		}
		f := lateFinding(&ch.proc, ServerChild)
		f.Server = srv.proc.clone()
		c.lateChild(h, ch, &f)
		s.stats.LateFindings++
		late = append(late, f)
	}
	c.awaitLogons(s, h, late[first:], wall)
	return late
}

// lateFinding starts a late finding about a held process. Everything a
// finding takes from the state is a copy of its own: the caller uses it
// after the lock is released, when the entry may have left and its buffer
// serve another (spares).
func lateFinding(p *Process, kinds Kind) Finding {
	d := p.detached()
	return Finding{Record: d.Record, Process: d, Late: true, Kinds: kinds}
}

// lateChild completes a late finding about a pending child: the child is a
// detection from now on (a further finding about it is an enrichment, not a
// second alert), and its logon is joined unless it was reported before.
func (c *Correlator) lateChild(h *hostState, ch *childEntry, f *Finding) {
	ch.proc.Detected = true
	f.logonKnown = ch.logon
	if c.cfg.Logon && !ch.logon {
		c.joinLogon(h, f, &ch.proc)
		ch.logon = f.LogonJoin != NoLogon
	}
}

// awaitLogons makes the records of late findings that have no logon yet
// wait for it. It runs after the loop that made the findings: an addition
// may evict the front entry of a table and shift the ones behind it.
func (c *Correlator) awaitLogons(s *shard, h *hostState, found []Finding, wall int64) {
	if !c.cfg.Logon || !c.cfg.LateFindings {
		return
	}
	for i := range found {
		f := &found[i]
		if f.LogonJoin != NoLogon || f.logonKnown {
			continue
		}
		if w, ok := planWait(h, &f.Process, f); ok {
			w.proc = f.Process // pushWait copies it into the wait's buffer
			w.proc.Detected = true
			c.pushWait(s, h, w, max(h.clock(), f.Process.Time)+c.delay, wall)
		}
	}
}

// observeConn handles Sysmon 3.
func (c *Correlator) observeConn(in *Input, late []Finding) []Finding {
	ev := in.Event
	if !c.cfg.InboundChild {
		return late
	}
	if p := strings.TrimSpace(ev.Protocol); p != "" && !strings.EqualFold(p, "tcp") {
		return late
	}
	initiated, ok := parseBool(ev.Initiated)
	if !ok {
		return late
	}
	wall := c.now().UnixNano()
	if initiated {
		// An outbound connection's source is the host itself in every Sysmon
		// version: remember the address, for deciding the local end of
		// inbound connections that carry no host names.
		a, ok := parseIP(ev.SourceIP)
		if !ok || a.IsLoopback() || a.IsUnspecified() {
			return late
		}
		s, h := c.lock(ev.Computer, false, wall)
		if h != nil {
			h.advance(true, in.clockTime(), wall)
			h.learnLocal(a)
		}
		s.mu.Unlock()
		return late
	}
	if !c.isParent(ev.Image) {
		return late
	}
	src, _ := parseIP(ev.SourceIP)
	dst, _ := parseIP(ev.DestinationIP)

	s, h := c.lock(ev.Computer, true, wall)
	defer s.mu.Unlock()
	h.advance(true, in.clockTime(), wall)
	h.expire(s, h.clock(), wall)

	conn := Conn{Record: recordOf(ev, in.Time), Time: in.Time, Image: boundPath(ev.Image), GUID: boundID(ev.ProcessGUID), PID: parsePID(ev.ProcessID)}
	if u, ok := winevent.ParseTime(ev.UtcTime); ok {
		conn.Time = u
	}
	var remote, local netip.Addr
	var remotePort, localPort string
	if localIsSource(h, ev, src, dst) {
		local, remote = src, dst
		conn.LocalAddr, conn.RemoteAddr = boundID(strings.TrimSpace(ev.SourceIP)), boundID(strings.TrimSpace(ev.DestinationIP))
		localPort, remotePort = ev.SourcePort, ev.DestinationPort
	} else {
		local, remote = dst, src
		conn.LocalAddr, conn.RemoteAddr = boundID(strings.TrimSpace(ev.DestinationIP)), boundID(strings.TrimSpace(ev.SourceIP))
		localPort, remotePort = ev.DestinationPort, ev.SourcePort
	}
	conn.LocalPort, conn.RemotePort = parsePort(localPort), parsePort(remotePort)
	if !remote.IsValid() || remote.IsLoopback() || remote.IsUnspecified() || remote == local || h.isLocal(remote) ||
		conn.LocalPort < c.cfg.PortMin || conn.LocalPort > c.cfg.PortMax {
		return late
	}
	// A connection made after its process exited starts nothing.
	if endedServer(h, &conn) || hasConn(h, &conn) {
		return late
	}
	if conn.PID == 0 {
		conn.PID = h.parentPID(conn.GUID)
	}
	c.pushConn(s, h, conn, max(conn.Time+c.window, in.Time)+c.delay, wall)

	// Children that came first: Sysmon often writes the connection after the
	// child it explains.
	return c.childrenOf(s, h, conn, wall, late)
}

// childrenOf joins the pending children of the process that accepted conn
// as late inbound children. Nothing is added to the state inside the loop
// (an addition may evict the front child and shift the ones behind it).
func (c *Correlator) childrenOf(s *shard, h *hostState, conn Conn, wall int64, late []Finding) []Finding {
	judge := c.cfg.Judge
	first := len(late)
	for i := 0; i < h.children.n; i++ {
		sl := h.children.at(i)
		ch := &sl.v
		if sl.dead || !ch.wants.Has(InboundChild) || ch.proc.Excluded ||
			!sameProcess(ch.proc.ParentGUID, ch.proc.ParentPID, conn.GUID, conn.PID) || !parentIs(&ch.proc, conn.Image) ||
			abs64(ch.proc.Time-conn.Time) > c.window {
			continue
		}
		ch.wants &^= InboundChild
		if judge != nil && !judge.InboundChild(ch.proc, conn) {
			continue
		}
		f := lateFinding(&ch.proc, InboundChild)
		f.Conn = conn.clone()
		c.lateChild(h, ch, &f)
		s.stats.LateFindings++
		late = append(late, f)
	}
	// The children found wait for the logon of the connection's remote end.
	c.awaitLogons(s, h, late[first:], wall)
	return late
}

func hasConn(h *hostState, cn *Conn) bool {
	for i := 0; i < h.conns.n; i++ {
		sl := h.conns.at(i)
		o := &sl.v
		if !sl.dead && o.Record.RecordID == cn.Record.RecordID && (cn.Record.RecordID != 0 ||
			(o.Time == cn.Time && o.RemotePort == cn.RemotePort && o.RemoteAddr == cn.RemoteAddr)) {
			return true
		}
	}
	return false
}

// endedServer reports whether the connection's process is a server that
// exited before the connection's time (by the two events' times, not by
// which arrived first).
func endedServer(h *hostState, cn *Conn) bool {
	for i := 0; i < h.servers.n; i++ {
		sl := h.servers.at(i)
		if !sl.dead && sl.v.end != 0 && cn.Time > sl.v.end+timeSlack && sameProcess(cn.GUID, cn.PID, sl.v.proc.GUID, sl.v.proc.PID) {
			return true
		}
	}
	return false
}

// localIsSource decides which end of an inbound connection is the host:
// from the host names when Sysmon resolved them, then from the addresses
// the host was seen using, and otherwise as current Sysmon writes inbound
// TCP (the local end in Destination*). Older versions put it in Source*.
func localIsSource(h *hostState, ev *winevent.Event, src, dst netip.Addr) bool {
	srcName := sameHost(ev.SourceHostname, ev.Computer)
	dstName := sameHost(ev.DestinationHostname, ev.Computer)
	switch {
	case srcName && !dstName:
		return true
	case dstName && !srcName:
		return false
	}
	srcLocal := src.IsValid() && h.isLocal(src)
	dstLocal := dst.IsValid() && h.isLocal(dst)
	return srcLocal && !dstLocal
}

// sameHost compares a resolved host name with the computer name by their
// first labels.
func sameHost(name, computer string) bool {
	name = strings.TrimSpace(name)
	if name == "" || name == "-" || computer == "" {
		return false
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	if i := strings.IndexByte(computer, '.'); i >= 0 {
		computer = computer[:i]
	}
	return strings.EqualFold(name, computer)
}

// exitOf returns the time of the first exit held for a server that has just
// been remembered (its exit arrived first), or 0.
func (c *Correlator) exitOf(h *hostState, p *Process) int64 {
	var end int64
	for i := 0; i < h.exits.n; i++ {
		sl := h.exits.at(i)
		x := &sl.v
		if sl.dead || !sameProcess(x.guid, x.pid, p.GUID, p.PID) || x.time < p.Time-timeSlack {
			continue
		}
		if end == 0 || x.time < end {
			end = max(x.time, p.Time)
		}
	}
	return end
}

// observeExit handles Sysmon 5 and Security 4689 of a COM server's image: a
// server that ends takes no more children (a process id may be reused after
// it). The exit is also kept for max_delay, for a start that arrives after
// it.
func (c *Correlator) observeExit(in *Input, late []Finding) []Finding {
	ev := in.Event
	if !c.cfg.ServerChild || !c.isServerImage(exitImage(ev)) {
		return late
	}
	pid := parsePID(ev.ProcessID)
	guid := boundID(ev.ProcessGUID)
	if pid == 0 && guid == "" {
		return late
	}
	sysmon := ev.EventID == winevent.SysmonProcessTerminate
	t := in.Time
	if sysmon {
		if u, ok := winevent.ParseTime(ev.UtcTime); ok {
			t = u
		}
	}
	wall := c.now().UnixNano()
	s, h := c.lock(ev.Computer, true, wall)
	defer s.mu.Unlock()
	h.advance(sysmon, in.clockTime(), wall)
	h.expire(s, h.clock(), wall)
	if !in.Untimed && (h.firstExit == 0 || t < h.firstExit) {
		h.firstExit = t
	}
	if !hasExit(h, guid, pid, t) {
		c.pushExit(s, h, exitEntry{guid: guid, pid: pid, time: t}, max(t, in.Time)+c.delay, wall)
	}
	var ended []serverEntry // rare: the exit of a held server
	for i := 0; i < h.servers.n; i++ {
		sl := h.servers.at(i)
		if sl.dead || (sl.v.end != 0 && sl.v.end <= t) || !sameProcess(guid, pid, sl.v.proc.GUID, sl.v.proc.PID) ||
			sl.v.proc.Time > t+timeSlack {
			continue
		}
		sl.v.end = max(t, sl.v.proc.Time)
		sl.deadline = min(sl.deadline, sl.v.end+c.delay)
		srv := sl.v
		srv.proc = srv.proc.clone() // joining may evict the entry
		ended = append(ended, srv)
	}
	// The children that arrived before the exit and started past the hold
	// of a server whose exit was not seen yet: it ran until now.
	for _, srv := range ended {
		late = c.lateServerChildren(s, h, srv, wall, late)
	}
	return late
}

func hasExit(h *hostState, guid string, pid uint32, t int64) bool {
	for i := 0; i < h.exits.n; i++ {
		sl := h.exits.at(i)
		if !sl.dead && sl.v.time == t && sameProcess(guid, pid, sl.v.guid, sl.v.pid) {
			return true
		}
	}
	return false
}

// observeLogon handles Security 4624: network logons (type 3) from another
// host are kept, and complete the detections waiting for them.
func (c *Correlator) observeLogon(in *Input, late []Finding) []Finding {
	ev := in.Event
	if !c.cfg.Logon || strings.TrimSpace(ev.LogonType) != "3" {
		return late
	}
	id := parseLogonID(ev.TargetLogonID)
	if id == 0 {
		return late
	}
	addr, ok := parseIP(ev.IPAddress)
	if !ok || addr.IsLoopback() || addr.IsUnspecified() {
		return late
	}
	port := parsePort(ev.IPPort)
	var ap netip.AddrPort
	if port != 0 {
		ap = netip.AddrPortFrom(addr, port)
	}

	wall := c.now().UnixNano()
	s, h := c.lock(ev.Computer, true, wall)
	defer s.mu.Unlock()
	h.advance(false, in.clockTime(), wall)
	h.expire(s, h.clock(), wall)
	if seq, ok := h.byID[id]; ok {
		if sl := h.logons.bySeq(seq); sl != nil && !sl.dead {
			return late // delivered twice
		}
	}
	info := LogonInfo{
		Record:       recordOf(ev, in.Time),
		ID:           boundID(strings.TrimSpace(ev.TargetLogonID)),
		UserName:     boundName(strings.TrimSpace(ev.TargetUserName)),
		UserDomain:   boundName(strings.TrimSpace(ev.TargetDomainName)),
		AuthPackage:  boundName(strings.TrimSpace(ev.AuthenticationPackageName)),
		LogonProcess: boundName(strings.TrimSpace(ev.LogonProcessName)),
		Workstation:  boundName(strings.TrimSpace(ev.WorkstationName)),
		Address:      boundID(strings.TrimSpace(ev.IPAddress)),
		Port:         port,
	}
	c.pushLogon(s, h, logonEntry{info: info, id: id, addr: ap}, in.Time+int64(c.cfg.LogonTimeout), wall)

	for i := 0; i < h.waits.n; i++ {
		sl := h.waits.at(i)
		w := &sl.v
		if sl.dead {
			continue
		}
		byID := w.id != 0 && w.id == id && c.nearLogon(info.Record.Time, &w.proc)
		byAddr := w.id == 0 && ap.IsValid() && w.addr == ap && c.nearConn(info.Record.Time, &w.conn)
		if !byID && !byAddr {
			continue
		}
		sl.dead = true
		logonReported(h, &w.proc)
		f := lateFinding(&w.proc, 0)
		f.Logon = info.clone()
		if byID {
			f.Kinds, f.LogonJoin = Logon, ByLogonID
		} else {
			f.LogonJoin, f.Conn = ByAddress, w.conn.clone()
		}
		s.stats.LateFindings++
		late = append(late, f)
	}
	return late
}

// logonReported marks the pending entry of a record whose logon a late
// finding reported, and ends its other waits: a later join about it does
// not report it again.
func logonReported(h *hostState, p *Process) {
	for i := 0; i < h.children.n; i++ {
		if sl := h.children.at(i); !sl.dead && sameRecord(&sl.v.proc, p) {
			sl.v.logon = true
		}
	}
	for i := 0; i < h.waits.n; i++ {
		if sl := h.waits.at(i); !sl.dead && sameRecord(&sl.v.proc, p) {
			sl.dead = true
		}
	}
}

// nearLogon bounds a logon-id join in time: logon ids are unique only
// until the host restarts.
func (c *Correlator) nearLogon(logonTime int64, p *Process) bool {
	return abs64(p.Time-logonTime) <= int64(c.cfg.LogonTimeout)
}

// nearConn bounds an address join in time: a source port is reused, but not
// within seconds.
func (c *Correlator) nearConn(logonTime int64, cn *Conn) bool {
	return abs64(logonTime-cn.Time) <= c.window+c.delay
}

// joinLogon attaches the network logon of a detection: for an inbound child
// the logon of the connection's remote end, otherwise the one whose id is
// the process's logon id (4688 TargetLogonId, then SubjectLogonId, which a
// server's child inherits; Sysmon LogonId).
func (c *Correlator) joinLogon(h *hostState, f *Finding, p *Process) {
	if f.Kinds.Has(InboundChild) {
		ap, ok := addrPort(f.Conn.RemoteAddr, f.Conn.RemotePort)
		if !ok {
			return
		}
		seq, ok := h.byAddr[ap]
		if !ok {
			return
		}
		sl := h.logons.bySeq(seq)
		if sl == nil || sl.dead || !c.nearConn(sl.v.info.Record.Time, &f.Conn) {
			return
		}
		f.Logon, f.LogonJoin = sl.v.info.clone(), ByAddress
		return
	}
	for _, text := range [2]string{p.LogonID, p.SubjectLogonID} {
		id := parseLogonID(text)
		if id == 0 {
			continue
		}
		seq, ok := h.byID[id]
		if !ok {
			continue
		}
		if sl := h.logons.bySeq(seq); sl != nil && !sl.dead && c.nearLogon(sl.v.info.Record.Time, p) {
			f.Logon, f.LogonJoin = sl.v.info.clone(), ByLogonID
			f.Kinds |= Logon
			return
		}
	}
}

// planWait prepares a detection's wait for a logon that may arrive after it
// (the Security log comes through another receiver than Sysmon): by the
// connection's remote end for an inbound child, otherwise by its logon id.
// It reports false when there is nothing to wait for, or the record waits
// already (delivered twice). The caller sets proc to a copy it owns.
func planWait(h *hostState, p *Process, f *Finding) (waitEntry, bool) {
	w := waitEntry{kinds: f.Kinds}
	if f.Kinds.Has(InboundChild) {
		ap, ok := addrPort(f.Conn.RemoteAddr, f.Conn.RemotePort)
		if !ok {
			return w, false
		}
		w.addr, w.conn = ap, f.Conn
	} else {
		for _, text := range [2]string{p.LogonID, p.SubjectLogonID} {
			if id := parseLogonID(text); id != 0 && !wellKnownLogon(id) {
				w.id = id
				break
			}
		}
		if w.id == 0 {
			return w, false
		}
	}
	// One wait per record: an inbound child's logon is the one from the
	// connection's remote end, so an address wait replaces a wait by id
	// (planned when the record was a detection of its own), never the
	// other way round.
	for i := 0; i < h.waits.n; i++ {
		sl := h.waits.at(i)
		if sl.dead || !sameRecord(&sl.v.proc, p) {
			continue
		}
		if w.id != 0 || sl.v.id == 0 {
			return w, false
		}
		sl.dead = true
	}
	return w, true
}

// wellKnownLogon: SYSTEM, LOCAL SERVICE and NETWORK SERVICE never log on
// over the network.
func wellKnownLogon(id uint64) bool { return id == 0x3e7 || id == 0x3e5 || id == 0x3e4 }
