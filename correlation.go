package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/original"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// CorrelationConfig configures the joins of events of one host (see
// docs/correlation.md). Durations are in event time.
type CorrelationConfig struct {
	// Enabled switches all correlation on or off (default on; the seed
	// profile never correlates: it is the query exactly).
	Enabled bool `mapstructure:"enabled"`
	// InboundChild: a child of a process that accepted an inbound DCOM
	// connection (ShellWindows / ShellBrowserWindow under explorer.exe).
	InboundChild InboundChildConfig `mapstructure:"inbound_child"`
	// ServerChild: a 4688 whose creator is a DCOM-launched server.
	ServerChild ServerChildConfig `mapstructure:"server_child"`
	// Logon: the network logon (4624 type 3) a detection runs in.
	Logon LogonConfig `mapstructure:"logon"`
	// LateRecords emits a finding whose second event arrives after the record
	// it is about has passed as a separate record (dcom.correlation.late =
	// true) naming that record (default true). With false, only findings
	// known when a record passes are written.
	LateRecords bool `mapstructure:"late_records"`
	// LateRecordsMaxBytesPerHost and LateRecordsMaxBytes bound the copies of
	// records kept so that a late record can be the original Windows event
	// (at most 32 KiB each, with its resource and scope): per host (default
	// 1 MiB) and in all (default 64 MiB). Past them a record is still joined,
	// and its late record carries only what the correlation read.
	LateRecordsMaxBytesPerHost int `mapstructure:"late_records_max_bytes_per_host"`
	LateRecordsMaxBytes        int `mapstructure:"late_records_max_bytes"`
	// HostNames says which events are one host's: "short" (default) joins
	// computer names by their first DNS label, case-insensitively (WS01 and
	// ws01.corp.example are one host: forwarders name hosts differently);
	// "full" by the whole name, for estates where short names collide
	// across domains.
	HostNames string `mapstructure:"host_names"`
	// MaxDelay is how long a record waits for a partner that arrives after it
	// (Sysmon writes network events up to 14 s after the process events they
	// explain; Security and Sysmon come through different receivers), in
	// event time and at least as long in wall-clock time (default 1m).
	MaxDelay time.Duration `mapstructure:"max_delay"`
	// MaxHosts caps the hosts held (least recently seen evicted first).
	MaxHosts int `mapstructure:"max_hosts"`
	// MaxEntriesPerHost caps each of a host's six tables (oldest first).
	MaxEntriesPerHost int `mapstructure:"max_entries_per_host"`
	// MaxEntries caps the entries of all hosts together.
	MaxEntries int `mapstructure:"max_entries"`
}

// InboundChildConfig configures the inbound-connection join.
type InboundChildConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Window is the largest distance between the connection's UtcTime and
	// the child's start, on either side (default 10s).
	Window time.Duration `mapstructure:"window"`
	// Parents are the file names whose inbound connections are watched
	// (default explorer.exe, mmc.exe, mshta.exe; add excel.exe, winword.exe,
	// ... for the Office variant, with a window of 10s or more).
	Parents []string `mapstructure:"parents"`
	// LocalPorts is the range the local port must be in (default the dynamic
	// RPC range 49152-65535).
	LocalPorts string `mapstructure:"local_ports"`
}

// ServerChildConfig configures the 4688 process-id join.
type ServerChildConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Timeout is how long a server is held when its exit (4689, Sysmon 5)
	// is not seen, on a host that sends exits: one from which an exit of a
	// COM server's image has arrived (default 1h).
	Timeout time.Duration `mapstructure:"timeout"`
	// TimeoutWithoutExits is that hold on a host from which no such exit
	// has arrived (process termination not audited or not forwarded): a
	// server's end is never seen there, and its process id may soon belong
	// to another process (default 5m).
	TimeoutWithoutExits time.Duration `mapstructure:"timeout_without_exits"`
}

// LogonConfig configures the logon join.
type LogonConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Timeout is how long a network logon is remembered (default 10m).
	Timeout time.Duration `mapstructure:"timeout"`
}

// The values of correlation::host_names.
const (
	HostNamesShort = "short"
	HostNamesFull  = "full"
)

