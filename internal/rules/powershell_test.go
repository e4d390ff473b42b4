package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

func scriptBlock(text string) *winevent.Event {
	return &winevent.Event{
		EventID: winevent.PowerShellScriptBlock, Channel: "Microsoft-Windows-PowerShell/Operational",
		Computer: "ws01.corp.test", UserID: "S-1-5-21-1-2-3-1104", ScriptBlockText: text,
	}
}

func TestPowerShellEvaluation(t *testing.T) {
	e, err := New(Options{})
	require.NoError(t, err)
	v := e.Evaluate(scriptBlock(`[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application.1","fs01"))`))
	assert.Equal(t, SourceInvocation, v.Pattern)
	assert.Equal(t, "GetTypeFromProgID with a remote host", v.Evidence)

	module := &winevent.Event{
		EventID: winevent.PowerShellModule, Channel: "Microsoft-Windows-PowerShell/Operational",
		Payload: `ParameterBinding(New-Object): name="ComObject"; value="MMC20.Application"`,
		// the host's command line is not what is searched
		ContextInfo: "Host Application = powershell.exe Invoke-DCOM",
	}
	// New-Object -ComObject creates an object on this computer: local COM use.
	assert.Equal(t, None, e.Evaluate(module).Pattern)
	module.Payload = `CommandInvocation(Invoke-DCOM): "Invoke-DCOM"` + "\n" + `ParameterBinding(Invoke-DCOM): name="ComputerName"; value="srv01"`
	assert.Equal(t, SourceInvocation, e.Evaluate(module).Pattern)
	module.Payload = `CommandInvocation(Out-Default): "Out-Default"`
	assert.Equal(t, None, e.Evaluate(module).Pattern)

	wrongLog := scriptBlock("Invoke-DCOM -ComputerName x")
	wrongLog.Channel = "Application"
	assert.Equal(t, None, e.Evaluate(wrongLog).Pattern)

	off, err := New(Options{Disabled: []string{SourceInvocation.String()}})
	require.NoError(t, err)
	assert.Equal(t, None, off.Evaluate(scriptBlock("Invoke-DCOM -ComputerName x")).Pattern)
	for _, n := range off.Needs() {
		assert.False(t, n.ID == winevent.PowerShellScriptBlock || n.ID == winevent.PowerShellModule, "event %d read with the pattern off", n.ID)
	}
	seed, err := New(Options{Profile: Seed})
	require.NoError(t, err)
	assert.Equal(t, None, seed.Evaluate(scriptBlock("Invoke-DCOM -ComputerName x")).Pattern)
	assert.Len(t, seed.Needs(), 2)
}

// Exclusions match a script's text as command_line, its SID as user and
// its computer as host; process fields match nothing.
func TestPowerShellExclusions(t *testing.T) {
	ev := scriptBlock("Invoke-DCOM -ComputerName lab01 # lab test")
	for _, tc := range []struct {
		x    Exclusion
		want bool
	}{
		{Exclusion{Name: "text", CommandLine: "*# lab test*"}, true},
		{Exclusion{Name: "sid", User: "S-1-5-21-1-2-3-1104"}, true},
		{Exclusion{Name: "host", Host: "ws01.*"}, true},
		{Exclusion{Name: "text and host", CommandLine: "*lab01*", Host: "ws02.*"}, false},
		{Exclusion{Name: "image", Image: `*\powershell.exe`}, false},
	} {
		e, err := New(Options{Exclusions: []Exclusion{tc.x}})
		require.NoError(t, err)
		v := e.Evaluate(ev)
		assert.Equal(t, SourceInvocation, v.Pattern, tc.x.Name)
		assert.Equal(t, tc.want, v.Excluded == tc.x.Name, tc.x.Name)
		if tc.x.User != "" {
			assert.True(t, hasUserID(e.Needs()), "an exclusion on user reads the SID")
		}
	}
}

func hasUserID(needs []winevent.Need) bool {
	for _, n := range needs {
		if n.ID == winevent.PowerShellScriptBlock && n.First&winevent.FieldUserID != 0 {
			return true
		}
	}
	return false
}

// TestScriptBlockPartIsReadAsCut: a part of a multi-part block ending in
// a target's value does not read that value (it may go on in the next
// part; the seam reads it); a whole block, and a part whose number is not
// one, do.
func TestScriptBlockPartIsReadAsCut(t *testing.T) {
	e, err := New(Options{})
	require.NoError(t, err)
	text := "$xl.RegisterXLL('a.xll')\nGet-Service -ComputerName $nu"
	for _, tc := range []struct {
		number, total string
		want          Pattern
	}{
		{"", "", SourceInvocation},
		{"1", "1", SourceInvocation},
		{"2", "2", SourceInvocation}, // the last part ends where the block does
		{"1", "2", None},
		{"x", "2", SourceInvocation},
		{"3", "2", SourceInvocation},
	} {
		ev := scriptBlock(text)
		ev.MessageNumber, ev.MessageTotal = tc.number, tc.total
		assert.Equal(t, tc.want, e.Evaluate(ev).Pattern, "part %q of %q", tc.number, tc.total)
	}
	// A parameter at a later part's very start may be the end of a word.
	ev := scriptBlock("-ComputerName fs02 $xl.RegisterXLL('a.xll')")
	ev.MessageNumber, ev.MessageTotal = "2", "2"
	assert.Equal(t, None, e.Evaluate(ev).Pattern)
	ev.MessageNumber = "1"
	assert.Equal(t, SourceInvocation, e.Evaluate(ev).Pattern)
}
