package dcomdetectionprocessor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/sigma"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// sigmaHQCase is one regression test of SigmaHQ's (testdata/sigmahq,
// rendered by internal/tools/render_sigmahq.py): a rule and its recorded
// sample, on which it must fire match_count times.
type sigmaHQCase struct {
	Case       string `json:"case"`
	Name       string `json:"name"`
	RuleID     string `json:"rule_id"`
	Title      string `json:"title"`
	Rule       string `json:"rule"`
	Events     int    `json:"events"`
	MatchCount int    `json:"match_count"`
}

func sigmaHQCases(t testing.TB) []sigmaHQCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sigmahq", "cases.json"))
	require.NoError(t, err)
	var doc struct {
		Cases []sigmaHQCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Cases, 130)
	return doc.Cases
}

// sigmaHQHost finds a record's case in its computer name.
var sigmaHQHost = regexp.MustCompile(`(c\d{3})-\d+\.sigmahq\.test`)

// sigmaHQLogs renders the samples in one body shape: the receiver's map or
// its raw XML.
func sigmaHQLogs(t testing.TB, shape string) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	file := map[string]string{"map": "map.jsonl", "xml": "events.xml"}[shape]
	for _, line := range streamtest.MustLines(t, filepath.Join("testdata", "sigmahq", file)) {
		lr := lrs.AppendEmpty()
		if shape == "xml" {
			lr.Body().SetStr(line)
			continue
		}
		m, err := winevent.MapFromJSON([]byte(line))
		require.NoError(t, err)
		m.CopyTo(lr.Body().SetEmptyMap())
	}
	return ld
}

// TestSigmaHQRegression: every process_creation rule of SigmaHQ with
// regression data loads, and fires on its own recorded sample exactly as
// often as the test says, in the receiver's map and raw XML bodies.
func TestSigmaHQRegression(t *testing.T) {
	cases := sigmaHQCases(t)
	rulesDir := filepath.Join("testdata", "sigmahq", "rules")
	loaded, err := sigma.Load([]string{rulesDir})
	require.NoError(t, err)
	for _, r := range loaded.Rejected {
		t.Errorf("rejected: %s", r)
	}
	require.Len(t, loaded.Rules, len(cases))
	for _, shape := range []string{"map", "xml"} {
		t.Run(shape, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			p := newTestProcessor(t, sigmaConfig(rulesDir), sink)
			ld := sigmaHQLogs(t, shape)
			require.Equal(t, 139, ld.LogRecordCount())
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			fired := map[string]map[string]int{} // case -> rule id -> records
			for _, out := range sink.AllLogs() {
				lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					var ev winevent.Event
					winevent.Read(lrs.At(i).Body(), lrs.At(i).Attributes(), &ev)
					m := sigmaHQHost.FindStringSubmatch(ev.Computer)
					require.NotNil(t, m, ev.Computer)
					if fired[m[1]] == nil {
						fired[m[1]] = map[string]int{}
					}
					for _, id := range sliceAttr(lrs.At(i).Attributes(), attrSigmaRuleIDs) {
						fired[m[1]][id.(string)]++
					}
				}
			}
			others, passed := 0, 0
			for _, c := range cases {
				if fired[c.Case][c.RuleID] == c.MatchCount {
					passed++
				}
				assert.Equal(t, c.MatchCount, fired[c.Case][c.RuleID], "%s %s (%s): fires on %d of its %d events",
					c.Case, c.Name, c.Title, fired[c.Case][c.RuleID], c.Events)
				others += len(fired[c.Case]) - min(1, fired[c.Case][c.RuleID])
			}
			// Rules firing on other rules' samples are not wrong (rules
			// overlap); the count is logged to watch.
			t.Logf("%s: %d of %d cases pass; %d (case, other rule) pairs fire besides", shape, passed, len(cases), others)
		})
	}
}

// mandatoryLabels are the 4688 labels of Sysmon's integrity levels.
var mandatoryLabels = map[string]string{
	"Low": "S-1-16-4096", "Medium": "S-1-16-8192", "High": "S-1-16-12288", "System": "S-1-16-16384",
}