func defaultCorrelationConfig() CorrelationConfig {
	return CorrelationConfig{
		Enabled: true,
		InboundChild: InboundChildConfig{
			Enabled: true, Window: 10 * time.Second,
			Parents:    []string{"explorer.exe", "mmc.exe", "mshta.exe"},
			LocalPorts: "49152-65535",
		},
		ServerChild:                ServerChildConfig{Enabled: true, Timeout: time.Hour, TimeoutWithoutExits: 5 * time.Minute},
		Logon:                      LogonConfig{Enabled: true, Timeout: 10 * time.Minute},
		LateRecords:                true,
		HostNames:                  HostNamesShort,
		LateRecordsMaxBytesPerHost: correlate.DefaultMaxOriginalBytesPerHost,
		LateRecordsMaxBytes:        correlate.DefaultMaxOriginalBytes,
		MaxDelay:                   time.Minute,
		MaxHosts:                   10000,
		MaxEntriesPerHost:          1000,
		MaxEntries:                 100000,
	}
}

// validate checks the correlation settings; every error names its key. It
// is called by Config.Validate (not named Validate, so that the collector's
// recursive validation does not report each error twice).
func (c *CorrelationConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.InboundChild.Enabled {
		if c.InboundChild.Window <= 0 {
			errs = append(errs, errors.New("correlation::inbound_child::window: must be positive"))
		}
		if len(c.InboundChild.Parents) == 0 {
			errs = append(errs, errors.New("correlation::inbound_child::parents: must name at least one process, or set correlation::inbound_child::enabled: false"))
		}
		for i, p := range c.InboundChild.Parents {
			if strings.TrimSpace(p) == "" || strings.ContainsAny(p, `\/*`) {
				errs = append(errs, fmt.Errorf("correlation::inbound_child::parents::%d: %q must be a file name such as explorer.exe, without a path or wildcard", i, p))
			}
		}
		if _, _, err := parsePortRange(c.InboundChild.LocalPorts); err != nil {
			errs = append(errs, fmt.Errorf("correlation::inbound_child::local_ports: %w", err))
		}
	}
	if c.ServerChild.Enabled {
		if c.ServerChild.Timeout <= 0 {
			errs = append(errs, errors.New("correlation::server_child::timeout: must be positive"))
		}
		if c.ServerChild.TimeoutWithoutExits <= 0 || c.ServerChild.TimeoutWithoutExits > c.ServerChild.Timeout {
			errs = append(errs, errors.New("correlation::server_child::timeout_without_exits: must be positive and at most correlation::server_child::timeout"))
		}
	}
	if c.Logon.Enabled && c.Logon.Timeout <= 0 {
		errs = append(errs, errors.New("correlation::logon::timeout: must be positive"))
	}
	if c.HostNames != HostNamesShort && c.HostNames != HostNamesFull {
		errs = append(errs, fmt.Errorf("correlation::host_names: %q must be %q or %q", c.HostNames, HostNamesShort, HostNamesFull))
	}
	if c.MaxDelay < 0 {
		errs = append(errs, errors.New("correlation::max_delay: must not be negative"))
	}
	if c.LateRecords {
		if c.LateRecordsMaxBytesPerHost <= 0 {
			errs = append(errs, errors.New("correlation::late_records_max_bytes_per_host: must be positive"))
		}
		if c.LateRecordsMaxBytes < c.LateRecordsMaxBytesPerHost {
			errs = append(errs, errors.New("correlation::late_records_max_bytes: must be at least late_records_max_bytes_per_host"))
		}
	}
	if c.MaxHosts <= 0 {
		errs = append(errs, errors.New("correlation::max_hosts: must be positive"))
	}
	if c.MaxEntriesPerHost <= 0 {
		errs = append(errs, errors.New("correlation::max_entries_per_host: must be positive"))
	}
	if c.MaxEntries <= 0 {
		errs = append(errs, errors.New("correlation::max_entries: must be positive"))
	}
	return errors.Join(errs...)
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		b = a
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || x == 0 || x > y {
		return 0, 0, fmt.Errorf("%q is not a port range such as 49152-65535", s)
	}
	return uint16(x), uint16(y), nil
}

