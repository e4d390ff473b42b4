// Package winevent turns a log record holding a Windows event, in any of the
// body shapes the collectors and forwarders produce, into one Event.
// It depends on nothing but pdata, and reads without allocating unless a value
// has to be unescaped (XML entities, JSON strings).
package winevent // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"

import "strings"

// Event IDs of the events the product reads.
const (
	SysmonProcessCreate    = 1
	SysmonNetworkConnect   = 3
	SysmonProcessTerminate = 5
	SecurityLogon          = 4624
	SecurityProcessCreate  = 4688
	SecurityProcessExit    = 4689
	// PowerShellModule is module logging's pipeline execution event
	// (Payload, ContextInfo); PowerShellScriptBlock is script block
	// logging (ScriptBlockText, in parts of one ScriptBlockId).
	PowerShellModule      = 4103
	PowerShellScriptBlock = 4104
)

// Log is the Windows log an event kind is written to.
type Log uint8

const (
	LogSysmon   Log = iota + 1 // Microsoft-Windows-Sysmon/Operational
	LogSecurity                // Security (Microsoft-Windows-Security-Auditing)
	// LogPowerShell is Microsoft-Windows-PowerShell/Operational, and
	// PowerShellCore/Operational, where PowerShell 7 writes the same events.
	LogPowerShell
)

// Kind is one Windows event the reader knows: its id and the log it counts
// from (other logs reuse the same ids: bug B11 of the seed).
type Kind struct {
	ID   int64
	Log  Log
	Name string
}

// kinds are the events the product reads. A new kind is a row here, its
// field names in fieldOf, and tests.
var kinds = [...]Kind{
	{SysmonProcessCreate, LogSysmon, "Sysmon process creation"},
	{SysmonNetworkConnect, LogSysmon, "Sysmon network connection"},
	{SysmonProcessTerminate, LogSysmon, "Sysmon process termination"},
	{SecurityLogon, LogSecurity, "Security logon"},
	{SecurityProcessCreate, LogSecurity, "Security process creation"},
	{SecurityProcessExit, LogSecurity, "Security process exit"},
	{PowerShellModule, LogPowerShell, "PowerShell pipeline execution"},
	{PowerShellScriptBlock, LogPowerShell, "PowerShell script block"},
}

// kindOf returns the kind of an event id.
func kindOf(id int64) (Kind, bool) {
	for _, k := range kinds {
		if k.ID == id {
			return k, true
		}
	}
	return Kind{}, false
}

// Result says what a record turned out to be.
type Result uint8

const (
	// NotWindows: the record does not look like a Windows event at all.
	NotWindows Result = iota
	// OtherEvent: a Windows event whose id no consumer reads; only its
	// event id is filled in.
	OtherEvent
	// Filled: an event the plan reads; its fields are filled in.
	Filled
	// Unreadable: the record claims to be a Windows event (XML or JSON text)
	// but could not be parsed.
	Unreadable
)

// Shape names the body layout a record was read from (for tests and debugging).
type Shape uint8

const (
	ShapeNone Shape = iota
	ShapeReceiverMap
	ShapeReceiverArray
	ShapeRawXML
	ShapeFlatMap
	ShapeFlatAttributes
	ShapeJSONString
	ShapeWinlogbeat
)

// Event holds what the reader filled of one Windows event, under the
// Windows names of its fields: the System fields and, of the event data,
// the fields the Plan asked for. Sysmon and Security name the same things
// differently; the accessors below give the schema-independent view of a
// process creation, while the raw fields stay available for the seed
// profile, which reads Sysmon names only. Values are substrings of the
// record (or its pdata strings) unless they had to be unescaped: copy them
// before keeping them.
type Event struct {
	EventID int64
	Channel string
	// Provider is the provider's name, read only when the event has no
	// channel: it decides the event's log then (FromExpectedLog) and is
	// used for nothing else, and in the receiver's map it is a map of its
	// own, a pointer chase per record when read always.
	Provider   string
	Computer   string
	RecordID   int64  // EventRecordID; 0 when the shape does not carry it
	SystemTime string // TimeCreated/@SystemTime as written; see ParseTime
	// EventTime is NXLog's EventTime (or TimeGenerated) in a flat map, as
	// written: the event's time when the map has no TimeCreated. NXLog
	// writes it without a zone; it is read as UTC (GenerateDateInUTC).
	EventTime string
	// UserID is the SID in System/Security/@UserID (the receiver's
	// security.user_id, Winlogbeat's winlog.user.identifier, NXLog's
	// UserID): on PowerShell's events, the user who ran the script.
	UserID string
	Shape  Shape

	// Sysmon 1, 3, 5 (ProcessId also on 4624, 4688 as the creator, 4689).
	UtcTime           string
	ProcessGUID       string
	ProcessID         string
	Image             string
	ParentProcessGUID string
	ParentProcessID   string
	ParentImage       string
	CommandLine       string // Sysmon 1 and 4688
	ParentCommandLine string
	OriginalFileName  string
	User              string
	LogonID           string

	// Sysmon 3.
	Protocol            string
	Initiated           string
	SourceIP            string
	SourceHostname      string
	SourcePort          string
	DestinationIP       string
	DestinationHostname string
	DestinationPort     string

	// Security 4688 and 4689.
	NewProcessID      string
	NewProcessName    string
	ParentProcessName string
	ProcessName       string // 4689 (and 4624's logon process path)
	SubjectUserName   string
	SubjectDomainName string
	SubjectLogonID    string

	// Security 4624 (TargetLogonId and the target account also on 4688).
	TargetUserName            string
	TargetDomainName          string
	TargetLogonID             string
	LogonType                 string
	LogonProcessName          string
	AuthenticationPackageName string
	WorkstationName           string
	IPAddress                 string
	IPPort                    string

	// PowerShell 4104: one part (MessageNumber of MessageTotal) of the
	// script block ScriptBlockId, from the script at Path.
	ScriptBlockText string
	ScriptBlockID   string
	MessageNumber   string
	MessageTotal    string
	Path            string
	// PowerShell 4103: the pipeline's commands and bound parameters, and
	// the host's description (Host Application is its command line).
	Payload     string
	ContextInfo string

	// The rest of a process creation, read for Sigma rules only: Sysmon
	// 1's file version information, directory, hashes, logon and
	// integrity, and 4688's mandatory label and token elevation type.
	Hashes             string
	CurrentDirectory   string
	IntegrityLevel     string
	Description        string
	Product            string
	Company            string
	FileVersion        string
	LogonGUID          string
	TerminalSessionID  string
	ParentUser         string
	MandatoryLabel     string
	TokenElevationType string
}

