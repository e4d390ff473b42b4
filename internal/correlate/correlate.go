// Package correlate joins the Windows events of one host that together show
// DCOM lateral movement (MITRE ATT&CK T1021.003) where no single event does:
//
//   - inbound child: a process (explorer.exe for ShellWindows and
//     ShellBrowserWindow; mmc.exe, mshta.exe, optionally Office) accepted an
//     inbound TCP connection from another host on a dynamic RPC port
//     (Sysmon 3) and started a child (Sysmon 1 by ProcessGuid, Security 4688
//     by process id and time) within a short window of it;
//   - server child: a Security 4688 whose creator process id is a COM server
//     that DcomLaunch started (a fact, alerted or not as DCOM_ServerActivation) and whose
//     ParentProcessName is that server's image, while that server runs (until
//     its exit, the start of another process with its id, or the hold);
//   - logon: a detection on a process that runs in a network logon (4624
//     type 3, joined strictly on the logon id) gets the logon's source
//     address, port, account and authentication package; an inbound child
//     gets the logon whose source address and port are the connection's
//     remote end.
//
// State is per host (the events' computer name, by its first DNS label
// unless Config.FullHostNames), in memory, bounded by caps,
// and expires lazily in event time: there is no goroutine. Whichever event of
// a pair arrives second makes the finding: on the record being observed when
// that record is the one the finding is about, otherwise as a late finding
// the caller emits as a separate record naming the original one.
package correlate // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Kind is a set of correlation findings.
type Kind uint8

const (
	// InboundChild: the process's parent accepted an inbound DCOM connection
	// just before (or just after, within the window) the process started.
	InboundChild Kind = 1 << iota
	// ServerChild: the process's creator is a DCOM-launched COM server.
	ServerChild
	// Logon: the process runs in a network logon, joined on its logon id.
	Logon
)

// Has reports whether k contains every kind of o.
func (k Kind) Has(o Kind) bool { return k&o == o }

// Names lists the kinds, for attributes.
func (k Kind) Names() []string {
	var names []string
	if k.Has(InboundChild) {
		names = append(names, "inbound_child")
	}
	if k.Has(ServerChild) {
		names = append(names, "server_child")
	}
	if k.Has(Logon) {
		names = append(names, "logon")
	}
	return names
}

// Join says how a logon was attached to a finding.
type Join uint8

const (
	NoLogon Join = iota
	// ByLogonID: the process's logon id (4688 TargetLogonId or
	// SubjectLogonId, Sysmon 1 LogonId) is the 4624's TargetLogonId.
	ByLogonID
	// ByAddress: the 4624's IpAddress and IpPort are the remote end of the
	// inbound connection (ShellWindows: the child runs as the interactive
	// user, so only the connection leads to the remote account).
	ByAddress
)

func (j Join) String() string {
	switch j {
	case ByLogonID:
		return "logon_id"
	case ByAddress:
		return "address_port"
	default:
		return ""
	}
}

// RecordRef names a record: the host it came from and its place in that
// host's log.
type RecordRef struct {
	Host     string // the event's computer name, as written
	RecordID int64  // EventRecordID (0 when the shape lacks it)
	EventID  int64
	Channel  string
	Time     int64 // the record's time, Unix ns
}

// Process summarises a process-creation record (Sysmon 1 or 4688).
type Process struct {
	Record         RecordRef
	Time           int64 // creation time: Sysmon UtcTime, or the record time
	Image          string
	CommandLine    string
	ParentImage    string
	UserDomain     string
	UserName       string
	PID            uint32 // 0: unknown
	ParentPID      uint32
	GUID           string
	ParentGUID     string
	LogonID        string // Sysmon LogonId, or 4688 TargetLogonId
	SubjectLogonID string
	// Detected: the record was already a detection when it was observed, or
	// an earlier late finding made it one, so a late finding about it is an
	// enrichment, not a new alert: a record is at most one alert.
	Detected bool
	// Excluded: an exclusion suppressed the engine's detection on it; no
	// correlation finding is made about it.
	Excluded bool
	// Original is the caller's copy of the record, kept with a record that
	// may become the subject of a late finding (see Keeper).
	Original Original
}

// Original is the caller's compact copy of a record (internal/original),
// kept while the record may still become the subject of a late finding, so
// that the caller can emit the record itself, in its own resource. The
// correlation never reads it; it only counts its bytes against
// Config.MaxOriginalBytesPerHost and MaxOriginalBytes.
type Original struct {
	Record []byte // the record
	Origin []byte // its resource and scope (shared by the records of a scope)
}

