package dcomdetectionprocessor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// shippedPack is the attributed SigmaHQ T1021.003 pack (sigma/README.md).
var shippedPack = filepath.Join("sigma", "windows", "process_creation")

// testRules writes rule files into a directory and returns it.
func testRules(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

const whoamiRule = `title: Whoami Execution
id: aaaaaaaa-0000-4000-8000-000000000001
name: whoami_exec
description: whoami ran
references:
  - https://example.test/whoami
tags:
  - attack.discovery
  - attack.t1033
level: medium
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
`

const whoamiAllRule = `title: Whoami All
id: aaaaaaaa-0000-4000-8000-000000000002
tags:
  - attack.discovery
level: high
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    CommandLine|contains|windash: ' -all'
  filter:
    User|startswith: 'NT AUTHORITY\'
  condition: selection and not filter
`

// processCreation is a Sysmon 1 or a 4688 of a child and parent.
func processCreation(id int64, image, parent, cmd, user string) winEvent {
	e := winEvent{ID: id, Host: "ws01.corp.test", RecordID: 7, Time: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	if id == winevent.SysmonProcessCreate {
		e.Data = [][2]string{
			{"UtcTime", "2026-12-04 09:00:00.000"},
			{"ProcessGuid", "{11111111-0000-0000-0000-000000000001}"},
			{"ProcessId", "4242"},
			{"Image", image},
			{"OriginalFileName", filepath.Base(image)},
			{"CommandLine", cmd},
			{"User", user},
			{"ParentProcessGuid", "{11111111-0000-0000-0000-000000000002}"},
			{"ParentProcessId", "4000"},
			{"ParentImage", parent},
			{"ParentCommandLine", parentCommandLine(parent)},
		}
		return e
	}
	domain, name := cutBackslash(user)
	e.Data = [][2]string{
		{"SubjectUserSid", "S-1-5-18"},
		{"SubjectUserName", "WS01$"},
		{"SubjectDomainName", "CORP"},
		{"SubjectLogonId", "0x3e7"},
		{"NewProcessId", "0x1092"},
		{"NewProcessName", image},
		{"TokenElevationType", "%%1936"},
		{"ProcessId", "0xfa0"},
		{"CommandLine", cmd},
		{"TargetUserSid", "S-1-5-21-1"},
		{"TargetUserName", name},
		{"TargetDomainName", domain},
		{"TargetLogonId", "0x1234"},
		{"ParentProcessName", parent},
		{"MandatoryLabel", "S-1-16-12288"},
	}
	return e
}

// parentCommandLine is a parent's command line: svchost.exe as DcomLaunch.
func parentCommandLine(parent string) string {
	if filepath.Base(strings.ReplaceAll(parent, `\`, "/")) == "svchost.exe" {
		return parent + " -k DcomLaunch -p"
	}
	return parent
}

// cutBackslash splits DOMAIN\name (no domain: "").
func cutBackslash(s string) (domain, name string) {
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

func sigmaConfig(rules ...string) *Config {
	cfg := defaultConfig()
	cfg.Sigma.Rules = rules
	return cfg
}

// consumeOne runs events through a processor and returns the records out.
func consumeOne(t *testing.T, cfg *Config, shape string, events ...winEvent) plog.LogRecordSlice {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), logsOf(shape, events...)))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
}

func strAttr(t *testing.T, m pcommon.Map, key string) string {
	t.Helper()
	v, ok := m.Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

func sliceAttr(m pcommon.Map, key string) []any {
	v, ok := m.Get(key)
	if !ok {
		return nil
	}
	return v.Slice().AsRaw()
}

// TestSigmaAnnotation: a record a Sigma rule matches (and no built-in
// pattern) is annotated from the rule, in both schemas and both body
// shapes.
func TestSigmaAnnotation(t *testing.T) {
	dir := testRules(t, map[string]string{"whoami.yml": whoamiRule})
	for _, id := range []int64{winevent.SysmonProcessCreate, winevent.SecurityProcessCreate} {
		for _, shape := range []string{"map", "xml"} {
			lrs := consumeOne(t, sigmaConfig(dir), shape,
				processCreation(id, `C:\Windows\System32\WHOAMI.EXE`, `C:\Windows\System32\cmd.exe`, "whoami /all", `CORP\alice`),
				processCreation(id, `C:\Windows\System32\hostname.exe`, `C:\Windows\System32\cmd.exe`, "hostname", `CORP\alice`))
			require.Equal(t, 2, lrs.Len())
			attrs := lrs.At(0).Attributes()
			name := shape + "/" + string(rune('0'+id%10))
			assert.Equal(t, "Whoami Execution", strAttr(t, attrs, attrDetectionPattern), name)
			assert.Equal(t, "medium", strAttr(t, attrs, attrSeverity), name)
			assert.Equal(t, "5", strAttr(t, attrs, attrSeverityScore), name)
			assert.Equal(t, "Whoami Execution", strAttr(t, attrs, attrRuleName), name)
			assert.Equal(t, "aaaaaaaa-0000-4000-8000-000000000001", strAttr(t, attrs, attrRuleUUID), name)
			assert.Equal(t, "whoami ran", strAttr(t, attrs, attrRuleDescription), name)
			assert.Equal(t, "https://example.test/whoami", strAttr(t, attrs, attrRuleReference), name)
			assert.Equal(t, "sigma", strAttr(t, attrs, attrRulesetName), name)
			assert.Equal(t, "TA0007", strAttr(t, attrs, attrTacticID), name)
			assert.Equal(t, "Discovery", strAttr(t, attrs, attrTacticName), name)
			assert.Equal(t, "T1033", strAttr(t, attrs, attrTechniqueID), name)
			assert.Equal(t, "https://attack.mitre.org/techniques/T1033/", strAttr(t, attrs, attrTechniqueReference), name)
			assert.Empty(t, strAttr(t, attrs, attrSubtechniqueID), name)
			assert.Equal(t, "alert", strAttr(t, attrs, attrEventKind), name)
			assert.Equal(t, []any{"aaaaaaaa-0000-4000-8000-000000000001"}, sliceAttr(attrs, attrSigmaRuleIDs), name)
			assert.Equal(t, []any{"attack.discovery", "attack.t1033"}, sliceAttr(attrs, attrRuleTags), name)
			assert.Equal(t, `C:\Windows\System32\WHOAMI.EXE`, strAttr(t, attrs, attrProcessPath), name)
			assert.Zero(t, lrs.At(1).Attributes().Len(), "hostname is no detection (%s)", name)
		}
	}
	// DetectionPattern from another key of the rule.
	cfg := sigmaConfig(dir)
	cfg.Sigma.PatternField = "name"
	cfg.Sigma.Ruleset = "corp-sigma"
	lrs := consumeOne(t, cfg, "map", processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	assert.Equal(t, "whoami_exec", strAttr(t, lrs.At(0).Attributes(), attrDetectionPattern))
	assert.Equal(t, "corp-sigma", strAttr(t, lrs.At(0).Attributes(), attrRulesetName))
	// A key the rule does not have: the title.
	cfg.Sigma.PatternField = "nickname"
	lrs = consumeOne(t, cfg, "map", processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	assert.Equal(t, "Whoami Execution", strAttr(t, lrs.At(0).Attributes(), attrDetectionPattern))
}

// TestSigmaRanking: of several matching rules the highest level is the
// verdict and every one is listed; a built-in DCOM detection stays the
// verdict and lists the Sigma rules beside it.
func TestSigmaRanking(t *testing.T) {
	dir := testRules(t, map[string]string{"a.yml": whoamiRule, "b.yml": whoamiAllRule})
	lrs := consumeOne(t, sigmaConfig(dir), "map",
		processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami /all", `CORP\alice`),
		processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami /all", `NT AUTHORITY\SYSTEM`))
	attrs := lrs.At(0).Attributes()
	assert.Equal(t, "Whoami All", strAttr(t, attrs, attrDetectionPattern))
	assert.Equal(t, "high", strAttr(t, attrs, attrSeverity))
	assert.Equal(t, []any{"aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000001"}, sliceAttr(attrs, attrSigmaRuleIDs))
	attrs = lrs.At(1).Attributes()
	assert.Equal(t, "Whoami Execution", strAttr(t, attrs, attrDetectionPattern), "the filter keeps the high rule off")
	assert.Equal(t, []any{"aaaaaaaa-0000-4000-8000-000000000001"}, sliceAttr(attrs, attrSigmaRuleIDs))

	// MMC20 activation: the built-in pattern and the pack's MMC20 rule.
	for _, shape := range []string{"map", "xml"} {
		lrs = consumeOne(t, sigmaConfig(shippedPack), shape,
			processCreation(1, `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`, `"C:\Windows\system32\mmc.exe" -Embedding`, `CORP\alice`))
		attrs = lrs.At(0).Attributes()
		assert.Equal(t, "DCOM_ServerActivation", strAttr(t, attrs, attrDetectionPattern), shape)
		assert.Equal(t, []any{"f1f3bf22-deb2-418d-8cce-e1a45e46a5bd"}, sliceAttr(attrs, attrSigmaRuleIDs), shape)
		assert.Equal(t, "otelcol-dcom/dcomdetection/extended", strAttr(t, attrs, attrRulesetName), shape)
	}
}

// TestSigmaPackThreat: the pack's rules report T1021.003 under lateral
// movement, though they also tag execution.
func TestSigmaPackThreat(t *testing.T) {
	cfg := sigmaConfig(shippedPack)
	// The built-in patterns off, so that the Sigma rule is the verdict.
	off := false
	cfg.Patterns = map[string]PatternConfig{"COM_SuspiciousChild": {Enabled: &off}, "DCOM_ServerChild": {Enabled: &off}}
	lrs := consumeOne(t, cfg, "xml",
		processCreation(4688, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\mmc.exe`, `cmd.exe /c whoami`, `CORP\alice`))
	attrs := lrs.At(0).Attributes()
	assert.Equal(t, "MMC Spawning Windows Shell", strAttr(t, attrs, attrDetectionPattern))
	assert.Equal(t, "TA0008", strAttr(t, attrs, attrTacticID))
	assert.Equal(t, "Lateral Movement", strAttr(t, attrs, attrTacticName))
	assert.Equal(t, "T1021", strAttr(t, attrs, attrTechniqueID))
	assert.Equal(t, "Remote Services", strAttr(t, attrs, attrTechniqueName))
	assert.Equal(t, "T1021.003", strAttr(t, attrs, attrSubtechniqueID))
	assert.Equal(t, "Distributed Component Object Model", strAttr(t, attrs, attrSubtechniqueName))
	assert.Equal(t, "https://attack.mitre.org/techniques/T1021/003/", strAttr(t, attrs, attrSubtechniqueRef))
}

// TestSigmaBodyKey: with body_key the Sigma verdict goes into the body too.
func TestSigmaBodyKey(t *testing.T) {
	cfg := sigmaConfig(testRules(t, map[string]string{"w.yml": whoamiRule}))
	cfg.BodyKey = "dcom"
	cfg.RecordAttributes = false
	lrs := consumeOne(t, cfg, "map", processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	v, ok := lrs.At(0).Body().Map().Get("dcom")
	require.True(t, ok)
	assert.Equal(t, "Whoami Execution", strAttr(t, v.Map(), attrDetectionPattern))
	assert.Equal(t, []any{"aaaaaaaa-0000-4000-8000-000000000001"}, sliceAttr(v.Map(), attrSigmaRuleIDs))
	assert.Zero(t, lrs.At(0).Attributes().Len())
}

// TestSigmaDropUnmatched: a Sigma detection is a detection.
func TestSigmaDropUnmatched(t *testing.T) {
	cfg := sigmaConfig(testRules(t, map[string]string{"w.yml": whoamiRule}))
	cfg.DropUnmatched = true
	lrs := consumeOne(t, cfg, "map",
		processCreation(1, `C:\x\hostname.exe`, `C:\x\cmd.exe`, "hostname", `CORP\alice`),
		processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	require.Equal(t, 1, lrs.Len())
	assert.Equal(t, "Whoami Execution", strAttr(t, lrs.At(0).Attributes(), attrDetectionPattern))
}

// TestSigmaRejectedRulesLoggedOnce: each rejected rule is logged once with
// its file, line and reason; the others load; the collector starts.
func TestSigmaRejectedRulesLoggedOnce(t *testing.T) {
	dir := testRules(t, map[string]string{
		"good.yml":   whoamiRule,
		"net.yml":    "title: net\nid: n1\nlogsource:\n  category: network_connection\n  product: windows\ndetection:\n  s:\n    DestinationPort: 135\n  condition: s\n",
		"broken.yml": "title: broken\ndetection:\n  s: [\n",
	})
	core, logs := observer.New(zap.InfoLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := sigmaConfig(dir)
	require.NoError(t, cfg.Validate())
	sink := new(consumertest.LogsSink)
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	// A second pipeline of the same component: nothing is loaded or logged again.
	p2, err := f.CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, p.Shutdown(context.Background()))
		require.NoError(t, p2.Shutdown(context.Background()))
	})
	rejected := logs.FilterMessage("Sigma rule rejected").All()
	require.Len(t, rejected, 2)
	byFile := map[string]map[string]any{}
	for _, e := range rejected {
		byFile[filepath.Base(e.ContextMap()["file"].(string))] = e.ContextMap()
	}
	assert.Equal(t, "unsupported", byFile["net.yml"]["kind"])
	assert.Contains(t, byFile["net.yml"]["reason"], `category "network_connection"`)
	assert.Equal(t, "n1", byFile["net.yml"]["rule_id"])
	assert.Equal(t, "invalid", byFile["broken.yml"]["kind"])
	assert.Positive(t, byFile["broken.yml"]["line"])
	loaded := logs.FilterMessage("Sigma rules loaded").All()
	require.Len(t, loaded, 1, "once per component")
	assert.EqualValues(t, 1, loaded[0].ContextMap()["rules"])
	assert.EqualValues(t, 1, loaded[0].ContextMap()["rejected_unsupported"])
	assert.EqualValues(t, 1, loaded[0].ContextMap()["rejected_invalid"])
}

// TestSigmaConfigErrors: every error names its key.
func TestSigmaConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Sigma.Rules = []string{""} }, "sigma::rules::0: empty path"},
		{func(c *Config) { c.Sigma.Rules = []string{"/nonexistent/rules"} }, "sigma::rules: "},
		{func(c *Config) { c.Sigma.Rules = []string{filepath.Join(t.TempDir(), "*.yml")} }, "matches no rule file"},
		{func(c *Config) { c.Sigma.PatternField = "" }, "sigma::pattern_field"},
		{func(c *Config) { c.Sigma.Ruleset = " " }, "sigma::ruleset"},
	} {
		cfg := defaultConfig()
		tc.edit(cfg)
		err := cfg.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
	cfg := defaultConfig()
	assert.Equal(t, "title", cfg.Sigma.PatternField)
	assert.Equal(t, "sigma", cfg.Sigma.Ruleset)
	assert.Empty(t, cfg.Sigma.Rules)
	require.NoError(t, sigmaConfig(shippedPack).Validate())
}