// Attribute names of correlation findings. source.* and destination.* are
// the semantic-convention names of the connection's ends (source: the remote
// client; destination: this host), user.* the remote account of the logon;
// dcom.correlation.* name the joined records (all on the same host).
const (
	attrSourceAddress      = "source.address"
	attrSourcePort         = "source.port"
	attrDestinationAddress = "destination.address"
	attrDestinationPort    = "destination.port"
	attrUserName           = "user.name"
	attrUserDomain         = "user.domain"

	attrCorrKinds  = "dcom.correlation.kinds"
	attrCorrHost   = "dcom.correlation.host"
	attrCorrLate   = "dcom.correlation.late"
	attrCorrRecord = "dcom.correlation.record." // + record_id, event_id, channel, time
	// attrCorrRecordCut: the bytes a late record's copy left out of its
	// longest strings (original.MaxRecordBytes).
	attrCorrRecordCut = "dcom.correlation.record.cut_bytes"

	attrCorrConnRecordID = "dcom.correlation.connection.record_id"
	attrCorrConnTime     = "dcom.correlation.connection.time"
	attrCorrConnProcess  = "dcom.correlation.connection.process.executable.path"
	attrCorrConnDelta    = "dcom.correlation.connection.child_start_offset_s"

	attrCorrServerPath     = "dcom.correlation.server.executable.path"
	attrCorrServerCmd      = "dcom.correlation.server.command_line"
	attrCorrServerPID      = "dcom.correlation.server.pid"
	attrCorrServerRecordID = "dcom.correlation.server.record_id"
	attrCorrServerEventID  = "dcom.correlation.server.event_id"

	attrCorrLogonID          = "dcom.correlation.logon.id"
	attrCorrLogonJoin        = "dcom.correlation.logon.joined_on"
	attrCorrLogonAuth        = "dcom.correlation.logon.authentication_package"
	attrCorrLogonProcess     = "dcom.correlation.logon.process"
	attrCorrLogonWorkstation = "dcom.correlation.logon.workstation"
	attrCorrLogonRecordID    = "dcom.correlation.logon.record_id"

	eventKindEnrichment = "enrichment"

	metricCorrEntries  = "otelcol_processor_dcomdetection_correlation_entries"
	metricCorrHosts    = "otelcol_processor_dcomdetection_correlation_hosts"
	metricCorrEvicted  = "otelcol_processor_dcomdetection_correlation_evicted"
	metricCorrExpired  = "otelcol_processor_dcomdetection_correlation_expired"
	metricCorrFindings = "otelcol_processor_dcomdetection_correlation_findings"
	metricCorrCopies   = "otelcol_processor_dcomdetection_correlation_copied_bytes"
)

// correlation is the processor's correlation state; nil when it is off.
type correlation struct {
	c     *correlate.Correlator
	judge correlate.EngineJudge
	late  bool
	reg   metric.Registration
	// keepBuffers are the record keepers' buffers, kept from call to call
	// (a few: one per concurrent call), so that a call that keeps records
	// allocates nothing for their copies.
	keepBuffers chan *keepBuffers
}

// maxKeepBuffers bounds the keepers' buffers held between calls: each
// holds at most a record's copy (original.MaxRecordBytes) and two origins.
const maxKeepBuffers = 8

// keepBuffers are what a recordKeeper encodes into.
type keepBuffers struct {
	record []byte // the last record's copy: handed out as a view
	// origin is never written once handed out: entries of the correlation
	// share it.
	origin  []byte
	scratch []byte // encodes a scope's origin, to compare with origin
}

// begin gives a call's keeper its buffers' source.
func (corr *correlation) begin(batch *correlationBatch) {
	if corr != nil {
		batch.keep.buffers = corr.keepBuffers
	}
}

// end takes back the buffers a call's keeper used.
func (corr *correlation) end(batch *correlationBatch) {
	if corr == nil || batch.keep.bufs == nil {
		return
	}
	select {
	case corr.keepBuffers <- batch.keep.bufs:
	default:
	}
	batch.keep.bufs = nil
}

// correlationBatch carries the late findings of one ConsumeLogs call until
// they are emitted, and makes the copies of the records the correlation
// keeps for them. It lives in batchStats.
type correlationBatch struct {
	// late: the findings made while the current scope was processed.
	late []correlate.Finding
	// own: findings whose record's resource and scope were kept; they leave
	// after the call's last scope, each in a resource of its own record.
	own  []correlate.Finding
	keep recordKeeper
	// found: the finding about the record being inspected (observeProcess).
	found correlate.Finding
}

// recordKeeper makes the copy of the record being observed when the
// correlation keeps it for a late finding (correlate.Keeper): the record
// itself, and the resource and scope it came in, encoded once per scope and
// shared by its records. The record's copy is a view of its buffer, which
// the correlation copies into the entry that keeps it; the origin is reused
// while the resource and scope encode the same (a receiver's batches
// usually share them), so that keeping a record allocates nothing.
type recordKeeper struct {
	lr       plog.LogRecord
	rl       plog.ResourceLogs
	sl       plog.ScopeLogs
	hasScope bool // rl and sl are set (a test may inspect records alone)
	encoded  bool // bufs.origin is the current scope's
	bufs     *keepBuffers
	buffers  chan *keepBuffers // where bufs come from and go back to (nil: made per call)
}

// scope starts the records of a new scope.
func (k *recordKeeper) scope(rl plog.ResourceLogs, sl plog.ScopeLogs) {
	k.rl, k.sl, k.hasScope, k.encoded = rl, sl, true, false
}

