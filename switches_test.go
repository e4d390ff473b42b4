package dcomdetectionprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// What a pattern switch, a list and an exclusion may change: which alerts
// leave, never which facts the correlation keeps.

// serverEpisode is a DcomLaunch start of mmc.exe (4688, record 1) and its
// calc.exe child (4688, record 2), which only the server-child join finds:
// a 4688 has no parent command line.
func serverEpisode(shape string) plog.Logs {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	mmc, svchost := `C:\Windows\System32\mmc.exe`, `C:\Windows\System32\svchost.exe`
	return logsOf(shape,
		security4688("WS01", 1, t0, mmc, svchost, 0x52c, 0x380, `C:\Windows\system32\mmc.exe -Embedding`, "0x2a1f0"),
		security4688("WS01", 2, t0.Add(3*time.Second), `C:\Windows\System32\calc.exe`, mmc, 0x9a0, 0x52c, "calc.exe", "0x2a1f0"),
	)
}

// TestSwitchedOffActivationStillJoinsItsChildren is the regression for the
// server-child join depending on the DCOM_ServerActivation alert: switching
// that medium pattern off, or excluding the activation, silenced every
// DCOM_ServerChild found by correlation (or, for the exclusion, kept it:
// two settings of one intent behaved differently).
func TestSwitchedOffActivationStillJoinsItsChildren(t *testing.T) {
	off := false
	for _, setting := range []struct {
		name string
		set  func(*Config)
	}{
		{"switched off", func(cfg *Config) {
			cfg.Patterns = map[string]PatternConfig{"DCOM_ServerActivation": {Enabled: &off}}
		}},
		{"excluded", func(cfg *Config) {
			cfg.Exclusions = []ExclusionConfig{{Name: "mmc activations", Patterns: []string{"DCOM_ServerActivation"}, Image: `*\mmc.exe`}}
		}},
	} {
		for _, shape := range []string{"map", "xml", "nxlog"} {
			cfg := defaultConfig()
			setting.set(cfg)
			require.NoError(t, cfg.Validate())
			out := consumeAll(t, cfg, []plog.Logs{serverEpisode(shape)})
			assert.Empty(t, detectionsOn(t, out, 1), "%s, %s: no activation alert", setting.name, shape)
			assert.Equal(t, []string{"DCOM_ServerChild"}, detectionsOn(t, out, 2), "%s, %s: the child is still joined", setting.name, shape)
		}
	}
	// The child's own switch and exclusion silence the child.
	cfg := defaultConfig()
	cfg.Patterns = map[string]PatternConfig{"DCOM_ServerChild": {Enabled: &off}}
	out := consumeAll(t, cfg, []plog.Logs{serverEpisode("map")})
	assert.Equal(t, []string{"DCOM_ServerActivation"}, detectionsOn(t, out, 1))
	assert.Empty(t, detectionsOn(t, out, 2))
	cfg = defaultConfig()
	cfg.Exclusions = []ExclusionConfig{{Name: "mmc children", Patterns: []string{"DCOM_ServerChild"}, ParentImage: `*\mmc.exe`}}
	out = consumeAll(t, cfg, []plog.Logs{serverEpisode("map")})
	assert.Equal(t, []string{"DCOM_ServerActivation"}, detectionsOn(t, out, 1))
	assert.Empty(t, detectionsOn(t, out, 2))
}
