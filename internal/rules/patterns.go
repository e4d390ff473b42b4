// Package rules decides whether a process-creation event is DCOM lateral
// movement (MITRE ATT&CK T1021.003). Rules are tables of names and tokens;
// evaluation reads a winevent.Event and allocates nothing.
package rules // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"

// Pattern is a detection's name, as the DetectionPattern field carries it.
type Pattern uint8

const (
	None Pattern = iota
	// COMSuspiciousChild: an Office or MMC COM server spawned a shell or LOLBin.
	COMSuspiciousChild
	// ConfigTool: dcomcnfg.exe started (informational).
	ConfigTool
	// CommandLineRef: the seed's "DCOM" and "-Exec" command-line branch.
	CommandLineRef
	// ServerActivation: svchost's DcomLaunch started an abusable COM server.
	ServerActivation
	// ServerChild: any non-allowlisted child of a DCOM-activated server.
	ServerChild
	// SourceInvocation: attacker-side DCOM tokens on the source host.
	SourceInvocation
	// ShellWindows: an explorer.exe child right after an inbound DCOM connection
	// (found by correlation, not by a single event).
	ShellWindows

	patternCount
)

// PatternInfo describes a pattern: its field value, default severity and the
// stable rule identity written as security_rule.*.
type PatternInfo struct {
	Name        string
	Severity    Severity
	UUID        string
	Description string
}

// patternInfo is indexed by Pattern. The UUIDs are fixed forever: dashboards
// and suppressions key on them.
var patternInfo = [patternCount]PatternInfo{
	None: {Name: "none"},
	COMSuspiciousChild: {
		Name: "COM_SuspiciousChild", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a01",
		Description: "An Office or MMC process acting as a COM server spawned a shell or LOLBin",
	},
	ConfigTool: {
		Name: "DCOM_ConfigTool", Severity: SeverityInformational,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a02",
		Description: "The DCOM configuration tool dcomcnfg.exe was started",
	},
	CommandLineRef: {
		Name: "DCOM_CommandLineRef", Severity: SeverityMedium,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a03",
		Description: "A command line names DCOM and -Exec (seed query)",
	},
	ServerActivation: {
		Name: "DCOM_ServerActivation", Severity: SeverityMedium,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a04",
		Description: "The DCOM launcher started an abusable COM server (-Embedding or /automation)",
	},
	ServerChild: {
		Name: "DCOM_ServerChild", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a05",
		Description: "A DCOM-activated COM server started a process that is not one of its known helpers",
	},
	SourceInvocation: {
		Name: "DCOM_SourceInvocation", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a06",
		Description: "A command line instantiates or drives a remote DCOM object",
	},
	ShellWindows: {
		Name: "DCOM_ShellWindows", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a07",
		Description: "explorer.exe started a process right after accepting an inbound DCOM connection",
	},
}

// Info returns the pattern's description.
func (p Pattern) Info() PatternInfo {
	if p >= patternCount {
		return patternInfo[None]
	}
	return patternInfo[p]
}

func (p Pattern) String() string { return p.Info().Name }

// ParsePattern returns the pattern with the given DetectionPattern name.
func ParsePattern(name string) (Pattern, bool) {
	for p := COMSuspiciousChild; p < patternCount; p++ {
		if patternInfo[p].Name == name {
			return p, true
		}
	}
	return None, false
}

// PatternNames lists every pattern name, for messages and docs.
func PatternNames() []string {
	names := make([]string, 0, patternCount-1)
	for p := COMSuspiciousChild; p < patternCount; p++ {
		names = append(names, patternInfo[p].Name)
	}
	return names
}

// Severity grades a detection.
type Severity uint8

const (
	SeverityInformational Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"informational", "low", "medium", "high", "critical"}

// severityScores are Sumo Cloud SIEM normalizedSeverity values (0-10).
var severityScores = [...]int64{1, 3, 5, 8, 10}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// Score is the severity on Cloud SIEM's 0-10 scale.
func (s Severity) Score() int64 {
	if int(s) < len(severityScores) {
		return severityScores[s]
	}
	return 0
}

// ParseSeverity reads a severity name.
func ParseSeverity(name string) (Severity, bool) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), true
		}
	}
	return 0, false
}

// SeverityNames lists the severity names, for messages.
func SeverityNames() []string { return severityNames[:] }
