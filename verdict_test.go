package dcomdetectionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// sysmon1 renders a Sysmon 1 (record 1) of image started by parent.
func sysmon1(image, cmd, parent, parentCmd string) winEvent {
	const pid = 0x904
	e := &genEvent{
		ID: 1, Host: "WS01", RecordID: 1, Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		Image: image, Cmd: cmd, Parent: parent, ParentCmd: parentCmd, PID: pid, PPID: 0x52c,
		GUID: guidOf("WS01", pid), PGUID: guidOf("WS01", 0x52c),
	}
	return e.render()
}

// forge writes a complete verdict of this processor on a record, as a
// sender would forge it, next to attributes that are not the processor's.
func forge(lr plog.LogRecord, bodyKey string) {
	attrs := lr.Attributes()
	attrs.PutStr("DetectionPattern", "DCOM_ServerChild")
	attrs.PutStr("dcom.detection.severity", "critical")
	attrs.PutInt("dcom.correlation.server.pid", 4)
	attrs.PutStr("security_rule.name", "DCOM_ServerChild")
	attrs.PutStr("security_rule.ruleset.name", "otelcol-dcom/dcomdetection/extended")
	attrs.PutStr("threat.technique.subtechnique.id", "T1021.003")
	attrs.PutStr("event.kind", "alert")
	attrs.PutStr("team", "blue")
	attrs.PutStr("source.address", "10.1.2.3")
	if bodyKey != "" && lr.Body().Type() == pcommon.ValueTypeMap {
		lr.Body().Map().PutEmptyMap(bodyKey).PutStr("DetectionPattern", "DCOM_ServerChild")
	}
}

// stripTelemetry is a started processor, a call that feeds it a batch, and
// what its upstream_verdicts_stripped counter says.
func stripTelemetry(t *testing.T, cfg *Config, sink *consumertest.LogsSink) (func(plog.Logs), func() int64) {
	p, sum := telemetryProcessor(t, cfg, sink)
	consume := func(ld plog.Logs) { require.NoError(t, p.ConsumeLogs(context.Background(), ld)) }
	return consume, func() int64 { return sum(metricStripped)[""] }
}

// TestForgedVerdictIsStripped is the regression for records arriving with
// this processor's verdict passing through with it: a sender on a gateway
// could forge alerts. In every shape, on a process creation, on another
// event and on a record that is not a Windows event at all.
func TestForgedVerdictIsStripped(t *testing.T) {
	notepad := sysmon1(`C:\Windows\System32\notepad.exe`, "notepad.exe", genExplorer, genExplorer)
	logon := winEvent{ID: 4634, Host: "WS01", RecordID: 2, Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	for _, shape := range []string{"map", "xml", "nxlog"} {
		for _, drop := range []bool{false, true} {
			cfg := defaultConfig()
			cfg.BodyKey = "dcom_detection"
			cfg.DropUnmatched = drop
			sink := new(consumertest.LogsSink)
			consume, stripped := stripTelemetry(t, cfg, sink)
			ld := logsOf(shape, notepad, logon)
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			lrs.AppendEmpty().Body().SetStr("not a Windows event")
			for _, lr := range lrs.All() {
				forge(lr, cfg.BodyKey)
			}
			consume(ld)
			assert.Equal(t, int64(3), stripped(), "%s drop=%v", shape, drop)
			if drop {
				assert.Zero(t, sink.LogRecordCount(), "%s: no forged alert leaves", shape)
				continue
			}
			require.Equal(t, 3, sink.LogRecordCount())
			for _, lr := range sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
				assert.Equal(t, map[string]any{"team": "blue", "source.address": "10.1.2.3"}, lr.Attributes().AsRaw(), "%s", shape)
				if lr.Body().Type() == pcommon.ValueTypeMap {
					_, ok := lr.Body().Map().Get(cfg.BodyKey)
					assert.False(t, ok, "%s: body_key removed", shape)
				}
			}
		}
	}
}