// sysmonChannel is the channel Sysmon writes to.
const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// FromExpectedLog reports whether the event comes from the log its kind is
// written to: Sysmon ids from a channel or provider naming Sysmon, Security
// ids from the Security channel or the Security-Auditing provider. Forwarders
// that drop both channel and provider are let through on the event id alone.
// An id of no known kind is from no expected log.
func (e *Event) FromExpectedLog() bool {
	k, ok := kindOf(e.EventID)
	if !ok {
		return false
	}
	switch k.Log {
	case LogSysmon:
		if e.Channel == sysmonChannel {
			return true // as Sysmon writes it: one comparison instead of a search
		}
		if e.Channel != "" {
			return containsFoldASCII(e.Channel, "sysmon")
		}
		return e.Provider == "" || containsFoldASCII(e.Provider, "sysmon")
	case LogSecurity:
		if e.Channel != "" {
			return strings.EqualFold(e.Channel, "Security")
		}
		return e.Provider == "" || strings.EqualFold(e.Provider, "Microsoft-Windows-Security-Auditing")
	case LogPowerShell:
		// Windows PowerShell's operational log and PowerShell 7's
		// (PowerShellCore/Operational, provider PowerShellCore). Not the
		// classic "Windows PowerShell" log: its ids are 400-800.
		if e.Channel != "" {
			return containsFoldASCII(e.Channel, "powershell") && containsFoldASCII(e.Channel, "operational")
		}
		return e.Provider == "" || containsFoldASCII(e.Provider, "powershell")
	default:
		return false
	}
}

// IsSysmon reports whether the event's kind is written to the Sysmon log.
func (e *Event) IsSysmon() bool {
	k, ok := kindOf(e.EventID)
	return ok && k.Log == LogSysmon
}

// IsSecurity reports whether the event is a Security 4688 event.
func (e *Event) IsSecurity() bool { return e.EventID == SecurityProcessCreate }

// ChildImage is the path of the new process, whatever the schema.
func (e *Event) ChildImage() string {
	if e.IsSecurity() && e.NewProcessName != "" {
		return e.NewProcessName
	}
	return e.Image
}

// ParentPath is the path of the creating process, whatever the schema.
func (e *Event) ParentPath() string {
	if e.IsSecurity() && e.ParentProcessName != "" {
		return e.ParentProcessName
	}
	return e.ParentImage
}

// ChildPID is the new process's id (decimal on Sysmon, hex on Security).
func (e *Event) ChildPID() string {
	if e.IsSecurity() {
		return e.NewProcessID
	}
	return e.ProcessID
}

// ParentPID is the creating process's id (decimal on Sysmon, hex on Security).
func (e *Event) ParentPID() string {
	if e.IsSecurity() {
		return e.ProcessID
	}
	return e.ParentProcessID
}

// Account returns the account the new process runs as. On 4688 the target
// account is the real one: for a DCOM-launched server the subject is the
// machine account. It returns domain and name separately.
func (e *Event) Account() (domain, name string) {
	if !e.IsSecurity() {
		if i := strings.IndexByte(e.User, '\\'); i >= 0 {
			return e.User[:i], e.User[i+1:]
		}
		return "", e.User
	}
	if usable(e.TargetUserName) {
		return e.TargetDomainName, e.TargetUserName
	}
	return e.SubjectDomainName, e.SubjectUserName
}

// SessionLogonID is the logon session of the new process, for joins to 4624.
func (e *Event) SessionLogonID() string {
	if e.IsSecurity() {
		return e.TargetLogonID
	}
	return e.LogonID
}

// usable reports whether a Windows field holds a value ("-" means none).
func usable(s string) bool { return s != "" && s != "-" }

// ScriptBlockPart returns which part of how many a 4104 is (MessageNumber
// of MessageTotal), read as event ids are: decimal, spaces around allowed;
// 0 for a value that is not such a number.
func (e *Event) ScriptBlockPart() (number, total int) {
	n, _ := parseEventID(e.MessageNumber)
	t, _ := parseEventID(e.MessageTotal)
	return int(n), int(t)
}

// IsPowerShell reports whether the event is a PowerShell 4103 or 4104 event.
func (e *Event) IsPowerShell() bool {
	return e.EventID == PowerShellScriptBlock || e.EventID == PowerShellModule
}

// IsProcessCreation reports whether the event is a Sysmon 1 or Security
// 4688 event.
func (e *Event) IsProcessCreation() bool {
	return e.EventID == SysmonProcessCreate || e.EventID == SecurityProcessCreate
}

// parseEventID reads a decimal event id from text, tolerating surrounding
// spaces; ok is false for anything else.
func parseEventID(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 10 {
		return 0, false
	}
	return parseDecimal(s)
}
