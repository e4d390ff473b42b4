package dcomdetectionprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// powershellExpected is testdata/powershell/expected.json: what the
// extended profile makes of each line of the shape files.
type powershellExpected struct {
	ID       string `json:"id"`
	Pattern  string `json:"pattern"`
	Evidence string `json:"evidence"`
}

func loadPowerShellExpected(t *testing.T) []powershellExpected {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "powershell", "expected.json"))
	require.NoError(t, err)
	var expected []powershellExpected
	require.NoError(t, json.Unmarshal(raw, &expected))
	return expected
}

// powershellLogs renders testdata/powershell's events in one shape, in order.
func powershellLogs(t *testing.T, s shape) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, line := range streamtest.MustLines(t, filepath.Join("testdata", "powershell", s.file)) {
		s.render(t, line, lrs.AppendEmpty())
	}
	return ld
}

func attrStr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// TestPowerShellEveryShape: the real recording's script block (P02) and
// the synthetic script blocks and pipelines are found, or left alone, in
// every body shape, with the host, the user, the script block and the
// token as evidence.
func TestPowerShellEveryShape(t *testing.T) {
	expected := loadPowerShellExpected(t)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			p := newTestProcessor(t, defaultConfig(), sink)
			require.NoError(t, p.ConsumeLogs(context.Background(), powershellLogs(t, s)))
			lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			require.Equal(t, len(expected), lrs.Len())
			for i, want := range expected {
				attrs := lrs.At(i).Attributes()
				got := attrStr(attrs, attrDetectionPattern)
				if want.Pattern == "none" {
					assert.Empty(t, got, want.ID)
					continue
				}
				assert.Equal(t, want.Pattern, got, want.ID)
				assert.Equal(t, want.Evidence, attrStr(attrs, attrEvidence), want.ID)
				assert.Equal(t, "T1021.003", attrStr(attrs, attrSubtechniqueID), want.ID)
				assert.NotEmpty(t, attrStr(attrs, attrHostName), want.ID)
				assert.Regexp(t, `^S-1-5-21-`, attrStr(attrs, attrUserID), want.ID)
			}
			// The real recording: the jump host, its user, the script block.
			p02 := lrs.At(1).Attributes()
			assert.Equal(t, "jump01.offsec.lan", attrStr(p02, attrHostName))
			assert.Equal(t, "S-1-5-21-4230534742-2542757381-3142984815-1111", attrStr(p02, attrUserID))
			assert.Equal(t, "f7f7a3a7-9fc0-4e60-960a-df716d95b851", attrStr(p02, attrScriptBlockID))
			assert.Equal(t, "1", attrStr(p02, attrScriptPart))
			assert.Equal(t, "1", attrStr(p02, attrScriptParts))
			assert.Equal(t, "alert", attrStr(p02, attrEventKind))
			// A pipeline (4103): the user's name and the host's command line
			// from ContextInfo.
			s07 := lrs.At(16).Attributes()
			require.Equal(t, "S07", expected[16].ID)
			assert.Equal(t, `CORP\adm-jane`, attrStr(s07, attrUserName))
			assert.Equal(t, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, attrStr(s07, attrProcessCommandLine))
			// PowerShell 7's log, with the script's path.
			s04 := lrs.At(8).Attributes()
			assert.Equal(t, `C:\Users\adm-jane\dcom.ps1`, attrStr(s04, attrFilePath))
		})
	}
}

// TestPowerShellSeedProfileReadsNoScripts: the seed query reads process
// creations only.
func TestPowerShellSeedProfileReadsNoScripts(t *testing.T) {
	cfg := defaultConfig()
	cfg.Profile = ProfileSeed
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), powershellLogs(t, shapes[0])))
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		_, ok := lrs.At(i).Attributes().Get(attrDetectionPattern)
		assert.False(t, ok, "line %d", i+1)
	}
}

// TestPowerShellStreams: the PowerShell events of the recorded attack
// streams (module logging on the hosts and the domain controller's
// background) raise nothing, but for the one that is the attack: Empire's
// agent on WORKSTATION5 loading its Invoke-DCOM module with
// Invoke-Expression (4103, the source side of the ShellWindows stager).
func TestPowerShellStreams(t *testing.T) {
	for _, shapeName := range []string{"json", "xml"} {
		sink := new(consumertest.LogsSink)
		p := newTestProcessor(t, defaultConfig(), sink)
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		var where []string
		for _, s := range loadCorrelationStreams(t) {
			for i := range s.JSON {
				body, err := s.Body(shapeName, i)
				require.NoError(t, err)
				var ev winevent.Event
				if !winevent.ReadContext(body, pcommon.NewMap(), &ev) || !ev.IsPowerShell() {
					continue
				}
				body.CopyTo(lrs.AppendEmpty().Body())
				where = append(where, fmt.Sprintf("%s line %d", s.Short(), i+1))
			}
		}
		require.Greater(t, lrs.Len(), 450, shapeName)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		var detected []string
		for i := 0; i < out.Len(); i++ {
			if v, ok := out.At(i).Attributes().Get(attrDetectionPattern); ok {
				detected = append(detected, where[i]+": "+v.Str()+" ("+attrStr(out.At(i).Attributes(), attrEvidence)+")")
			}
		}
		assert.Equal(t, []string{"empire_dcom_shellwindows_stager line 275: DCOM_SourceInvocation (Invoke-DCOM)"}, detected, shapeName)
	}
}

// TestPowerShellPartsAcrossBatches: a script block's parts split across
// calls, one record per call or in random runs, give the same verdicts as
// one batch.
func TestPowerShellPartsAcrossBatches(t *testing.T) {
	expected := loadPowerShellExpected(t)
	rng := rand.New(rand.NewSource(28))
	for _, s := range shapes {
		all := powershellLogs(t, s).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for round := 0; round < 4; round++ {
			sink := new(consumertest.LogsSink)
			p := newTestProcessor(t, defaultConfig(), sink)
			for i := 0; i < all.Len(); {
				n := 1
				if round > 0 {
					n = 1 + rng.Intn(4)
				}
				ld := plog.NewLogs()
				lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
				for ; n > 0 && i < all.Len(); n-- {
					all.At(i).CopyTo(lrs.AppendEmpty())
					i++
				}
				require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			}
			var got []string
			for _, ld := range sink.AllLogs() {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					got = append(got, attrStr(lrs.At(i).Attributes(), attrEvidence))
				}
			}
			require.Len(t, got, len(expected))
			for i, want := range expected {
				assert.Equal(t, want.Evidence, got[i], "%s round %d: %s", s.name, round, want.ID)
			}
		}
	}
}

// TestScriptBlockTelemetry: the blocks waiting for a part, their bytes and
// the blocks let go are reported.
func TestScriptBlockTelemetry(t *testing.T) {
	p, tel := startWithTelemetry(t, defaultConfig(), consumertest.NewNop())

	// M03 and M01 of a block of three: one block waits, with their ends.
	all := powershellLogs(t, shapes[0]).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	all.At(11).CopyTo(lrs.AppendEmpty())
	all.At(12).CopyTo(lrs.AppendEmpty())
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	gauge := func(name string) int64 {
		m, getErr := tel.GetMetric(name)
		require.NoError(t, getErr, name)
		return m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value
	}
	assert.Equal(t, int64(1), gauge(metricScriptBlocks))
	assert.Greater(t, gauge(metricScriptBlockBytes), int64(2*rules.EdgeBytes))
	m, err := tel.GetMetric(metricScriptBlocksEvicted)
	require.NoError(t, err)
	assert.Equal(t, int64(0), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
}