// TestReprocessedRecordGetsTodaysVerdict: a detection processed a second
// time, by a processor whose settings differ (its patterns switched off),
// carries no stale verdict; with upstream_verdicts: keep the first stays.
func TestReprocessedRecordGetsTodaysVerdict(t *testing.T) {
	child := sysmon1(`C:\Windows\System32\cmd.exe`, "cmd.exe /c whoami", genMMC, genMMC+" -Embedding")
	first := new(consumertest.LogsSink)
	consume, _ := stripTelemetry(t, defaultConfig(), first)
	consume(logsOf("map", child))
	require.Equal(t, "COM_SuspiciousChild", str(first.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes(), "DetectionPattern"))

	off := false
	for _, keep := range []bool{false, true} {
		cfg := defaultConfig()
		cfg.Patterns = map[string]PatternConfig{"COM_SuspiciousChild": {Enabled: &off}, "DCOM_ServerChild": {Enabled: &off}}
		if keep {
			cfg.UpstreamVerdicts = UpstreamVerdictsKeep
		}
		again := plog.NewLogs()
		first.AllLogs()[0].CopyTo(again)
		second := new(consumertest.LogsSink)
		consume, stripped := stripTelemetry(t, cfg, second)
		consume(again)
		attrs := second.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		if keep {
			assert.Zero(t, stripped())
			assert.Equal(t, "COM_SuspiciousChild", str(attrs, "DetectionPattern"), "kept on purpose")
			continue
		}
		assert.Equal(t, int64(1), stripped())
		assert.Empty(t, str(attrs, "DetectionPattern"), "no stale verdict: both patterns are off now")
		assert.Empty(t, str(attrs, "event.kind"))
		assert.Equal(t, "cmd.exe /c whoami", str(attrs, "process.command_line"), "the process fields stay")
	}
}

// TestOtherVerdictsAreNotStripped: event.kind or security_rule.* of
// another ruleset alone are another tool's, and stay.
func TestOtherVerdictsAreNotStripped(t *testing.T) {
	sink := new(consumertest.LogsSink)
	consume, stripped := stripTelemetry(t, defaultConfig(), sink)
	ld := logsOf("map", sysmon1(`C:\Windows\System32\notepad.exe`, "notepad.exe", genExplorer, genExplorer))
	attrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	attrs.PutStr("event.kind", "alert")
	attrs.PutStr("security_rule.name", "Suspicious Notepad")
	attrs.PutStr("security_rule.ruleset.name", "sigma")
	attrs.PutStr("threat.technique.id", "T1059")
	want := attrs.AsRaw()
	consume(ld)
	assert.Zero(t, stripped())
	assert.Equal(t, want, sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw())
}

// BenchmarkStripUpstream is what upstream_verdicts: strip costs a record
// that carries no verdict, in a map body with body_key set (the edge
// configuration) and without.
func BenchmarkStripUpstream(b *testing.B) {
	ev := sysmon1(`C:\Windows\System32\notepad.exe`, "notepad.exe", genExplorer, genExplorer)
	for _, bodyKey := range []string{"", "dcom_detection"} {
		b.Run("body_key="+bodyKey, func(b *testing.B) {
			cfg := defaultConfig()
			cfg.BodyKey = bodyKey
			p := &detectionProcessor{cfg: cfg, strip: true}
			lr := logsOf("map", ev).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			var stats batchStats
			b.ReportAllocs()
			for b.Loop() {
				p.stripUpstream(lr, &stats)
			}
			if stats.stripped != 0 {
				b.Fatal("nothing to strip")
			}
		})
	}
}

// TestForgedVerdictOfAnyTypeIsStripped: the verdict's keys with values of
// other types (a sender is not bound to ours) go too, without a panic.
func TestForgedVerdictOfAnyTypeIsStripped(t *testing.T) {
	cfg := defaultConfig()
	cfg.BodyKey = "dcom_detection"
	sink := new(consumertest.LogsSink)
	consume, stripped := stripTelemetry(t, cfg, sink)
	ld := logsOf("map", sysmon1(`C:\Windows\System32\notepad.exe`, "notepad.exe", genExplorer, genExplorer))
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	attrs := lr.Attributes()
	attrs.PutInt("DetectionPattern", 7)
	attrs.PutEmptyMap("dcom.detection").PutStr("severity", "high")
	attrs.PutEmptySlice("event.kind").AppendEmpty().SetStr("alert")
	attrs.PutEmptyBytes("security_rule.ruleset.name").FromRaw([]byte(rulesetPrefix + "extended"))
	attrs.PutBool("threat.framework", true)
	attrs.PutStr("team", "blue")
	lr.Body().Map().PutStr("dcom_detection", "DCOM_ServerChild")
	consume(ld)
	assert.Equal(t, int64(1), stripped())
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, map[string]any{"team": "blue"}, out.Attributes().AsRaw())
	_, ok := out.Body().Map().Get("dcom_detection")
	assert.False(t, ok)
}
