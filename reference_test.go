package dcomdetectionprocessor

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// refModel is the correlation written a second time, as docs/correlation.md
// defines it, small and slow: every event is kept in arrival order, and each
// finding is computed by brute force over the events of the host that
// arrived before. No shards, no expiry, no caps: the
// differential test stays inside them (every partner arrives within
// max_delay, and the state never reaches a cap).
//
// Its output is one line per output record (refLine), in the order the
// records are made: each arriving record in place, then the late findings it
// completes.
type refModel struct {
	cfg    CorrelationConfig
	engine *rules.Engine
	judge  correlate.EngineJudge
	seen   []*genEvent          // every event, in arrival order
	facts  map[string]*refFacts // per record: what has been reported about it
	out    []refLine
}

// refFacts is what has been reported about one record, in place (on any
// copy) or late: each finding is reported once, a record is one alert.
type refFacts struct {
	detected    bool
	kinds       correlate.Kind
	logon       bool
	conn        *genEvent // its inbound connection, once reported
	serverChild bool
}

// refLine is one output record, as the test compares them.
type refLine struct {
	key     string // host|event id|record id of the record it is about
	late    bool
	kind    string // event.kind: alert, enrichment or ""
	pattern string
	kinds   string // dcom.correlation.kinds, sorted
	logon   string // joined_on:logon record id
	server  string // the server's pid
	conn    int64  // the connection's record id
}

func (l refLine) String() string {
	return fmt.Sprintf("%s late=%v kind=%s pattern=%s kinds=%s logon=%s server=%s conn=%d",
		l.key, l.late, l.kind, l.pattern, l.kinds, l.logon, l.server, l.conn)
}

func newRefModel(cfg *Config, engine *rules.Engine) *refModel {
	return &refModel{cfg: cfg.Correlation, engine: engine, judge: correlate.EngineJudge{Engine: engine}, facts: map[string]*refFacts{}}
}

func (m *refModel) factsOf(e *genEvent) *refFacts {
	f := m.facts[e.key()]
	if f == nil {
		f = &refFacts{}
		m.facts[e.key()] = f
	}
	return f
}

// sameHost: two computer names are one host when they are equal, case
// aside, or, with host_names: short, when their first DNS labels are (an
// address is kept whole).
func (m *refModel) sameHost(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if m.cfg.HostNames == HostNamesShort {
		a, b = shortHostName(a), shortHostName(b)
	}
	return strings.EqualFold(a, b)
}

func shortHostName(name string) string {
	if _, err := netip.ParseAddr(name); err == nil {
		return name
	}
	if label, _, ok := strings.Cut(name, "."); ok && label != "" {
		return label
	}
	return name
}

// before lists the events of e's host that arrived before it.
func (m *refModel) before(e *genEvent) []*genEvent {
	var out []*genEvent
	for _, o := range m.seen {
		if m.sameHost(o.Host, e.Host) {
			out = append(out, o)
		}
	}
	return out
}

// observe takes the next arriving record.
func (m *refModel) observe(e *genEvent) {
	line := refLine{key: e.key()}
	if e.isProcess() {
		line = m.process(e)
	}
	m.out = append(m.out, line)
	switch {
	case m.serverLaunch(e):
		m.serverArrived(e)
	case e.isInbound(m):
		m.connArrived(e, m.before(e))
	case e.isNetworkLogon():
		m.logonArrived(e)
	case e.isExit() && m.cfg.ServerChild.Enabled:
		// the exit counts among the events seen while it is judged
		m.seen = append(m.seen, e)
		m.exitArrived(e)
		m.seen = m.seen[:len(m.seen)-1]
	}
	// A Sysmon 1 child names the process id of a connection written without
	// one: the 4688 children of that id that came before it join it now.
	for _, cn := range m.before(e) {
		if cn.isInbound(m) && m.connPID(cn, m.before(e)) == 0 && m.connPID(cn, append(m.before(e), e)) != 0 {
			m.connArrived(cn, append(m.before(e), e))
		}
	}
	m.seen = append(m.seen, e)
}

// connPID is the id of the process that accepted cn: its ProcessId, or
// the ParentProcessId that a Sysmon 1 child among events names for the
// connection's ProcessGuid (collectors that drop ProcessId).
func (m *refModel) connPID(cn *genEvent, events []*genEvent) uint64 {
	if !cn.NoPID {
		return cn.PID
	}
	for _, c := range events {
		if c.ID == 1 && c.PPID != 0 && c.PGUID != "" && strings.EqualFold(c.PGUID, cn.GUID) {
			return c.PPID
		}
	}
	return 0
}

