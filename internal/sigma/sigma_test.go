package sigma

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

// sysmon1 is a Sysmon process creation with the given fields (Sysmon names).
func sysmon1(fields map[string]string) *winevent.Event {
	ev := &winevent.Event{EventID: 1, Channel: sysmonChannel, Computer: "ws01"}
	set(ev, fields)
	return ev
}

// security4688 is a Security process creation with the given fields (4688 names).
func security4688(fields map[string]string) *winevent.Event {
	ev := &winevent.Event{EventID: 4688, Channel: "Security", Computer: "ws01"}
	set(ev, fields)
	return ev
}

func set(ev *winevent.Event, fields map[string]string) {
	for k, v := range fields {
		p := map[string]*string{
			"Image": &ev.Image, "CommandLine": &ev.CommandLine, "ParentImage": &ev.ParentImage,
			"ParentCommandLine": &ev.ParentCommandLine, "OriginalFileName": &ev.OriginalFileName, "User": &ev.User,
			"Hashes": &ev.Hashes, "IntegrityLevel": &ev.IntegrityLevel, "TerminalSessionId": &ev.TerminalSessionID,
			"CurrentDirectory": &ev.CurrentDirectory, "ProcessId": &ev.ProcessID, "ParentProcessId": &ev.ParentProcessID,
			"NewProcessName": &ev.NewProcessName, "ParentProcessName": &ev.ParentProcessName,
			"SubjectUserName": &ev.SubjectUserName, "SubjectDomainName": &ev.SubjectDomainName,
			"TargetUserName": &ev.TargetUserName, "TargetDomainName": &ev.TargetDomainName,
			"MandatoryLabel": &ev.MandatoryLabel, "LogonId": &ev.LogonID, "TargetLogonId": &ev.TargetLogonID,
			"SubjectLogonId": &ev.SubjectLogonID,
		}[k]
		if p == nil {
			panic("test field " + k)
		}
		*p = v
	}
}

// rule compiles one rule of the given detection (YAML, indented by two).
func rule(t *testing.T, detection string) *Engine {
	t.Helper()
	rules, rejected := Compile("test.yml", []byte(ruleYAML(detection)))
	require.Empty(t, rejected)
	require.Len(t, rules, 1)
	return NewEngine(rules)
}

func ruleYAML(detection string) string {
	return "title: test rule\nid: 11111111-2222-3333-4444-555555555555\nlevel: high\n" +
		"logsource:\n  category: process_creation\n  product: windows\ndetection:\n" + detection
}

// rejects compiles a detection and returns why it was rejected.
func rejects(t *testing.T, detection string) Rejection {
	t.Helper()
	rules, rejected := Compile("test.yml", []byte(ruleYAML(detection)))
	require.Empty(t, rules)
	require.Len(t, rejected, 1)
	return rejected[0]
}

func matches(e *Engine, ev *winevent.Event) bool { return len(e.Match(ev, nil)) > 0 }

