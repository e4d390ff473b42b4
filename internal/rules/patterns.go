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
	// LocalAutomation: a dual-use token with no target named: local COM use
	// (informational, off by default; not lateral movement).
	LocalAutomation

	patternCount

	// LastPattern is the highest pattern, for tables indexed by pattern.
	LastPattern = patternCount - 1
)

// PatternInfo describes a pattern: its field value, default severity, the
// stable rule identity written as security_rule.*, and the ATT&CK
// technique written as threat.*.
type PatternInfo struct {
	Name        string
	Severity    Severity
	UUID        string
	Description string
	Threat      *Threat
	// Off: the pattern is off unless configuration switches it on.
	Off bool
}

// Threat is a MITRE ATT&CK tactic, technique and sub-technique, with the
// references written as threat.*.reference.
type Threat struct {
	TacticID, TacticName, TacticReference                   string
	TechniqueID, TechniqueName, TechniqueReference          string
	SubtechniqueID, SubtechniqueName, SubtechniqueReference string
}

// The techniques the patterns report.
var (
	// lateralMovement is T1021.003, what every pattern but one reports.
	lateralMovement = &Threat{
		TacticID: "TA0008", TacticName: "Lateral Movement", TacticReference: "https://attack.mitre.org/tactics/TA0008/",
		TechniqueID: "T1021", TechniqueName: "Remote Services", TechniqueReference: "https://attack.mitre.org/techniques/T1021/",
		SubtechniqueID: "T1021.003", SubtechniqueName: "Distributed Component Object Model",
		SubtechniqueReference: "https://attack.mitre.org/techniques/T1021/003/",
	}
	// comExecution is T1559.001: COM used on this computer to run code.
	comExecution = &Threat{
		TacticID: "TA0002", TacticName: "Execution", TacticReference: "https://attack.mitre.org/tactics/TA0002/",
		TechniqueID: "T1559", TechniqueName: "Inter-Process Communication", TechniqueReference: "https://attack.mitre.org/techniques/T1559/",
		SubtechniqueID: "T1559.001", SubtechniqueName: "Component Object Model",
		SubtechniqueReference: "https://attack.mitre.org/techniques/T1559/001/",
	}
)

// patternInfo is indexed by Pattern. The UUIDs are fixed forever: dashboards
// and suppressions key on them.
var patternInfo = [patternCount]PatternInfo{
	None: {Name: "none"},
	COMSuspiciousChild: {
		Name: "COM_SuspiciousChild", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a01",
		Description: "An Office or MMC process acting as a COM server spawned a shell or LOLBin",
		Threat:      lateralMovement,
	},
	ConfigTool: {
		Name: "DCOM_ConfigTool", Severity: SeverityInformational,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a02",
		Description: "The DCOM configuration tool dcomcnfg.exe was started",
		Threat:      lateralMovement,
	},
	CommandLineRef: {
		Name: "DCOM_CommandLineRef", Severity: SeverityMedium,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a03",
		Description: "A command line names DCOM and -Exec (seed query)",
		Threat:      lateralMovement,
	},
	ServerActivation: {
		Name: "DCOM_ServerActivation", Severity: SeverityMedium,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a04",
		Description: "The DCOM launcher started an abusable COM server (-Embedding or /automation)",
		Threat:      lateralMovement,
	},
	ServerChild: {
		Name: "DCOM_ServerChild", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a05",
		Description: "A DCOM-activated COM server started a process that is not one of its known helpers",
		Threat:      lateralMovement,
	},
	SourceInvocation: {
		Name: "DCOM_SourceInvocation", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a06",
		Description: "A command line instantiates or drives a remote DCOM object",
		Threat:      lateralMovement,
	},
	ShellWindows: {
		Name: "DCOM_ShellWindows", Severity: SeverityHigh,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a07",
		Description: "explorer.exe started a process right after accepting an inbound DCOM connection",
		Threat:      lateralMovement,
	},
	LocalAutomation: {
		Name: "COM_LocalAutomation", Severity: SeverityInformational,
		UUID:        "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a08",
		Description: "A command line or script drives a dual-use COM object on this computer, with no remote target",
		Threat:      comExecution,
		Off:         true,
	},
}

// Info returns the pattern's description.
func (p Pattern) Info() PatternInfo {
	if p >= patternCount {
		return patternInfo[None]
	}
	return patternInfo[p]
}

// Threat returns the ATT&CK technique the pattern reports.
func (p Pattern) Threat() *Threat {
	if p == None || p >= patternCount {
		return lateralMovement
	}
	return patternInfo[p].Threat
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

// KnownTechnique returns the ATT&CK entry of a technique or sub-technique
// id the patterns report ("T1021.003", "T1021"), nil for another.
func KnownTechnique(id string) *Threat {
	for _, t := range [...]*Threat{lateralMovement, comExecution} {
		if id == t.SubtechniqueID || id == t.TechniqueID {
			return t
		}
	}
	return nil
}
