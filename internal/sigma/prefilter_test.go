package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// sysmonSlot is where a Sysmon 1 event holds a taxonomy field (the hashes
// go into Hashes).
func sysmonSlot(ev *winevent.Event, name string) *string {
	return map[string]*string{
		"Image": &ev.Image, "ParentImage": &ev.ParentImage, "CommandLine": &ev.CommandLine, "User": &ev.User,
		"LogonId": &ev.LogonID, "IntegrityLevel": &ev.IntegrityLevel, "ParentCommandLine": &ev.ParentCommandLine,
		"OriginalFileName": &ev.OriginalFileName, "CurrentDirectory": &ev.CurrentDirectory, "Description": &ev.Description,
		"Product": &ev.Product, "Company": &ev.Company, "FileVersion": &ev.FileVersion, "Hashes": &ev.Hashes,
		"md5": &ev.Hashes, "sha1": &ev.Hashes, "sha256": &ev.Hashes, "Imphash": &ev.Hashes, "LogonGuid": &ev.LogonGUID,
		"TerminalSessionId": &ev.TerminalSessionID, "ParentUser": &ev.ParentUser, "ProcessId": &ev.ProcessID,
		"ParentProcessId": &ev.ParentProcessID, "ProcessGuid": &ev.ProcessGUID, "ParentProcessGuid": &ev.ParentProcessGUID,
		"UtcTime": &ev.UtcTime,
	}[name]
}