// TestSigmaNoAllocation: with the pack and SigmaHQ-style rules loaded, a
// record no rule matches allocates nothing, in either schema or shape.
func TestSigmaNoAllocation(t *testing.T) {
	cfg := sigmaConfig(shippedPack, testRules(t, map[string]string{"a.yml": whoamiRule, "b.yml": whoamiAllRule}))
	for _, shape := range []string{"map", "xml"} {
		ld := logsOf(shape,
			processCreation(1, `C:\x\hostname.exe`, `C:\x\cmd.exe`, "hostname /a", `CORP\alice`),
			processCreation(4688, `C:\x\hostname.exe`, `C:\x\explorer.exe`, "hostname", `CORP\alice`))
		p, err := newDetectionProcessor(processortest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		records := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		var stats batchStats
		var ev winevent.Event
		allocs := testing.AllocsPerRun(50, func() {
			for i := 0; i < records.Len(); i++ {
				p.inspect(records.At(i), p.reader.Admit(records.At(i).Body()), &ev, &stats)
			}
		})
		assert.Zero(t, allocs, shape)
		require.NoError(t, p.shutdown(context.Background()))
	}
}

// TestSigmaRuleWithoutID: a rule without an id is named by its title.
func TestSigmaRuleWithoutID(t *testing.T) {
	noID := strings.Replace(whoamiRule, "id: aaaaaaaa-0000-4000-8000-000000000001\n", "", 1)
	lrs := consumeOne(t, sigmaConfig(testRules(t, map[string]string{"w.yml": noID})), "map",
		processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	attrs := lrs.At(0).Attributes()
	assert.Equal(t, []any{"Whoami Execution"}, sliceAttr(attrs, attrSigmaRuleIDs))
	assert.Equal(t, "Sigma rule Whoami Execution", strAttr(t, attrs, attrEvidence))
	_, hasUUID := attrs.Get(attrRuleUUID)
	assert.False(t, hasUUID)
}

// TestSigmaVerdictStrippedUpstream: a record that arrives with a Sigma
// verdict of this processor (an edge collector's) loses all of it before
// it is evaluated again (upstream_verdicts: strip), here by a processor
// without the rule.
func TestSigmaVerdictStrippedUpstream(t *testing.T) {
	first := consumeOne(t, sigmaConfig(testRules(t, map[string]string{"w.yml": whoamiRule})), "map",
		processCreation(1, `C:\x\whoami.exe`, `C:\x\cmd.exe`, "whoami", `CORP\alice`))
	require.Equal(t, "Whoami Execution", strAttr(t, first.At(0).Attributes(), attrDetectionPattern))
	ld := plog.NewLogs()
	first.At(0).CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	sink := new(consumertest.LogsSink)
	require.NoError(t, newTestProcessor(t, defaultConfig(), sink).ConsumeLogs(context.Background(), ld))
	attrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	for k := range attrs.All() {
		for _, prefix := range []string{"DetectionPattern", "dcom.", "security_rule.", "threat."} {
			assert.False(t, strings.HasPrefix(k, prefix), "%s kept", k)
		}
	}
}
