package rules

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

func TestNormalizedBase(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\System32\cmd.exe`:    "cmd.exe",
		`"C:\Program Files\App\app.exe"`: "app.exe",
		`  'C:\x\y.exe'  `:               "y.exe",
		`C:/Windows/System32/cmd.exe`:    "cmd.exe",
		`C:\Windows\System32\`:           "System32",
		`C:\Windows\System32\\//`:        "System32",
		`cmd.exe`:                        "cmd.exe",
		`\\server\share\tool.exe`:        "tool.exe",
		`C:\dir\ spaced .exe `:           "spaced .exe",
		`C:\dir\"quoted.exe"`:            "quoted.exe",
		"C:\\dir\\cmd.exe\r\n":           "cmd.exe",
		``:                               "",
		`\`:                              "",
		`\\\///`:                         "",
		`"`:                              "",
		`C:`:                             "C:",
		"C:\\dir\\\xff\xfe.exe":          "\xff\xfe.exe",
		`C:\Users\jane\AppData\Local\Temp\ü.exe`: "ü.exe",
	} {
		assert.Equal(t, want, normalizedBase(in), "%q", in)
	}
}

func TestSeedBase(t *testing.T) {
	for in, want := range map[string]string{
		`C:\Windows\System32\cmd.exe`: "cmd.exe",
		`"C:\Program Files\a.exe"`:    `a.exe"`, // the seed keeps the quote
		`C:/Windows/System32/cmd.exe`: `C:/Windows/System32/cmd.exe`,
		`C:\Windows\`:                 "",
		`cmd.exe`:                     "cmd.exe",
		``:                            "",
	} {
		assert.Equal(t, want, seedBase(in), "%q", in)
	}
}

func TestNameBuf(t *testing.T) {
	var nb nameBuf
	nb.set("CMD.EXE")
	assert.Equal(t, "cmd.exe", nb.String())
	assert.Equal(t, "cmd.exe", nb.view())
	nb.set("ÜBER.EXE") // only ASCII is folded
	assert.Equal(t, "Über.exe", nb.String())
	nb.set(strings.Repeat("A", maxName))
	assert.Equal(t, strings.Repeat("a", maxName), nb.String())
	nb.set(strings.Repeat("A", maxName+1))
	assert.Empty(t, nb.String(), "a name too long for the buffer matches nothing")
	assert.Empty(t, nb.view())
	nb.set("")
	assert.Empty(t, nb.view())
}

func TestLowerASCII(t *testing.T) {
	assert.Equal(t, "abc", lowerASCII("ABC"))
	assert.Equal(t, "already lower", lowerASCII("already lower"))
	s := "already lower"
	assert.Zero(t, testing.AllocsPerRun(10, func() { s = lowerASCII(s) }))
}

// asciiLower folds only ASCII letters, as the rules do.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

func TestIndexFoldMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbB-/\\ \x00\xff"
	randomString := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 20000 {
		s := randomString(rng.IntN(24))
		needle := asciiLower(randomString(rng.IntN(5)))
		want := strings.Index(asciiLower(s), needle)
		assert.Equal(t, want, indexFold(s, needle), "indexFold(%q, %q)", s, needle)
		assert.Equal(t, want >= 0, containsFold(s, needle))
		assert.Equal(t, strings.HasPrefix(asciiLower(s), needle), hasPrefixFold(s, needle), "hasPrefixFold(%q, %q)", s, needle)
	}
	assert.Equal(t, 0, indexFold("", ""))
	assert.Equal(t, -1, indexFold("", "a"))
	assert.Equal(t, 3, indexFold("xx EMBEDDING", "embedding"))
}

// globReference is the meaning of a '*' pattern, as a regular expression over
// ASCII-folded text.
func globReference(pattern string) *regexp.Regexp {
	parts := strings.Split(asciiLower(pattern), "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`)
}

func TestGlobMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"cmd.exe", "CMD.EXE", true},
		{"cmd.exe", "xcmd.exe", false},
		{"*\\ccmcache\\*", `C:\Windows\CCMCache\a\b.exe`, true},
		{"appvdllsurrogate*.exe", "AppVDllSurrogate64.exe", true},
		{"appvdllsurrogate*.exe", "AppVDllSurrogate64.exe.bak", false},
		{"ab*ba", "aba", false},
		{"ab*ba", "abba", true},
		{"a*a*a", "aa", false},
		{"a*a*a", "aaa", true},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "cba", false},
		{"nt authority\\*", `NT AUTHORITY\SYSTEM`, true},
		{"**x**", "x", true},
	} {
		assert.Equal(t, tc.want, compileGlob(tc.pattern).match(tc.s), "%q ~ %q", tc.pattern, tc.s)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aAb*"
	randomString := func(n int, stars bool) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet)-1)]
			if stars && rng.IntN(4) == 0 {
				b[i] = '*'
			}
		}
		return string(b)
	}
	for range 20000 {
		pattern := randomString(rng.IntN(7), true)
		s := randomString(rng.IntN(9), false)
		want := globReference(pattern).MatchString(asciiLower(s))
		require.Equal(t, want, compileGlob(pattern).match(s), "%q ~ %q", pattern, s)
	}
}

func TestGlobMatchDoesNotAllocate(t *testing.T) {
	g := compileGlob("*\\ccmcache\\*\\setup*.exe")
	s := strings.Repeat(`C:\Windows\ccmcache\`, 10) + `x\setup64.exe`
	require.True(t, g.match(s))
	assert.Zero(t, testing.AllocsPerRun(10, func() { g.match(s) }))
}

func TestCheckGlob(t *testing.T) {
	for _, bad := range []string{"", "*", "***"} {
		require.Error(t, checkGlob(bad), "%q", bad)
	}
	for _, good := range []string{"a", "*a*", "cmd.exe"} {
		assert.NoError(t, checkGlob(good), "%q", good)
	}
}

// TestNonASCIINamesFoldLikeEvents is the regression for configured names
// being folded with strings.ToLower (which also folds "Ä" and "Ü") while
// event text is folded for ASCII only: an exclusion or list entry holding a
// non-ASCII capital never matched the very text it was copied from.
func TestNonASCIINamesFoldLikeEvents(t *testing.T) {
	assert.Equal(t, "ws-mÜnchen-01", lowerASCII("WS-MÜNCHEN-01"))
	assert.True(t, compileGlob("WS-MÜNCHEN-*").match("ws-mÜnchen-01"))
	assert.True(t, compileGlob("WS-MÜNCHEN-*").match("WS-MÜNCHEN-01"))

	sysmon := "Microsoft-Windows-Sysmon/Operational"
	ev := winevent.Event{
		EventID: 1, Channel: sysmon, Computer: "WS-MÜNCHEN-01",
		Image: `C:\Tools\SCHÄDLICH.EXE`, ParentImage: `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`,
		ParentCommandLine: `EXCEL.EXE /automation -Embedding`,
	}
	e, err := New(Options{
		Lists:      map[string]ListEdit{ListSuspiciousChildren: {Add: []string{"SCHÄDLICH.EXE"}}},
		Exclusions: []Exclusion{{Name: "munich", Host: "WS-MÜNCHEN-*"}},
	})
	require.NoError(t, err)
	v := e.Evaluate(&ev)
	assert.Equal(t, COMSuspiciousChild, v.Pattern, "the list entry matches the name it was copied from")
	assert.Equal(t, "munich", v.Excluded, "the exclusion matches the host it was copied from")
}

// TestEmbeddingMarkerIsAWholeArgument: -Embedding and /automation count only
// as whole arguments, as Windows splits a command line. Before, any '-' or
// '/' followed by the word matched, so a workbook or share named for
// automation made a user-opened Excel a COM server.
func TestEmbeddingMarkerIsAWholeArgument(t *testing.T) {
	excel := `"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE"`
	for _, cl := range []string{
		excel + ` /automation -Embedding`,
		`C:\Windows\system32\mmc.exe -Embedding`,
		`mmc.exe /embedding`,
		`mmc.exe -EMBEDDING`,
		`mmc.exe "-Embedding"`,
		`mmc.exe -Emb"edd"ing`, // quotes inside an argument are dropped
		"mmc.exe\t-Embedding\t",
		excel + ` /Automation`,
		`C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE /automation -Embedding`, // unquoted path with spaces
		`"C:\x\a.exe" "a \"b\" c" -Embedding`,                                              // escaped quotes inside a quoted argument
		`"C:\x\a.exe" "C:\dir\\" -Embedding`,                                               // 2n backslashes before a quote: the quote closes
	} {
		assert.True(t, hasEmbeddingMarker(cl), "%s", cl)
	}
	for _, cl := range []string{
		excel + ` "\\fs01\finance\Q3-Automation-Plan.xlsx"`,
		excel + ` \\fs01\qa-automation\budget.xlsx`,
		excel + ` C:\Users\bob\Q3-Automation-Plan.xlsx`,
		excel + ` /automationX`,
		excel + ` -Embeddings`,
		excel + ` -Embedding-Report.xlsx`,
		excel + ` "/automation -Embedding"`,                  // one quoted argument
		excel + ` "C:\dir\" -Embedding"`,                     // \" is a literal quote: the argument runs on
		`"C:\Program Files\-Embedding\mmc.exe"`,              // the program name is not an argument
		`C:\-Embedding\mmc.exe`,                              // nor unquoted
		`mmc.exe ` + strings.Repeat(`\`, 100) + `-Embedding`, // part of a long argument
		`mmc.exe -Embedding` + strings.Repeat(`\`, 3) + `"`,  // 2n+1 backslashes: a literal quote joins it
		`mmc.exe -`,
		`mmc.exe /`,
		``,
		`"unterminated -Embedding`,
	} {
		assert.False(t, hasEmbeddingMarker(cl), "%s", cl)
	}
	line := excel + ` "\\fs01\finance\Q3-Automation-Plan.xlsx" /x -y "quoted arg" /automation -Embedding`
	assert.Zero(t, testing.AllocsPerRun(100, func() { hasEmbeddingMarker(line) }))
}

