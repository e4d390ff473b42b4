// Package winevent turns a log record holding a Windows event, in any of the
// body shapes the collectors and forwarders produce, into one ProcessEvent.
// It depends on nothing but pdata, and reads without allocating unless a value
// has to be unescaped (XML entities, JSON strings).
package winevent // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"

import "strings"

// Event IDs of the process-creation events the detection reads.
const (
	SysmonProcessCreate   = 1
	SecurityProcessCreate = 4688
)

// Result says what a record turned out to be.
type Result uint8

const (
	// NotWindows: the record does not look like a Windows event at all.
	NotWindows Result = iota
	// OtherEvent: a Windows event that is not a process creation.
	OtherEvent
	// ProcessCreation: a Sysmon 1 or Security 4688 event; the fields are filled in.
	ProcessCreation
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

// ProcessEvent holds the fields of a process-creation event under their
// Windows names. Sysmon and Security name the same things differently; the
// accessors below give the schema-independent view, while the raw fields stay
// available for the seed profile, which reads Sysmon names only.
type ProcessEvent struct {
	EventID  int64
	Channel  string
	Provider string
	Computer string
	Shape    Shape

	// Sysmon 1 names.
	Image             string
	ParentImage       string
	CommandLine       string // also Security 4688
	ParentCommandLine string
	User              string
	OriginalFileName  string
	ProcessID         string // also Security 4688 (creator process id)
	ProcessGUID       string
	ParentProcessID   string
	ParentProcessGUID string
	LogonID           string

	// Security 4688 names.
	NewProcessName    string
	ParentProcessName string
	NewProcessID      string
	SubjectUserName   string
	SubjectDomainName string
	TargetUserName    string
	TargetDomainName  string
	TargetLogonID     string
}

// IsSecurity reports whether the event is a Security 4688 event.
func (e *ProcessEvent) IsSecurity() bool { return e.EventID == SecurityProcessCreate }

// ChildImage is the path of the new process, whatever the schema.
func (e *ProcessEvent) ChildImage() string {
	if e.IsSecurity() && e.NewProcessName != "" {
		return e.NewProcessName
	}
	return e.Image
}

// ParentPath is the path of the creating process, whatever the schema.
func (e *ProcessEvent) ParentPath() string {
	if e.IsSecurity() && e.ParentProcessName != "" {
		return e.ParentProcessName
	}
	return e.ParentImage
}

// ChildPID is the new process's id (decimal on Sysmon, hex on Security).
func (e *ProcessEvent) ChildPID() string {
	if e.IsSecurity() {
		return e.NewProcessID
	}
	return e.ProcessID
}

// ParentPID is the creating process's id (decimal on Sysmon, hex on Security).
func (e *ProcessEvent) ParentPID() string {
	if e.IsSecurity() {
		return e.ProcessID
	}
	return e.ParentProcessID
}

// Account returns the account the new process runs as. On 4688 the target
// account is the real one: for a DCOM-launched server the subject is the
// machine account. It returns domain and name separately.
func (e *ProcessEvent) Account() (domain, name string) {
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
func (e *ProcessEvent) SessionLogonID() string {
	if e.IsSecurity() {
		return e.TargetLogonID
	}
	return e.LogonID
}

// usable reports whether a Windows field holds a value ("-" means none).
func usable(s string) bool { return s != "" && s != "-" }

// setField stores a named Windows field. Names are matched exactly, as Windows
// writes them; unknown names are ignored.
func (e *ProcessEvent) setField(name, value string) {
	if f := e.field(name); f != nil {
		*f = value
	}
}

// field returns where a named Windows field is stored, nil for names the
// detection does not keep. Readers look the name up first, so that the
// values of the other fields (hashes, GUIDs, versions...) are never touched.
func (e *ProcessEvent) field(name string) *string {
	switch name {
	case "Image":
		return &e.Image
	case "ParentImage":
		return &e.ParentImage
	case "CommandLine":
		return &e.CommandLine
	case "ParentCommandLine":
		return &e.ParentCommandLine
	case "User":
		return &e.User
	case "OriginalFileName":
		return &e.OriginalFileName
	case "ProcessId":
		return &e.ProcessID
	case "ProcessGuid":
		return &e.ProcessGUID
	case "ParentProcessId":
		return &e.ParentProcessID
	case "ParentProcessGuid":
		return &e.ParentProcessGUID
	case "LogonId":
		return &e.LogonID
	case "NewProcessName":
		return &e.NewProcessName
	case "ParentProcessName":
		return &e.ParentProcessName
	case "NewProcessId":
		return &e.NewProcessID
	case "SubjectUserName":
		return &e.SubjectUserName
	case "SubjectDomainName":
		return &e.SubjectDomainName
	case "TargetUserName":
		return &e.TargetUserName
	case "TargetDomainName":
		return &e.TargetDomainName
	case "TargetLogonId":
		return &e.TargetLogonID
	}
	return nil
}

// isProcessCreation reports whether an event id is one the detection reads.
func isProcessCreation(id int64) bool {
	return id == SysmonProcessCreate || id == SecurityProcessCreate
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
