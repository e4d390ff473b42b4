package dcomdetectionprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	disabled, enabled := false, true
	tests := []struct {
		name string
		want *Config
	}{
		{"", &Config{Profile: ProfileExtended, RecordAttributes: true, ProcessAttributes: true, Correlation: defaultCorrelationConfig(), UpstreamVerdicts: UpstreamVerdictsStrip, LoopbackTargets: LoopbackTargetsLateral, Sigma: defaultSigma}},
		{"seed", &Config{Profile: ProfileSeed, RecordAttributes: true, ProcessAttributes: true, Correlation: defaultCorrelationConfig(), UpstreamVerdicts: UpstreamVerdictsStrip, LoopbackTargets: LoopbackTargetsLateral, Sigma: defaultSigma}},
		{"tuned", &Config{
			Profile: ProfileExtended, DropUnmatched: true, BodyKey: "dcom_detection", Correlation: defaultCorrelationConfig(),
			UpstreamVerdicts: UpstreamVerdictsStrip, LoopbackTargets: LoopbackTargetsLocal, Sigma: defaultSigma,
			Patterns: map[string]PatternConfig{
				"DCOM_ConfigTool":       {Enabled: &disabled},
				"DCOM_ServerActivation": {Severity: "high"},
				"COM_LocalAutomation":   {Enabled: &enabled},
			},
			Lists: map[string]ListConfig{
				"com_servers":            {Add: []string{"onenote.exe"}},
				"server_child_allowlist": {Add: []string{"mmc.exe>vendorhelper.exe", "contoso*.exe"}},
				"suspicious_children":    {Remove: []string{"whoami.exe"}},
				"source_tokens":          {Add: []string{"Contoso.RemoteAutomation", "CreateRemoteThing(host)"}},
				"dual_use_tokens":        {Add: []string{"Contoso.Automation"}, Remove: []string{"ActivateMicrosoftApp"}},
			},
			Exclusions: []ExclusionConfig{
				{Name: "sccm-ccmcache", Patterns: []string{"COM_SuspiciousChild", "DCOM_ServerChild"}, User: `NT AUTHORITY\SYSTEM`, CommandLine: `*\ccmcache\*`},
				{Name: "helpdesk-gpupdate", Patterns: []string{"COM_SuspiciousChild"}, User: `CORP\svc-helpdesk`, CommandLine: "*gpupdate /force*"},
			},
		}},
		{"sigma", &Config{
			Profile: ProfileExtended, RecordAttributes: true, ProcessAttributes: true, Correlation: defaultCorrelationConfig(),
			UpstreamVerdicts: UpstreamVerdictsStrip, LoopbackTargets: LoopbackTargetsLateral,
			Sigma: SigmaConfig{Rules: []string{"sigma/windows/process_creation", "sigma/windows/process_creation/*mmc*.yml"}, PatternField: "id", Ruleset: "corp"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			assert.NoError(t, confmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg)
		})
	}
}

var defaultSigma = SigmaConfig{PatternField: "title", Ruleset: "sigma"}

func TestConfigValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		errs   []string
	}{
		{"unknown profile", func(c *Config) { c.Profile = "strict" }, []string{`profile: unknown profile "strict"`}},
		{"empty profile", func(c *Config) { c.Profile = "" }, []string{`profile: unknown profile ""`}},
		{"unknown loopback_targets", func(c *Config) { c.LoopbackTargets = "remote" }, []string{`loopback_targets: unknown value "remote" (use "lateral" or "local")`}},
		{"unknown upstream_verdicts", func(c *Config) { c.UpstreamVerdicts = "drop" }, []string{`upstream_verdicts: unknown value "drop" (use "strip" or "keep")`}},
		{"attributes off without body key", func(c *Config) { c.RecordAttributes = false }, []string{"record_attributes: false needs body_key"}},
		{"body key with spaces", func(c *Config) { c.BodyKey = " dcom" }, []string{"body_key:"}},
		{"unknown pattern", func(c *Config) { c.Patterns = map[string]PatternConfig{"DCOM_Everything": {}} }, []string{"patterns::DCOM_Everything: unknown pattern"}},
		{"unknown severity", func(c *Config) { c.Patterns = map[string]PatternConfig{"DCOM_ConfigTool": {Severity: "urgent"}} }, []string{`patterns::DCOM_ConfigTool::severity: unknown severity "urgent"`}},
		{"dual-use host call", func(c *Config) {
			c.Lists = map[string]ListConfig{"dual_use_tokens": {Add: []string{"OpenRemote(host)"}}}
		}, []string{`lists::dual_use_tokens::add: token "OpenRemote(host)": a "(host)" call names its own target; add it to source_tokens`}},
		{"unknown list", func(c *Config) { c.Lists = map[string]ListConfig{"parents": {Add: []string{"a.exe"}}} }, []string{"lists::parents: unknown list"}},
		{"remove missing name", func(c *Config) { c.Lists = map[string]ListConfig{"com_servers": {Remove: []string{"notepad.exe"}}} }, []string{`lists::com_servers::remove: "notepad.exe" is not in the list`}},
		{"path in a name list", func(c *Config) {
			c.Lists = map[string]ListConfig{"suspicious_children": {Add: []string{`C:\tools\x.exe`}}}
		}, []string{"lists::suspicious_children::add:", "must be a file name"}},
		{"short token", func(c *Config) { c.Lists = map[string]ListConfig{"source_tokens": {Add: []string{"com"}}} }, []string{"lists::source_tokens::add: token \"com\" is shorter than 4 characters"}},
		{"allowlist matching everything", func(c *Config) {
			c.Lists = map[string]ListConfig{"server_child_allowlist": {Add: []string{"mmc.exe>*"}}}
		}, []string{"lists::server_child_allowlist::add:", "matches everything"}},
		{"lists with seed", func(c *Config) {
			c.Profile = ProfileSeed
			c.Lists = map[string]ListConfig{"com_servers": {Add: []string{"onenote.exe"}}}
		}, []string{"lists: the seed profile keeps the query's lists exactly"}},
		{"exclusion without name", func(c *Config) { c.Exclusions = []ExclusionConfig{{Image: "*x.exe"}} }, []string{"exclusions::0", "name is required"}},
		{"exclusion without fields", func(c *Config) { c.Exclusions = []ExclusionConfig{{Name: "empty"}} }, []string{"exclusions::0 (empty): no field to match"}},
		{"exclusion matching everything", func(c *Config) { c.Exclusions = []ExclusionConfig{{Name: "all", Image: "**"}} }, []string{"exclusions::0 (all): image: pattern \"**\" matches everything"}},
		{"exclusion unknown pattern", func(c *Config) {
			c.Exclusions = []ExclusionConfig{{Name: "x", Patterns: []string{"DCOM_Foo"}, Host: "ws*"}}
		}, []string{`exclusions::0 (x): patterns: unknown pattern "DCOM_Foo"`}},
		{"duplicate exclusion", func(c *Config) {
			c.Exclusions = []ExclusionConfig{{Name: "x", Host: "a"}, {Name: "x", Host: "b"}}
		}, []string{`exclusions::1::name: duplicate exclusion name "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			tt.modify(cfg)
			err := cfg.Validate()
			require.Error(t, err)
			for _, want := range tt.errs {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
