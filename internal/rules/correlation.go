package rules

import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"

// This file gives the correlation (internal/correlate, through the
// processor) the engine's own tables and settings, so that a finding made by
// joining events obeys exactly the same com_servers list, allow-list,
// enabled patterns, severities and exclusions as a single-event detection.

// IsCOMServer reports whether the file name of a path is in the com_servers
// list (the servers whose DcomLaunch start is DCOM_ServerActivation).
func (e *Engine) IsCOMServer(path string) bool {
	var nb nameBuf
	nb.set(normalizedBase(path))
	return e.classes.of(&nb)&classServer != 0
}

// Allowlisted reports whether server_child_allowlist covers a child of a COM
// server ("child" or "parent>child" entries, '*' wildcards).
func (e *Engine) Allowlisted(parentPath, childPath string) bool {
	var parent, child nameBuf
	parent.set(normalizedBase(parentPath))
	child.set(normalizedBase(childPath))
	return e.allowlisted(&parent, &child)
}

// Enabled reports whether a pattern is switched on.
func (e *Engine) Enabled(p Pattern) bool {
	return p < patternCount && e.enabled[p]
}

// Correlated builds the verdict for a pattern found by correlation: empty
// when the pattern is switched off, with the configured severity, and with
// Excluded set when an exclusion for that pattern matches ev (whose fields
// the caller fills from the joined events, such as the server's command line
// as the parent command line of a 4688 child).
func (e *Engine) Correlated(p Pattern, evidence string, ev *winevent.Event) Verdict {
	if !e.Enabled(p) || p == None {
		return Verdict{}
	}
	v := Verdict{Pattern: p, Severity: e.severity[p], Evidence: evidence}
	if len(e.exclusions) > 0 {
		v.Excluded = e.excludedBy(p, ev)
	}
	return v
}
