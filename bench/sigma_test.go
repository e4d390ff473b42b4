package bench

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/sigma"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// The rule sets compared: the T1021.003 pack the product ships (SigmaHQ's
// DCOM rules) and the 130 SigmaHQ rules that have regression tests.
var sigmaRuleSets = []struct{ name, dir string }{
	{"dcom-pack", filepath.Join("..", "sigma", "windows", "process_creation")},
	{"sigmahq-regression", filepath.Join("..", "testdata", "sigmahq", "rules")},
}

// sigmaSets are the rule sets, with SIGMAHQ_PROCESS_CREATION (a checkout's
// rules/windows/process_creation, not shipped here) as a third when set.
func sigmaSets() []struct{ name, dir string } {
	sets := sigmaRuleSets
	if dir := os.Getenv("SIGMAHQ_PROCESS_CREATION"); dir != "" {
		sets = append(sets[:len(sets):len(sets)], struct{ name, dir string }{"sigmahq-process-creation", dir})
	}
	return sets
}

// sigmaEvents are the same events for both engines: SigmaHQ's 139
// recorded regression samples and the 71 Sysmon 1 events of the DCOM
// catalogue (testdata/catalogue), as the receiver's map bodies, and their
// event data as the string map sigma-go evaluates.
type sigmaEvents struct {
	bodies []pcommon.Value
	maps   []map[string]string
}

func loadSigmaEvents(tb testing.TB) sigmaEvents {
	tb.Helper()
	var lines []string
	for _, file := range []string{filepath.Join("sigmahq", "map.jsonl"), filepath.Join("catalogue", "map.jsonl")} {
		l, err := readLines(filepath.Join("..", "testdata", file))
		require.NoError(tb, err)
		lines = append(lines, l...)
	}
	var e sigmaEvents
	for _, line := range lines {
		m, err := winevent.MapFromJSON([]byte(line))
		require.NoError(tb, err)
		if id, _ := m.Get("event_id"); id.Map().Len() > 0 {
			if v, _ := id.Map().Get("id"); v.Int() != winevent.SysmonProcessCreate && v.Double() != winevent.SysmonProcessCreate {
				continue
			}
		}
		body := pcommon.NewValueMap()
		m.CopyTo(body.Map())
		e.bodies = append(e.bodies, body)
		data, ok := m.Get("event_data")
		require.True(tb, ok)
		flat := map[string]string{}
		for k, v := range data.Map().All() {
			flat[k] = v.AsString()
		}
		e.maps = append(e.maps, flat)
	}
	require.Len(tb, e.bodies, 139+71)
	return e
}

// ours compiles a rule set into this product's engine, and a reader with
// the fields its rules read.
func ours(tb testing.TB, dir string) (*sigma.Engine, *winevent.Reader) {
	tb.Helper()
	loaded, err := sigma.Load([]string{dir})
	require.NoError(tb, err)
	if len(loaded.Rejected) > 0 {
		tb.Logf("%s: %d rules rejected, the first: %s", dir, len(loaded.Rejected), loaded.Rejected[0])
	}
	engine := sigma.NewEngine(loaded.Rules)
	return engine, winevent.NewReader(engine.Needs()...)
}

// theirs parses a rule set with sigma-go v0.6.6 (files it cannot parse
// are left out and counted).
func theirs(tb testing.TB, dir string) (evaluators []*evaluator.RuleEvaluator, ids []string, unparsed int) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	require.NoError(tb, err)
	sort.Strings(files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(tb, err)
		rule, err := sigmago.ParseRule(raw)
		if err != nil {
			unparsed++
			continue
		}
		evaluators = append(evaluators, evaluator.ForRule(rule))
		ids = append(ids, rule.ID)
	}
	return evaluators, ids, unparsed
}

// TestSigmaEnginesOnTheSameEvents counts what each engine finds on the
// regression samples: every expected (event, rule) match is this product's
// (sigmahq_test.go asserts it); the log line says how many sigma-go finds.
func TestSigmaEnginesOnTheSameEvents(t *testing.T) {
	events := loadSigmaEvents(t)
	for _, set := range sigmaSets() {
		engine, reader := ours(t, set.dir)
		evaluators, ids, unparsed := theirs(t, set.dir)
		oursFound := map[[2]string]bool{}
		var ev winevent.Event
		var hits []int
		for i, body := range events.bodies {
			reader.Read(body, pcommon.NewMap(), &ev)
			hits = engine.Match(&ev, hits[:0])
			for _, h := range hits {
				oursFound[[2]string{events.maps[i]["ProcessGuid"], engine.Rules()[h].ID}] = true
			}
		}
		theirsFound, errs := map[[2]string]bool{}, 0
		for _, m := range events.maps {
			for j, e := range evaluators {
				res, err := e.Matches(context.Background(), m)
				if err != nil {
					errs++
					continue
				}
				if res.Match {
					theirsFound[[2]string{m["ProcessGuid"], ids[j]}] = true
				}
			}
		}
		missed, extra := 0, 0
		for k := range oursFound {
			if !theirsFound[k] {
				missed++
			}
		}
		for k := range theirsFound {
			if !oursFound[k] {
				extra++
			}
		}
		if set.name == "sigmahq-regression" {
			require.GreaterOrEqual(t, len(oursFound), 130, "every regression case")
		}
		t.Logf("%s: %d rules; otelcol-dcom finds %d (event, rule) matches; sigma-go v0.6.6 parses %d rules (%d not), "+
			"finds %d, misses %d of ours, finds %d ours does not, %d evaluation errors",
			set.name, len(engine.Rules()), len(oursFound), len(evaluators), unparsed, len(theirsFound), missed, extra, errs)
	}
}

// BenchmarkSigma evaluates each rule set on the same 210 events, one op a
// pass over all of them: this product's engine on events its reader read
// (engine), the same with the read of each record (read+engine), and
// sigma-go v0.6.6 on the events' string maps, one evaluator per rule, as
// its README shows.
func BenchmarkSigma(b *testing.B) {
	events := loadSigmaEvents(b)
	for _, set := range sigmaSets() {
		engine, reader := ours(b, set.dir)
		read := make([]winevent.Event, len(events.bodies))
		for i, body := range events.bodies {
			reader.Read(body, pcommon.NewMap(), &read[i])
		}
		attrs := pcommon.NewMap()
		perEvent := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events.bodies)), "ns/event")
		}
		b.Run(set.name+"/otelcol-dcom/engine", func(b *testing.B) {
			var hits []int
			b.ReportAllocs()
			for b.Loop() {
				for i := range read {
					hits = engine.Match(&read[i], hits[:0])
				}
			}
			perEvent(b)
		})
		b.Run(set.name+"/otelcol-dcom/read+engine", func(b *testing.B) {
			var hits []int
			var ev winevent.Event
			b.ReportAllocs()
			for b.Loop() {
				for _, body := range events.bodies {
					reader.Read(body, attrs, &ev)
					hits = engine.Match(&ev, hits[:0])
				}
			}
			perEvent(b)
		})
		evaluators, _, _ := theirs(b, set.dir)
		b.Run(set.name+"/sigma-go", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range events.maps {
					for _, e := range evaluators {
						_, _ = e.Matches(ctx, m)
					}
				}
			}
			perEvent(b)
		})
	}
}