// verdict is the rule engine's verdict on a process creation (the
// single-event rules are not what this model checks).
func (m *refModel) verdict(e *genEvent) rules.Verdict {
	if !e.verdictSet {
		lr := plog.NewLogRecord()
		w := e.render()
		w.put(lr, "map")
		var ev winevent.Event
		if winevent.Read(lr.Body(), lr.Attributes(), &ev) == winevent.Filled {
			e.verdict = m.engine.Evaluate(&ev)
		}
		e.verdictSet = true
	}
	return e.verdict
}

// serverLaunch is the fact the correlation keeps whatever the pattern
// switches and exclusions say: svchost.exe (-k DcomLaunch, or unknown on a
// 4688) started a com_servers member with -Embedding or /automation as an
// argument of its own.
func (m *refModel) serverLaunch(e *genEvent) bool {
	if !e.isProcess() || !strings.EqualFold(correlate.BaseName(e.Parent), "svchost.exe") || !m.engine.IsCOMServer(e.Image) ||
		(e.ID == 1 && e.ParentCmd != "" && !strings.Contains(strings.ToLower(e.ParentCmd), "dcomlaunch")) {
		return false
	}
	return slices.ContainsFunc(strings.Fields(e.Cmd), func(arg string) bool {
		return slices.Contains([]string{"-embedding", "/embedding", "-automation", "/automation"}, strings.ToLower(arg))
	})
}

// excluded: an exclusion suppressed the engine's verdict on the record, and
// with it every correlation finding about the record.
func (m *refModel) excluded(e *genEvent) bool { return m.verdict(e).Excluded != "" }

// process makes the in-place line of a process creation.
func (m *refModel) process(e *genEvent) refLine {
	v := m.verdict(e)
	line := refLine{key: e.key(), pattern: patternName(v)}
	if m.excluded(e) {
		return line
	}
	var kinds correlate.Kind
	srv := m.serverOf(e, m.before(e))
	if srv != nil {
		kinds |= correlate.ServerChild
		line.server = strconv.FormatUint(srv.PID, 10)
	}
	cn := m.connOf(e, m.before(e), append(m.before(e), e))
	if cn != nil {
		kinds |= correlate.InboundChild
		line.conn = cn.RecordID
	}
	if line.pattern == "" && kinds != 0 {
		line.pattern = patternName(m.correlatedVerdict(e, srv, cn))
	}
	f := m.factsOf(e)
	if line.pattern != "" {
		line.kind = "alert"
		f.detected = true
		if lg, join := m.logonOf(e, cn, m.before(e)); lg != nil {
			if join == "logon_id" {
				kinds |= correlate.Logon
			}
			line.logon = join + ":" + strconv.FormatInt(lg.RecordID, 10)
			f.logon = true
		}
	}
	line.kinds = kindNames(kinds)
	f.kinds |= kinds
	f.serverChild = f.serverChild || srv != nil
	if cn != nil {
		f.conn = cn
	}
	return line
}

// exitArrived: the 4688 children of the exited process, if it was a
// DCOM-launched server, that arrived before its exit and are found now (they
// started past the hold of a server whose exit was not seen yet) are late
// server children.
func (m *refModel) exitArrived(x *genEvent) {
	for _, s := range m.before(x) {
		if m.serverLaunch(s) && sameIdentity(x, s) {
			m.lateServerChildren(s, m.before(x))
		}
	}
}

// serverArrived: the 4688 children that arrived before their DCOM-launched
// server are late server children.
func (m *refModel) serverArrived(srv *genEvent) {
	m.lateServerChildren(srv, m.before(srv))
}

// lateServerChildren reports the children among events that srv created
// and that were not reported as its children yet.
func (m *refModel) lateServerChildren(srv *genEvent, events []*genEvent) {
	for _, c := range events {
		f := m.factsOf(c)
		if !c.isProcess() || m.excluded(c) || f.serverChild || m.serverOf(c, []*genEvent{srv}) == nil {
			continue
		}
		f.serverChild = true
		line := refLine{key: c.key(), late: true, kind: "enrichment", server: strconv.FormatUint(srv.PID, 10)}
		kinds := correlate.ServerChild
		if !f.detected {
			line.kind, line.pattern, f.detected = "alert", patternName(m.correlatedVerdict(c, srv, nil)), true
		}
		if lg, join := m.logonOf(c, nil, events); lg != nil && !f.logon {
			kinds |= correlate.Logon
			line.logon, f.logon = join+":"+strconv.FormatInt(lg.RecordID, 10), true
		}
		line.kinds = kindNames(kinds)
		f.kinds |= kinds
		m.out = append(m.out, line)
	}
}

