package rules

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func defaultTokenSet(t testing.TB) tokenSet {
	t.Helper()
	tokens, err := parseTokens(DefaultLists()[ListSourceTokens], DefaultLists()[ListDualUseTokens])
	require.NoError(t, err)
	return newTokenSet(tokens)
}

// findLateral is the search's lateral-movement hit in s, for an event
// without a computer name: its evidence and whether there is one.
func findLateral(ts *tokenSet, s string) (string, bool) {
	h := ts.find(s, "")
	return h.display(), h.lateral()
}

func TestTokenFind(t *testing.T) {
	ts := defaultTokenSet(t)
	for _, tc := range []struct {
		s, want string // want is the evidence of the lateral hit, "" for none
	}{
		{"", ""},
		{"m", ""},
		// dual-use tokens alone are local COM use
		{"MMC20.Application", ""},
		{"mmc20.application", ""},
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
		// a second argument that names no server
		{`[type]::GetTypeFromProgID("Excel.Application", $true)`, ""},
		{`Type.GetTypeFromProgID("Excel.Application", true)`, ""},
		{`[type]::GetTypeFromProgID("Excel.Application", $null, $true)`, ""},
		{`[type]::GetTypeFromProgID("Excel.Application", "", $false)`, ""},
		{`[type]::GetTypeFromProgID("Excel.Application", '  ')`, ""},
		{`[type]::GetTypeFromProgID("Excel.Application", "srv01", $true)`, "GetTypeFromProgID with a remote host"},
		// loopback hosts count, as loopback
		{`GetTypeFromProgID(\""MMC20.application\"",\""localhost\"")`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", "127.0.0.1")`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", "127.1.2.3")`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", ".")`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", $env:COMPUTERNAME)`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", [Environment]::MachineName)`, "GetTypeFromProgID with a loopback host"},
		{`GetTypeFromProgID("MMC20.Application", "127.0.0.1.example.com")`, "GetTypeFromProgID with a remote host"},
		{`GetTypeFromProgID("MMC20.Application", "localhost2")`, "GetTypeFromProgID with a remote host"},
		// VBScript and JScript name the server as the second argument too
		{`Set o = CreateObject("Excel.Application", "srv01")`, "CreateObject with a remote host"},
		{`var o = new ActiveXObject("Excel.Application", "srv01");`, "ActiveXObject with a remote host"},
		{`Set o = CreateObject("Excel.Application")`, ""},
		{`Set o = WScript.CreateObject("WScript.Shell", "Sink_")`, ""},
		{`Set o = wscript.createobject("Excel.Application", "x_"): o.RegisterXLL "a.xll"`, ""},
		// dual-use tokens with a target named in the same text
		{`$o.Document.ActiveView.ExecuteShellCommand("cmd")`, ""},
		{`Invoke-ExcelXLL -ComputerName srv01 -Method RegisterXLL`, "RegisterXLL with a remote target"},
		{`x.exe /target:10.0.0.5 ExecuteExcel4Macro`, "ExecuteExcel4Macro with a remote target"},
		{`x.exe computername=srv01 DDEInitiate`, "DDEInitiate with a remote target"},
		{`x.exe --rhost "10.0.0.5" 9BA05972-F6A8-11CF-A442-00A0C90A8F39`, "9BA05972-F6A8-11CF-A442-00A0C90A8F39 with a remote target"},
		{`x.exe -ComputerName localhost RegisterXLL`, "RegisterXLL with a loopback target"},
		{`x.exe -ComputerName localhost -cn srv02 RegisterXLL`, "RegisterXLL with a remote target"},
		{`x.exe -ComputerName $null RegisterXLL`, ""},
		{"ParameterBinding(Invoke-Xll): name=\"ComputerName\"; value=\"srv01\"\r\nParameterBinding(Invoke-Xll): name=\"Method\"; value=\"RegisterXLL\"", "RegisterXLL with a remote target"},
		{"ParameterBinding(Invoke-Xll): name=\"ComputerName\"; value=\"\"\r\nParameterBinding(Invoke-Xll): name=\"Method\"; value=\"RegisterXLL\"", ""},
		{"ParameterBinding(Invoke-Xll): name=\"Path\"; value=\"srv01\"\r\nParameterBinding(Invoke-Xll): name=\"Method\"; value=\"RegisterXLL\"", ""},
		{`x.exe -ComputerName RegisterXLL`, "RegisterXLL with a remote target"}, // the value is the token: unknown, counts
		{`x.exe -ComputerNames srv01 RegisterXLL`, ""},
		{`x.exe cn=Users,dc=corp RegisterXLL`, ""},
		{`x.exe a-ComputerName srv01 RegisterXLL`, ""},
		{`Invoke-DCOM -ComputerName x`, "Invoke-DCOM"},
		{`dcomexec.py -object MMC20 dom/user@host`, "dcomexec"},
		{`sharpmove.exe action=dcom computername=x`, "action=dcom"},
		{`SharpMove action=hijackdcom`, "action=hijackdcom"},
		// the first lateral hit by position wins; local ones give way
		{`ExecuteExcel4Macro(1) DDEInitiate("a") -ComputerName h`, "ExecuteExcel4Macro with a remote target"},
		{`DDEInitiate("a") ExecuteExcel4Macro(1) -ComputerName h`, "DDEInitiate with a remote target"},
		{`RegisterXLL("a.xll"); Invoke-DCOM`, "Invoke-DCOM"},
		// near misses
		{`MMC20.Applicatio -ComputerName h`, ""},
		{`GetTypeFromProgI("x", "h")`, ""},
		{`Invoke-DCO`, ""},
		{`dcomexe`, ""},
		{strings.Repeat("gettypefromprogi", 100), ""},
	} {
		tok, ok := findLateral(&ts, tc.s)
		if tc.want == "" {
			assert.False(t, ok, "%q: found %q", tc.s, tok)
			continue
		}
		if assert.True(t, ok, "%q", tc.s) {
			assert.Equal(t, tc.want, tok, "%q", tc.s)
		}
	}
}

// TestLocalUse: a dual-use token without a target is found as local COM
// use, and gives way to any lateral hit in the same text.
func TestLocalUse(t *testing.T) {
	ts := defaultTokenSet(t)
	for s, want := range map[string]string{
		`$excel = New-Object -ComObject Excel.Application; $excel.RegisterXLL("C:\a.xll")`:              "RegisterXLL without a target",
		`[activator]::CreateInstance([type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39"))`: "9BA05972-F6A8-11CF-A442-00A0C90A8F39 without a target",
		`RegisterXLL x; DDEInitiate y`:                                                     "RegisterXLL without a target",
		"powershell -enc " + encodeCommand("$x.RegisterXLL('a')"):                          "RegisterXLL without a target (decoded from -EncodedCommand)",
		"powershell -enc " + encodeCommand("$x.RegisterXLL('a')") + " -ComputerName $null": "RegisterXLL without a target (decoded from -EncodedCommand)",
	} {
		h := ts.find(s, "")
		assert.True(t, h.found(), s)
		assert.False(t, h.lateral(), s)
		assert.Equal(t, want, h.display(), s)
	}
}

// TestOwnComputerIsLoopback: the event's computer, by its name or its
// first label, is this computer; other names and addresses are remote.
func TestOwnComputerIsLoopback(t *testing.T) {
	ts := defaultTokenSet(t)
	for _, tc := range []struct {
		self, host string
		want       target
	}{
		{"WORKSTATION5.theshire.local", "workstation5", targetLoopback},
		{"WORKSTATION5.theshire.local", "WORKSTATION5.THESHIRE.LOCAL", targetLoopback},
		{"WORKSTATION5", "workstation5.theshire.local", targetLoopback},
		{"WORKSTATION5.theshire.local", "workstation6", targetRemote},
		{"WORKSTATION5.theshire.local", "workstation", targetRemote},
		{"10.0.0.5", "10.0.0.6", targetRemote},
		{"", "workstation5", targetRemote},
	} {
		for _, s := range []string{
			`GetTypeFromProgID("MMC20.Application", "` + tc.host + `")`,
			`RegisterXLL -ComputerName ` + tc.host,
		} {
			h := ts.find(s, tc.self)
			assert.True(t, h.lateral(), "%s on %s", s, tc.self)
			assert.Equal(t, tc.want, h.target, "%s on %s", s, tc.self)
		}
	}
}

// TestTokenAtEveryPosition puts each token at the start, middle and very end
// of a command line, in both cases, with the target it needs.
func TestTokenAtEveryPosition(t *testing.T) {
	ts := defaultTokenSet(t)
	for i := range ts.tokens {
		tok := &ts.tokens[i]
		call := tok.Text
		switch tok.Kind {
		case hostCallToken:
			call += `("x", "h")`
		case dualUseToken:
			call = "-ComputerName h " + call
		}
		for _, c := range []string{call, strings.ToUpper(call)} {
			for _, s := range []string{c, "x " + c, "some text " + c, c + " trailing", strings.Repeat("y", 1000) + " " + c} {
				got, ok := findLateral(&ts, s)
				if assert.True(t, ok, "%q", s) {
					assert.Equal(t, tok.displays[placeText][targetRemote], got, "%q", s)
				}
			}
		}
	}
}

// hostCall is callTarget for a test: whether the call names a server.
func hostCall(s string, budget *int) bool { return callTarget(s, budget, "", false) != targetNone }

func TestCallTargetWindow(t *testing.T) {
	budget := 1 << 20
	// The scan covers hostLookahead bytes from the '(' on.
	inside := "(" + strings.Repeat("a", hostLookahead-4) + ",h)"
	require.Len(t, inside, hostLookahead)
	assert.True(t, hostCall(inside, &budget))
	outside := "(" + strings.Repeat("a", hostLookahead-1) + ",h)"
	assert.False(t, hostCall(outside, &budget))
	assert.False(t, hostCall("", &budget))
	assert.False(t, hostCall("   ", &budget))
	assert.False(t, hostCall(` "x", "h"`, &budget), "no parenthesis")
	assert.True(t, hostCall(` ("x", "h")`, &budget))
	assert.False(t, hostCall(`(("x", "h"))`, &budget))
	assert.False(t, hostCall(`()`, &budget))
	assert.False(t, hostCall(`)(,`, &budget))
	// the second argument ends at the third or at the closing parenthesis
	assert.Equal(t, targetNone, callTarget(`("x", $true)`, &budget, "", false))
	assert.Equal(t, targetNone, callTarget(`("x", $null, $true)`, &budget, "", false))
	assert.Equal(t, targetLoopback, callTarget(`("x", $env:COMPUTERNAME, $true)`, &budget, "", false))
	assert.Equal(t, targetLoopback, callTarget(`("x", [Net.Dns]::GetHostName())`, &budget, "", false))
	assert.Equal(t, targetRemote, callTarget(`("x", "h", $true)`, &budget, "", false))
	// an argument the text ends in is read as far as it goes
	assert.Equal(t, targetRemote, callTarget(`("x", "fs`, &budget, "", false))
	assert.Equal(t, targetNone, callTarget(`("x", `, &budget, "", false))
	// ...unless the text is cut there: then the seam reads it
	assert.Equal(t, targetNone, callTarget(`("x", "fs`, &budget, "", true))
	assert.Equal(t, targetRemote, callTarget(`("x", "fs") + "`, &budget, "", true))
}

func TestCallTargetBudget(t *testing.T) {
	// It charges what it scans, up to the end of the second argument.
	budget := 100
	assert.False(t, hostCall(`  ("abc") tail`, &budget))
	assert.Equal(t, 100-len(`("abc")`), budget)
	budget = 100
	assert.True(t, hostCall(`("abc", h)`, &budget))
	assert.Equal(t, 100-len(`("abc", h)`), budget)
	budget = 100
	assert.False(t, hostCall("("+strings.Repeat("a", 50), &budget), "ran off the end")
	assert.Equal(t, 49, budget)
	// A scan the budget cuts short counts as a host: only crafted input gets there.
	budget = 10
	assert.True(t, hostCall("("+strings.Repeat("a", 50), &budget))
	assert.Zero(t, budget)
	budget = 0
	assert.True(t, hostCall(`("abc")`, &budget))
	// ...unless the text ends inside the budget anyway.
	budget = 10
	assert.False(t, hostCall(`(abc`, &budget))
}

// TestTokenFindStuffedCommandLine: a command line stuffed with unclosed calls
// exhausts the scan budget. It then counts as a host call, so junk placed in
// front of a real call cannot hide it; a few unclosed calls stay within the
// budget and detect nothing.
func TestTokenFindStuffedCommandLine(t *testing.T) {
	ts := defaultTokenSet(t)
	hostCall := `[type]::GetTypeFromProgID("Excel.Application","10.0.0.5")`
	for _, junk := range []string{"GetTypeFromProgID(", "GetTypeFromProgID((((,", "GetTypeFromCLSID(("} {
		h := ts.find(strings.Repeat(junk, 2000)+hostCall, "")
		assert.True(t, h.lateral(), junk)
		assert.Equal(t, hostCallToken, h.token.Kind, junk)
		_, ok := findLateral(&ts, strings.Repeat(junk, 2000))
		assert.True(t, ok, "%s: exhausting the budget counts as a host call", junk)
	}
	_, ok := findLateral(&ts, strings.Repeat("GetTypeFromProgID(", 3)+strings.Repeat(" x", 1000))
	assert.False(t, ok, "a few unclosed calls stay within the budget")
	_, ok = findLateral(&ts, strings.Repeat(`GetTypeFromProgID("Excel.Application") `, 1000))
	assert.False(t, ok, "many closed calls without a host are not detections")
	_, ok = findLateral(&ts, strings.Repeat(`GetTypeFromProgID("Excel.Application", $true) `, 1000))
	assert.False(t, ok, "many calls with throwOnError are not detections")
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
	_, err = New(Options{Lists: map[string]ListEdit{ListDualUseTokens: {Add: []string{"OpenThing(host)"}}}})
	require.ErrorContains(t, err, `lists::dual_use_tokens::add: token "OpenThing(host)": a "(host)" call names its own target; add it to source_tokens`)
	_, err = New(Options{Lists: map[string]ListEdit{ListDualUseTokens: {Add: []string{"abc"}}}})
	require.ErrorContains(t, err, "lists::dual_use_tokens::add: token \"abc\" is shorter than 4 characters")

	// Added tokens, with and without "(host)", and dual-use ones, are
	// matched like the defaults; a removed one is not.
	e, err := New(Options{Lists: map[string]ListEdit{
		ListSourceTokens:  {Add: []string{"Custom.Object", "OpenRemote(host)"}, Remove: []string{"dcomexec"}},
		ListDualUseTokens: {Add: []string{"Contoso.Automation"}, Remove: []string{"RegisterXLL"}},
	}})
	require.NoError(t, err)
	for s, want := range map[string]string{
		"x CUSTOM.OBJECT y":                    "Custom.Object",
		`OpenRemote("a", "b")`:                 "OpenRemote with a remote host",
		`OpenRemote("a")`:                      "",
		"dcomexec.py -object x y":              "",
		"contoso.automation":                   "",
		"contoso.automation -ComputerName srv": "Contoso.Automation with a remote target",
		"RegisterXLL -ComputerName srv":        "",
	} {
		tok, ok := findLateral(&e.tokens, s)
		if want == "" {
			assert.False(t, ok, s)
			continue
		}
		if assert.True(t, ok, s) {
			assert.Equal(t, want, tok, s)
		}
	}
}

func TestTokenFindDoesNotAllocate(t *testing.T) {
	ts := defaultTokenSet(t)
	s := strings.Repeat(`GetTypeFromProgID("Excel.Application") MMC20.Applicatio `, 50)
	assert.Zero(t, testing.AllocsPerRun(10, func() { ts.find(s, "WORKSTATION5.corp.local") }))
	// dual-use tokens, their targets and host calls' values allocate nothing either
	s = strings.Repeat(`RegisterXLL -ComputerName $null GetTypeFromProgID("x", $true) `, 50) + `-cn localhost`
	assert.Zero(t, testing.AllocsPerRun(10, func() { ts.find(s, "WORKSTATION5.corp.local") }))
}

// TestEncodedDualUseWithOuterTarget: a dual-use token in a decoded
// argument and a target named around it in the command line are one text.
func TestEncodedDualUseWithOuterTarget(t *testing.T) {
	ts := defaultTokenSet(t)
	got, ok := findLateral(&ts, "Invoke-Pivot -ComputerName srv07 -Payload (powershell -enc "+encodeCommand("$x.RegisterXLL('a')")+")")
	assert.True(t, ok)
	assert.Equal(t, "RegisterXLL with a remote target (decoded from -EncodedCommand)", got)
}

// FuzzDualUse: any text searches without panic, cut or not; a text whose
// only find is a dual-use token used locally is lateral movement once a
// remote target is named after it.
func FuzzDualUse(f *testing.F) {
	for _, s := range []string{
		"RegisterXLL", "$xl.RegisterXLL('a') -ComputerName $null", `GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39")`,
		`name="ComputerName"; value="`, "-cn", `GetTypeFromProgID("x", "local`, "powershell -enc " + encodeCommand("RegisterXLL"),
		"x -ComputerName localhost ExecuteShellCommand", "\xe2\x80\x93ComputerName x RegisterXLL",
	} {
		f.Add(s, "WS01.corp.local")
	}
	ts := defaultTokenSet(f)
	f.Fuzz(func(t *testing.T, s, self string) {
		for _, cut := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			h := ts.findIn(s, self, cut[0], cut[1])
			_ = h.display()
			_ = namedTargetIn(s, self, cut[0], cut[1])
		}
		h := ts.find(s, self)
		if h.found() && !h.lateral() {
			after := ts.find(s+" -ComputerName srv99.example", self)
			assert.True(t, after.lateral(), "%q with a remote target is not lateral", s)
		}
	})
}

