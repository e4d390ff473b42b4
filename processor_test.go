package dcomdetectionprocessor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// shape renders one fixture line into a log record the way a receiver or
// forwarder would deliver it.
type shape struct {
	name   string
	file   string
	render func(t testing.TB, line string, lr plog.LogRecord)
}

func mapBody(t testing.TB, line string, lr plog.LogRecord) {
	m, err := winevent.MapFromJSON([]byte(line))
	require.NoError(t, err)
	m.CopyTo(lr.Body().SetEmptyMap())
}

var shapes = []shape{
	{"receiver map", "map.jsonl", mapBody},
	{"receiver array", "array.jsonl", mapBody},
	{"raw xml", "events.xml", func(_ testing.TB, line string, lr plog.LogRecord) { lr.Body().SetStr(line) }},
	{"flat map body", "flat.jsonl", mapBody},
	{"flat attributes", "flat.jsonl", func(t testing.TB, line string, lr plog.LogRecord) {
		m, err := winevent.MapFromJSON([]byte(line))
		require.NoError(t, err)
		m.CopyTo(lr.Attributes())
		lr.Body().SetStr("A new process has been created.")
	}},
	{"json string body", "flat.jsonl", func(_ testing.TB, line string, lr plog.LogRecord) { lr.Body().SetStr(line) }},
	{"winlogbeat", "winlogbeat.jsonl", mapBody},
}

// catalogueLogs renders all 78 catalogue events in one shape.
func catalogueLogs(t testing.TB, s shape) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, line := range streamtest.MustLines(t, filepath.Join("testdata", "catalogue", s.file)) {
		s.render(t, line, lrs.AppendEmpty())
	}
	require.Equal(t, 78, ld.LogRecordCount())
	return ld
}

func expectedOutcomes(t testing.TB) map[string]map[string]string {
	raw, err := os.ReadFile(filepath.Join("testdata", "catalogue", "expected.json"))
	require.NoError(t, err)
	var expected map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &expected))
	return expected
}

// catalogueID finds the id of a catalogue record: its computer name is "<id>.catalogue.test".
func catalogueID(t testing.TB, lr plog.LogRecord) string {
	t.Helper()
	var ev winevent.Event
	winevent.Read(lr.Body(), lr.Attributes(), &ev)
	if ev.Computer == "" {
		// C22 is not a process event; find the id in the raw text
		for _, v := range []string{lr.Body().AsString(), attributeString(lr.Attributes())} {
			if i := strings.Index(v, ".catalogue.test"); i >= 3 {
				return v[i-3 : i]
			}
		}
	}
	id, _, _ := strings.Cut(ev.Computer, ".")
	return id
}

func attributeString(m pcommon.Map) string {
	b, _ := json.Marshal(m.AsRaw())
	return string(b)
}

func newTestProcessor(t testing.TB, cfg *Config, next *consumertest.LogsSink) processor.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p
}

func defaultConfig() *Config { return createDefaultConfig().(*Config) }

// loopbackEvidence: Atomic Red Team runs its T1021.003 tests against
// localhost (B01, B04). A call that names this computer takes the remote
// path and differs from the attack only in the name, so it keeps the
// catalogue's recommended DCOM_SourceInvocation, and its evidence says
// loopback (README "What counts as remote").
var loopbackEvidence = map[string]string{
	"B01": "GetTypeFromProgID with a loopback host",
	"B04": "GetTypeFromProgID with a loopback host",
}

