package winevent

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// powershellLines renders the real PowerShell recording
// (testdata/powershell, ATTRIBUTION.md) in every shape.
func powershellLines(t *testing.T) []contextLine {
	t.Helper()
	read := func(name string) []string {
		return linesOf(t, filepath.Join("..", "..", "testdata", "powershell", name))
	}
	maps, xmls := read("dcomexec_native.stream.json"), read("dcomexec_native.events.xml")
	require.Len(t, maps, 5)
	require.Len(t, xmls, 5)
	lines := make([]contextLine, len(maps))
	for i := range maps {
		l, err := renderContextLine(maps[i], xmls[i])
		require.NoError(t, err)
		lines[i] = l
	}
	return lines
}

// TestReadPowerShellEveryShape: the script block and module logging events
// are read through the same walks as every other kind, with the user's SID
// from System/Security, in every body shape.
func TestReadPowerShellEveryShape(t *testing.T) {
	lines := powershellLines(t)
	const sid = "S-1-5-21-4230534742-2542757381-3142984815-1111"
	for _, name := range contextShapeNames {
		t.Run(name, func(t *testing.T) {
			var evs [5]Event
			for i, l := range lines {
				s := l.shapes[name]
				require.True(t, ReadContext(s.body, s.attrs, &evs[i]), "line %d", i+1)
				assert.Equal(t, sid, evs[i].UserID, "line %d", i+1)
				assert.Equal(t, "jump01.offsec.lan", evs[i].Computer)
				assert.True(t, evs[i].IsPowerShell())
			}
			block := evs[1]
			assert.Equal(t, int64(PowerShellScriptBlock), block.EventID)
			assert.Equal(t, `$a = [System.Activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application.1","fs01"))`, block.ScriptBlockText)
			assert.Equal(t, "f7f7a3a7-9fc0-4e60-960a-df716d95b851", block.ScriptBlockID)
			assert.Equal(t, "1", block.MessageNumber)
			assert.Equal(t, "1", block.MessageTotal)
			assert.Empty(t, block.Path)
			assert.Equal(t, "prompt", evs[3].ScriptBlockText)

			module := evs[0]
			assert.Equal(t, int64(PowerShellModule), module.EventID)
			assert.Equal(t, "CommandInvocation(PSConsoleHostReadline): \"PSConsoleHostReadline\"\r\n", module.Payload)
			assert.Contains(t, module.ContextInfo, "Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\n")
			assert.Contains(t, module.ContextInfo, "User = OFFSEC\\admmig\r\n")
		})
	}
}

// TestPowerShellLogs: 4103 and 4104 count from Windows PowerShell's and
// PowerShell 7's operational logs only; other logs reuse the ids.
func TestPowerShellLogs(t *testing.T) {
	for _, tc := range []struct {
		channel, provider string
		want              bool
	}{
		{"Microsoft-Windows-PowerShell/Operational", "", true},
		{"microsoft-windows-powershell/operational", "", true},
		{"PowerShellCore/Operational", "PowerShellCore", true},
		{"", "Microsoft-Windows-PowerShell", true},
		{"", "PowerShellCore", true},
		{"", "", true}, // forwarders that drop both: the id decides
		{"Windows PowerShell", "PowerShell", false},
		{"Microsoft-Windows-Sysmon/Operational", "", false},
		{"Security", "", false},
		{"", "Microsoft-Windows-Security-Auditing", false},
	} {
		for _, id := range []int64{PowerShellModule, PowerShellScriptBlock} {
			ev := Event{EventID: id, Channel: tc.channel, Provider: tc.provider}
			assert.Equal(t, tc.want, ev.FromExpectedLog(), "%d %q %q", id, tc.channel, tc.provider)
		}
	}
}