// Keep copies the record being observed, into a view valid until the next
// call. A record that cannot be kept within original.MaxRecordBytes keeps
// its origin alone.
func (k *recordKeeper) Keep() correlate.Original {
	if k.bufs == nil {
		select {
		case k.bufs = <-k.buffers:
		default:
			k.bufs = new(keepBuffers)
		}
	}
	b := k.bufs
	var origin []byte
	if k.hasScope {
		if !k.encoded {
			k.encoded = true
			b.scratch = original.AppendOrigin(b.scratch[:0], k.rl.Resource(), k.rl.SchemaUrl(), k.sl.Scope(), k.sl.SchemaUrl(), 0)
			if b.origin == nil || !bytes.Equal(b.origin, b.scratch) {
				b.origin = bytes.Clone(b.scratch)
			}
		}
		origin = b.origin
	}
	var ok bool
	b.record, ok = original.AppendRecord(b.record[:0], k.lr, 0)
	if !ok {
		return correlate.Original{Origin: origin}
	}
	return correlate.Original{Record: b.record, Origin: origin}
}

// newCorrelation builds the correlation state; nil (every method is a no-op
// on nil) when it is off.
func newCorrelation(set processor.Settings, cc CorrelationConfig, profile string, engine *rules.Engine) (*correlation, error) {
	return newCorrelationWithClock(set, cc, profile, engine, nil)
}

// newCorrelationWithClock is newCorrelation with the wall clock the state
// expires by (nil: time.Now); tests replay streams in simulated real time.
func newCorrelationWithClock(set processor.Settings, cc CorrelationConfig, profile string, engine *rules.Engine, now func() time.Time) (*correlation, error) {
	if !cc.Enabled {
		return nil, nil
	}
	if profile == ProfileSeed {
		set.Logger.Info("correlation is off with the seed profile (the seed query exactly)")
		return nil, nil
	}
	lo, hi, err := parsePortRange(cc.InboundChild.LocalPorts)
	if err != nil && cc.InboundChild.Enabled {
		return nil, fmt.Errorf("correlation::inbound_child::local_ports: %w", err)
	}
	judge := correlate.EngineJudge{Engine: engine}
	c, err := correlate.New(correlate.Config{
		InboundChild: cc.InboundChild.Enabled, Window: cc.InboundChild.Window, InboundParents: cc.InboundChild.Parents,
		PortMin: lo, PortMax: hi,
		ServerChild: cc.ServerChild.Enabled, ServerTimeout: cc.ServerChild.Timeout, ServerTimeoutWithoutExits: cc.ServerChild.TimeoutWithoutExits,
		Logon: cc.Logon.Enabled, LogonTimeout: cc.Logon.Timeout,
		MaxDelay: cc.MaxDelay, LateFindings: cc.LateRecords, FullHostNames: cc.HostNames == HostNamesFull,
		MaxHosts: cc.MaxHosts, MaxEntriesPerHost: cc.MaxEntriesPerHost, MaxEntries: cc.MaxEntries,
		MaxOriginalBytesPerHost: cc.LateRecordsMaxBytesPerHost, MaxOriginalBytes: cc.LateRecordsMaxBytes,
		Judge: judge, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("correlation: %w", err)
	}
	corr := &correlation{c: c, judge: judge, late: cc.LateRecords, keepBuffers: make(chan *keepBuffers, maxKeepBuffers)}
	if err := corr.registerMetrics(set); err != nil {
		return nil, err
	}
	return corr, nil
}

// registerMetrics reports the state's size and counters when metrics are
// collected: nothing on the per-record path.
func (corr *correlation) registerMetrics(set processor.Settings) error {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs, err error
	entries, err := meter.Int64ObservableGauge(metricCorrEntries,
		metric.WithDescription("Entries the correlation holds, all hosts and tables"), metric.WithUnit("{entries}"))
	errs = errors.Join(errs, err)
	hosts, err := meter.Int64ObservableGauge(metricCorrHosts,
		metric.WithDescription("Hosts the correlation holds state for"), metric.WithUnit("{hosts}"))
	errs = errors.Join(errs, err)
	evicted, err := meter.Int64ObservableCounter(metricCorrEvicted,
		metric.WithDescription("Correlation entries and hosts dropped to stay under max_entries_per_host, max_entries or max_hosts"), metric.WithUnit("{entries}"))
	errs = errors.Join(errs, err)
	expired, err := meter.Int64ObservableCounter(metricCorrExpired,
		metric.WithDescription("Correlation entries dropped because their time was up"), metric.WithUnit("{entries}"))
	errs = errors.Join(errs, err)
	findings, err := meter.Int64ObservableCounter(metricCorrFindings,
		metric.WithDescription("Correlation findings, on the record (late=false) or as a separate record (late=true)"), metric.WithUnit("{findings}"))
	errs = errors.Join(errs, err)
	copies, err := meter.Int64ObservableGauge(metricCorrCopies,
		metric.WithDescription("Bytes of the copies of records kept so that a late correlation record can be the original event"), metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return errs
	}
	entriesAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("what", "entries")))
	hostsAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("what", "hosts")))
	onRecord := metric.WithAttributeSet(attribute.NewSet(attribute.Bool("late", false)))
	late := metric.WithAttributeSet(attribute.NewSet(attribute.Bool("late", true)))
	corr.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := corr.c.Stats()
		o.ObserveInt64(entries, int64(st.Entries))
		o.ObserveInt64(hosts, int64(st.Hosts))
		o.ObserveInt64(evicted, st.EntriesEvicted, entriesAttr)
		o.ObserveInt64(evicted, st.HostsEvicted, hostsAttr)
		o.ObserveInt64(expired, st.EntriesExpired)
		o.ObserveInt64(findings, st.Findings, onRecord)
		o.ObserveInt64(findings, st.LateFindings, late)
		o.ObserveInt64(copies, int64(st.OriginalBytes))
		return nil
	}, entries, hosts, evicted, expired, findings, copies)
	return err
}