func TestCatalogueEveryShapeBothProfiles(t *testing.T) {
	expected := expectedOutcomes(t)
	for _, profile := range []string{ProfileSeed, ProfileExtended} {
		for _, s := range shapes {
			t.Run(profile+"/"+s.name, func(t *testing.T) {
				cfg := defaultConfig()
				cfg.Profile = profile
				sink := new(consumertest.LogsSink)
				p := newTestProcessor(t, cfg, sink)
				in := catalogueLogs(t, s)
				before := plog.NewLogs()
				in.CopyTo(before)
				require.NoError(t, p.ConsumeLogs(context.Background(), in))
				require.Len(t, sink.AllLogs(), 1)
				out := sink.AllLogs()[0]
				require.Equal(t, 78, out.LogRecordCount())
				outRecords := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				beforeRecords := before.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				seen := map[string]bool{}
				for i := 0; i < outRecords.Len(); i++ {
					lr := outRecords.At(i)
					id := catalogueID(t, lr)
					seen[id] = true
					want := expected[id][profile]
					got, ok := lr.Attributes().Get(attrDetectionPattern)
					if want == "none" {
						if !assert.False(t, ok, "%s: unexpected detection", id) {
							t.Logf("%s: got %s", id, got.Str())
						}
						// unmatched records leave exactly as they came
						assert.Equal(t, beforeRecords.At(i).Attributes().AsRaw(), lr.Attributes().AsRaw(), id)
						assert.Equal(t, beforeRecords.At(i).Body().AsRaw(), lr.Body().AsRaw(), id)
						continue
					}
					if assert.True(t, ok, "%s: expected %s", id, want) {
						assert.Equal(t, want, got.Str(), id)
					}
					if want, ok := loopbackEvidence[id]; ok && profile == ProfileExtended {
						assert.Equal(t, want, attrStr(lr.Attributes(), attrEvidence), id)
					}
				}
				assert.Len(t, seen, 78)
			})
		}
	}
}

func TestDetectionAttributes(t *testing.T) {
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, defaultConfig(), sink)
	ld := catalogueLogs(t, shapes[0])
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	records := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	byID := map[string]plog.LogRecord{}
	for i := 0; i < records.Len(); i++ {
		byID[catalogueID(t, records.At(i))] = records.At(i)
	}

	// B12: Excel launched by DcomLaunch, seen as Security 4688.
	attrs := byID["B12"].Attributes().AsRaw()
	assert.Equal(t, "DCOM_ServerActivation", attrs["DetectionPattern"])
	assert.Equal(t, "MITRE ATT&CK", attrs["threat.framework"])
	assert.Equal(t, "TA0008", attrs["threat.tactic.id"])
	assert.Equal(t, "Lateral Movement", attrs["threat.tactic.name"])
	assert.Equal(t, "T1021", attrs["threat.technique.id"])
	assert.Equal(t, "Remote Services", attrs["threat.technique.name"])
	assert.Equal(t, "T1021.003", attrs["threat.technique.subtechnique.id"])
	assert.Equal(t, "Distributed Component Object Model", attrs["threat.technique.subtechnique.name"])
	assert.Equal(t, "https://attack.mitre.org/techniques/T1021/003/", attrs["threat.technique.subtechnique.reference"])
	assert.Equal(t, "DCOM_ServerActivation", attrs["security_rule.name"])
	assert.Equal(t, "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a04", attrs["security_rule.uuid"])
	assert.Equal(t, "otelcol-dcom/dcomdetection/extended", attrs["security_rule.ruleset.name"])
	assert.Equal(t, "medium", attrs["dcom.detection.severity"])
	assert.Equal(t, int64(5), attrs["dcom.detection.severity_score"])
	assert.Equal(t, "alert", attrs["event.kind"])
	assert.Equal(t, `C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE`, attrs["process.executable.path"])
	assert.Equal(t, "EXCEL.EXE", attrs["process.executable.name"])
	assert.Equal(t, "svchost.exe", attrs["process.parent.executable.name"])
	assert.Equal(t, "pgustavo", attrs["process.owner"], "4688: the target account is the real one")
	assert.Equal(t, "WORKSTATION6$", attrs["dcom.creator.account"])
	assert.Equal(t, "0x153ec2b", attrs["dcom.logon_id"])
	assert.Equal(t, "B12.catalogue.test", attrs["host.name"])

	// B06: Sysmon fields, OriginalFileName and the user's domain.
	attrs = byID["B06"].Attributes().AsRaw()
	assert.Equal(t, "DCOM_ServerChild", attrs["DetectionPattern"])
	assert.Equal(t, "high", attrs["dcom.detection.severity"])
	assert.Equal(t, "CALC.EXE", attrs["process.pe.original_file_name"])
	assert.Equal(t, `CORP\admin`, attrs["process.owner"])
	assert.Equal(t, `"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" /automation -Embedding`, attrs["process.parent.command_line"])

	// B24: the evidence names the first token in the command line.
	assert.Equal(t, "GetTypeFromProgID with a remote host", byID["B24"].Attributes().AsRaw()["dcom.detection.evidence"])
}

