package dcomdetectionprocessor

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// dualUseCase is one event of testdata/dualuse (internal/tools/render_dualuse.py).
type dualUseCase struct {
	ID       string `json:"id"`
	Pattern  string `json:"pattern"`
	Evidence string `json:"evidence"`
	Why      string `json:"why"`
	// LocalEvidence is COM_LocalAutomation's evidence when it is switched
	// on: a dual-use token used on this computer.
	LocalEvidence string `json:"local_evidence"`
}

// TestDualUseTokensEveryShape: every dual-use token used on this computer,
// against a remote computer (a server argument, a target parameter, in a
// decoded -EncodedCommand) and against this computer (localhost, its own
// name), in Sysmon 1 and Security 4688 command lines, in every body shape.
// Local use raises nothing; a remote or loopback target raises
// DCOM_SourceInvocation with the evidence saying which.
func TestDualUseTokensEveryShape(t *testing.T) {
	cases := loadDualUseCases(t)
	local, remote := 0, 0
	for _, c := range cases {
		if c.Pattern == "none" {
			local++
		} else {
			remote++
		}
	}
	require.Equal(t, 2*(10*2+6), local, "each token's local uses, plain and encoded, and the other local cases, in both event kinds")

	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			out := processDualUse(t, s, defaultConfig())
			for i, c := range cases {
				attrs := out.At(i).Attributes()
				if c.Pattern == "none" {
					assert.Empty(t, attrStr(attrs, attrDetectionPattern), "%s: %s", c.ID, c.Why)
					continue
				}
				assert.Equal(t, c.Pattern, attrStr(attrs, attrDetectionPattern), "%s: %s", c.ID, c.Why)
				assert.Equal(t, c.Evidence, attrStr(attrs, attrEvidence), "%s: %s", c.ID, c.Why)
			}
		})
	}
}

func loadDualUseCases(t *testing.T) []dualUseCase {
	t.Helper()
	cases := streamtest.MustDecodeLines[dualUseCase](t, filepath.Join("testdata", "dualuse", "dualuse.jsonl"))
	require.Len(t, cases, 164)
	return cases
}

// processDualUse runs testdata/dualuse in one shape through a processor.
func processDualUse(t *testing.T, s shape, cfg *Config) plog.LogRecordSlice {
	t.Helper()
	return processFixture(t, filepath.Join("testdata", "dualuse", s.file), s, cfg)
}

// processFixture runs a rendered fixture file in its shape through a
// processor, in one batch, and returns the records that leave it.
func processFixture(t *testing.T, file string, s shape, cfg *Config) plog.LogRecordSlice {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, line := range streamtest.MustLines(t, file) {
		s.render(t, line, lrs.AppendEmpty())
	}
	sink := new(consumertest.LogsSink)
	p := newTestProcessor(t, cfg, sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, lrs.Len(), out.Len())
	return out
}

// TestLocalAutomationPattern: switched on, COM_LocalAutomation flags the
// local uses of dual-use tokens, as T1559.001 and informational, and
// changes nothing else; DCOM_SourceInvocation off leaves it alone.
func TestLocalAutomationPattern(t *testing.T) {
	cases := loadDualUseCases(t)
	on := true
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Patterns = map[string]PatternConfig{"COM_LocalAutomation": {Enabled: &on}}
			out := processDualUse(t, s, cfg)
			local := 0
			for i, c := range cases {
				attrs := out.At(i).Attributes()
				if c.Pattern != "none" {
					assert.Equal(t, c.Pattern, attrStr(attrs, attrDetectionPattern), "%s: %s", c.ID, c.Why)
					assert.Equal(t, "T1021.003", attrStr(attrs, attrSubtechniqueID), c.ID)
					continue
				}
				if c.LocalEvidence == "" {
					assert.Empty(t, attrStr(attrs, attrDetectionPattern), "%s: %s", c.ID, c.Why)
					continue
				}
				local++
				assert.Equal(t, "COM_LocalAutomation", attrStr(attrs, attrDetectionPattern), "%s: %s", c.ID, c.Why)
				assert.Equal(t, c.LocalEvidence, attrStr(attrs, attrEvidence), c.ID)
				assert.Equal(t, "informational", attrStr(attrs, attrSeverity), c.ID)
				assert.Equal(t, "TA0002", attrStr(attrs, attrTacticID), c.ID)
				assert.Equal(t, "T1559", attrStr(attrs, attrTechniqueID), c.ID)
				assert.Equal(t, "T1559.001", attrStr(attrs, attrSubtechniqueID), c.ID)
				assert.Equal(t, "https://attack.mitre.org/techniques/T1559/001/", attrStr(attrs, attrRuleReference), c.ID)
				assert.Equal(t, "6f1d3c2a-7d51-4f0e-9a51-0c8f3e1b2a08", attrStr(attrs, attrRuleUUID), c.ID)
			}
			assert.Equal(t, 50, local)

			// With DCOM_SourceInvocation off, a remote use is not local.
			off := false
			cfg.Patterns["DCOM_SourceInvocation"] = PatternConfig{Enabled: &off}
			out = processDualUse(t, s, cfg)
			for i, c := range cases {
				got := attrStr(out.At(i).Attributes(), attrDetectionPattern)
				if c.LocalEvidence != "" {
					assert.Equal(t, "COM_LocalAutomation", got, c.ID)
				} else {
					assert.Empty(t, got, "%s: %s", c.ID, c.Why)
				}
			}
		})
	}
}
