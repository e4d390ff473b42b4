package rules

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// encodeCommand is what PowerShell's -EncodedCommand takes: base64 of the
// text as UTF-16LE.
func encodeCommand(text string) string {
	units := utf16.Encode([]rune(text))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestEncodedCommandIsDecoded(t *testing.T) {
	ts := defaultTokenSet(t)
	dcom := encodeCommand("Invoke-DCOM -ComputerName srv01")
	hostCall := encodeCommand(`$c=[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application.1","fs01"))`)
	local := encodeCommand(`[type]::GetTypeFromProgID("Excel.Application")`)
	benign := encodeCommand("Get-ChildItem C:\\ | Out-File x.txt")
	const decoded = "Invoke-DCOM" + decodedSuffix
	for _, tc := range []struct {
		s, want string
	}{
		// catalogue B22
		{"powershell.exe -NoP -EncodedCommand SQBuAHYAbwBrAGUALQBEAEMATwBNACAALQBDAG8AbQBwAHUAdABlAHIATgBhAG0AZQAgAHMAcgB2ADAAMQA=", decoded},
		// every spelling PowerShell accepts: -e, -ec, any prefix of
		// -EncodedCommand, any case, '-', '/' or a Unicode dash
		{"powershell -e " + dcom, decoded},
		{"powershell -E " + dcom, decoded},
		{"powershell -ec " + dcom, decoded},
		{"powershell -eC " + dcom, decoded},
		{"powershell -en " + dcom, decoded},
		{"powershell -enc " + dcom, decoded},
		{"powershell -ENCOD " + dcom, decoded},
		{"powershell -encodedcommand " + dcom, decoded},
		{"pwsh.exe /enc " + dcom, decoded},
		{"powershell \u2013enc " + dcom, decoded},
		{"powershell \u2014e " + dcom, decoded},
		{"powershell \u2015EncodedCommand " + dcom, decoded},
		{"powershell -w hidden -enc\t\t" + dcom + " -nop", decoded},
		{`powershell -enc "` + dcom + `"`, decoded},
		{`powershell -enc '` + dcom + `'`, decoded},
		{`"powershell.exe" "-enc" ` + dcom, decoded},
		{"powershell -enc " + strings.TrimRight(dcom, "="), decoded}, // padding left out
		{"powershell -enc " + hostCall, "GetTypeFromProgID with a remote host (decoded from -EncodedCommand)"},
		// nested: an encoded command that runs another one
		{"powershell -enc " + encodeCommand("powershell -enc "+dcom), decoded},
		// a plain token before the encoded one wins, by position
		{"Invoke-DCOM x; powershell -enc " + dcom, "Invoke-DCOM"},
		// nothing to find
		{"powershell -enc " + local, ""},
		{"powershell -enc " + benign, ""},
		// not the parameter
		{"powershell -ExecutionPolicy " + dcom, ""},
		{"powershell -ex " + dcom, ""},
		{"powershell -encodedcommandx " + dcom, ""},
		{"powershell -encodedcommand2 " + dcom, ""},
		{"powershell x-enc " + dcom, ""},
		{"powershell -enc:" + dcom, ""},
		{"powershell -enc", ""},
		{"powershell -enc ", ""},
		{"powershell -enc !!!!", ""},
		{"powershell \xe2\x80", ""},
		{"powershell \xe2\x80\x93", ""},
		{"-e", ""},
		// a plain token after something that looks like the parameter
		{"x -e Invoke-DCOM -ComputerName y", "Invoke-DCOM"},
	} {
		tok, ok := findLateral(&ts, tc.s)
		if tc.want == "" {
			assert.False(t, ok, "%q found %q", tc.s, tok)
			continue
		}
		if assert.True(t, ok, tc.s) {
			assert.Equal(t, tc.want, tok, tc.s)
		}
	}
}

func TestEncodedCommandNestingIsBounded(t *testing.T) {
	ts := defaultTokenSet(t)
	text := "Invoke-DCOM -ComputerName srv01"
	for depth := 1; depth <= 3; depth++ {
		text = "powershell -enc " + encodeCommand(text)
		_, ok := findLateral(&ts, text)
		assert.Equal(t, depth <= maxEncodedDepth, ok, "depth %d", depth)
	}
}

func TestDecodeUTF16Base64(t *testing.T) {
	decode := func(arg string) string {
		budget := maxDecoded
		dst := make([]byte, len(arg)*3/8+1)
		return string(decodeUTF16Base64(dst, arg, &budget))
	}
	assert.Equal(t, "Invoke-DCOM", decode(encodeCommand("Invoke-DCOM")))
	// Non-ASCII characters and invalid UTF-16 (a lone surrogate, an odd
	// last byte) become nonASCII; the ASCII around them stays.
	assert.Equal(t, "a\x80b", decode(encodeCommand("aéb")))
	assert.Equal(t, "a\x80\x80b", decode(encodeCommand("a😀b")))
	lone := base64.StdEncoding.EncodeToString([]byte{'a', 0, 0x00, 0xD8, 'b', 0})
	assert.Equal(t, "a\x80b", decode(lone))
	odd := base64.StdEncoding.EncodeToString([]byte{'a', 0, 'b'})
	assert.Equal(t, "a", decode(odd))
	// It stops at the first byte outside the alphabet.
	assert.Equal(t, "ab", decode(encodeCommand("ab")+"!"+encodeCommand("cd")))
	assert.Empty(t, decode(""))
	assert.Empty(t, decode("!"))

	// The budget bounds what is decoded, and is charged.
	budget := 10
	dst := make([]byte, 100)
	assert.Equal(t, "abcde", string(decodeUTF16Base64(dst, encodeCommand("abcdefghij"), &budget)))
	assert.Zero(t, budget)
}

func TestGiganticEncodedCommandIsDecodedUpToTheBound(t *testing.T) {
	ts := defaultTokenSet(t)
	// The token at the start of 100,000 characters is found; one past the
	// first maxDecoded/2 characters is not, and the rest is not decoded.
	filler := strings.Repeat("x", 100_000)
	_, ok := findLateral(&ts, "powershell -enc "+encodeCommand("Invoke-DCOM "+filler))
	assert.True(t, ok)
	_, ok = findLateral(&ts, "powershell -enc "+encodeCommand(filler[:maxDecoded/2]+"Invoke-DCOM"))
	assert.False(t, ok)
	_, ok = findLateral(&ts, "powershell -enc "+encodeCommand(filler[:maxDecoded/2-20]+"Invoke-DCOM"))
	assert.True(t, ok)
	// The bound is shared by every encoded argument of one text.
	many := strings.Repeat("powershell -enc "+encodeCommand(filler[:maxDecoded/4])+" ", 2)
	_, ok = findLateral(&ts, many+"powershell -enc "+encodeCommand("Invoke-DCOM"))
	assert.False(t, ok)
	_, ok = findLateral(&ts, many+"Invoke-DCOM")
	assert.True(t, ok, "plain tokens are searched after the budget is spent")
	// Megabytes of base64 that is not UTF-16 text, and of invalid base64.
	for _, s := range []string{
		"powershell -enc " + strings.Repeat("////", 1<<18),
		"powershell -enc " + strings.Repeat("A", 1<<20) + "!",
		strings.Repeat("-e AAAA ", 1<<16),
	} {
		_, ok := findLateral(&ts, s)
		assert.False(t, ok)
	}
}

func TestEncodedCommandAllocatesNothing(t *testing.T) {
	ts := defaultTokenSet(t)
	with := "powershell -NoP -w hidden -enc " + encodeCommand("Get-ChildItem C:\\ -Recurse | Out-File x.txt")
	without := `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoP -ExecutionPolicy Bypass -File C:\ops\backup.ps1 -Embedding`
	ts.find(with, "")
	assert.Zero(t, testing.AllocsPerRun(100, func() { ts.find(without, "") }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { ts.find(with, "") }), "the decode buffer is reused")
}

func TestEncodedCommandInEvaluate(t *testing.T) {
	e, err := New(Options{})
	require.NoError(t, err)
	seed, err := New(Options{Profile: Seed})
	require.NoError(t, err)
	ev := &winevent.Event{
		EventID: winevent.SysmonProcessCreate, Channel: "Microsoft-Windows-Sysmon/Operational",
		Image: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, ParentImage: `C:\Windows\System32\cmd.exe`,
		CommandLine: "powershell.exe -NoP -enc " + encodeCommand("Invoke-DCOM -ComputerName srv01"),
	}
	v := e.Evaluate(ev)
	assert.Equal(t, SourceInvocation, v.Pattern)
	assert.Equal(t, "Invoke-DCOM (decoded from -EncodedCommand)", v.Evidence)
	assert.Equal(t, None, seed.Evaluate(ev).Pattern, "the seed profile stays the query as written")
}

// FuzzEncodedCommand: whatever the text, the search neither panics nor
// reads out of bounds, and a text found plainly is found encoded too.
func FuzzEncodedCommand(f *testing.F) {
	for _, s := range []string{
		"Invoke-DCOM -ComputerName srv01",
		`[type]::GetTypeFromProgID("MMC20.Application","h")`,
		"powershell -enc " + encodeCommand("dcomexec"),
		"-e", "-enc \xe2\x80", "\u2013ec AAAA", "-e ////====",
	} {
		f.Add(s)
	}
	ts := newTokenSet(mustTokens(f))
	f.Fuzz(func(t *testing.T, s string) {
		plain, found := findLateral(&ts, s)
		arg := encodeCommand(s)
		hit := ts.find("powershell -enc "+arg, "")
		decoded, foundEncoded := hit.display(), hit.lateral()
		// A plain token of an ASCII text is found in the text encoded (the
		// same bytes, decoded within the bound).
		if found && !strings.HasSuffix(plain, decodedSuffix) && len(s) < maxDecoded/2 && isASCII(s) {
			assert.True(t, foundEncoded, "found %q plainly, not encoded", plain)
		}
		// What is found in an encoded command was decoded, unless the
		// base64 text spells a token itself.
		if foundEncoded && !containsFold(arg, hit.token.Text) {
			assert.True(t, strings.HasSuffix(decoded, decodedSuffix), decoded)
		}
	})
}

const decodedSuffix = " (decoded from -EncodedCommand)"

func mustTokens(t testing.TB) []sourceToken {
	t.Helper()
	tokens, err := parseTokens(DefaultLists()[ListSourceTokens], DefaultLists()[ListDualUseTokens])
	require.NoError(t, err)
	return tokens
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
