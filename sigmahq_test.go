package dcomdetectionprocessor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
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