// Size is the bytes the copy holds (an origin shared by several records is
// counted with each).
func (o Original) Size() int { return len(o.Record) + len(o.Origin) }

// Keeper makes the caller's copy of the record being observed. Observe calls
// it at most once per record, with the host's lock held, and only when the
// record is kept as a possible subject of a late finding (a pending child, a
// detection waiting for its logon) and the copies held leave room for it.
// Its Record may be a view valid until the next call: each entry that keeps
// it copies it into its own buffer. Its Origin is shared by the entries and
// must never change.
type Keeper interface {
	Keep() Original
}

// Conn is an inbound connection accepted by a watched process (Sysmon 3).
type Conn struct {
	Record     RecordRef
	Time       int64 // UtcTime (Unix ns): see the package doc on its reliability
	Image      string
	GUID       string
	PID        uint32
	RemoteAddr string
	RemotePort uint16
	LocalAddr  string
	LocalPort  uint16
}

// LogonInfo is a network logon (4624 logon type 3).
type LogonInfo struct {
	Record       RecordRef
	ID           string // TargetLogonId as written
	UserName     string
	UserDomain   string
	AuthPackage  string
	LogonProcess string
	Workstation  string
	Address      string
	Port         uint16
}

// Finding is one correlation result about one record.
type Finding struct {
	// Record is the record the finding is about; Process describes it.
	Record  RecordRef
	Process Process
	// Late: the finding was made when a later event arrived; the caller emits
	// it as a separate record naming Record.
	Late  bool
	Kinds Kind
	// Conn is set with InboundChild.
	Conn Conn
	// Server is set with ServerChild: the server's own process record.
	Server Process
	// Logon is set when LogonJoin is not NoLogon. ByLogonID comes with the
	// Logon kind; ByAddress supplements an inbound-child finding.
	Logon     LogonInfo
	LogonJoin Join
	// logonKnown: the record's logon was reported before this finding.
	logonKnown bool
}

// Empty reports whether the finding says nothing.
func (f *Finding) Empty() bool { return f.Kinds == 0 && f.LogonJoin == NoLogon }

// Judge decides what counts, with the rule engine's tables and settings. It
// is called with a shard lock held: it must be fast and must not call back
// into the Correlator.
type Judge interface {
	// IsServer reports whether a path names a COM server (com_servers).
	IsServer(image string) bool
	// ServerChild reports whether a child of a DCOM-launched server is a
	// finding (not allow-listed, pattern on, not excluded).
	// Arguments are values so that nothing escapes through the interface.
	ServerChild(child, server Process) bool
	// InboundChild reports whether the child of a process that accepted an
	// inbound DCOM connection is a finding.
	InboundChild(child Process, conn Conn) bool
}

// Config configures a Correlator. Durations are in event time.
type Config struct {
	// InboundChild switches the inbound-connection join on.
	InboundChild bool
	// Window is the largest distance between a connection's UtcTime and the
	// child's creation, on either side.
	Window time.Duration
	// InboundParents are the file names (case-insensitive) of the processes
	// whose inbound connections are watched.
	InboundParents []string
	// PortMin and PortMax bound the local port of a watched connection (the
	// dynamic RPC range).
	PortMin, PortMax uint16

	// ServerChild switches the 4688 process-id join on.
	ServerChild bool
	// ServerTimeout is how long a DCOM-launched server is held when its
	// exit (4689, Sysmon 5) is not seen, on a host that sends exits: one
	// from which an exit of a COM server's image has arrived.
	ServerTimeout time.Duration
	// ServerTimeoutWithoutExits is that hold on a host from which no such
	// exit has arrived yet (exits not audited, or not forwarded): its
	// servers' ends are never seen, and a process id is soon reused.
	ServerTimeoutWithoutExits time.Duration

	// Logon switches the logon join on.
	Logon bool
	// LogonTimeout is how long a network logon is remembered.
	LogonTimeout time.Duration

	// MaxDelay is how long an event waits for a partner that arrives after
	// it: Sysmon writes network events seconds after the process events they
	// explain (up to 14 s in the recordings), and the Security and Sysmon
	// logs come through different receivers and batches.
	MaxDelay time.Duration
	// LateFindings returns findings about records that were already passed
	// on; without it only findings about the observed record are returned.
	LateFindings bool

	// FullHostNames keys a host's state by its whole computer name. By
	// default only the first DNS label counts (WS01 and ws01.corp.example
	// are one host): forwarders name a host differently, but estates where
	// short names collide across domains need the whole name.
	FullHostNames bool

	// MaxHosts caps the hosts held; the least recently seen host goes first.
	MaxHosts int
	// MaxEntriesPerHost caps each of a host's six tables (connections,
	// pending children, servers, server exits, logons, logon waits); the
	// oldest entry of the table goes first.
	MaxEntriesPerHost int
	// MaxEntries caps the entries of all hosts together; the least recently
	// seen host goes first.
	MaxEntries int
	// MaxOriginalBytesPerHost and MaxOriginalBytes bound the bytes of the
	// record copies (Original) one host and all hosts hold (0: the
	// defaults): past them, a record is kept without its copy, and a late
	// finding about it carries only what the correlation read.
	MaxOriginalBytesPerHost int
	MaxOriginalBytes        int
	// Shards is the number of lock shards (0: 64). The caps bound totals
	// over all shards: they mean the same whatever the number of hosts.
	Shards int

	// Judge decides what counts; nil accepts every join (tests).
	Judge Judge
	// Now is the wall clock (nil: time.Now). It only bounds event times from
	// the future and drops hosts that fell silent.
	Now func() time.Time
}