// TestAutomationInAFileNameIsNotAServer is the finance-macro false positive:
// Excel opened by a user on a workbook whose name holds "-Automation", and
// its macro's shell.
func TestAutomationInAFileNameIsNotAServer(t *testing.T) {
	e, err := New(Options{})
	require.NoError(t, err)
	sysmon := "Microsoft-Windows-Sysmon/Operational"
	excel := `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`
	for _, parentCmd := range []string{
		`"` + excel + `" "\\fs01\finance\Q3-Automation-Plan.xlsx"`,
		`"` + excel + `" "\\fs01\qa-automation\budget.xlsx"`,
	} {
		child := winevent.Event{
			EventID: 1, Channel: sysmon, Computer: "ws01",
			Image: `C:\Windows\System32\cmd.exe`, CommandLine: `cmd.exe /c copy x y`,
			ParentImage: excel, ParentCommandLine: parentCmd,
		}
		assert.Equal(t, None, e.Evaluate(&child).Pattern, "%s", parentCmd)
		child.ParentCommandLine = `"` + excel + `" /automation -Embedding`
		assert.Equal(t, COMSuspiciousChild, e.Evaluate(&child).Pattern, "the same child of a DCOM-started Excel")
	}
	activation := winevent.Event{
		EventID: 1, Channel: sysmon, Computer: "ws01",
		Image: excel, CommandLine: `"` + excel + `" "C:\Users\bob\Q3-Automation-Plan.xlsx"`,
		ParentImage: `C:\Windows\System32\svchost.exe`, ParentCommandLine: `C:\Windows\system32\svchost.exe -k DcomLaunch -p`,
	}
	assert.Equal(t, None, e.Evaluate(&activation).Pattern)
}