func TestBodyKeyAndAttributesOff(t *testing.T) {
	cfg := defaultConfig()
	cfg.BodyKey = "dcom_detection"
	cfg.RecordAttributes = false
	for _, s := range []shape{shapes[0], shapes[2]} {
		t.Run(s.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			p := newTestProcessor(t, cfg, sink)
			require.NoError(t, p.ConsumeLogs(context.Background(), catalogueLogs(t, s)))
			records := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < records.Len(); i++ {
				lr := records.At(i)
				if catalogueID(t, lr) != "A01" {
					continue
				}
				if lr.Body().Type() == pcommon.ValueTypeMap {
					v, ok := lr.Body().Map().Get("dcom_detection")
					require.True(t, ok)
					assert.Equal(t, "COM_SuspiciousChild", v.Map().AsRaw()["DetectionPattern"])
					assert.Equal(t, "T1021.003", v.Map().AsRaw()["threat.technique.subtechnique.id"])
					assert.Equal(t, 0, lr.Attributes().Len(), "record attributes are off")
				} else {
					// an XML body cannot carry the verdict: the attributes do
					assert.Equal(t, "COM_SuspiciousChild", lr.Attributes().AsRaw()["DetectionPattern"])
				}
			}
		})
	}
}

func TestDropUnmatched(t *testing.T) {
	expected := expectedOutcomes(t)
	want := 0
	for _, e := range expected {
		if e["extended"] != "none" {
			want++
		}
	}
	cfg := defaultConfig()
	cfg.DropUnmatched = true
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), catalogueLogs(t, shapes[0])))
	require.Len(t, sink.AllLogs(), 1)
	assert.Equal(t, want, sink.AllLogs()[0].LogRecordCount())

	// a batch with no detection at all is dropped whole, without an error
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	assert.Len(t, sink.AllLogs(), 1)
}

// TestExclusionsShippedExamples applies the documented exclusions
// (testdata/config.yaml, dcomdetection/tuned) to the catalogue: they suppress
// the SCCM job (D01) and the help-desk gpupdate (D04) and nothing else.
func TestExclusionsShippedExamples(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("dcomdetection/tuned")
	require.NoError(t, err)
	tuned := defaultConfig()
	require.NoError(t, sub.Unmarshal(tuned))
	cfg := defaultConfig()
	cfg.Exclusions = tuned.Exclusions
	require.Len(t, cfg.Exclusions, 2)

	expected := expectedOutcomes(t)
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), catalogueLogs(t, shapes[0])))
	records := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	suppressed := []string{}
	for i := 0; i < records.Len(); i++ {
		lr := records.At(i)
		id := catalogueID(t, lr)
		_, detected := lr.Attributes().Get(attrDetectionPattern)
		if expected[id][ProfileExtended] != "none" && !detected {
			suppressed = append(suppressed, id)
		}
	}
	assert.ElementsMatch(t, []string{"D01", "D04"}, suppressed)
}

func TestConcurrentConsume(t *testing.T) {
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, defaultConfig(), sink)
	batches := make([]plog.Logs, 0, 16)
	for i := 0; i < 16; i++ {
		batches = append(batches, catalogueLogs(t, shapes[i%len(shapes)]))
	}
	var wg sync.WaitGroup
	for _, ld := range batches {
		wg.Add(1)
		go func(ld plog.Logs) {
			defer wg.Done()
			assert.NoError(t, p.ConsumeLogs(context.Background(), ld))
		}(ld)
	}
	wg.Wait()
	assert.Equal(t, 16*78, sink.LogRecordCount())
	detections := 0
	for _, ld := range sink.AllLogs() {
		records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < records.Len(); i++ {
			if _, ok := records.At(i).Attributes().Get(attrDetectionPattern); ok {
				detections++
			}
		}
	}
	assert.Equal(t, 16*48, detections)
}

func readEvent(lr plog.LogRecord) *winevent.Event {
	var ev winevent.Event
	winevent.Read(lr.Body(), lr.Attributes(), &ev)
	return &ev
}