// Validate checks a configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.InboundChild {
		if c.Window <= 0 {
			errs = append(errs, errors.New("inbound child window must be positive"))
		}
		if len(c.InboundParents) == 0 {
			errs = append(errs, errors.New("inbound child parents must not be empty"))
		}
		if c.PortMin == 0 || c.PortMin > c.PortMax {
			errs = append(errs, fmt.Errorf("bad port range %d-%d", c.PortMin, c.PortMax))
		}
	}
	if c.ServerChild && (c.ServerTimeout <= 0 || c.ServerTimeoutWithoutExits <= 0) {
		errs = append(errs, errors.New("server timeouts must be positive"))
	}
	if c.Logon && c.LogonTimeout <= 0 {
		errs = append(errs, errors.New("logon timeout must be positive"))
	}
	if c.MaxDelay < 0 {
		errs = append(errs, errors.New("max delay must not be negative"))
	}
	if c.MaxHosts <= 0 || c.MaxEntriesPerHost <= 0 || c.MaxEntries <= 0 {
		errs = append(errs, errors.New("caps must be positive"))
	}
	return errors.Join(errs...)
}

// Stats are the correlator's counters, summed over shards.
type Stats struct {
	Hosts   int // hosts held now
	Entries int // entries held now, all tables (the memory measure)

	HostsEvicted   int64 // hosts dropped for max_hosts or max_entries
	HostsIdle      int64 // hosts dropped after falling silent (wall clock)
	EntriesEvicted int64 // live entries dropped for a cap
	EntriesExpired int64 // live entries dropped because their time was up

	Findings     int64 // findings about the observed record
	LateFindings int64 // findings returned as late

	OriginalBytes int // bytes of the records' copies held now (Original)
}

// Internal limits.
const (
	// maxChannelLag: a host's clock follows the slower of its Sysmon and
	// Security logs (a log delivered late still finds its partners), but never
	// trails the faster one by more than this (a log that stopped).
	maxChannelLag = int64(time.Hour)
	// futureSlack: event times beyond the wall clock by more than this do not
	// move a host's clock (a bad timestamp would expire everything).
	futureSlack = int64(5 * time.Minute)
	// timeSlack absorbs Security times that are truncated to the second.
	timeSlack = int64(2 * time.Second)
	// DefaultMaxOriginalBytesPerHost and DefaultMaxOriginalBytes are the
	// budgets of record copies when Config leaves them 0.
	DefaultMaxOriginalBytesPerHost = 1 << 20
	DefaultMaxOriginalBytes        = 64 << 20
	// maxHostKey bounds host names used as keys.
	maxHostKey = 255
	// sweepEvery is how often (wall clock) a shard looks for silent hosts.
	sweepEvery = int64(time.Minute)
)

// Correlator holds the per-host state. It is safe for concurrent use.
type Correlator struct {
	cfg     Config
	window  int64
	delay   int64
	idle    int64
	parents []string
	shards  []shard
	now     func() time.Time
	// serverPIDs counts the server entries held, all hosts, by process id:
	// a process creation whose id no server holds cannot end one, and is
	// not read further.
	serverPIDs pidCounts
	tot        totals
}

// pidCounts counts process ids in buckets, lock-free for readers: a zero
// bucket proves that no server holds an id of it. (Windows process ids are
// multiples of 4.)
type pidCounts [1024]atomic.Int32

func (pc *pidCounts) bucket(pid uint32) *atomic.Int32 { return &pc[(pid>>2)%uint32(len(pc))] }

