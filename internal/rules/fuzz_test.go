package rules

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// seedPatterns are the patterns each profile can produce from one event.
var seedPatterns = map[Pattern]bool{None: true, COMSuspiciousChild: true, ConfigTool: true, CommandLineRef: true}

var extendedPatterns = map[Pattern]bool{
	None: true, COMSuspiciousChild: true, ConfigTool: true, ServerActivation: true, ServerChild: true, SourceInvocation: true,
}

// FuzzEvaluate feeds arbitrary process fields, as Sysmon 1 and as Security
// 4688, to both profiles and to an extended engine with an exclusion built
// from the fuzzed glob. Evaluate must not panic and must return a valid
// verdict: a known pattern of the profile, a known severity, evidence exactly
// when there is a detection, and an exclusion only where the glob matches.
func FuzzEvaluate(f *testing.F) {
	events, _ := loadCatalogue(f)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	globs := []string{"*\\ccmcache\\*", "*", "cmd.exe", "*a*b*", "NT AUTHORITY\\*", "*Ä*", "**x**"}
	for i, e := range events {
		ev := e.Event
		image, parent := str(ev, "Image"), str(ev, "ParentImage")
		if image == "" {
			image, parent = str(ev, "NewProcessName"), str(ev, "ParentProcessName")
		}
		f.Add(image, parent, str(ev, "CommandLine"), str(ev, "ParentCommandLine"), str(ev, "OriginalFileName"), globs[i%len(globs)])
	}
	for _, s := range [][6]string{
		{"", "", "", "", "", ""},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\mmc.exe`, "cmd", "mmc.exe -Embedding", "", "*"},
		{`"C:\Windows\System32\cmd.exe"`, `C:/Windows/System32/MMC.EXE/`, "cmd", "mmc.exe /automation", "Cmd.Exe", "*cmd*"},
		{`C:\x\mmc.exe`, `C:\Windows\System32\svchost.exe`, "mmc.exe -Embedding", "svchost.exe -k DcomLaunch -p", "", "*dcom*"},
		{`C:\x\a.exe`, `C:\x\b.exe`, `GetTypeFromProgID("MMC20.Application", "10.0.0.5")`, "", "", "*10.0.0.5*"},
		{`C:\x\a.exe`, `C:\x\b.exe`, strings.Repeat("GetTypeFromProgID(", 100), "", "", "*("},
		{`C:\x\dcomcnfg.exe`, `\`, "DCOM -Exec", "", "dcomcnfg.exe", "*DCOM*-Exec*"},
		{strings.Repeat("A", 300) + ".exe", `C:\x\excel.exe`, "/q /c x 1> \\\\127.0.0.1\\ADMIN$\\__1 2>&1", "EXCEL.EXE -embedding", "", "*127.0.0.1*"},
		{"\xff\xfe", "\x00", "\xc3\x84", "", "\xc3\xa4", "*\xc3\x84*"},
		{`C:\x\SCHÄDLICH.EXE`, `C:\x\EXCEL.EXE`, "WS-MÜNCHEN-01 /c x", "EXCEL.EXE -Embedding", "", "WS-MÜNCHEN-01*"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}

	seed, err := New(Options{Profile: Seed})
	if err != nil {
		f.Fatal(err)
	}
	extended, err := New(Options{Profile: Extended})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, image, parentImage, commandLine, parentCommandLine, originalFileName, glob string) {
		excluding, err := New(Options{Exclusions: []Exclusion{{Name: "fuzz", CommandLine: glob}}})
		if err != nil {
			if checkGlob(glob) == nil {
				t.Fatalf("exclusion %q rejected: %v", glob, err)
			}
			excluding = nil
		}
		sysmon := winevent.Event{
			EventID: winevent.SysmonProcessCreate, Channel: "Microsoft-Windows-Sysmon/Operational",
			Image: image, ParentImage: parentImage, CommandLine: commandLine,
			ParentCommandLine: parentCommandLine, OriginalFileName: originalFileName, User: parentCommandLine,
		}
		security := winevent.Event{
			EventID: winevent.SecurityProcessCreate, Channel: "Security",
			NewProcessName: image, ParentProcessName: parentImage, CommandLine: commandLine,
			Image: originalFileName, ParentCommandLine: parentCommandLine, TargetUserName: parentCommandLine,
		}
		for _, ev := range []*winevent.Event{&sysmon, &security} {
			checkVerdict(t, seed.Evaluate(ev), seedPatterns)
			base := extended.Evaluate(ev)
			checkVerdict(t, base, extendedPatterns)
			if v := extended.Evaluate(ev); v != base {
				t.Fatalf("not deterministic: %+v then %+v", base, v)
			}
			if excluding == nil {
				continue
			}
			v := excluding.Evaluate(ev)
			checkVerdict(t, v, extendedPatterns)
			if v.Pattern != base.Pattern || v.Evidence != base.Evidence {
				t.Fatalf("an exclusion changed the pattern: %+v vs %+v", v, base)
			}
			wantExcluded := base.Pattern != None && compileGlob(glob).match(commandLine)
			if (v.Excluded == "fuzz") != wantExcluded || (v.Excluded != "" && v.Excluded != "fuzz") {
				t.Fatalf("glob %q on %q: excluded %q, want %v", glob, commandLine, v.Excluded, wantExcluded)
			}
		}
		// The glob itself agrees with its meaning (valid UTF-8 only: the
		// regular expression reference cannot take anything else).
		if utf8.ValidString(glob) && utf8.ValidString(commandLine) && len(glob) < 64 {
			if want := globReference(glob).MatchString(asciiLower(commandLine)); compileGlob(glob).match(commandLine) != want {
				t.Fatalf("glob %q on %q: want %v", glob, commandLine, want)
			}
		}
	})
}

func checkVerdict(t *testing.T, v Verdict, allowed map[Pattern]bool) {
	t.Helper()
	if v.Pattern >= patternCount || !allowed[v.Pattern] {
		t.Fatalf("pattern %d is not one this profile produces", v.Pattern)
	}
	if v.Pattern.Info().Name == "" {
		t.Fatalf("pattern %d has no name", v.Pattern)
	}
	if int(v.Severity) >= len(severityNames) {
		t.Fatalf("severity %d", v.Severity)
	}
	if v.Pattern == None {
		if v != (Verdict{}) {
			t.Fatalf("no pattern but %+v", v)
		}
		return
	}
	if v.Evidence == "" {
		t.Fatal("a detection without evidence")
	}
	if v.Severity != v.Pattern.Info().Severity {
		t.Fatalf("severity %v, default %v", v.Severity, v.Pattern.Info().Severity)
	}
}

// splitCommandLine is the reference for commandLineArgs: the arguments
// after the program name as Windows splits them, built as whole strings.
func splitCommandLine(commandLine string) []string {
	rest := skipProgramName(commandLine)
	var args []string
	var arg strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(rest); {
		c := rest[i]
		switch {
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, arg.String())
				arg.Reset()
				inArg = false
			}
			i++
			continue
		case c == '\\':
			n := len(rest[i:]) - len(strings.TrimLeft(rest[i:], `\`))
			if i+n < len(rest) && rest[i+n] == '"' {
				arg.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					arg.WriteByte('"')
				} else {
					quoted = !quoted
				}
				i += n + 1
			} else {
				arg.WriteString(strings.Repeat(`\`, n))
				i += n
			}
		case c == '"' && quoted && i+1 < len(rest) && rest[i+1] == '"':
			arg.WriteByte('"')
			i += 2
		case c == '"':
			quoted = !quoted
			i++
		default:
			arg.WriteByte(c)
			i++
		}
		inArg = true
	}
	if inArg {
		args = append(args, arg.String())
	}
	return args
}

// FuzzEmbeddingMarker compares hasEmbeddingMarker, which keeps only a
// 16-byte window of each argument, with the whole arguments of the
// reference splitter: a marker is found exactly when one argument is
// -Embedding, /Embedding, -automation or /automation in any ASCII case.
func FuzzEmbeddingMarker(f *testing.F) {
	for _, s := range []string{
		`"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" /automation -Embedding`,
		`"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" "\\fs01\finance\Q3-Automation-Plan.xlsx"`,
		`mmc.exe "-Embedding"`, `mmc.exe -Emb"edd"ing`, `"C:\x\a.exe" "C:\dir\\" -Embedding`,
		`"C:\x\a.exe" "C:\dir\" -Embedding"`, `mmc.exe -Embedding\\\"`, `mmc.exe ""-Embedding""`,
		`mmc.exe "a""b" -embedding`, "\t mmc.exe\t/AUTOMATION", `"unterminated -Embedding`,
		`mmc.exe ` + strings.Repeat(`\`, 40) + `"-Embedding`,
	} {
		f.Add(s)
	}
	markers := map[string]bool{"-embedding": true, "/embedding": true, "-automation": true, "/automation": true}
	lowerASCIIOnly := func(s string) string {
		b := []byte(s)
		for i := range b {
			b[i] = lower(b[i])
		}
		return string(b)
	}
	f.Fuzz(func(t *testing.T, commandLine string) {
		want := false
		for _, arg := range splitCommandLine(commandLine) {
			want = want || markers[lowerASCIIOnly(arg)]
		}
		if got := hasEmbeddingMarker(commandLine); got != want {
			t.Fatalf("hasEmbeddingMarker(%q) = %v, arguments %q", commandLine, got, splitCommandLine(commandLine))
		}
	})
}
