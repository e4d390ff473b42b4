package dcomdetectionprocessor

import (
	"context"
	"fmt"
	"html"
	"math/rand"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
)

// The differential test: randomized streams of several hosts through the
// processor and through refModel (reference_test.go), every output record
// compared.
//
// Left out of the generator: eviction at a cap. The model has no caps; runs
// with tightHosts set max_hosts to exactly the stream's hosts, which a cap
// that is a total never evicts, and the order of eviction is tested at each
// cap's boundary in internal/correlate/caps_test.go.

// genEvent is one generated event: what the model reads, and what is
// rendered into a record for the processor.
type genEvent struct {
	ID       int64
	Host     string
	RecordID int64
	Time     time.Time // TimeCreated (a Sysmon event's UtcTime too, except Sysmon 3's)

	// process creation (1, 4688) and exit (5, 4689)
	Image, Parent, Cmd, ParentCmd string
	PID, PPID                     uint64
	GUID, PGUID                   string
	LogonID, SubjectLogonID       uint64

	// Sysmon 3
	ConnTime              time.Time // UtcTime
	Initiated             bool
	NoPID                 bool // written without ProcessId (collectors that drop it)
	RemoteIP, LocalIP     string
	RemotePort, LocalPort int

	// Written without TimeCreated (a collector that drops it, a shape
	// without one), and without UtcTime too: such a record does not move
	// its host's clock.
	NoTime, NoUtcTime bool

	// 4624
	LogonType int
	IP        string
	Port      int

	verdict    rules.Verdict // the engine's, cached by the model
	verdictSet bool
}

func (e *genEvent) key() string {
	return strings.ToLower(e.Host) + "|" + strconv.FormatInt(e.ID, 10) + "|" + strconv.FormatInt(e.RecordID, 10)
}

func (e *genEvent) isSysmon() bool       { return (&winEvent{ID: e.ID}).sysmon() }
func (e *genEvent) isProcess() bool      { return e.ID == 1 || e.ID == 4688 }
func (e *genEvent) isExit() bool         { return e.ID == 5 || e.ID == 4689 }
func (e *genEvent) isNetworkLogon() bool { return e.ID == 4624 && e.LogonType == 3 && e.LogonID != 0 }

// isInbound: a TCP connection from another host accepted by a watched
// process on a port of inbound_child.local_ports.
func (e *genEvent) isInbound(m *refModel) bool {
	if e.ID != 3 || e.Initiated || !m.watched(e.Image) {
		return false
	}
	remote, err := netip.ParseAddr(e.RemoteIP)
	lo, hi, _ := parsePortRange(m.cfg.InboundChild.LocalPorts)
	return err == nil && !remote.IsLoopback() && e.RemoteIP != e.LocalIP &&
		e.LocalPort >= int(lo) && e.LocalPort <= int(hi)
}

// process is what the judge reads of a process creation.
func (e *genEvent) process() correlate.Process {
	return correlate.Process{
		Record: correlate.RecordRef{Host: e.Host}, Image: e.Image, CommandLine: e.Cmd,
		ParentImage: e.Parent, UserDomain: "CORP", UserName: "alice",
	}
}

