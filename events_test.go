package dcomdetectionprocessor

import (
	"html"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// winEvent is a synthetic Windows event, rendered as the windowseventlog
// receiver does: its map body (format: map) or the raw XML (raw: true).
type winEvent struct {
	ID       int64
	Host     string
	RecordID int64
	Time     time.Time
	Data     [][2]string // event data, in order
}

const (
	securityChannel  = "Security"
	securityProvider = "Microsoft-Windows-Security-Auditing"
	sysmonProvider   = "Microsoft-Windows-Sysmon"
)

// sysmonEventIDs are the Sysmon ids the correlation reads; every other id
// is a Security event.
func (e *winEvent) sysmon() bool { return e.ID == 1 || e.ID == 3 || e.ID == 5 }

func (e *winEvent) channel() (channel, provider string) {
	if e.sysmon() {
		return sysmonChannel, sysmonProvider
	}
	return securityChannel, securityProvider
}

func (e *winEvent) systemTime() string { return e.Time.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// put renders the event into a record's body in a shape: "map" (the
// windowseventlog receiver's), "xml" or "nxlog" (NXLog's flat JSON, its
// EventTime in UTC without a zone, to the second). An event with a zero
// Time is written without a time.
func (e *winEvent) put(lr plog.LogRecord, shape string) {
	switch shape {
	case "xml":
		lr.Body().SetStr(e.xml())
	case "nxlog":
		e.nxlogBody(lr.Body().SetEmptyMap())
	default:
		e.mapBody(lr.Body().SetEmptyMap())
	}
}

// nxlogBody is the event as NXLog's im_msvistalog and to_json() write it
// (GenerateDateInUTC TRUE).
func (e *winEvent) nxlogBody(m pcommon.Map) {
	channel, provider := e.channel()
	m.PutStr("Hostname", e.Host)
	if !e.Time.IsZero() {
		m.PutStr("EventTime", e.Time.UTC().Format("2006-01-02 15:04:05"))
	}
	m.PutStr("SourceName", provider)
	m.PutStr("Channel", channel)
	m.PutInt("EventID", e.ID)
	m.PutInt("RecordNumber", e.RecordID)
	m.PutStr("Severity", "INFO")
	for _, kv := range e.Data {
		m.PutStr(kv[0], kv[1])
	}
}

func (e *winEvent) mapBody(m pcommon.Map) {
	channel, provider := e.channel()
	id := m.PutEmptyMap("event_id")
	id.PutInt("id", e.ID)
	id.PutInt("qualifiers", 0)
	m.PutEmptyMap("provider").PutStr("name", provider)
	m.PutStr("channel", channel)
	m.PutStr("computer", e.Host)
	m.PutInt("record_id", e.RecordID)
	if !e.Time.IsZero() {
		m.PutStr("system_time", e.systemTime())
	}
	m.PutStr("level", "Information")
	data := m.PutEmptyMap("event_data")
	for _, kv := range e.Data {
		data.PutStr(kv[0], kv[1])
	}
}

func (e *winEvent) xml() string {
	channel, provider := e.channel()
	var b strings.Builder
	b.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="`)
	b.WriteString(provider)
	b.WriteString(`"/><EventID>`)
	b.WriteString(strconv.FormatInt(e.ID, 10))
	b.WriteString(`</EventID>`)
	if !e.Time.IsZero() {
		b.WriteString(`<TimeCreated SystemTime="`)
		b.WriteString(e.systemTime())
		b.WriteString(`"/>`)
	}
	b.WriteString(`<EventRecordID>`)
	b.WriteString(strconv.FormatInt(e.RecordID, 10))
	b.WriteString(`</EventRecordID><Channel>`)
	b.WriteString(channel)
	b.WriteString(`</Channel><Computer>`)
	b.WriteString(html.EscapeString(e.Host))
	b.WriteString(`</Computer></System><EventData>`)
	for _, kv := range e.Data {
		b.WriteString(`<Data Name="` + kv[0] + `">`)
		b.WriteString(html.EscapeString(kv[1]))
		b.WriteString(`</Data>`)
	}
	b.WriteString(`</EventData></Event>`)
	return b.String()
}

// hexID writes a process or logon id as Security events do.
func hexID(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// security4688 is a process creation in the Security log.
func security4688(host string, rid int64, at time.Time, image, parent string, pid, creator uint64, cmd, targetLogon string) winEvent {
	return winEvent{ID: 4688, Host: host, RecordID: rid, Time: at, Data: [][2]string{
		{"SubjectUserSid", "S-1-5-18"},
		{"SubjectUserName", "WS01$"},
		{"SubjectDomainName", "CORP"},
		{"SubjectLogonId", "0x3e7"},
		{"NewProcessId", hexID(pid)},
		{"NewProcessName", image},
		{"TokenElevationType", "%%1938"},
		{"ProcessId", hexID(creator)},
		{"CommandLine", cmd},
		{"TargetUserSid", "S-1-5-21-1-2-3-1104"},
		{"TargetUserName", "alice"},
		{"TargetDomainName", "CORP"},
		{"TargetLogonId", targetLogon},
		{"ParentProcessName", parent},
		{"MandatoryLabel", "S-1-16-8192"},
	}}
}

// security4689 is a process exit in the Security log.
func security4689(host string, rid int64, at time.Time, image string, pid uint64) winEvent {
	return winEvent{ID: 4689, Host: host, RecordID: rid, Time: at, Data: [][2]string{
		{"SubjectUserSid", "S-1-5-21-1-2-3-1104"},
		{"SubjectUserName", "alice"},
		{"SubjectDomainName", "CORP"},
		{"SubjectLogonId", "0x1f4a2"},
		{"Status", "0x0"},
		{"ProcessId", hexID(pid)},
		{"ProcessName", image},
	}}
}

// logsOf renders events into one batch, one resource and scope.
func logsOf(shape string, events ...winEvent) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range events {
		events[i].put(lrs.AppendEmpty(), shape)
	}
	return ld
}

// sysmonTime is Sysmon's UtcTime.
func sysmonTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

// sysmon3Inbound is an inbound TCP connection accepted by image (pid, guid)
// from remote, as current Sysmon writes it: this host's end in
// Destination*.
func sysmon3Inbound(host string, rid int64, written, utc time.Time, image string, pid uint64, guid, remote string, remotePort int, local string, localPort int) winEvent {
	return winEvent{ID: 3, Host: host, RecordID: rid, Time: written, Data: [][2]string{
		{"RuleName", "-"},
		{"UtcTime", sysmonTime(utc)},
		{"ProcessGuid", guid},
		{"ProcessId", strconv.FormatUint(pid, 10)},
		{"Image", image},
		{"User", `CORP\alice`},
		{"Protocol", "tcp"},
		{"Initiated", "false"},
		{"SourceIsIpv6", "false"},
		{"SourceIp", remote},
		{"SourceHostname", "-"},
		{"SourcePort", strconv.Itoa(remotePort)},
		{"SourcePortName", "-"},
		{"DestinationIsIpv6", "false"},
		{"DestinationIp", local},
		{"DestinationHostname", "-"},
		{"DestinationPort", strconv.Itoa(localPort)},
		{"DestinationPortName", "-"},
	}}
}