// TestValues: a value is matched as the specification says, for each
// modifier; each row holds values that match and values that do not.
func TestValues(t *testing.T) {
	for _, tc := range []struct {
		name, detection string
		yes, no         []string // CommandLine values
	}{
		{
			"exact, case-insensitive", "  s:\n    CommandLine: 'Cmd.exe /c whoami'\n  condition: s",
			[]string{"cmd.exe /c whoami", "CMD.EXE /C WHOAMI"},
			[]string{"cmd.exe /c whoami ", "xcmd.exe /c whoami", ""},
		},
		{
			"star and question mark", "  s:\n    CommandLine: 'cmd*who?mi'\n  condition: s",
			[]string{"cmd.exe /c whoami", "CMDwhoXmi", "cmd whoämi"},
			[]string{"cmd.exe /c whoamii", "cmd whomi", "xcmd whoami"},
		},
		{
			"escaped wildcards are literal", `  s:` + "\n" + `    CommandLine: 'a\*b\?c'` + "\n  condition: s",
			[]string{"a*b?c", "A*B?C"},
			[]string{"axxbyc", "a\\*b\\?c"},
		},
		{
			"escaped backslash before a wildcard", `  s:` + "\n" + `    CommandLine: 'C:\\*'` + "\n  condition: s",
			[]string{`C:\`, `c:\windows`},
			[]string{`C:\\x`[:2], `D:\x`},
		},
		{
			"a lone backslash is itself", `  s:` + "\n" + `    CommandLine|endswith: '\cmd.exe'` + "\n  condition: s",
			[]string{`C:\Windows\System32\CMD.exe`},
			[]string{`C:\Windows\System32\xcmd.exe`, `cmd.exe`},
		},
		{
			"double backslash is one", `  s:` + "\n" + `    CommandLine: '\\\\server\\share'` + "\n  condition: s",
			[]string{`\\server\share`},
			[]string{`\\\\server\\share`},
		},
		{
			"contains", "  s:\n    CommandLine|contains: 'DOWNLOADSTRING'\n  condition: s",
			[]string{"iex (new-object net.webclient).downloadstring('x')", "downloadstring"},
			[]string{"download string", ""},
		},
		{
			"startswith", "  s:\n    CommandLine|startswith: 'rundll32'\n  condition: s",
			[]string{"RunDll32.exe x,y"},
			[]string{" rundll32"},
		},
		{
			"endswith", "  s:\n    CommandLine|endswith: '.HTA'\n  condition: s",
			[]string{"mshta.exe c:\\x.hta"},
			[]string{"x.hta "},
		},
		{
			"contains with a wildcard inside", "  s:\n    CommandLine|contains: 'net* user'\n  condition: s",
			[]string{"c:\\net1.exe user admin", "net user"},
			[]string{"net  usr"},
		},
		{
			"list is any", "  s:\n    CommandLine|contains:\n      - 'aaa'\n      - 'bbb'\n  condition: s",
			[]string{"xaaax", "BBB"},
			[]string{"ab"},
		},
		{
			"all", "  s:\n    CommandLine|contains|all:\n      - ' -nop'\n      - ' -w hidden'\n  condition: s",
			[]string{"powershell -NoP -W Hidden -nop -w hidden"},
			[]string{"powershell -nop", "powershell -w hidden"},
		},
		{
			"windash", "  s:\n    CommandLine|contains|windash: ' -encodedcommand '\n  condition: s",
			[]string{
				"powershell -EncodedCommand x", "powershell /encodedcommand x", "powershell \u2013encodedcommand x",
				"powershell \u2014encodedcommand x", "powershell \u2015encodedcommand x",
			},
			[]string{"powershell +encodedcommand x", "powershell encodedcommand x"},
		},
		{
			"windash leaves a dash inside a word", "  s:\n    CommandLine|windash: 'a-b -c'\n  condition: s",
			[]string{"a-b -c", "a-b /c"},
			[]string{"a/b -c", "a/b /c"},
		},
		{
			"re, case-sensitive", "  s:\n    CommandLine|re: 'Invoke-\\w+Shell'\n  condition: s",
			[]string{"x Invoke-PowerShell y"},
			[]string{"invoke-powershell"},
		},
		{
			"re with i", "  s:\n    CommandLine|re|i: '^invoke-\\w+shell$'\n  condition: s",
			[]string{"Invoke-PowerShell"},
			[]string{"x Invoke-PowerShell"},
		},
		{
			"re with m", "  s:\n    CommandLine|re|m: '^second$'\n  condition: s",
			[]string{"first\nsecond\nthird"},
			[]string{"first second"},
		},
		{
			"re with s", "  s:\n    CommandLine|re|s: 'a.b'\n  condition: s",
			[]string{"a\nb", "axb"},
			[]string{"ab"},
		},
		{
			"cased", "  s:\n    CommandLine|contains|cased: 'AbC'\n  condition: s",
			[]string{"xAbCx"},
			[]string{"xabcx", "ABC"},
		},
		{
			"cidr", "  s:\n    CommandLine|cidr: '10.0.0.0/8'\n  condition: s",
			[]string{"10.1.2.3", " 10.255.0.1", "::ffff:10.0.0.1"},
			[]string{"11.0.0.1", "10.1.2", "x"},
		},
		{
			"cidr IPv6", "  s:\n    CommandLine|cidr: 'fe80::/10'\n  condition: s",
			[]string{"fe80::1"},
			[]string{"fec0::1", "10.0.0.1"},
		},
		{"gt", "  s:\n    CommandLine|gt: 10\n  condition: s", []string{"11", "10.5"}, []string{"10", "9", "x", ""}},
		{"gte", "  s:\n    CommandLine|gte: 10\n  condition: s", []string{"10", "11"}, []string{"9"}},
		{"lt", "  s:\n    CommandLine|lt: 10\n  condition: s", []string{"9", "-1"}, []string{"10"}},
		{"lte", "  s:\n    CommandLine|lte: 10\n  condition: s", []string{"10"}, []string{"11"}},
		{"null is absent or empty", "  s:\n    CommandLine: null\n  condition: s", []string{""}, []string{"x"}},
		{"empty string", "  s:\n    CommandLine: ''\n  condition: s", []string{""}, []string{"x"}},
		{"exists", "  s:\n    CommandLine|exists: true\n  condition: s", []string{"x"}, []string{""}},
		{"exists false", "  s:\n    CommandLine|exists: false\n  condition: s", []string{""}, []string{"x"}},
		{"a number is its text", "  s:\n    CommandLine: 42\n  condition: s", []string{"42"}, []string{"042", "4"}},
		{"star alone is any value", "  s:\n    CommandLine: '*'\n  condition: s", []string{"x", ""}, nil},
		{"non-ASCII folds", "  s:\n    CommandLine|contains: 'ÄRGER'\n  condition: s", []string{"x ärger y"}, []string{"arger"}},
		{
			"base64", "  s:\n    CommandLine|contains|base64: 'http://'\n  condition: s",
			[]string{"x " + b64("http://") + " y"},
			[]string{b64("HTTP://"), strings.ToLower(b64("http://"))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rule(t, tc.detection)
			for _, v := range tc.yes {
				assert.True(t, matches(e, sysmon1(map[string]string{"CommandLine": v})), "%q should match", v)
			}
			for _, v := range tc.no {
				assert.False(t, matches(e, sysmon1(map[string]string{"CommandLine": v})), "%q should not match", v)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestBase64Offset: whatever bytes come before and after it, a value
// base64-encoded inside a longer text is found by one of base64offset's
// three forms, in UTF-8 and in UTF-16LE (PowerShell's -EncodedCommand).
func TestBase64Offset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, enc := range []string{"", "utf16le", "wide", "utf16be"} {
		mod := "base64offset|contains"
		if enc != "" {
			mod = enc + "|" + mod
		}
		e := rule(t, "  s:\n    CommandLine|"+mod+": 'Invoke-Mimikatz'\n  condition: s")
		other := rule(t, "  s:\n    CommandLine|"+mod+": 'Invoke-Mimjkatz'\n  condition: s")
		for range 300 {
			prefix := randomText(rng, rng.IntN(9))
			suffix := randomText(rng, rng.IntN(9))
			text := prefix + "Invoke-Mimikatz" + suffix
			var raw []byte
			switch enc {
			case "":
				raw = []byte(text)
			case "utf16be":
				for _, u := range utf16.Encode([]rune(text)) {
					raw = binary.BigEndian.AppendUint16(raw, u)
				}
			default:
				for _, u := range utf16.Encode([]rune(text)) {
					raw = binary.LittleEndian.AppendUint16(raw, u)
				}
			}
			cl := "powershell -enc " + base64.StdEncoding.EncodeToString(raw)
			require.True(t, matches(e, sysmon1(map[string]string{"CommandLine": cl})), "%s %q", enc, text)
			require.False(t, matches(other, sysmon1(map[string]string{"CommandLine": cl})), "%s %q", enc, text)
		}
	}
}

func randomText(rng *rand.Rand, n int) string {
	const printable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	b := make([]byte, n)
	for i := range b {
		b[i] = printable[rng.IntN(len(printable))]
	}
	return string(b)
}

// TestConditions: and, or, not, parentheses, 1 of / all of with wildcards
// and them, and keyword searches.
func TestConditions(t *testing.T) {
	const searches = "  sel_a:\n    CommandLine|contains: 'aaa'\n  sel_b:\n    CommandLine|contains: 'bbb'\n" +
		"  _helper:\n    CommandLine|contains: 'zzz'\n  filter:\n    Image|endswith: '\\good.exe'\n"
	for _, tc := range []struct {
		condition string
		yes, no   [][2]string // {CommandLine, Image}
	}{
		{"sel_a and sel_b", [][2]string{{"aaa bbb", ""}}, [][2]string{{"aaa", ""}, {"bbb", ""}}},
		{"sel_a or sel_b", [][2]string{{"aaa", ""}, {"bbb", ""}}, [][2]string{{"ccc", ""}}},
		{"sel_a and not filter", [][2]string{{"aaa", `c:\bad.exe`}}, [][2]string{{"aaa", `c:\GOOD.exe`}}},
		{"not sel_a and not sel_b", [][2]string{{"ccc", ""}}, [][2]string{{"aaa", ""}}},
		{"sel_a and (sel_b or filter)", [][2]string{{"aaa bbb", ""}, {"aaa", `x\good.exe`}}, [][2]string{{"aaa", ""}}},
		{"(sel_a or sel_b) and not filter", [][2]string{{"bbb", ""}}, [][2]string{{"bbb", `\good.exe`}}},
		{"sel_a or sel_b and filter", [][2]string{{"aaa", ""}, {"bbb", `\good.exe`}}, [][2]string{{"bbb", ""}}},
		{"not not sel_a", [][2]string{{"aaa", ""}}, [][2]string{{"bbb", ""}}},
		{"1 of sel_*", [][2]string{{"aaa", ""}, {"bbb", ""}}, [][2]string{{"zzz", ""}}},
		{"all of sel_*", [][2]string{{"aaa bbb", ""}}, [][2]string{{"aaa", ""}}},
		{"1 of them", [][2]string{{"aaa", ""}, {"x", `\good.exe`}}, [][2]string{{"zzz", ""}}},
		{"all of them", [][2]string{{"aaa bbb", `\good.exe`}}, [][2]string{{"aaa bbb zzz", ""}}},
		{"all of sel_* and not 1 of _*", [][2]string{{"aaa bbb", ""}}, [][2]string{{"aaa bbb zzz", ""}}},
		{"sel_a AND NOT filter", [][2]string{{"aaa", ""}}, [][2]string{{"aaa", `\good.exe`}}},
	} {
		t.Run(tc.condition, func(t *testing.T) {
			e := rule(t, searches+"  condition: "+tc.condition+"\n")
			for _, v := range tc.yes {
				assert.True(t, matches(e, sysmon1(map[string]string{"CommandLine": v[0], "Image": v[1]})), "%v", v)
			}
			for _, v := range tc.no {
				assert.False(t, matches(e, sysmon1(map[string]string{"CommandLine": v[0], "Image": v[1]})), "%v", v)
			}
		})
	}
	t.Run("a list of maps is any of them", func(t *testing.T) {
		e := rule(t, "  s:\n    - Image|endswith: '\\a.exe'\n      CommandLine|contains: 'x'\n    - Image|endswith: '\\b.exe'\n  condition: s\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "CommandLine": "x"})))
		assert.False(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "CommandLine": "y"})))
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `c:\b.exe`})))
	})
	t.Run("a list of conditions is any of them", func(t *testing.T) {
		e := rule(t, searches+"  condition:\n    - sel_a and sel_b\n    - filter\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"CommandLine": "aaa bbb"})))
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `\good.exe`})))
		assert.False(t, matches(e, sysmon1(map[string]string{"CommandLine": "aaa"})))
	})
	t.Run("keywords are found in any field", func(t *testing.T) {
		e := rule(t, "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::'\n  condition: keywords\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `c:\temp\MIMIKATZ.exe`})))
		assert.True(t, matches(e, sysmon1(map[string]string{"ParentCommandLine": `x sekurlsa::logonpasswords`})))
		assert.False(t, matches(e, sysmon1(map[string]string{"CommandLine": "whoami"})))
	})
	t.Run("fieldref", func(t *testing.T) {
		e := rule(t, "  s:\n    ParentImage|fieldref: Image\n  condition: s\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "ParentImage": `C:\A.EXE`})))
		assert.False(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "ParentImage": `c:\b.exe`})))
		e = rule(t, "  s:\n    CommandLine|fieldref|contains: Image\n  condition: s\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "CommandLine": `"C:\A.exe" x`})))
		assert.False(t, matches(e, sysmon1(map[string]string{"Image": `c:\a.exe`, "CommandLine": `b.exe`})))
	})
	t.Run("hashes", func(t *testing.T) {
		e := rule(t, "  s:\n    - Imphash: 'ABCDEF'\n    - sha256: '1234'\n  condition: s\n")
		assert.True(t, matches(e, sysmon1(map[string]string{"Hashes": "MD5=00,SHA256=99,IMPHASH=abcdef"})))
		assert.True(t, matches(e, sysmon1(map[string]string{"Hashes": "SHA256=1234,IMPHASH=00"})))
		assert.False(t, matches(e, sysmon1(map[string]string{"Hashes": "MD5=ABCDEF,SHA256=12345"})))
	})
}

// TestSecurity4688: rules written in Sysmon's names run on 4688 through the
// standard mapping; a search item on a field 4688 does not carry is
// unknown, so it neither fires a rule nor keeps another alternative from
// firing it.
func TestSecurity4688(t *testing.T) {
	ev := security4688(map[string]string{
		"NewProcessName": `C:\Windows\System32\cmd.exe`, "ParentProcessName": `C:\Program Files\Microsoft Office\EXCEL.EXE`,
		"CommandLine": "cmd /c whoami", "SubjectUserName": "WS01$", "SubjectDomainName": "CORP",
		"TargetUserName": "alice", "TargetDomainName": "CORP", "MandatoryLabel": "S-1-16-12288",
		"TargetLogonId": "0x3e7", "SubjectLogonId": "0x1",
	})
	for _, tc := range []struct {
		name, detection string
		want            bool
	}{
		{"Image and ParentImage", "  s:\n    Image|endswith: '\\cmd.exe'\n    ParentImage|endswith: '\\excel.exe'\n  condition: s\n", true},
		{"User is the target account", "  s:\n    User: 'corp\\alice'\n  condition: s\n", true},
		{"not the subject", "  s:\n    User|contains: 'WS01$'\n  condition: s\n", false},
		{"IntegrityLevel from the label", "  s:\n    IntegrityLevel: 'High'\n  condition: s\n", true},
		{"LogonId of the target", "  s:\n    LogonId: '0x3e7'\n  condition: s\n", true},
		{"an alternative on a field 4688 lacks", "  s:\n    - Image|endswith: '\\cmd.exe'\n    - OriginalFileName: 'Cmd.Exe'\n  condition: s\n", true},
		{"only a field 4688 lacks", "  s:\n    OriginalFileName: 'Cmd.Exe'\n  condition: s\n", false},
		{"not a field 4688 lacks", "  s:\n    Image|endswith: '\\cmd.exe'\n  f:\n    OriginalFileName: 'x'\n  condition: s and not f\n", false},
		{"not a field it has", "  s:\n    Image|endswith: '\\cmd.exe'\n  f:\n    CommandLine|contains: 'x'\n  condition: s and not f\n", true},
		{"keywords found", "  k:\n    - 'whoami'\n  condition: k\n", true},
		{"keywords not found are unknown", "  k:\n    - 'mimikatz'\n  condition: not k\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, matches(rule(t, tc.detection), ev))
		})
	}
	// The subject when there is no target.
	ev.TargetUserName, ev.TargetDomainName = "-", "-"
	assert.True(t, matches(rule(t, "  s:\n    User: 'CORP\\WS01$'\n  condition: s\n"), ev))
	// Sysmon's events are not read as 4688's.
	assert.False(t, matches(rule(t, "  s:\n    Image|endswith: '\\cmd.exe'\n  condition: s\n"),
		sysmon1(map[string]string{"CommandLine": "cmd"})))
}

// TestOnlyProcessCreations: other events, and process creations from
// another log, match nothing.
func TestOnlyProcessCreations(t *testing.T) {
	e := rule(t, "  s:\n    CommandLine: '*'\n  condition: s\n")
	assert.True(t, matches(e, sysmon1(nil)))
	for _, ev := range []*winevent.Event{
		{EventID: 3, Channel: sysmonChannel},
		{EventID: 1, Channel: "Application"},
		{EventID: 4624, Channel: "Security"},
		{EventID: 4688, Channel: "Microsoft-Windows-Sysmon/Operational"},
	} {
		assert.False(t, matches(e, ev), "%d %s", ev.EventID, ev.Channel)
	}
}

// TestRejections: each rule the engine cannot run correctly is rejected
// alone, with its reason; valid rules beside it load.
func TestRejections(t *testing.T) {
	for _, tc := range []struct {
		name, detection, reason string
		unsupported             bool
	}{
		{"expand", "  s:\n    CommandLine|expand: '%admins%'\n  condition: s", "expand", true},
		{"unknown modifier", "  s:\n    CommandLine|sounds_like: 'x'\n  condition: s", `"sounds_like"`, true},
		{"regex RE2 cannot run", "  s:\n    CommandLine|re: '(?=x)y'\n  condition: s", "RE2", true},
		{"unknown field", "  s:\n    TargetFilename: 'x'\n  condition: s", `"TargetFilename"`, true},
		{"aggregation", "  s:\n    CommandLine: 'x'\n  condition: s | count() > 5", "aggregation", true},
		{"timeframe", "  s:\n    CommandLine: 'x'\n  timeframe: 5m\n  condition: s", "timeframe", true},
		{"undefined search", "  s:\n    CommandLine: 'x'\n  condition: s and t", `"t"`, false},
		{"1 of nothing", "  s:\n    CommandLine: 'x'\n  condition: 1 of sel*", "names no search", false},
		{"2 of", "  s:\n    CommandLine: 'x'\n  condition: 2 of s*", "only 1 of", true},
		{"unbalanced", "  s:\n    CommandLine: 'x'\n  condition: (s", "')'", false},
		{"base64 of wildcards", "  s:\n    CommandLine|base64: 'x*'\n  condition: s", "wildcards", false},
		{"utf16 alone", "  s:\n    CommandLine|utf16le: 'x'\n  condition: s", "only combines", false},
		{"bad cidr", "  s:\n    CommandLine|cidr: '10.0.0/8'\n  condition: s", "cidr", false},
		{"gt of text", "  s:\n    CommandLine|gt: 'x'\n  condition: s", "number", false},
		{"no condition", "  s:\n    CommandLine: 'x'", "no condition", false},
		{"map value", "  s:\n    CommandLine:\n      a: b\n  condition: s", "map", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rejects(t, tc.detection)
			assert.Contains(t, r.Reason, tc.reason)
			assert.Equal(t, tc.unsupported, r.Unsupported, r.Reason)
			assert.Equal(t, "11111111-2222-3333-4444-555555555555", r.ID)
			assert.Equal(t, "test rule", r.Title)
		})
	}
	for _, tc := range []struct{ logsource, reason string }{
		{"  category: network_connection\n  product: windows\n", `category "network_connection"`},
		{"  category: process_creation\n  product: linux\n", `product "linux"`},
		{"  product: windows\n  service: security\n", "category"},
	} {
		y := "title: t\nid: x\nlogsource:\n" + tc.logsource + "detection:\n  s:\n    CommandLine: x\n  condition: s\n"
		rules, rejected := Compile("r.yml", []byte(y))
		require.Empty(t, rules)
		require.Len(t, rejected, 1)
		assert.Contains(t, rejected[0].Reason, tc.reason)
		assert.True(t, rejected[0].Unsupported)
	}
	// A correlation rule in the same file as a valid rule: one of each.
	y := ruleYAML("  s:\n    CommandLine: x\n  condition: s\n") +
		"---\ntitle: many\ncorrelation:\n  type: event_count\n  rules: [x]\n" +
		"---\n" + strings.Replace(ruleYAML("  s:\n    CommandLine: y\n  condition: s\n"), "1111", "9999", 1)
	rules, rejected := Compile("r.yml", []byte(y))
	require.Len(t, rules, 2)
	require.Len(t, rejected, 1)
	assert.Contains(t, rejected[0].Reason, "correlation rules")
	assert.Equal(t, 12, rejected[0].Line, rejected[0].String())
}

// TestBrokenYAML: a file that is not YAML is one rejection that names the
// file and the line where the broken construct begins, counted from 1.
func TestBrokenYAML(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		line int
		msg  string
	}{
		{"title: t\nlogsource:\n  category: process_creation\ndetection:\n  s:\n    CommandLine: 'x\n  condition: s\n", 6, "found unexpected end of stream"},
		{"title: broken\ndetection:\n  s: [\n    x\n", 3, "did not find expected ',' or ']'"},
		{"a: 1\nb: {x: 1\n", 2, "did not find expected ',' or '}'"},
		{"a: 1\nb: 2\n c: 3\n", 3, "mapping values are not allowed in this context"},
		{"a: 1\nb:\n\t- x\n", 3, "found character that cannot start any token"},
	} {
		rules, rejected := Compile("dir/broken.yml", []byte(tc.yaml))
		require.Empty(t, rules)
		require.Len(t, rejected, 1)
		assert.Equal(t, "dir/broken.yml", rejected[0].File)
		assert.Equal(t, fmt.Sprintf("dir/broken.yml:%d: YAML: %s", tc.line, tc.msg), rejected[0].String(), "%q", tc.yaml)
	}
}

// TestLoad: files, directories and globs; a duplicate id is rejected; an
// entry that names nothing is an error.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	write("a/one.yml", ruleYAML("  s:\n    CommandLine: x\n  condition: s\n"))
	write("a/sub/two.yaml", strings.Replace(ruleYAML("  s:\n    CommandLine: y\n  condition: s\n"), "1111", "2222", 1))
	write("a/notes.txt", "not a rule")
	write("b/dup.yml", ruleYAML("  s:\n    CommandLine: z\n  condition: s\n"))
	l, err := Load([]string{filepath.Join(dir, "a"), filepath.Join(dir, "b", "*.yml"), filepath.Join(dir, "a", "one.yml")})
	require.NoError(t, err)
	assert.Len(t, l.Files, 3)
	require.Len(t, l.Rules, 2)
	require.Len(t, l.Rejected, 1)
	assert.Contains(t, l.Rejected[0].Reason, "already loaded from "+filepath.Join(dir, "a", "one.yml"))
	for _, entry := range []string{filepath.Join(dir, "none"), filepath.Join(dir, "*.yml"), filepath.Join(dir, "c")} {
		if entry == filepath.Join(dir, "c") {
			require.NoError(t, os.Mkdir(entry, 0o750))
		}
		_, err := Load([]string{entry})
		require.Error(t, err, entry)
	}
}

// TestNoAllocation: evaluating rules on an event that matches none, and on
// a 4688 whose User is composed, allocates nothing.
func TestNoAllocation(t *testing.T) {
	e := rule(t, "  s:\n    - CommandLine|contains|windash: ' -enc '\n    - CommandLine|re: 'x{3}'\n"+
		"    - User|startswith: 'corp\\bob'\n    - CommandLine|base64offset|contains: 'IEX'\n  k:\n    - 'mimikatz'\n  condition: s or k\n")
	for _, ev := range []*winevent.Event{
		sysmon1(map[string]string{"CommandLine": "powershell -nop -w hidden", "Image": `c:\x.exe`, "User": `CORP\alice`}),
		security4688(map[string]string{"CommandLine": "cmd /c dir", "TargetUserName": "alice", "TargetDomainName": "CORP"}),
	} {
		assert.Zero(t, testing.AllocsPerRun(100, func() {
			if matches(e, ev) {
				t.Fatal("matched")
			}
		}))
	}
}