// literalText is a text a value's tokens match (a wildcard as nothing or
// one letter, a dash as '-').
func literalText(toks []tok) string {
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tokLit:
			b.WriteString(t.lit)
		case tokOne:
			b.WriteByte('x')
		case tokDash:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// ruleTexts collects, per field, the texts of every string value a rule
// names.
func ruleTexts(n node, into map[int][]string) {
	switch x := n.(type) {
	case andNode:
		for _, c := range x {
			ruleTexts(c, into)
		}
	case orNode:
		for _, c := range x {
			ruleTexts(c, into)
		}
	case notNode:
		ruleTexts(x.n, into)
	case *fieldMatch:
		if x.field < 0 {
			return
		}
		for _, forms := range x.values {
			if s, ok := forms[0].(*stringMatch); ok {
				into[x.field] = append(into[x.field], literalText(s.toks))
			}
		}
	}
}

// differentialEvents are the events the prefilter is checked on: SigmaHQ's
// regression samples and the DCOM catalogue as read, the same as 4688, and
// for every rule events built from its own values (each field holding all
// its values, or only the first, or the last), which make many rules true.
func differentialEvents(t *testing.T, rules []*Rule, reader *winevent.Reader) []winevent.Event {
	t.Helper()
	var events []winevent.Event
	for _, file := range []string{"sigmahq/map.jsonl", "catalogue/map.jsonl"} {
		f, err := os.Open(filepath.Join("..", "..", "testdata", file))
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m, err := winevent.MapFromJSON(sc.Bytes())
			require.NoError(t, err)
			body := pcommon.NewValueMap()
			m.CopyTo(body.Map())
			var ev winevent.Event
			reader.Read(body, pcommon.NewMap(), &ev)
			ev.Computer = "" // views into the map: nothing kept but the fields
			events = append(events, ev)
			if ev.EventID == winevent.SysmonProcessCreate {
				sec := winevent.Event{
					EventID: winevent.SecurityProcessCreate, Channel: "Security",
					NewProcessName: ev.Image, ParentProcessName: ev.ParentImage, CommandLine: ev.CommandLine,
					MandatoryLabel: "S-1-16-12288", TargetLogonID: ev.LogonID,
				}
				sec.TargetDomainName, sec.TargetUserName, _ = strings.Cut(ev.User, `\`)
				events = append(events, sec)
			}
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
	}
	for _, r := range rules {
		texts := map[int][]string{}
		ruleTexts(r.condition, texts)
		for _, pick := range []func([]string) string{
			func(s []string) string { return strings.Join(s, " ") },
			func(s []string) string { return s[0] },
			func(s []string) string { return s[len(s)-1] },
		} {
			ev := winevent.Event{EventID: winevent.SysmonProcessCreate, Channel: sysmonChannel}
			for field, values := range texts {
				if slot := sysmonSlot(&ev, taxonomy[field].name); slot != nil {
					*slot = pick(values)
				}
			}
			events = append(events, ev)
		}
	}
	return events
}

// TestPrefilterChangesNoResult: on every differential event, the rules
// the prefilter lets through match exactly what evaluating every rule
// matches.
func TestPrefilterChangesNoResult(t *testing.T) {
	loaded, err := Load([]string{filepath.Join("..", "..", "testdata", "sigmahq", "rules")})
	require.NoError(t, err)
	require.Empty(t, loaded.Rejected)
	e := NewEngine(loaded.Rules)
	every := NewEngine(loaded.Rules)
	every.everyRule = true
	reader := winevent.NewReader(e.Needs()...)
	events := differentialEvents(t, loaded.Rules, reader)
	matched, candidates := 0, 0
	c := &evalCtx{}
	for i := range events {
		want := every.Match(&events[i], nil)
		got := e.Match(&events[i], nil)
		require.Equal(t, want, got, "event %d: %+v", i, events[i])
		matched += len(got)
		if k, ok := kindOf(&events[i]); ok {
			c.reset(&events[i], k)
			for _, w := range e.pre.candidates(c) {
				for ; w != 0; w &= w - 1 {
					candidates++
				}
			}
		}
	}
	require.Greater(t, matched, len(loaded.Rules), "the events make many rules true")
	t.Logf("%d events, %d (event, rule) matches, the same with and without the prefilter; %.1f of %d rules evaluated per event",
		len(events), matched, float64(candidates)/float64(len(events)), len(loaded.Rules))
}

// TestNecessaryNeedles: what the prefilter derives from conditions.
func TestNecessaryNeedles(t *testing.T) {
	for _, tc := range []struct {
		detection string
		want      []string // field:lit, in order; nil: no needle
	}{
		{"  s:\n    Image|endswith: '\\WHOAMI.exe'\n    CommandLine|contains: 'x'\n  condition: s", []string{`Image:\whoami.exe`}},
		{"  s:\n    CommandLine|contains|all: ['-nop', '-encodedcommand']\n  condition: s", []string{"CommandLine:-encodedcommand"}},
		{"  a:\n    Image|endswith: '\\a.exe'\n  b:\n    ParentImage|endswith: ['\\b.exe', '\\c.exe']\n  condition: a and b", []string{`Image:\a.exe`}},
		{"  a:\n    Image|endswith: '\\a.exe'\n  b:\n    ParentImage|endswith: '\\bb.exe'\n  condition: a or b", []string{`Image:\a.exe`, `ParentImage:\bb.exe`}},
		{"  a:\n    Image|endswith: '\\a.exe'\n  condition: not a", nil},
		{"  a:\n    CommandLine|re: 'x+'\n  condition: a", nil},
		{"  a:\n    CommandLine: 'ab'\n  condition: a", nil},
		{"  a:\n    CommandLine|contains: 'a*bcde?f'\n  condition: a", []string{"CommandLine:bcde"}},
		{"  a:\n    CommandLine|contains|windash: ' -enc '\n  condition: a", []string{}}, // a needle per dash form
		{"  k:\n    - 'mimikatz'\n  condition: k", nil},
	} {
		rules, rejected := Compile("t.yml", []byte(ruleYAML(tc.detection)))
		require.Empty(t, rejected)
		set, ok := necessary(rules[0].condition)
		var got []string
		for _, n := range set {
			got = append(got, taxonomy[n.field].name+":"+n.lit)
		}
		if tc.want == nil {
			require.False(t, ok, "%s: %v", tc.detection, got)
			continue
		}
		if len(tc.want) == 0 {
			require.True(t, ok, tc.detection)
			continue
		}
		require.True(t, ok, tc.detection)
		require.Equal(t, tc.want, got, tc.detection)
	}
}