// TestLoopbackAsLocal: with loopback counted as local, a call or target
// parameter that names this computer is local COM use, and a remote one
// anywhere in the text still wins.
func TestLoopbackAsLocal(t *testing.T) {
	tokens, err := parseTokens(DefaultLists()[ListSourceTokens], DefaultLists()[ListDualUseTokens])
	require.NoError(t, err)
	ts := newTokenSet(tokens)
	ts.loopbackLocal = true
	for s, want := range map[string]struct {
		lateral  bool
		evidence string
	}{
		`GetTypeFromProgID("MMC20.Application", "localhost")`:                                   {false, "GetTypeFromProgID with a loopback host"},
		`GetTypeFromProgID("MMC20.Application", "WS01")`:                                        {false, "GetTypeFromProgID with a loopback host"},
		`GetTypeFromProgID("MMC20.Application", "127.0.0.1"); GetTypeFromCLSID($clsid, "fs01")`: {true, "GetTypeFromCLSID with a remote host"},
		`RegisterXLL -ComputerName localhost`:                                                   {false, "RegisterXLL with a loopback target"},
		`RegisterXLL -ComputerName localhost -cn fs01`:                                          {true, "RegisterXLL with a remote target"},
		`Invoke-DCOM -ComputerName localhost`:                                                   {true, "Invoke-DCOM"},
		"powershell -enc " + encodeCommand(`GetTypeFromProgID("x", "localhost")`):               {false, "GetTypeFromProgID with a loopback host (decoded from -EncodedCommand)"},
	} {
		h := ts.find(s, "WS01.corp.local")
		assert.True(t, h.found(), s)
		assert.Equal(t, want.lateral, h.lateral(), s)
		assert.Equal(t, want.evidence, h.display(), s)
	}
	// Across a seam, a loopback call is not lateral either.
	window := `GetTypeFromProgID("MMC20.Application", "local` + `host")`
	assert.False(t, ts.findAcross(window, len(`GetTypeFromProgID("MMC20.Application", "local`), "").found())
}