// connArrived: the children among events (those that arrived before the
// inbound connection of their parent, or before its process id was known)
// are late inbound children.
func (m *refModel) connArrived(cn *genEvent, events []*genEvent) {
	for _, c := range events {
		f := m.factsOf(c)
		if !c.isProcess() || m.excluded(c) || f.kinds.Has(correlate.InboundChild) || m.connOf(c, []*genEvent{cn}, events) == nil {
			continue
		}
		line := refLine{key: c.key(), late: true, kind: "enrichment", conn: cn.RecordID}
		if !f.detected {
			line.kind, line.pattern, f.detected = "alert", patternName(m.correlatedVerdict(c, nil, cn)), true
		}
		if lg, join := m.logonOf(c, cn, events); lg != nil && !f.logon {
			line.logon, f.logon = join+":"+strconv.FormatInt(lg.RecordID, 10), true
		}
		line.kinds = kindNames(correlate.InboundChild)
		f.kinds |= correlate.InboundChild
		f.conn = cn
		m.out = append(m.out, line)
	}
}

// logonArrived: the detections that arrived before their network logon are
// enriched with it.
func (m *refModel) logonArrived(lg *genEvent) {
	for _, c := range m.before(lg) {
		f := m.factsOf(c)
		if !c.isProcess() || !f.detected || f.logon {
			continue
		}
		found, join := m.logonOf(c, f.conn, []*genEvent{lg})
		if found == nil {
			continue
		}
		line := refLine{key: c.key(), late: true, kind: "enrichment", logon: join + ":" + strconv.FormatInt(lg.RecordID, 10)}
		if join == "logon_id" {
			line.kinds = kindNames(correlate.Logon)
			f.kinds |= correlate.Logon
		} else {
			line.conn = f.conn.RecordID
		}
		f.logon = true
		m.out = append(m.out, line)
	}
}

const refTimeSlack = 2 * time.Second // Security times are truncated to the second

// serverOf is the latest-starting DCOM-launched server among events that
// created the 4688 c while it ran: c's creator id is the server's, c's
// parent image is the server's image (or absent), and c started after the
// server and before it ended. A server ends at its exit (an exit among the
// events that arrived before c) or at the start of another process with
// its id that arrived after it; without either, it is held for
// server_child.timeout when an exit of a COM server's image has arrived
// from its host, else for server_child.timeout_without_exits.
func (m *refModel) serverOf(c *genEvent, events []*genEvent) *genEvent {
	if !m.cfg.ServerChild.Enabled || c.ID != 4688 || c.PPID == 0 || (c.Parent != "" && !m.engine.IsCOMServer(c.Parent)) {
		return nil
	}
	var best *genEvent
	for _, s := range events {
		if !m.serverLaunch(s) || s.PID != c.PPID ||
			(c.Parent != "" && !strings.EqualFold(c.Parent, s.Image)) ||
			c.Time.Before(s.Time.Add(-refTimeSlack)) || !m.serverChildVerdict(c, s).Detected() {
			continue
		}
		var end time.Time // the first exit seen, else the hold
		for _, x := range m.seen {
			if x.isExit() && m.sameHost(x.Host, s.Host) && sameIdentity(x, s) &&
				!x.Time.Before(s.Time.Add(-refTimeSlack)) && (end.IsZero() || x.Time.Add(refTimeSlack).Before(end)) {
				end = later(x.Time, s.Time).Add(refTimeSlack)
			}
		}
		if end.IsZero() {
			end = s.Time.Add(m.cfg.ServerChild.TimeoutWithoutExits)
			if m.sendsExits(s.Host, c.Time) {
				end = s.Time.Add(m.cfg.ServerChild.Timeout)
			}
		}
		for _, x := range m.arrivedAfter(m.firstCopy(s)) {
			if x.isProcess() && m.sameHost(x.Host, s.Host) && x.PID == s.PID && x.Time.After(s.Time) &&
				anotherProcess(x, s) && !x.Time.After(end) {
				end = x.Time.Add(-time.Nanosecond) // a child at the reuse is the other process's
			}
		}
		if !c.Time.After(end) && (best == nil || s.Time.After(best.Time)) {
			best = s
		}
	}
	return best
}

// sendsExits: an exit of a COM server's image from the host, more than
// max_delay before t, has arrived.
func (m *refModel) sendsExits(host string, t time.Time) bool {
	return slices.ContainsFunc(m.seen, func(x *genEvent) bool {
		return x.isExit() && m.sameHost(x.Host, host) && m.engine.IsCOMServer(x.Image) && x.Time.Before(t.Add(-m.cfg.MaxDelay))
	})
}

// firstCopy is the first arrived start of the server s is (its 4688 and
// its Sysmon 1 are one server), or s when none arrived yet.
func (m *refModel) firstCopy(s *genEvent) *genEvent {
	for _, e := range m.seen {
		if m.serverLaunch(e) && m.sameHost(e.Host, s.Host) && sameIdentity(e, s) &&
			absDuration(e.Time.Sub(s.Time)) <= m.cfg.InboundChild.Window+refTimeSlack {
			return e
		}
	}
	return s
}

