package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// FuzzCompileAndMatch: any rule text compiles or is rejected without a
// panic, and a compiled rule evaluates any field values, Sysmon and 4688,
// without one.
func FuzzCompileAndMatch(f *testing.F) {
	for _, name := range []string{
		"proc_creation_win_mmc_mmc20_lateral_movement.yml", "proc_creation_win_hktl_impacket_lateral_movement.yml",
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "sigma", "windows", "process_creation", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw), `C:\Windows\System32\cmd.exe /Q /c whoami 1> \\127.0.0.1\ADMIN$\__1 2>&1`)
	}
	f.Add(ruleYAML("  s:\n    CommandLine|contains|windash|all: [' -a', '/b']\n  k: ['x?y*']\n  condition: s or not k\n"), "-A /b x1y")
	f.Add(ruleYAML("  s:\n    CommandLine|utf16le|base64offset|contains: 'IEX'\n    User|re|i: '^nt authority'\n  condition: 1 of them\n"), "é\x00\xff")
	f.Add(ruleYAML("  s:\n    ParentImage|fieldref|endswith: Image\n    TerminalSessionId|gte: 1\n    CommandLine|cidr: '10.0.0.0/8'\n  condition: all of s*\n"), "10.1.2.3")
	f.Fuzz(func(_ *testing.T, rule, value string) {
		rules, _ := Compile("fuzz.yml", []byte(rule))
		if len(rules) == 0 {
			return
		}
		e := NewEngine(rules)
		sysmon := winevent.Event{EventID: winevent.SysmonProcessCreate, Channel: sysmonChannel}
		for i := range taxonomy {
			if slot := sysmonSlot(&sysmon, taxonomy[i].name); slot != nil {
				*slot = value
			}
		}
		e.Match(&sysmon, nil)
		security := winevent.Event{
			EventID: winevent.SecurityProcessCreate, Channel: "Security", NewProcessName: value,
			ParentProcessName: value, CommandLine: value, TargetUserName: value, TargetDomainName: value,
			SubjectUserName: value, MandatoryLabel: value, TargetLogonID: value,
		}
		e.Match(&security, nil)
	})
}
