package dcomdetectionprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// TestAtomicRedTeam runs every Atomic Red Team test whose command holds a
// source or dual-use token (testdata/atomics: 15 tests of 11 techniques,
// as Sysmon 1 and 4688, every body shape). Only T1021.003's two tests are
// lateral movement (both against localhost, the loopback they default
// to); the others use COM on their own computer (T1137.006 RegisterXLL,
// T1546.015 ShellWindows, T1553.005 ShellBrowserWindow, VBScript
// CreateObject, ...) and raise nothing.
func TestAtomicRedTeam(t *testing.T) {
	type atomic struct {
		ID        string `json:"id"`
		Technique string `json:"technique"`
		GUID      string `json:"guid"`
		Name      string `json:"name"`
	}
	atomics := streamtest.MustDecodeLines[atomic](t, filepath.Join("testdata", "atomics", "atomics.jsonl"))
	require.Len(t, atomics, 30)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			out := processFixture(t, filepath.Join("testdata", "atomics", s.file), s, defaultConfig())
			require.Equal(t, len(atomics), out.Len())
			lateral := 0
			for i, a := range atomics {
				attrs := out.At(i).Attributes()
				if a.Technique != "T1021.003" {
					assert.Empty(t, attrStr(attrs, attrDetectionPattern), "%s %s %s %q", a.ID, a.Technique, a.GUID, a.Name)
					continue
				}
				lateral++
				assert.Equal(t, "DCOM_SourceInvocation", attrStr(attrs, attrDetectionPattern), "%s %q", a.ID, a.Name)
				assert.Equal(t, "GetTypeFromProgID with a loopback host", attrStr(attrs, attrEvidence), "%s %q", a.ID, a.Name)
			}
			assert.Equal(t, 4, lateral)

			// loopback_targets: local: the loopback runs are local COM
			// use too, and nothing is flagged.
			cfg := defaultConfig()
			cfg.LoopbackTargets = LoopbackTargetsLocal
			out = processFixture(t, filepath.Join("testdata", "atomics", s.file), s, cfg)
			for i, a := range atomics {
				assert.Empty(t, attrStr(out.At(i).Attributes(), attrDetectionPattern), "%s %s %q", a.ID, a.Technique, a.Name)
			}
		})
	}
}
