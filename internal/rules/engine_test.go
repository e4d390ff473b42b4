package rules

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

type catalogueEvent struct {
	ID    string         `json:"id"`
	Event map[string]any `json:"event"`
}

// loadCatalogue reads the 78 catalogue events as Events built from
// their flat fields (the shape-specific readers are tested in winevent).
func loadCatalogue(t testing.TB) ([]catalogueEvent, map[string]map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "catalogue", "catalogue.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var events []catalogueEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ce catalogueEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ce))
		events = append(events, ce)
	}
	require.NoError(t, sc.Err())
	require.Len(t, events, 78)
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "catalogue", "expected.json"))
	require.NoError(t, err)
	var expected map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &expected))
	return events, expected
}

func processEvent(t testing.TB, fields map[string]any, channel bool) *winevent.Event {
	t.Helper()
	m := map[string]any{}
	for k, v := range fields {
		m[k] = v
	}
	if channel {
		if _, ok := m["Channel"]; !ok {
			if m["EventID"] == float64(4688) {
				m["Channel"] = "Security"
			} else {
				m["Channel"] = "Microsoft-Windows-Sysmon/Operational"
			}
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	ev := &winevent.Event{}
	require.Equal(t, winevent.Filled, winevent.Read(pcommon.NewValueStr(string(b)), pcommon.NewMap(), ev))
	return ev
}

func TestCatalogue(t *testing.T) {
	events, expected := loadCatalogue(t)
	for _, tc := range []struct {
		profile Profile
		key     string
	}{{Seed, "seed"}, {Extended, "extended"}} {
		engine, err := New(Options{Profile: tc.profile})
		require.NoError(t, err)
		for _, withChannel := range []bool{true, false} {
			for _, ce := range events {
				ev := processEvent(t, ce.Event, withChannel)
				got := engine.Evaluate(ev)
				assert.Equal(t, expected[ce.ID][tc.key], got.Pattern.String(), "%s profile %s (channel %v): %s", ce.ID, tc.key, withChannel, got.Evidence)
			}
		}
	}
}

// TestLocalAutomationIsOffByDefault: a dual-use token used on this
// computer raises nothing unless COM_LocalAutomation is switched on; then
// it is that pattern, informational, T1559.001, in command lines and
// scripts alike, and a lateral hit stays DCOM_SourceInvocation.
func TestLocalAutomationIsOffByDefault(t *testing.T) {
	local := &winevent.Event{
		EventID: winevent.SysmonProcessCreate, Channel: "Microsoft-Windows-Sysmon/Operational",
		Image:       `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		CommandLine: `powershell -c "(New-Object -ComObject Excel.Application).RegisterXLL('C:\a.xll')"`,
	}
	remote := *local
	remote.CommandLine += " -ComputerName srv07"
	script := scriptBlock(`$xl = New-Object -ComObject Excel.Application; $xl.RegisterXLL("a.xll")`)

	off, err := New(Options{})
	require.NoError(t, err)
	assert.Equal(t, None, off.Evaluate(local).Pattern)
	assert.Equal(t, None, off.Evaluate(script).Pattern)
	assert.Equal(t, SourceInvocation, off.Evaluate(&remote).Pattern)

	on, err := New(Options{Enabled: []string{"COM_LocalAutomation"}})
	require.NoError(t, err)
	v := on.Evaluate(local)
	assert.Equal(t, LocalAutomation, v.Pattern)
	assert.Equal(t, "RegisterXLL without a target", v.Evidence)
	assert.Equal(t, SeverityInformational, v.Severity)
	assert.Equal(t, "T1559.001", v.Pattern.Threat().SubtechniqueID)
	assert.Equal(t, LocalAutomation, on.Evaluate(script).Pattern)
	assert.Equal(t, SourceInvocation, on.Evaluate(&remote).Pattern)
	assert.Equal(t, "T1021.003", SourceInvocation.Threat().SubtechniqueID)

	// Only COM_LocalAutomation on: the rules still read PowerShell, and a
	// lateral hit is not local use.
	only, err := New(Options{Enabled: []string{"COM_LocalAutomation"}, Disabled: []string{"DCOM_SourceInvocation"}})
	require.NoError(t, err)
	assert.Equal(t, LocalAutomation, only.Evaluate(script).Pattern)
	assert.Equal(t, None, only.Evaluate(&remote).Pattern)
	readsScripts := false
	for _, n := range only.Needs() {
		readsScripts = readsScripts || n.ID == winevent.PowerShellScriptBlock
	}
	assert.True(t, readsScripts)

	_, err = New(Options{Enabled: []string{"COM_Nothing"}})
	require.ErrorContains(t, err, "patterns::COM_Nothing: unknown pattern")
}

// TestLoopbackLocalOption: Options.LoopbackLocal makes Atomic Red Team's
// loopback run local use (COM_LocalAutomation when on, else nothing) in
// command lines and in the join of script block parts.
func TestLoopbackLocalOption(t *testing.T) {
	ev := &winevent.Event{
		EventID: winevent.SysmonProcessCreate, Channel: "Microsoft-Windows-Sysmon/Operational",
		Image:       `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		CommandLine: `"powershell.exe" & {[activator]::CreateInstance([type]::GetTypeFromProgID(\""MMC20.application\"",\""localhost\"")).Document.ActiveView.ExecuteShellCommand(\""c:\windows\system32\calc.exe\"", $null, $null, \""7\"")}`,
	}
	lateral, err := New(Options{})
	require.NoError(t, err)
	assert.Equal(t, SourceInvocation, lateral.Evaluate(ev).Pattern)
	local, err := New(Options{LoopbackLocal: true})
	require.NoError(t, err)
	assert.Equal(t, None, local.Evaluate(ev).Pattern)
	localOn, err := New(Options{LoopbackLocal: true, Enabled: []string{"COM_LocalAutomation"}})
	require.NoError(t, err)
	v := localOn.Evaluate(ev)
	assert.Equal(t, LocalAutomation, v.Pattern)
	assert.Equal(t, "GetTypeFromProgID with a loopback host", v.Evidence)

	token, targets := lateral.ScriptFacts("RegisterXLL -ComputerName localhost", "", false, false)
	assert.Equal(t, TargetLoopback, targets)
	assert.True(t, lateral.EvaluateJoined(scriptBlock(""), token, targets).Detected())
	_, targets = local.ScriptFacts("RegisterXLL -ComputerName localhost", "", false, false)
	assert.Zero(t, targets, "a loopback target joins nothing when loopback is local")
}