// shutdown unregisters the metric callback (processorhelper's shutdown
// hook). The state is in memory only and is simply dropped.
func (corr *correlation) shutdown(context.Context) error {
	if corr == nil || corr.reg == nil {
		return nil
	}
	return corr.reg.Unregister()
}

// recordTime is the event time of a record: TimeCreated from the body,
// NXLog's EventTime, the record's timestamp (the receiver's TimeCreated), or
// Sysmon's UtcTime. A record with none of them has no event time: it gets
// its observed timestamp, or now, for its own joins, and untimed is true, so
// that it does not move its host's clock (an ingest time would expire every
// entry of a host whose events are replayed or delayed). A timestamp beyond
// int64 nanoseconds (after 2262) is passed over like an unset one.
func recordTime(lr plog.LogRecord, ev *winevent.Event) (t int64, untimed bool) {
	if t, ok := winevent.ParseTime(ev.SystemTime); ok {
		return t, false
	}
	if t, ok := winevent.ParseTime(ev.EventTime); ok {
		return t, false
	}
	if ts := lr.Timestamp(); ts != 0 && ts <= math.MaxInt64 {
		return int64(ts), false
	}
	if t, ok := winevent.ParseTime(ev.UtcTime); ok {
		return t, false
	}
	if ts := lr.ObservedTimestamp(); ts != 0 && ts <= math.MaxInt64 {
		return int64(ts), true
	}
	return time.Now().UnixNano(), true
}

// needs returns what the correlation reads of each kind of event, for the
// processor's reader: nothing while it is off.
func (corr *correlation) needs() []winevent.Need {
	if corr == nil {
		return nil
	}
	return corr.c.Needs()
}

// observeContext feeds a record that is not a process creation, as the
// processor's reader filled it: for the events the correlation joins, the
// fields its plan asks for.
func (corr *correlation) observeContext(lr plog.LogRecord, ev *winevent.Event, batch *correlationBatch) {
	if corr == nil || !ev.FromExpectedLog() {
		return
	}
	in := correlate.Input{Event: ev}
	in.Time, in.Untimed = recordTime(lr, ev)
	_, batch.late = corr.c.Observe(&in, batch.late)
}

// observeProcess feeds a process creation with the engine's verdict and
// returns the verdict to write (the engine's, or the correlation's when the
// engine found nothing) and the finding about this record (nil: none; else
// held in batch until the next record). A finding is about a kilobyte: most
// process creations take part in no join, and returning none must not cost
// zeroing one.
func (corr *correlation) observeProcess(lr plog.LogRecord, ev *winevent.Event, v rules.Verdict, batch *correlationBatch) (rules.Verdict, *correlate.Finding) {
	if corr == nil || !ev.FromExpectedLog() {
		return v, nil
	}
	// Most process creations can take part in no join: decided before any
	// lock is taken or anything copied.
	if !corr.c.WantsProcess(ev.EventID, ev.ParentPath(), ev.ParentPID() != "", v.Detected(), v.ServerLaunch, v.Excluded != "", ev.ChildPID()) {
		return v, nil
	}
	in := correlate.Input{
		Event:     ev,
		Detection: v.Detected(), Excluded: v.Excluded != "", ServerLaunch: v.ServerLaunch,
	}
	in.Time, in.Untimed = recordTime(lr, ev)
	var keep correlate.Keeper
	if corr.late {
		batch.keep.lr = lr
		keep = &batch.keep
	}
	f := &batch.found
	*f, batch.late = corr.c.ObserveKeeping(&in, keep, batch.late)
	if f.Empty() {
		return v, nil
	}
	if v.Pattern == rules.None {
		v = corr.judge.Verdict(f)
	}
	return v, f
}

