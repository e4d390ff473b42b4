package rules

import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"

// What the rules read of a process creation, under both schemas: the child
// and parent images (Sysmon Image / ParentImage, Security NewProcessName /
// ParentProcessName) and the command line; the extended profile also the
// parent's command line and the original file name.
const (
	seedFields     = winevent.FieldImage | winevent.FieldParentImage | winevent.FieldCommandLine
	extendedFields = seedFields | winevent.FieldNewProcessName | winevent.FieldParentProcessName |
		winevent.FieldParentCommandLine | winevent.FieldOriginalFileName
	// userFields are what Event.Account reads.
	userFields = winevent.FieldUser | winevent.FieldTargetUserName | winevent.FieldTargetDomainName |
		winevent.FieldSubjectUserName | winevent.FieldSubjectDomainName
)

// exclusionFields are the event fields each exclusion key matches (the
// host is the computer, always read).
var exclusionFields = [exclusionFieldCount]winevent.Fields{
	exImage:             winevent.FieldImage | winevent.FieldNewProcessName,
	exParentImage:       winevent.FieldParentImage | winevent.FieldParentProcessName,
	exCommandLine:       winevent.FieldCommandLine,
	exParentCommandLine: winevent.FieldParentCommandLine,
	exUser:              userFields,
	exHost:              0,
}

// Needs returns what Evaluate reads, for the reader's plan: the fields of
// the profile's rules and of the configured exclusions, of Sysmon 1 and
// Security 4688, and with DCOM_SourceInvocation or COM_LocalAutomation on in the extended profile
// the text of PowerShell 4104 and 4103.
func (e *Engine) Needs() []winevent.Need {
	fields := extendedFields
	if e.profile == Seed {
		fields = seedFields
	}
	for i := range e.exclusions {
		for f, g := range e.exclusions[i].fields {
			if g != nil {
				fields |= exclusionFields[f]
			}
		}
	}
	needs := []winevent.Need{
		{ID: winevent.SysmonProcessCreate, First: fields},
		{ID: winevent.SecurityProcessCreate, First: fields},
	}
	if e.profile == Extended && (e.enabled[SourceInvocation] || e.enabled[LocalAutomation]) {
		// The part's number and total say whether its text is cut.
		script := winevent.FieldScriptBlockText | winevent.FieldMessageNumber | winevent.FieldMessageTotal
		module := winevent.FieldPayload
		if len(e.exclusions) > 0 {
			script |= winevent.FieldUserID
			module |= winevent.FieldUserID
		}
		needs = append(needs,
			winevent.Need{ID: winevent.PowerShellScriptBlock, First: script},
			winevent.Need{ID: winevent.PowerShellModule, First: module})
	}
	return needs
}