// render is the event as the receiver writes it.
func (e *genEvent) render() winEvent {
	w := winEvent{ID: e.ID, Host: e.Host, RecordID: e.RecordID, Time: e.Time}
	add := func(k, v string) { w.Data = append(w.Data, [2]string{k, v}) }
	switch e.ID {
	case 1, 5: // a Sysmon 5 is the first five fields of a Sysmon 1
		add("RuleName", "-")
		add("UtcTime", sysmonTime(e.Time))
		add("ProcessGuid", e.GUID)
		add("ProcessId", strconv.FormatUint(e.PID, 10))
		add("Image", e.Image)
		if e.ID == 5 {
			break
		}
		add("CommandLine", e.Cmd)
		add("CurrentDirectory", `C:\Windows\system32\`)
		add("User", `CORP\alice`)
		add("LogonId", hexID(e.LogonID))
		add("IntegrityLevel", "High")
		add("ParentProcessGuid", e.PGUID)
		add("ParentProcessId", strconv.FormatUint(e.PPID, 10))
		add("ParentImage", e.Parent)
		add("ParentCommandLine", e.ParentCmd)
	case 4688:
		w = security4688(e.Host, e.RecordID, e.Time, e.Image, e.Parent, e.PID, e.PPID, e.Cmd, hexID(e.LogonID))
		for i := range w.Data {
			if w.Data[i][0] == "SubjectLogonId" {
				w.Data[i][1] = hexID(e.SubjectLogonID)
			}
		}
	case 4689:
		w = security4689(e.Host, e.RecordID, e.Time, e.Image, e.PID)
	case 3:
		w = sysmon3Inbound(e.Host, e.RecordID, e.Time, e.ConnTime, e.Image, e.PID, e.GUID, e.RemoteIP, e.RemotePort, e.LocalIP, e.LocalPort)
		if e.NoPID {
			w.Data = slices.DeleteFunc(w.Data, func(kv [2]string) bool { return kv[0] == "ProcessId" })
		}
		if e.Initiated { // outbound: this host is the source
			for i := range w.Data {
				switch w.Data[i][0] {
				case "Initiated":
					w.Data[i][1] = "true"
				case "SourceIp":
					w.Data[i][1] = e.LocalIP
				case "SourcePort":
					w.Data[i][1] = strconv.Itoa(e.LocalPort)
				case "DestinationIp":
					w.Data[i][1] = e.RemoteIP
				case "DestinationPort":
					w.Data[i][1] = strconv.Itoa(e.RemotePort)
				}
			}
		}
	case 4624:
		add("SubjectUserSid", "S-1-0-0")
		add("SubjectUserName", "-")
		add("SubjectDomainName", "-")
		add("SubjectLogonId", "0x0")
		add("TargetUserSid", "S-1-5-21-1-2-3-1105")
		add("TargetUserName", "mallory")
		add("TargetDomainName", "CORP")
		add("TargetLogonId", hexID(e.LogonID))
		add("LogonType", strconv.Itoa(e.LogonType))
		add("LogonProcessName", "NtLmSsp ")
		add("AuthenticationPackageName", "NTLM")
		add("WorkstationName", "JUMP01")
		add("IpAddress", e.IP)
		add("IpPort", strconv.Itoa(e.Port))
	default: // an event the correlation does not read
		add("Data", "x")
	}
	if e.NoTime {
		w.Time = time.Time{}
	}
	if e.NoUtcTime {
		w.Data = slices.DeleteFunc(w.Data, func(kv [2]string) bool { return kv[0] == "UtcTime" })
	}
	return w
}

// Images of the generated processes.
const (
	genExplorer = `C:\Windows\explorer.exe`
	genSvchost  = `C:\Windows\System32\svchost.exe`
	genMMC      = `C:\Windows\System32\mmc.exe`
	genExcel    = `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`
	genOutlook  = `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`
)

var genChildren = []string{
	`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\notepad.exe`,
	`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\calc.exe`,
	`C:\Program Files\Microsoft Office\root\Client\AppVDllSurrogate64.exe`, // allow-listed under Office
}

// generator builds one host's events at a time.
type generator struct {
	r      *rand.Rand
	events []*genEvent
	host   string
	// securityHost, when set, is the host's name in its Security events
	// (another forwarder than Sysmon's, naming it by its short name)
	securityHost string
	ip           string
	rid          int64
	pid          uint64
	logon        uint64
	port         int
	reuse        bool // reuse the ids of servers seen exiting
}

func (g *generator) add(e *genEvent) {
	g.rid++
	e.Host, e.RecordID = g.host, g.rid
	if g.securityHost != "" && !e.isSysmon() {
		e.Host = g.securityHost
	}
	e.Time = e.Time.Truncate(time.Millisecond)
	e.ConnTime = e.ConnTime.Truncate(time.Millisecond)
	g.events = append(g.events, e)
}

func (g *generator) newPID() uint64 { g.pid += 4 + g.r.Uint64()%400; return g.pid }

func (g *generator) newLogon() uint64 { g.logon += 1 + g.r.Uint64()%5000; return g.logon }

func (g *generator) newPort() int { g.port++; return g.port }

func (g *generator) within(base time.Time, lo, hi time.Duration) time.Time {
	return base.Add(lo + time.Duration(g.r.Int63n(int64(hi-lo)+1)))
}

func guidOf(host string, pid uint64) string {
	return fmt.Sprintf("{%08x-0000-0000-0000-%012x}", len(host), pid)
}

// genStream generates the events of several hosts: ShellWindows episodes
// (an inbound connection to explorer.exe, its children inside or outside
// the window, the remote logon), DCOM server episodes (a DcomLaunch start,
// 4688 children, the network logon, an exit present or absent, the id
// reused by a user's process after a seen exit), and noise.
func genStream(seed int64, reuse bool) []*genEvent {
	g := &generator{r: rand.New(rand.NewSource(seed)), reuse: reuse}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	hosts := 1 + g.r.Intn(5)
	for h := range hosts {
		g.host, g.securityHost = fmt.Sprintf("WS%02d.corp.example", h), ""
		switch h % 3 {
		case 1:
			g.host = fmt.Sprintf("srv%02d", h)
		case 2: // one host, named two ways by two forwarders
			g.host, g.securityHost = fmt.Sprintf("ws%02d.corp.example", h), fmt.Sprintf("WS%02d", h)
		}
		g.ip = fmt.Sprintf("10.0.%d.21", h)
		g.rid, g.pid, g.logon, g.port = int64(1000*h), 1000, 0x20000, 50000
		explorer := &genEvent{Image: genExplorer, PID: g.newPID()}
		explorer.GUID = guidOf(g.host, explorer.PID)
		base := t0.Add(time.Duration(g.r.Intn(60_000)) * time.Millisecond)
		for range 2 + g.r.Intn(6) {
			switch g.r.Intn(3) {
			case 0:
				g.shellWindows(base, explorer)
			case 1:
				g.server(base, explorer)
			default:
				g.noise(base, explorer)
			}
			base = base.Add(3 * time.Minute)
		}
	}
	return g.events
}

func (g *generator) shellWindows(tc time.Time, explorer *genEvent) {
	remote, rport := fmt.Sprintf("10.9.9.%d", 1+g.r.Intn(200)), g.newPort()
	if g.r.Intn(4) > 0 {
		g.add(&genEvent{ID: 4624, Time: g.within(tc, -400*time.Millisecond, 200*time.Millisecond), LogonType: 3, LogonID: g.newLogon(), IP: remote, Port: rport})
	}
	lport := 49152 + g.r.Intn(16000)
	if g.r.Intn(6) == 0 {
		lport = 445 // not the dynamic RPC range: no finding
	}
	// A collector that drops ProcessId from Sysmon 3 still sends Sysmon 1:
	// such an episode's children are in both logs, so the id of explorer
	// is named within max_delay of its 4688 children.
	noPID := g.r.Intn(4) == 0
	g.add(&genEvent{
		ID: 3, Time: g.within(tc, 300*time.Millisecond, 3*time.Second), ConnTime: tc, Image: genExplorer,
		PID: explorer.PID, GUID: explorer.GUID, RemoteIP: remote, RemotePort: rport, LocalIP: g.ip, LocalPort: lport,
		NoPID: noPID,
	})
	for range 1 + g.r.Intn(2) {
		at := g.within(tc, -12*time.Second, 14*time.Second) // some outside the 10 s window
		image := genChildren[g.r.Intn(4)]
		pid := g.newPID()
		if noPID || g.r.Intn(3) > 0 {
			g.add(&genEvent{
				ID: 1, Time: at, Image: image, Cmd: correlate.BaseName(image), Parent: genExplorer, ParentCmd: genExplorer,
				PID: pid, GUID: guidOf(g.host, pid), PPID: explorer.PID, PGUID: explorer.GUID, LogonID: 0x1f4a2,
			})
		}
		if noPID || g.r.Intn(3) > 0 {
			g.add(&genEvent{
				ID: 4688, Time: at, Image: image, Cmd: correlate.BaseName(image), Parent: genExplorer,
				PID: pid, PPID: explorer.PID, SubjectLogonID: 0x1f4a2,
			})
		}
	}
}

func (g *generator) server(ts time.Time, explorer *genEvent) {
	image, cmd := genMMC, `C:\Windows\system32\mmc.exe -Embedding`
	if g.r.Intn(2) == 0 {
		image, cmd = genExcel, `"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" /automation -Embedding`
	}
	logon, remote, rport := g.newLogon(), fmt.Sprintf("10.9.8.%d", 1+g.r.Intn(200)), g.newPort()
	if g.r.Intn(4) > 0 {
		g.add(&genEvent{ID: 4624, Time: g.within(ts, -500*time.Millisecond, 0), LogonType: 3, LogonID: logon, IP: remote, Port: rport})
	}
	pid, svchost := g.newPID(), uint64(0x380)
	guid := guidOf(g.host, pid)
	if image == genMMC && g.r.Intn(2) == 0 {
		// MMC20: the server accepts the caller's connection; its children
		// are inbound children too
		at := g.within(ts, 200*time.Millisecond, 2*time.Second)
		g.add(&genEvent{
			ID: 3, Time: g.within(at, 300*time.Millisecond, 3*time.Second), ConnTime: at, Image: genMMC,
			PID: pid, GUID: guid, RemoteIP: remote, RemotePort: rport, LocalIP: g.ip, LocalPort: 49152 + g.r.Intn(16000),
		})
	}
	// the start in the Security log, in Sysmon's, or in both
	security := g.r.Intn(4) > 0
	if security {
		g.add(&genEvent{ID: 4688, Time: ts, Image: image, Cmd: cmd, Parent: genSvchost, PID: pid, PPID: svchost, LogonID: logon, SubjectLogonID: 0x3e7})
	}
	if !security || g.r.Intn(2) == 0 {
		g.add(&genEvent{
			ID: 1, Time: ts, Image: image, Cmd: cmd, Parent: genSvchost, ParentCmd: `C:\Windows\system32\svchost.exe -k DcomLaunch -p`,
			PID: pid, GUID: guid, PPID: svchost, PGUID: guidOf(g.host, svchost), LogonID: logon,
		})
	}
	last := ts
	children := 1 + g.r.Intn(3)
	for i := range children {
		child := genChildren[g.r.Intn(len(genChildren))]
		at, cpid := g.within(ts, 500*time.Millisecond, 30*time.Second), g.newPID()
		if i == children-1 && g.r.Intn(4) == 0 {
			// a later command through the same object, minutes later: past
			// max_delay (a host clock moved by an ingest time would have
			// expired the server by then), and past the hold of a server
			// whose exit is not seen on a host not known to send exits (its
			// exit, if any, comes 10 s after it: within max_delay)
			at = g.within(ts, 2*time.Minute, 20*time.Minute)
		}
		last = later(last, at)
		g.add(&genEvent{ID: 4688, Time: at, Image: child, Cmd: correlate.BaseName(child), Parent: image, PID: cpid, PPID: pid, SubjectLogonID: logon})
		if g.r.Intn(2) == 0 {
			g.add(&genEvent{
				ID: 1, Time: at, Image: child, Cmd: correlate.BaseName(child), Parent: image, ParentCmd: cmd,
				PID: cpid, GUID: guidOf(g.host, cpid), PPID: pid, PGUID: guid, LogonID: logon,
			})
		}
	}
	if g.r.Intn(5) < 2 {
		// No exit seen. The id may be reused minutes later, by another
		// image (Outlook, started by the user) or the same one (the user's
		// own mmc.exe), whose child is not the server's.
		if g.reuse && g.r.Intn(2) == 0 {
			reuser, cmd, child := genOutlook, `"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE"`, `C:\Windows\System32\notepad.exe`
			if g.r.Intn(2) == 0 {
				reuser, cmd = genMMC, `"C:\Windows\system32\mmc.exe" compmgmt.msc`
			}
			at := g.within(last, 3*time.Minute, 40*time.Minute)
			g.add(&genEvent{ID: 4688, Time: at, Image: reuser, Cmd: cmd, Parent: genExplorer, PID: pid, PPID: explorer.PID, LogonID: 0x1f4a2, SubjectLogonID: 0x1f4a2})
			g.add(&genEvent{
				ID: 4688, Time: at.Add(2 * time.Second), Image: child, Cmd: correlate.BaseName(child),
				Parent: reuser, PID: g.newPID(), PPID: pid, SubjectLogonID: 0x1f4a2,
			})
		}
		return
	}
	te := last.Add(10 * time.Second)
	if g.r.Intn(2) == 0 {
		g.add(&genEvent{ID: 4689, Time: te, Image: image, PID: pid})
	} else {
		g.add(&genEvent{ID: 5, Time: te, Image: image, PID: pid, GUID: guid})
	}
	if g.r.Intn(2) == 0 && g.reuse {
		// the id reused by a user's own mmc.exe, and its child
		at := g.within(te, 90*time.Second, 130*time.Second)
		g.add(&genEvent{
			ID: 4688, Time: at, Image: genMMC, Cmd: `"C:\Windows\system32\mmc.exe" compmgmt.msc`, Parent: genExplorer,
			PID: pid, PPID: explorer.PID, LogonID: 0x1f4a2, SubjectLogonID: 0x1f4a2,
		})
		g.add(&genEvent{
			ID: 4688, Time: at.Add(2 * time.Second), Image: `C:\Windows\System32\notepad.exe`, Cmd: "notepad.exe",
			Parent: genMMC, PID: g.newPID(), PPID: pid, SubjectLogonID: 0x1f4a2,
		})
	}
}

func (g *generator) noise(at time.Time, explorer *genEvent) {
	for range 2 + g.r.Intn(6) {
		t := g.within(at, 0, 2*time.Minute)
		switch g.r.Intn(6) {
		case 0: // a user starts something from explorer
			image, pid := genChildren[g.r.Intn(4)], g.newPID()
			g.add(&genEvent{
				ID: 1, Time: t, Image: image, Cmd: correlate.BaseName(image), Parent: genExplorer, ParentCmd: genExplorer,
				PID: pid, GUID: guidOf(g.host, pid), PPID: explorer.PID, PGUID: explorer.GUID, LogonID: 0x1f4a2,
			})
		case 1:
			g.add(&genEvent{ID: 4624, Time: t, LogonType: 3, LogonID: g.newLogon(), IP: "10.0.99.7", Port: g.newPort()})
		case 2:
			g.add(&genEvent{ID: 4624, Time: t, LogonType: 2, LogonID: g.newLogon(), IP: "127.0.0.1", Port: 0})
		case 3: // outbound, some without TimeCreated, some without any time
			noTime := g.r.Intn(3) == 0
			g.add(&genEvent{
				ID: 3, Time: t, ConnTime: t, Initiated: true, Image: genExplorer, PID: explorer.PID, GUID: explorer.GUID,
				LocalIP: g.ip, LocalPort: 50000 + g.r.Intn(10000), RemoteIP: "52.1.2.3", RemotePort: 443,
				NoTime: noTime, NoUtcTime: noTime && g.r.Intn(2) == 0,
			})
		case 4:
			g.add(&genEvent{ID: 4689, Time: t, Image: `C:\Windows\System32\notepad.exe`, PID: g.newPID()})
		default:
			g.add(&genEvent{ID: 4634, Time: t})
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// delivery is the order of arrival: events moved by up to jitter of their
// time (the two logs, receivers and batches out of step within max_delay),
// some delivered twice (at-least-once).
func delivery(events []*genEvent, seed int64, jitter, sysmonLag time.Duration, duplicates bool) ([]*genEvent, []time.Time) {
	r := rand.New(rand.NewSource(seed))
	type keyed struct {
		e   *genEvent
		key time.Time
	}
	var all []keyed
	for _, e := range events {
		k := keyed{e, e.Time}
		if e.isSysmon() {
			k.key = k.key.Add(sysmonLag) // the Sysmon log's receiver behind the Security log's
		}
		if jitter > 0 {
			k.key = k.key.Add(time.Duration(r.Int63n(int64(jitter))))
		}
		all = append(all, k)
		if duplicates && r.Intn(20) == 0 {
			all = append(all, keyed{e, k.key.Add(time.Duration(r.Int63n(int64(30 * time.Second))))})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].key.Before(all[b].key) })
	out, at := make([]*genEvent, len(all)), make([]time.Time, len(all))
	for i, k := range all {
		out[i], at[i] = k.e, k.key
	}
	return out, at
}

// diffRun is one way of feeding a stream to the processor.
type diffRun struct {
	shape      string // map, xml or nxlog
	drop       bool   // drop_unmatched
	jitter     time.Duration
	duplicates bool
	sysmonLag  time.Duration // the Sysmon log arrives this much behind the Security log
	batch      int           // records per call: 0 random sizes
	resources  int           // resources (one scope each) per call, records dealt round-robin
	concurrent int           // goroutines calling ConsumeLogs at once (0: one, in order)
	// noReuse leaves out the process ids reused after a server's exit, and
	// holds servers whose exit is not seen for server_child.timeout on every
	// host: concurrent calls reorder batches without bound, and a reused id
	// joins as documented only when the exit arrives within max_delay, as
	// the hold is learned only from exits that arrive max_delay before.
	noReuse bool
	// realTime replays the stream in simulated real time: the correlation's
	// wall clock is each call's arrival, so state expires as in a collector.
	realTime bool
	// backlog: with realTime, the stream arrives this much after it was
	// written (a collector catching up after an outage).
	backlog time.Duration
	// fullHostNames sets correlation::host_names: full (a host named two
	// ways is then two hosts).
	fullHostNames bool
	// off switches one correlation setting off: inbound_child,
	// server_child, logon or late_records.
	off string
	// rules draws pattern switches, exclusions and list edits from the
	// seed (drawRules): they change which alerts leave, never which facts
	// the correlation keeps.
	rules bool
	// tightHosts sets max_hosts to the number of hosts in the stream: a cap
	// is a total over all hosts, so none is evicted and nothing changes.
	tightHosts bool
}

func (r diffRun) String() string {
	return fmt.Sprintf("%s/drop=%v/jitter=%v/lag=%v/dup=%v/batch=%d/resources=%d/concurrent=%d/reuse=%v/off=%s/realtime=%v/backlog=%v/full_host_names=%v/rules=%v/tight_hosts=%v",
		r.shape, r.drop, r.jitter, r.sysmonLag, r.duplicates, r.batch, r.resources, r.concurrent, !r.noReuse, r.off, r.realTime, r.backlog, r.fullHostNames, r.rules, r.tightHosts)
}

// streamHosts counts the hosts of a stream as the correlation keys them.
func streamHosts(events []*genEvent, full bool) int {
	seen := map[string]bool{}
	for _, e := range events {
		h := strings.ToLower(strings.TrimSpace(e.Host))
		if i := strings.IndexByte(h, '.'); i > 0 && !full {
			h = h[:i]
		}
		seen[h] = true
	}
	return len(seen)
}

func (r diffRun) config(seed int64) *Config {
	cfg := defaultConfig()
	if r.rules {
		drawRules(rand.New(rand.NewSource(seed^0x5eed)), cfg)
	}
	cfg.DropUnmatched = r.drop
	cc := &cfg.Correlation
	if r.fullHostNames {
		cc.HostNames = HostNamesFull
	}
	if r.noReuse {
		cc.ServerChild.TimeoutWithoutExits = cc.ServerChild.Timeout
	}
	switch r.off {
	case "inbound_child":
		cc.InboundChild.Enabled = false
	case "server_child":
		cc.ServerChild.Enabled = false
	case "logon":
		cc.Logon.Enabled = false
	case "late_records":
		cc.LateRecords = false
	}
	return cfg
}

// ruleExclusions are exclusions that hit the generated events: servers,
// their children in both logs, inbound children, hosts.
var ruleExclusions = []ExclusionConfig{
	{Name: "mmc activations", Patterns: []string{"DCOM_ServerActivation"}, Image: `*\mmc.exe`},
	{Name: "office automation", Patterns: []string{"DCOM_ServerActivation"}, CommandLine: `*/automation*`},
	{Name: "servers on srv hosts", Patterns: []string{"DCOM_ServerActivation", "DCOM_ServerChild"}, Host: "srv*"},
	{Name: "calc children", Patterns: []string{"DCOM_ServerChild"}, Image: `*\calc.exe`},
	{Name: "excel children", Patterns: []string{"DCOM_ServerChild"}, ParentImage: `*\excel.exe`, User: `CORP\*`},
	{Name: "explorer shells", Patterns: []string{"DCOM_ShellWindows"}, Image: `*\cmd.exe`},
	{Name: "embedded parents", Patterns: []string{"COM_SuspiciousChild"}, ParentCommandLine: `*-Embedding*`},
	{Name: "notepad anywhere", Image: `*\notepad.exe`},
	{Name: "powershell on ws00", Image: `*\powershell.exe`, Host: "ws00*"},
	// the engine's pattern excluded, not the correlation's: the record is
	// still no correlation alert
	{Name: "powershell under office", Patterns: []string{"COM_SuspiciousChild"}, Image: `*\powershell.exe`},
}

// drawRules switches each pattern off with odds 1 in 4, adds one to three
// exclusions and sometimes edits the lists the correlation's judge reads.
func drawRules(r *rand.Rand, cfg *Config) {
	off := false
	for _, name := range rules.PatternNames() {
		if r.Intn(4) == 0 {
			if cfg.Patterns == nil {
				cfg.Patterns = map[string]PatternConfig{}
			}
			cfg.Patterns[name] = PatternConfig{Enabled: &off}
		}
	}
	for _, i := range r.Perm(len(ruleExclusions))[:1+r.Intn(3)] {
		cfg.Exclusions = append(cfg.Exclusions, ruleExclusions[i])
	}
	if r.Intn(3) == 0 {
		cfg.Lists = map[string]ListConfig{rules.ListServerChildAllowlist: {Add: []string{"calc.exe"}}}
	}
	if r.Intn(4) == 0 {
		if cfg.Lists == nil {
			cfg.Lists = map[string]ListConfig{}
		}
		cfg.Lists[rules.ListCOMServers] = ListConfig{Remove: []string{"excel.exe"}}
	}
}

// batches splits the arrival order into the calls of a run, and returns
// the order in which the processor meets the records (resource by resource
// within a call) and when each call is made (its last record's arrival).
func (r diffRun) batches(rnd *rand.Rand, arrival []*genEvent, arrivedAt []time.Time) ([]plog.Logs, []*genEvent, []time.Time) {
	var out []plog.Logs
	var order []*genEvent
	var sent []time.Time
	for i := 0; i < len(arrival); {
		n := r.batch
		if n == 0 {
			n = 1 + rnd.Intn(80)
		}
		n = min(n, len(arrival)-i)
		if r.realTime {
			// a batch is sent within a second of its first record, as the
			// batch processor's timeout does
			for k := 1; k < n; k++ {
				if arrivedAt[i+k].Sub(arrivedAt[i]) > time.Second {
					n = k
					break
				}
			}
		}
		ld := plog.NewLogs()
		var scopes []plog.LogRecordSlice
		for x := range max(1, r.resources) {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("host.name", "collector-"+strconv.Itoa(x))
			scopes = append(scopes, rl.ScopeLogs().AppendEmpty().LogRecords())
		}
		dealt := make([][]*genEvent, len(scopes))
		for x, e := range arrival[i : i+n] {
			w := e.render()
			w.put(scopes[x%len(scopes)].AppendEmpty(), r.shape)
			dealt[x%len(scopes)] = append(dealt[x%len(scopes)], e)
		}
		for _, d := range dealt {
			order = append(order, d...)
		}
		out = append(out, ld)
		sent = append(sent, arrivedAt[i+n-1])
		i += n
	}
	return out, order, sent
}

// outputLines reads the processor's output as refLines.
func outputLines(t testing.TB, lds []plog.Logs) []refLine {
	var out []refLine
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, outputLine(t, lr))
				}
			}
		}
	}
	return out
}

func outputLine(t testing.TB, lr plog.LogRecord) refLine {
	attrs := lr.Attributes()
	var line refLine
	if v, ok := attrs.Get(attrCorrLate); ok && v.Bool() {
		line.late = true
		line.key = strings.ToLower(str(attrs, attrCorrHost)) + "|" + strconv.FormatInt(integer(attrs, attrCorrRecord+"event_id"), 10) +
			"|" + strconv.FormatInt(integer(attrs, attrCorrRecord+"record_id"), 10)
	} else {
		line.key = bodyKey(t, lr.Body())
	}
	line.kind = str(attrs, attrEventKind)
	line.pattern = str(attrs, attrDetectionPattern)
	if v, ok := attrs.Get(attrCorrKinds); ok {
		var kinds []string
		for _, k := range v.Slice().All() {
			kinds = append(kinds, k.Str())
		}
		line.kinds = strings.Join(kinds, ",")
	}
	if join := str(attrs, attrCorrLogonJoin); join != "" {
		line.logon = join + ":" + strconv.FormatInt(integer(attrs, attrCorrLogonRecordID), 10)
	}
	if pid := integer(attrs, attrCorrServerPID); pid != 0 {
		line.server = strconv.FormatInt(pid, 10)
	}
	line.conn = integer(attrs, attrCorrConnRecordID)
	return line
}

// resourcesOf maps each input record (bodyKey) to the resources it was
// sent in (host.name: "collector-N"); a duplicate may come in several.
func resourcesOf(t testing.TB, batches []plog.Logs) map[string]map[string]bool {
	origins := map[string]map[string]bool{}
	for _, ld := range batches {
		for _, rl := range ld.ResourceLogs().All() {
			name := str(rl.Resource().Attributes(), "host.name")
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					key := bodyKey(t, lr.Body())
					if origins[key] == nil {
						origins[key] = map[string]bool{}
					}
					origins[key][name] = true
				}
			}
		}
	}
	return origins
}

// lateInOwnResource checks that every late record is the record it names
// (its body) and left in a resource its record came in, whichever
// resource held the record that completed it.
func lateInOwnResource(t testing.TB, lds []plog.Logs, origins map[string]map[string]bool) string {
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					line := outputLine(t, lr)
					if !line.late {
						continue
					}
					if got := bodyKey(t, lr.Body()); got != line.key {
						return fmt.Sprintf("late record naming %s holds the body of %s", line.key, got)
					}
					if name := str(rl.Resource().Attributes(), "host.name"); !origins[line.key][name] {
						return fmt.Sprintf("late record about %s left in resource %q; its record came in %v", line.key, name, sortedKeysOf(origins[line.key]))
					}
				}
			}
		}
	}
	return ""
}

// bodyKey names the record a body holds (every event id, also those the
// correlation does not read).
func bodyKey(t testing.TB, body pcommon.Value) string {
	var host, id, rid string
	if body.Type() == pcommon.ValueTypeMap {
		m := body.Map()
		host = str(m, "computer")
		if v, ok := m.Get("event_id"); ok {
			id = str(v.Map(), "id")
		}
		rid = str(m, "record_id")
		if _, ok := m.Get("Hostname"); ok { // NXLog
			host, id, rid = str(m, "Hostname"), str(m, "EventID"), str(m, "RecordNumber")
		}
	} else {
		between := func(s, open, end string) string {
			_, rest, _ := strings.Cut(s, open)
			v, _, _ := strings.Cut(rest, end)
			return v
		}
		x := body.Str()
		host, id, rid = html.UnescapeString(between(x, "<Computer>", "<")), between(x, "<EventID>", "<"), between(x, "<EventRecordID>", "<")
	}
	require.NotEmpty(t, id, "an output record that is not a generated event")
	return strings.ToLower(host) + "|" + id + "|" + rid
}

func sortedStrings(lines []refLine, keep func(refLine) bool) []string {
	var out []string
	for _, l := range lines {
		if keep(l) {
			out = append(out, l.String())
		}
	}
	slices.Sort(out)
	return out
}

// projection is what any interleaving of concurrent calls must agree on,
// per record: whether it is a detection, its patterns, every finding
// (kinds, the logon record), whatever form (in place or late) each took.
// How the logon was joined is form too: a child of an MMC20 server is both
// a server child (its logon id) and an inbound child (the connection's
// remote end), and joined_on names the join that found the logon first.
func projection(lines []refLine) []string {
	type acc struct {
		patterns, kinds map[string]bool
		logon           string
	}
	per := map[string]*acc{}
	for _, l := range lines {
		a := per[l.key]
		if a == nil {
			a = &acc{patterns: map[string]bool{}, kinds: map[string]bool{}}
			per[l.key] = a
		}
		if l.pattern != "" {
			a.patterns[l.pattern] = true
		}
		for k := range strings.SplitSeq(l.kinds, ",") {
			if k != "" && k != "logon" {
				a.kinds[k] = true
			}
		}
		if _, record, ok := strings.Cut(l.logon, ":"); ok {
			a.logon = record
		}
	}
	var out []string
	for key, a := range per {
		if len(a.patterns) == 0 && len(a.kinds) == 0 && a.logon == "" {
			continue
		}
		out = append(out, fmt.Sprintf("%s patterns=%v kinds=%v logon=%s", key, sortedKeysOf(a.patterns), sortedKeysOf(a.kinds), a.logon))
	}
	slices.Sort(out)
	return out
}

func sortedKeysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// differential feeds one generated stream to the processor and the model
// and compares. It returns a description of the first difference, or "".
// concurrently, when set, calls consume with every batch from n goroutines
// at once (TestCorrelationDifferentialConcurrent sets it: make test runs
// only tests named Concurrent under the race detector).
func differential(t testing.TB, seed int64, run diffRun, concurrently func(consume func(context.Context, plog.Logs) error, batches []plog.Logs, n int), stats *diffStats) string {
	t.Helper()
	cfg := run.config(seed)
	engine, err := rules.New(cfg.engineOptions())
	require.NoError(t, err)
	events := genStream(seed, !run.noReuse)
	if run.shape == "nxlog" {
		// NXLog's EventTime has whole seconds: a Security event's only time
		// (Sysmon's UtcTime keeps its milliseconds).
		for _, e := range events {
			if !e.isSysmon() {
				e.Time = e.Time.Truncate(time.Second)
			}
		}
	}
	if run.tightHosts {
		cfg.Correlation.MaxHosts = streamHosts(events, run.fullHostNames)
	}
	arrival, arrivedAt := delivery(events, seed, run.jitter, run.sysmonLag, run.duplicates)
	batches, order, sent := run.batches(rand.New(rand.NewSource(seed)), arrival, arrivedAt)

	origins := resourcesOf(t, batches)
	model := newRefModel(cfg, engine)
	for _, e := range order {
		model.observe(e)
	}
	want := model.out

	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	switch {
	case run.realTime:
		// A wall clock that follows the stream: each call is made when its
		// last record arrives, and the state expires as it would in a
		// collector running in real time.
		process := clockedProcessor(t, cfg)
		for i, ld := range batches {
			if out, ok := process(sent[i].Add(run.backlog), ld); ok {
				require.NoError(t, sink.ConsumeLogs(context.Background(), out))
			}
		}
	case run.concurrent == 0:
		for _, ld := range batches {
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		}
	default:
		require.NotNil(t, concurrently, "a concurrent run needs the goroutines of a Concurrent test")
		concurrently(p.ConsumeLogs, batches, run.concurrent)
	}
	got := outputLines(t, sink.AllLogs())
	if stats != nil {
		stats.add(want)
	}
	if msg := lateInOwnResource(t, sink.AllLogs(), origins); msg != "" {
		return msg
	}

	kept := func(l refLine) bool {
		if l.late {
			return cfg.Correlation.LateRecords
		}
		return !run.drop || l.pattern != ""
	}
	if run.concurrent > 0 {
		// the form of each finding depends on the interleaving; the findings do not
		var keptWant []refLine
		for _, l := range want {
			if kept(l) {
				keptWant = append(keptWant, l)
			}
		}
		return firstDifference(projection(keptWant), projection(got))
	}
	return firstDifference(sortedStrings(want, kept), sortedStrings(got, func(refLine) bool { return true }))
}

// diffStats counts what the model found, to show the generator reaches
// every kind of finding.
type diffStats struct {
	records, alerts, late, lateAlerts int
	kinds                             map[string]int
}

func (st *diffStats) add(lines []refLine) {
	if st.kinds == nil {
		st.kinds = map[string]int{}
	}
	for _, l := range lines {
		st.records++
		if l.kind == "alert" {
			st.alerts++
		}
		if l.late {
			st.late++
			if l.kind == "alert" {
				st.lateAlerts++
			}
		}
		for k := range strings.SplitSeq(l.kinds, ",") {
			if k != "" {
				st.kinds[k]++
			}
		}
		if strings.HasPrefix(l.logon, "address_port") {
			st.kinds["address_port"]++
		}
	}
}

// firstDifference describes how two sorted lists differ: the lines only the
// model made, and those only the processor made.
func firstDifference(want, got []string) string {
	var onlyWant, onlyGot []string
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			onlyWant = append(onlyWant, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			onlyGot = append(onlyGot, got[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(onlyWant) == 0 && len(onlyGot) == 0 {
		return ""
	}
	return fmt.Sprintf("model only (%d):\n  %s\nprocessor only (%d):\n  %s",
		len(onlyWant), strings.Join(onlyWant, "\n  "), len(onlyGot), strings.Join(onlyGot, "\n  "))
}

// diffRuns are the ways every seed is fed.
var diffRuns = []diffRun{
	{shape: "map", batch: 1},
	{shape: "map", batch: 1 << 20},
	{shape: "xml", batch: 0, jitter: 2 * time.Second},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true},
	{shape: "map", batch: 7, jitter: 20 * time.Second, drop: true},
	{shape: "xml", batch: 0, jitter: 20 * time.Second, duplicates: true, drop: true},
	{shape: "map", batch: 64, jitter: 20 * time.Second},
	{shape: "map", batch: 0, jitter: 55 * time.Second, duplicates: true}, // just inside max_delay (1m)
	{shape: "xml", batch: 3, jitter: 55 * time.Second, duplicates: true, drop: true},
	{shape: "map", batch: 0, jitter: 5 * time.Second, sysmonLag: 45 * time.Second, resources: 3},
	{shape: "map", batch: 0, jitter: 5 * time.Second, sysmonLag: -45 * time.Second, resources: 2, drop: true},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, off: "inbound_child"},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, off: "server_child"},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, off: "logon"},
	{shape: "xml", batch: 0, jitter: 20 * time.Second, duplicates: true, off: "late_records", drop: true},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, realTime: true},
	{shape: "map", batch: 0, jitter: 55 * time.Second, sysmonLag: 30 * time.Second, realTime: true},
	{shape: "xml", batch: 5, jitter: 10 * time.Second, sysmonLag: -45 * time.Second, drop: true, realTime: true},
	{shape: "nxlog", batch: 0, jitter: 20 * time.Second, duplicates: true},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, realTime: true, backlog: 3 * time.Hour},
	{shape: "xml", batch: 0, jitter: 20 * time.Second, duplicates: true, fullHostNames: true},
	{shape: "nxlog", batch: 0, jitter: 55 * time.Second, sysmonLag: 30 * time.Second, drop: true, realTime: true},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, rules: true},
	{shape: "xml", batch: 7, jitter: 55 * time.Second, duplicates: true, drop: true, rules: true},
	{shape: "nxlog", batch: 0, jitter: 20 * time.Second, sysmonLag: 30 * time.Second, realTime: true, rules: true},
	{shape: "map", batch: 1, jitter: 20 * time.Second, off: "late_records", rules: true},
	{shape: "map", batch: 0, jitter: 20 * time.Second, duplicates: true, tightHosts: true},
	{shape: "xml", batch: 1, jitter: 55 * time.Second, fullHostNames: true, tightHosts: true},
}

// TestCorrelationDifferential compares the processor with the reference
// model on randomized streams (fixed seeds), every output record: the
// correlation is independent of batching, of drop_unmatched and of the
// order within max_delay.
func TestCorrelationDifferential(t *testing.T) {
	var stats diffStats
	for seed := int64(1); seed <= 40; seed++ {
		for _, run := range diffRuns {
			if diff := differential(t, seed, run, nil, &stats); diff != "" {
				t.Fatalf("seed %d, %s:\n%s", seed, run, diff)
			}
		}
	}
	t.Logf("model: %d records, %d alerts, %d late (%d alerts), findings %v", stats.records, stats.alerts, stats.late, stats.lateAlerts, stats.kinds)
}

// TestCorrelationDifferentialConcurrent feeds the same streams from several
// goroutines calling ConsumeLogs at once (the exporter helper's consumers,
// two receivers), under the race detector. The form each finding takes (on
// the record or late) depends on the interleaving; the findings, patterns
// and logons of every record do not.
func TestCorrelationDifferentialConcurrent(t *testing.T) {
	concurrently := func(consume func(context.Context, plog.Logs) error, batches []plog.Logs, n int) {
		queue := make(chan plog.Logs)
		errs := make(chan error, len(batches))
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ld := range queue {
					errs <- consume(context.Background(), ld)
				}
			}()
		}
		for _, ld := range batches {
			queue <- ld
		}
		close(queue)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	for seed := int64(1); seed <= 10; seed++ {
		for _, run := range []diffRun{
			{shape: "map", batch: 0, jitter: 2 * time.Second, concurrent: 4, noReuse: true},
			{shape: "xml", batch: 5, jitter: 20 * time.Second, duplicates: true, drop: true, concurrent: 3, noReuse: true, rules: true},
		} {
			if diff := differential(t, seed, run, concurrently, nil); diff != "" {
				t.Fatalf("seed %d, %s:\n%s", seed, run, diff)
			}
		}
	}
}

// FuzzCorrelationDifferential is the differential test open-ended: any
// seed, any of the runs (make fuzz FUZZ=FuzzCorrelationDifferential).
func FuzzCorrelationDifferential(f *testing.F) {
	for seed := int64(1); seed <= 8; seed++ {
		f.Add(seed, uint8(seed))
	}
	f.Fuzz(func(t *testing.T, seed int64, which uint8) {
		run := diffRuns[int(which)%len(diffRuns)]
		if diff := differential(t, seed, run, nil, nil); diff != "" {
			t.Fatalf("seed %d, %s:\n%s", seed, run, diff)
		}
	})
}
