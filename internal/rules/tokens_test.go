package rules

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func defaultTokenSet(t testing.TB) tokenSet {
	t.Helper()
	tokens, err := parseTokens(DefaultLists()[ListSourceTokens])
	require.NoError(t, err)
	return newTokenSet(tokens)
}

func TestTokenFind(t *testing.T) {
	ts := defaultTokenSet(t)
	for _, tc := range []struct {
		s, want string // want is the Display of the token found, "" for none
	}{
		{"", ""},
		{"m", ""},
		{"MMC20.Application", "MMC20.Application"},
		{"mmc20.application", "MMC20.Application"},
		{`$c=[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.APPLICATION","10.0.0.5"))`, "GetTypeFromProgID with a remote host"},
		{`[type]::GetTypeFromProgID("Excel.Application")`, ""},
		{`[type]::GetTypeFromProgID ("Excel.Application", "10.0.0.5")`, "GetTypeFromProgID with a remote host"},
		{"[type]::GetTypeFromProgID\t(\"Excel.Application\",\"h\")", "GetTypeFromProgID with a remote host"},
		{`GetTypeFromProgID(f(a, b))`, ""},
		{`GetTypeFromProgID(f(a), "h")`, "GetTypeFromProgID with a remote host"},
		{`GetTypeFromProgID(GetTypeFromProgID("x", "h"))`, "GetTypeFromProgID with a remote host"}, // the inner call has the host
		{`GetTypeFromProgID`, ""},
		{`GetTypeFromProgID(`, ""},
		{`GetTypeFromProgID("x"), "not an argument"`, ""},
		{`GetTypeFromCLSID([guid]"9BA05972-F6A8-11CF-A442-00A0C90A8F39", $h)`, "GetTypeFromCLSID with a remote host"},
		{`x 9ba05972-f6a8-11cf-a442-00a0c90a8f39`, "9BA05972-F6A8-11CF-A442-00A0C90A8F39"},
		{`$o.Document.ActiveView.ExecuteShellCommand("cmd")`, "ExecuteShellCommand"},
		{`Invoke-DCOM -ComputerName x`, "Invoke-DCOM"},
		{`dcomexec.py -object MMC20 dom/user@host`, "dcomexec"},
		{`sharpmove.exe action=dcom computername=x`, "action=dcom"},
		{`SharpMove action=hijackdcom`, "action=hijackdcom"},
		// the first token by position wins
		{`ExecuteExcel4Macro(1) DDEInitiate("a")`, "ExecuteExcel4Macro"},
		{`DDEInitiate("a") ExecuteExcel4Macro(1)`, "DDEInitiate"},
		// near misses
		{`MMC20.Applicatio`, ""},
		{`GetTypeFromProgI("x", "h")`, ""},
		{`Invoke-DCO`, ""},
		{`dcomexe`, ""},
		{strings.Repeat("gettypefromprogi", 100), ""},
	} {
		tok, ok := ts.find(tc.s)
		if tc.want == "" {
			assert.False(t, ok, "%q: found %q", tc.s, tok.Display)
			continue
		}
		if assert.True(t, ok, "%q", tc.s) {
			assert.Equal(t, tc.want, tok.Display, "%q", tc.s)
		}
	}
}

// TestTokenAtEveryPosition puts each token at the start, middle and very end
// of a command line, in both cases.
func TestTokenAtEveryPosition(t *testing.T) {
	ts := defaultTokenSet(t)
	for _, tok := range ts.tokens {
		call := tok.Text
		if tok.WithHost {
			call += `("x", "h")`
		}
		for _, c := range []string{call, strings.ToUpper(call)} {
			for _, s := range []string{c, "x" + c, "some text " + c, c + " trailing", strings.Repeat("y", 1000) + c} {
				got, ok := ts.find(s)
				if assert.True(t, ok, "%q", s) {
					assert.Equal(t, tok.Display, got.Display, "%q", s)
				}
			}
		}
	}
}

func TestHasHostArgumentWindow(t *testing.T) {
	budget := 1 << 20
	// The scan covers hostLookahead bytes from the '(' on.
	inside := "(" + strings.Repeat("a", hostLookahead-2) + ","
	require.Len(t, inside, hostLookahead)
	assert.True(t, hasHostArgument(inside, &budget))
	outside := "(" + strings.Repeat("a", hostLookahead-1) + ","
	assert.False(t, hasHostArgument(outside, &budget))
	assert.False(t, hasHostArgument("", &budget))
	assert.False(t, hasHostArgument("   ", &budget))
	assert.False(t, hasHostArgument(` "x", "h"`, &budget), "no parenthesis")
	assert.True(t, hasHostArgument(` ("x", "h")`, &budget))
	assert.False(t, hasHostArgument(`(("x", "h"))`, &budget))
	assert.False(t, hasHostArgument(`()`, &budget))
	assert.False(t, hasHostArgument(`)(,`, &budget))
}