// arrivedAfter lists the events that arrived after e first did.
func (m *refModel) arrivedAfter(e *genEvent) []*genEvent {
	if i := slices.Index(m.seen, e); i >= 0 {
		return m.seen[i+1:]
	}
	return nil
}

// anotherProcess: x is not a copy of s's own start (its Sysmon 1 beside its
// 4688): another ProcessGuid, or another image, or started later than the
// Security log's truncation allows.
func anotherProcess(x, s *genEvent) bool {
	if x.GUID != "" && s.GUID != "" {
		return !strings.EqualFold(x.GUID, s.GUID)
	}
	return !strings.EqualFold(x.Image, s.Image) || x.Time.Sub(s.Time) > refTimeSlack
}

// connOf is the nearest inbound connection among conns accepted by c's
// parent within inbound_child.window of c's start, on either side; visible
// are the events that may name a connection's process id.
func (m *refModel) connOf(c *genEvent, conns, visible []*genEvent) *genEvent {
	watched := m.watched(c.Parent) || (c.ID == 4688 && c.Parent == "")
	if !m.cfg.InboundChild.Enabled || !watched {
		return nil
	}
	var best *genEvent
	for _, cn := range conns {
		if !cn.isInbound(m) || !sameParent(c, cn, m.connPID(cn, visible)) || (c.Parent != "" && !strings.EqualFold(c.Parent, cn.Image)) ||
			absDuration(c.Time.Sub(cn.ConnTime)) > m.cfg.InboundChild.Window ||
			!m.inboundChildVerdict(c, cn).Detected() {
			continue
		}
		if best == nil || absDuration(c.Time.Sub(cn.ConnTime)) < absDuration(c.Time.Sub(best.ConnTime)) {
			best = cn
		}
	}
	return best
}

// logonOf is the network logon of a detection among events: for an inbound
// child the logon from the connection's remote address and port, otherwise
// the one whose id is the process's logon id (4688 TargetLogonId, then
// SubjectLogonId; Sysmon LogonId) within logon.timeout.
func (m *refModel) logonOf(c, cn *genEvent, events []*genEvent) (*genEvent, string) {
	if !m.cfg.Logon.Enabled {
		return nil, ""
	}
	for _, lg := range events {
		if !lg.isNetworkLogon() {
			continue
		}
		if cn != nil {
			if lg.IP == cn.RemoteIP && lg.Port == cn.RemotePort &&
				absDuration(lg.Time.Sub(cn.ConnTime)) <= m.cfg.InboundChild.Window+m.cfg.MaxDelay {
				return lg, "address_port"
			}
			continue
		}
		for _, id := range []uint64{c.LogonID, c.SubjectLogonID} {
			if id != 0 && id == lg.LogonID && absDuration(c.Time.Sub(lg.Time)) <= m.cfg.Logon.Timeout {
				return lg, "logon_id"
			}
		}
	}
	return nil, ""
}

func (m *refModel) watched(image string) bool {
	return image != "" && slices.ContainsFunc(m.cfg.InboundChild.Parents, func(p string) bool {
		return strings.EqualFold(correlate.BaseName(image), p)
	})
}

func (m *refModel) serverChildVerdict(c, s *genEvent) rules.Verdict {
	child, server := c.process(), s.process()
	return m.judge.ServerChildVerdict(&child, &server)
}

func (m *refModel) inboundChildVerdict(c, cn *genEvent) rules.Verdict {
	child := c.process()
	conn := correlate.Conn{Image: cn.Image}
	return m.judge.InboundChildVerdict(&child, &conn)
}

// correlatedVerdict is the verdict of a record the engine did not flag: the
// server-child finding's, else the inbound child's.
func (m *refModel) correlatedVerdict(c, srv, cn *genEvent) rules.Verdict {
	if srv != nil {
		return m.serverChildVerdict(c, srv)
	}
	return m.inboundChildVerdict(c, cn)
}

// sameParent: c's parent is the process that accepted cn (ProcessGuid when
// both have one, otherwise the process id).
func sameParent(c, cn *genEvent, connPID uint64) bool {
	if c.PGUID != "" && cn.GUID != "" {
		return strings.EqualFold(c.PGUID, cn.GUID)
	}
	return c.PPID != 0 && c.PPID == connPID
}

func sameIdentity(a, b *genEvent) bool {
	if a.GUID != "" && b.GUID != "" {
		return strings.EqualFold(a.GUID, b.GUID)
	}
	return a.PID != 0 && a.PID == b.PID
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func patternName(v rules.Verdict) string {
	if !v.Detected() {
		return ""
	}
	return v.Pattern.String()
}

func kindNames(k correlate.Kind) string { return strings.Join(k.Names(), ",") }
