package dcomdetectionprocessor

import (
	"context"
	"encoding/json"
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
}

// TestDualUseTokensEveryShape: every dual-use token used on this computer,
// against a remote computer (a server argument, a target parameter, in a
// decoded -EncodedCommand) and against this computer (localhost, its own
// name), in Sysmon 1 and Security 4688 command lines, in every body shape.
// Local use raises nothing; a remote or loopback target raises
// DCOM_SourceInvocation with the evidence saying which.
func TestDualUseTokensEveryShape(t *testing.T) {
	var cases []dualUseCase
	for _, line := range streamtest.MustLines(t, filepath.Join("testdata", "dualuse", "dualuse.jsonl")) {
		var c dualUseCase
		require.NoError(t, json.Unmarshal([]byte(line), &c))
		cases = append(cases, c)
	}
	require.Len(t, cases, 164)
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
			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			for _, line := range streamtest.MustLines(t, filepath.Join("testdata", "dualuse", s.file)) {
				s.render(t, line, lrs.AppendEmpty())
			}
			sink := new(consumertest.LogsSink)
			p := newTestProcessor(t, defaultConfig(), sink)
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			require.Equal(t, len(cases), out.Len())
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