// annotateCorrelation writes a finding about the record itself, next to the
// verdict annotate wrote, in the same places.
func (corr *correlation) annotate(lr plog.LogRecord, f *correlate.Finding, cfg *Config) {
	if corr == nil || f == nil || f.Empty() {
		return
	}
	inBody, inAttributes := cfg.verdictPlaces(lr.Body())
	if inBody {
		if v, ok := lr.Body().Map().Get(cfg.BodyKey); ok && v.Type() == pcommon.ValueTypeMap {
			putCorrelation(v.Map(), f)
		}
	}
	if inAttributes {
		putCorrelation(lr.Attributes(), f)
	}
}

// putCorrelation writes what was joined.
func putCorrelation(m pcommon.Map, f *correlate.Finding) {
	kinds := m.PutEmptySlice(attrCorrKinds)
	for _, k := range f.Kinds.Names() {
		kinds.AppendEmpty().SetStr(k)
	}
	m.PutStr(attrCorrHost, f.Record.Host)
	if f.Kinds.Has(correlate.InboundChild) || f.LogonJoin == correlate.ByAddress {
		cn := &f.Conn
		m.PutStr(attrSourceAddress, cn.RemoteAddr)
		m.PutInt(attrSourcePort, int64(cn.RemotePort))
		putNonEmpty(m, attrDestinationAddress, cn.LocalAddr)
		m.PutInt(attrDestinationPort, int64(cn.LocalPort))
		m.PutInt(attrCorrConnRecordID, cn.Record.RecordID)
		m.PutStr(attrCorrConnTime, formatTime(cn.Time))
		putNonEmpty(m, attrCorrConnProcess, cn.Image)
		m.PutDouble(attrCorrConnDelta, float64(f.Process.Time-cn.Time)/float64(time.Second))
	}
	if f.Kinds.Has(correlate.ServerChild) {
		s := &f.Server
		putNonEmpty(m, attrCorrServerPath, s.Image)
		putNonEmpty(m, attrCorrServerCmd, s.CommandLine)
		if s.PID != 0 {
			m.PutInt(attrCorrServerPID, int64(s.PID))
		}
		m.PutInt(attrCorrServerRecordID, s.Record.RecordID)
		m.PutInt(attrCorrServerEventID, s.Record.EventID)
	}
	if f.LogonJoin != correlate.NoLogon {
		l := &f.Logon
		m.PutStr(attrSourceAddress, l.Address)
		if l.Port != 0 {
			m.PutInt(attrSourcePort, int64(l.Port))
		}
		putNonEmpty(m, attrUserName, l.UserName)
		putNonEmpty(m, attrUserDomain, l.UserDomain)
		m.PutStr(attrCorrLogonID, l.ID)
		m.PutStr(attrCorrLogonJoin, f.LogonJoin.String())
		putNonEmpty(m, attrCorrLogonAuth, l.AuthPackage)
		putNonEmpty(m, attrCorrLogonProcess, l.LogonProcess)
		putNonEmpty(m, attrCorrLogonWorkstation, l.Workstation)
		m.PutInt(attrCorrLogonRecordID, l.Record.RecordID)
	}
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// emitLate emits the late findings made while a scope was processed: a
// finding whose record's resource and scope were kept waits for emitOwn; one
// without (past the copies' byte budget) is appended to this scope, as a
// record of its own.
func (corr *correlation) emitLate(p *detectionProcessor, lrs plog.LogRecordSlice, batch *correlationBatch, stats *batchStats) {
	if corr == nil || len(batch.late) == 0 {
		return
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range batch.late {
		f := &batch.late[i]
		if len(f.Process.Original.Origin) > 0 {
			batch.own = append(batch.own, *f)
			continue
		}
		p.writeLate(lrs.AppendEmpty(), f, now, stats)
	}
	clear(batch.late)
	batch.late = batch.late[:0]
}

// emitOwn appends the late findings whose record's resource and scope were
// kept, after the call's last scope: each in a resource and scope like its
// record's (one per origin), so that it carries the resource attributes of
// its own channel (_sourceCategory, host.name), not those of the record
// that completed it.
func (corr *correlation) emitOwn(p *detectionProcessor, rls plog.ResourceLogsSlice, batch *correlationBatch, stats *batchStats) {
	if corr == nil || len(batch.own) == 0 {
		return
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	var lrs plog.LogRecordSlice
	var last []byte
	for i := range batch.own {
		f := &batch.own[i]
		origin := f.Process.Original.Origin
		if len(last) == 0 || &origin[0] != &last[0] { // records of one scope share one origin
			rl := rls.AppendEmpty()
			sl := rl.ScopeLogs().AppendEmpty()
			resourceSchema, scopeSchema, err := original.DecodeOrigin(origin, rl.Resource(), sl.Scope())
			if err != nil { // not expected: the copy was made in this process
				p.logger.Warn("late correlation finding: the copy of its resource is unreadable", zap.Error(err))
			}
			rl.SetSchemaUrl(resourceSchema)
			sl.SetSchemaUrl(scopeSchema)
			lrs, last = sl.LogRecords(), origin
		}
		p.writeLate(lrs.AppendEmpty(), f, now, stats)
	}
	clear(batch.own)
	batch.own = batch.own[:0]
}

// writeLate writes one late finding into lr, marked dcom.correlation.late =
// true and naming the record it is about. A finding that makes a record a
// detection for the first time is an alert (event.kind alert, the full
// verdict); one about a record that already was a detection is an
// enrichment. When the record was kept, lr is that record (its body in the
// shape the receiver produced, its attributes and times) annotated as a
// detection in place is; otherwise a short message names it.
func (p *detectionProcessor) writeLate(lr plog.LogRecord, f *correlate.Finding, now pcommon.Timestamp, stats *batchStats) {
	var v rules.Verdict
	if !f.Process.Detected {
		v = p.corr.judge.Verdict(f)
	}
	if v.Detected() {
		stats.detections[v.Pattern]++
	}
	if ce := p.logger.Check(zap.DebugLevel, "late correlation finding"); ce != nil {
		ce.Write(zap.String("pattern", v.Pattern.String()), zap.String("host", f.Record.Host),
			zap.Int64("event_id", f.Record.EventID), zap.Int64("record_id", f.Record.RecordID),
			zap.Bool("original", len(f.Process.Original.Record) > 0))
	}
	if kept := f.Process.Original.Record; len(kept) > 0 {
		cut, err := original.DecodeRecord(kept, lr)
		if err == nil {
			p.annotateLate(lr, f, v, cut)
			return
		}
		p.logger.Warn("late correlation finding: the copy of its record is unreadable", zap.Error(err))
		lr.Body().SetEmptyMap()
		lr.Attributes().Clear()
	}
	if f.Record.Time > 0 { // a time before 1970 has no pcommon.Timestamp: left unset
		lr.SetTimestamp(pcommon.Timestamp(f.Record.Time))
	}
	lr.SetObservedTimestamp(now)
	attrs := lr.Attributes()
	attrs.EnsureCapacity(verdictAttributeCapacity + 24)
	if v.Detected() {
		p.putVerdict(attrs, v)
		attrs.PutStr(attrEventKind, "alert")
	} else {
		attrs.PutStr(attrEventKind, eventKindEnrichment)
	}
	attrs.PutBool(attrCorrLate, true)
	putRecordRef(attrs, &f.Record)
	if p.cfg.ProcessAttributes {
		putLateProcess(attrs, &f.Process)
	}
	putCorrelation(attrs, f)
	message := lateMessage(f, v)
	if p.cfg.BodyKey == "" {
		lr.Body().SetStr(message)
		return
	}
	body := lr.Body().SetEmptyMap()
	body.PutStr("message", message)
	verdict := body.PutEmptyMap(p.cfg.BodyKey)
	if v.Detected() {
		p.putVerdict(verdict, v)
	}
	putLateMarks(verdict, f, 0)
	putCorrelation(verdict, f)
}

// annotateLate annotates a late finding's own record, decoded from its copy,
// in the places an in-place detection is annotated (annotate): the verdict
// under body_key of a map body, and record attributes unless
// record_attributes is false for such a body. cut is the bytes the copy
// left out of its longest strings.
func (p *detectionProcessor) annotateLate(lr plog.LogRecord, f *correlate.Finding, v rules.Verdict, cut int) {
	var ev winevent.Event
	p.reader.Read(lr.Body(), lr.Attributes(), &ev)
	if v.Detected() {
		p.annotate(lr, &ev, func(m pcommon.Map) { p.putVerdict(m, v) })
	}
	inBody, inAttributes := p.cfg.verdictPlaces(lr.Body())
	if inBody {
		body := lr.Body().Map()
		verdict, ok := body.Get(p.cfg.BodyKey)
		if !ok || verdict.Type() != pcommon.ValueTypeMap {
			verdict = body.PutEmpty(p.cfg.BodyKey)
			verdict.SetEmptyMap()
		}
		putLateMarks(verdict.Map(), f, cut)
		putCorrelation(verdict.Map(), f)
	}
	if !inAttributes {
		return
	}
	attrs := lr.Attributes()
	if !v.Detected() {
		attrs.PutStr(attrEventKind, eventKindEnrichment)
		if p.cfg.ProcessAttributes {
			putProcess(attrs, &ev)
		}
	}
	putLateMarks(attrs, f, cut)
	putCorrelation(attrs, f)
}

// putLateMarks marks a late record and names the record it is about.
func putLateMarks(m pcommon.Map, f *correlate.Finding, cut int) {
	m.PutBool(attrCorrLate, true)
	putRecordRef(m, &f.Record)
	if cut > 0 {
		m.PutInt(attrCorrRecordCut, int64(cut))
	}
}

func putRecordRef(m pcommon.Map, r *correlate.RecordRef) {
	m.PutStr(attrCorrHost, r.Host)
	m.PutInt(attrCorrRecord+"record_id", r.RecordID)
	m.PutInt(attrCorrRecord+"event_id", r.EventID)
	putNonEmpty(m, attrCorrRecord+"channel", r.Channel)
	m.PutStr(attrCorrRecord+"time", formatTime(r.Time))
}

// putLateProcess writes the process fields of the record a late finding is
// about, as putProcess does for a detection in place (the command line is
// cut to 2 KiB in the correlation's memory; the original record has it all).
func putLateProcess(m pcommon.Map, pr *correlate.Process) {
	putNonEmpty(m, attrHostName, pr.Record.Host)
	if pr.Image != "" {
		m.PutStr(attrProcessPath, pr.Image)
		m.PutStr(attrProcessName, baseName(pr.Image))
	}
	putNonEmpty(m, attrProcessCommandLine, pr.CommandLine)
	if pr.PID != 0 {
		m.PutInt(attrProcessPID, int64(pr.PID))
	}
	if pr.ParentPID != 0 {
		m.PutInt(attrProcessParentPID, int64(pr.ParentPID))
	}
	putNonEmpty(m, attrProcessEntityID, pr.GUID)
	putNonEmpty(m, attrParentEntityID, pr.ParentGUID)
	if pr.ParentImage != "" {
		m.PutStr(attrParentPath, pr.ParentImage)
		m.PutStr(attrParentName, baseName(pr.ParentImage))
	}
	if pr.UserName != "" && pr.UserName != "-" {
		owner := pr.UserName
		if pr.UserDomain != "" && pr.UserDomain != "-" {
			owner = pr.UserDomain + `\` + owner
		}
		m.PutStr(attrProcessOwner, owner)
	}
	if pr.LogonID != "" && pr.LogonID != "-" && pr.LogonID != "0x0" {
		m.PutStr(attrLogonID, pr.LogonID)
	}
}

func lateMessage(f *correlate.Finding, v rules.Verdict) string {
	var b strings.Builder
	if v.Detected() {
		fmt.Fprintf(&b, "dcomdetection: %s (late correlation)", v.Pattern)
	} else {
		b.WriteString("dcomdetection: late correlation enrichment")
	}
	fmt.Fprintf(&b, " for event %d record %d on %s at %s", f.Record.EventID, f.Record.RecordID, f.Record.Host, formatTime(f.Record.Time))
	if f.Process.Image != "" {
		fmt.Fprintf(&b, " (%s)", baseName(f.Process.Image))
	}
	if f.Kinds.Has(correlate.InboundChild) {
		fmt.Fprintf(&b, "; its parent %s accepted %s:%d on port %d", baseName(f.Conn.Image), f.Conn.RemoteAddr, f.Conn.RemotePort, f.Conn.LocalPort)
	}
	if f.Kinds.Has(correlate.ServerChild) {
		fmt.Fprintf(&b, "; created by the DCOM-launched server %q", f.Server.CommandLine)
	}
	if f.LogonJoin != correlate.NoLogon {
		fmt.Fprintf(&b, "; network logon %s of %s\\%s from %s:%d (%s)", f.Logon.ID, f.Logon.UserDomain, f.Logon.UserName, f.Logon.Address, f.Logon.Port, f.Logon.AuthPackage)
	}
	return b.String()
}