func (pc *pidCounts) add(pid uint32, n int32) {
	if pid != 0 {
		pc.bucket(pid).Add(n)
	}
}

// mayHold reports whether a server entry may hold this process id.
func (pc *pidCounts) mayHold(pid uint32) bool { return pid != 0 && pc.bucket(pid).Load() > 0 }

// defaultShards is the number of lock shards when Config.Shards is 0.
const defaultShards = 64

// New builds a Correlator.
func New(cfg Config) (*Correlator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.Shards
	if n <= 0 {
		n = defaultShards
	}
	if cfg.MaxOriginalBytesPerHost <= 0 {
		cfg.MaxOriginalBytesPerHost = DefaultMaxOriginalBytesPerHost
	}
	if cfg.MaxOriginalBytes <= 0 {
		cfg.MaxOriginalBytes = DefaultMaxOriginalBytes
	}
	c := &Correlator{
		cfg:    cfg,
		window: int64(cfg.Window),
		delay:  int64(cfg.MaxDelay),
		shards: make([]shard, n),
		now:    cfg.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, p := range cfg.InboundParents {
		c.parents = append(c.parents, strings.ToLower(strings.TrimSpace(p)))
	}
	c.idle = max(int64(cfg.ServerTimeout), int64(cfg.LogonTimeout), c.window+c.delay) + int64(5*time.Minute)
	for i := range c.shards {
		s := &c.shards[i]
		s.hosts = make(map[string]*hostState)
		s.tot = &c.tot
		s.serverPIDs = &c.serverPIDs
	}
	return c, nil
}

// Stats sums the counters of every shard.
func (c *Correlator) Stats() Stats {
	var st Stats
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Hosts += len(s.hosts)
		st.HostsEvicted += s.stats.HostsEvicted
		st.HostsIdle += s.stats.HostsIdle
		st.EntriesEvicted += s.stats.EntriesEvicted
		st.EntriesExpired += s.stats.EntriesExpired
		st.Findings += s.stats.Findings
		st.LateFindings += s.stats.LateFindings
		s.mu.Unlock()
	}
	st.Entries = int(c.tot.entries.Load())
	st.OriginalBytes = int(c.tot.originalBytes.Load())
	return st
}

// Input is one record for Observe.
type Input struct {
	// Event is the record, read by a winevent.Reader with the plan of Needs.
	Event *winevent.Event
	// Time is the record's time (Unix ns): its TimeCreated, or the record's
	// timestamp when the body has none.
	Time int64
	// Untimed: the record carries no event time, and Time is when it was
	// received. Its joins use Time, but it does not move its host's clock.
	Untimed bool
	// Detection: the rule engine flagged this process creation (and no
	// exclusion suppressed it). Detections get the logon join.
	Detection bool
	// Excluded: an exclusion suppressed the engine's verdict on this record.
	Excluded bool
	// ServerLaunch: DcomLaunch started a listed COM server (the engine's
	// fact, rules.Verdict.ServerLaunch, whatever the pattern switches and
	// exclusions say): the process is remembered as a DCOM-launched server.
	ServerLaunch bool
}

// clockTime is the time the record moves its host's clock to: 0 (none)
// when it has no event time of its own.
func (in *Input) clockTime() int64 {
	if in.Untimed {
		return 0
	}
	return in.Time
}

// Observe feeds one record. It returns the finding about that record (empty
// when there is none; its strings may point into the record) and appends to
// late the findings about records observed earlier that this one completes.
// Records of event ids the correlation does not use, and records that cannot
// take part in a join, return at once without touching any state.
func (c *Correlator) Observe(in *Input, late []Finding) (Finding, []Finding) {
	return c.ObserveKeeping(in, nil, late)
}

// ObserveKeeping is Observe with the caller's Keeper: a record kept as a
// possible subject of a late finding keeps keep's copy of itself. (The
// keeper is not a field of Input: an interface call would move every Input
// and the event it points to to the heap.)
func (c *Correlator) ObserveKeeping(in *Input, keep Keeper, late []Finding) (Finding, []Finding) {
	ev := in.Event
	if ev == nil {
		return Finding{}, late
	}
	switch ev.EventID {
	case winevent.SysmonProcessCreate, winevent.SecurityProcessCreate:
		return c.observeProcess(in, keep, late)
	case winevent.SysmonNetworkConnect:
		return Finding{}, c.observeConn(in, late)
	case winevent.SysmonProcessTerminate, winevent.SecurityProcessExit:
		return Finding{}, c.observeExit(in, late)
	case winevent.SecurityLogon:
		return Finding{}, c.observeLogon(in, late)
	}
	return Finding{}, late
}