// as4688 renders a Sysmon 1 sample as the Security 4688 the same process
// creation writes: the mapped fields carry the same values, the others
// (OriginalFileName, Hashes, ParentCommandLine, ...) are not in it.
func as4688(t *testing.T, data pcommon.Map, host string) winEvent {
	t.Helper()
	get := func(k string) string {
		v, _ := data.Get(k)
		return v.AsString()
	}
	hex := func(k string) string {
		n, err := strconv.ParseUint(get(k), 10, 64)
		if err != nil {
			return "0x0"
		}
		return hexID(n)
	}
	domain, name := cutBackslash(get("User"))
	return winEvent{ID: winevent.SecurityProcessCreate, Host: host, RecordID: 1, Data: [][2]string{
		{"SubjectUserSid", "S-1-5-18"},
		{"SubjectUserName", "HOST$"},
		{"SubjectDomainName", "WORKGROUP"},
		{"SubjectLogonId", "0x3e7"},
		{"NewProcessId", hex("ProcessId")},
		{"NewProcessName", get("Image")},
		{"TokenElevationType", "%%1938"},
		{"ProcessId", hex("ParentProcessId")},
		{"CommandLine", get("CommandLine")},
		{"TargetUserSid", "S-1-5-21-1-2-3-1001"},
		{"TargetUserName", name},
		{"TargetDomainName", domain},
		{"TargetLogonId", get("LogonId")},
		{"ParentProcessName", get("ParentImage")},
		{"MandatoryLabel", mandatoryLabels[get("IntegrityLevel")]},
	}}
}

// TestSigmaHQAs4688: the regression samples rendered as 4688 events. A
// rule never fires on the 4688 where it did not on the Sysmon event: the
// mapping gives the same values, and a search on a field 4688 lacks is
// unknown, not false (a "not filter" on OriginalFileName does not fire).
// How many cases still fire on 4688 alone is logged.
func TestSigmaHQAs4688(t *testing.T) {
	cases := sigmaHQCases(t)
	rulesDir := filepath.Join("testdata", "sigmahq", "rules")
	sysmon := sigmaHQLogs(t, "map")
	records := sysmon.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	var events []winEvent
	for i := 0; i < records.Len(); i++ {
		body := records.At(i).Body().Map()
		data, _ := body.Get("event_data")
		host, _ := body.Get("computer")
		events = append(events, as4688(t, data.Map(), host.Str()))
	}
	firedBy := func(ld plog.Logs) map[string]map[string]int {
		sink := new(consumertest.LogsSink)
		p := newTestProcessor(t, sigmaConfig(rulesDir), sink)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		fired := map[string]map[string]int{}
		for _, out := range sink.AllLogs() {
			lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				var ev winevent.Event
				winevent.Read(lrs.At(i).Body(), lrs.At(i).Attributes(), &ev)
				if fired[ev.Computer] == nil {
					fired[ev.Computer] = map[string]int{}
				}
				for _, id := range sliceAttr(lrs.At(i).Attributes(), attrSigmaRuleIDs) {
					fired[ev.Computer][id.(string)]++
				}
			}
		}
		return fired
	}
	onSysmon := firedBy(sigmaHQLogs(t, "map"))
	for _, shape := range []string{"map", "xml"} {
		on4688 := firedBy(logsOf(shape, events...))
		for host, ids := range on4688 {
			for id := range ids {
				assert.Positive(t, onSysmon[host][id], "%s %s: rule %s fires on the 4688 only", shape, host, id)
			}
		}
		still := 0
		for _, c := range cases {
			n := 0
			for host, ids := range on4688 {
				if sigmaHQHost.FindStringSubmatch(host)[1] == c.Case {
					n += ids[c.RuleID]
				}
			}
			if n == c.MatchCount {
				still++
			}
		}
		t.Logf("%s: %d of %d regression cases also fire on their samples rendered as 4688", shape, still, len(cases))
	}
}

// TestSigmaConcurrentConsume: batches of the regression samples consumed
// at once by one processor (the rules' evaluation contexts are pooled)
// give every batch the same matches as one batch alone.
func TestSigmaConcurrentConsume(t *testing.T) {
	rulesDir := filepath.Join("testdata", "sigmahq", "rules")
	count := func(ld plog.Logs) int {
		n := 0
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			n += len(sliceAttr(lrs.At(i).Attributes(), attrSigmaRuleIDs))
		}
		return n
	}
	alone := new(consumertest.LogsSink)
	require.NoError(t, newTestProcessor(t, sigmaConfig(rulesDir), alone).ConsumeLogs(context.Background(), sigmaHQLogs(t, "map")))
	want := count(alone.AllLogs()[0])
	require.Positive(t, want)

	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, sigmaConfig(rulesDir), sink)
	var wg sync.WaitGroup
	for i := range 8 {
		ld := sigmaHQLogs(t, []string{"map", "xml"}[i%2])
		wg.Go(func() { assert.NoError(t, p.ConsumeLogs(context.Background(), ld)) })
	}
	wg.Wait()
	require.Len(t, sink.AllLogs(), 8)
	for _, ld := range sink.AllLogs() {
		assert.Equal(t, want, count(ld))
	}
}