func TestHasHostArgumentBudget(t *testing.T) {
	// It charges what it scans, up to the closing parenthesis or the comma.
	budget := 100
	assert.False(t, hasHostArgument(`  ("abc") tail`, &budget))
	assert.Equal(t, 100-len(`("abc")`), budget)
	budget = 100
	assert.True(t, hasHostArgument(`("abc", h)`, &budget))
	assert.Equal(t, 100-len(`("abc",`), budget)
	budget = 100
	assert.False(t, hasHostArgument("("+strings.Repeat("a", 50), &budget), "ran off the end")
	assert.Equal(t, 49, budget)
	// A scan the budget cuts short counts as a host: only crafted input gets there.
	budget = 10
	assert.True(t, hasHostArgument("("+strings.Repeat("a", 50), &budget))
	assert.Zero(t, budget)
	budget = 0
	assert.True(t, hasHostArgument(`("abc")`, &budget))
	// ...unless the text ends inside the budget anyway.
	budget = 10
	assert.False(t, hasHostArgument(`(abc`, &budget))
}

// TestTokenFindStuffedCommandLine: a command line stuffed with unclosed calls
// exhausts the scan budget. It then counts as a host call, so junk placed in
// front of a real call cannot hide it; a few unclosed calls stay within the
// budget and detect nothing.
func TestTokenFindStuffedCommandLine(t *testing.T) {
	ts := defaultTokenSet(t)
	hostCall := `[type]::GetTypeFromProgID("Excel.Application","10.0.0.5")`
	for _, junk := range []string{"GetTypeFromProgID(", "GetTypeFromProgID((((,", "GetTypeFromCLSID(("} {
		tok, ok := ts.find(strings.Repeat(junk, 2000) + hostCall)
		assert.True(t, ok, junk)
		assert.True(t, tok.WithHost, junk)
		_, ok = ts.find(strings.Repeat(junk, 2000))
		assert.True(t, ok, "%s: exhausting the budget counts as a host call", junk)
	}
	_, ok := ts.find(strings.Repeat("GetTypeFromProgID(", 3) + strings.Repeat(" x", 1000))
	assert.False(t, ok, "a few unclosed calls stay within the budget")
	_, ok = ts.find(strings.Repeat(`GetTypeFromProgID("Excel.Application") `, 1000))
	assert.False(t, ok, "many closed calls without a host are not detections")
}

func TestTokenSetConfiguration(t *testing.T) {
	_, err := New(Options{Lists: map[string]ListEdit{ListSourceTokens: {Add: []string{"abc"}}}})
	require.ErrorContains(t, err, "shorter than 4 characters")
	_, err = New(Options{Lists: map[string]ListEdit{ListSourceTokens: {Add: []string{"(host)"}}}})
	require.Error(t, err)
	// A token must fit the ends of script block parts the reassembly keeps.
	_, err = New(Options{Lists: map[string]ListEdit{ListSourceTokens: {Add: []string{strings.Repeat("x", maxTokenLen+1) + "(host)"}}}})
	require.ErrorContains(t, err, "longer than 256 characters")
	_, err = New(Options{Lists: map[string]ListEdit{ListSourceTokens: {Add: []string{strings.Repeat("x", maxTokenLen) + "(host)"}}}})
	require.NoError(t, err)
	many := make([]string, maxTokens)
	for i := range many {
		many[i] = strings.Repeat("x", 4) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	_, err = New(Options{Lists: map[string]ListEdit{ListSourceTokens: {Add: many}}})
	require.ErrorContains(t, err, "at most")

	// Added tokens, with and without "(host)", are matched like the defaults.
	e, err := New(Options{Lists: map[string]ListEdit{ListSourceTokens: {
		Add:    []string{"Custom.Object", "OpenRemote(host)"},
		Remove: []string{"dcomexec"},
	}}})
	require.NoError(t, err)
	for s, want := range map[string]string{
		"x CUSTOM.OBJECT y":       "Custom.Object",
		`OpenRemote("a", "b")`:    "OpenRemote with a remote host",
		`OpenRemote("a")`:         "",
		"dcomexec.py -object x y": "",
	} {
		tok, ok := e.tokens.find(s)
		if want == "" {
			assert.False(t, ok, s)
			continue
		}
		if assert.True(t, ok, s) {
			assert.Equal(t, want, tok.Display, s)
		}
	}
}

func TestTokenFindDoesNotAllocate(t *testing.T) {
	ts := defaultTokenSet(t)
	s := strings.Repeat(`GetTypeFromProgID("Excel.Application") MMC20.Applicatio `, 50)
	assert.Zero(t, testing.AllocsPerRun(10, func() { ts.find(s) }))
}
