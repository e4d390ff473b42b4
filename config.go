package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
)

// Profile names.
const (
	ProfileExtended = "extended"
	ProfileSeed     = "seed"
)

// What to do with a verdict of this processor that a record already carries
// when it arrives (upstream_verdicts).
const (
	// UpstreamVerdictsStrip removes it before the record is evaluated: a
	// sender cannot forge an alert, and a record processed again carries
	// only the verdict made now.
	UpstreamVerdictsStrip = "strip"
	// UpstreamVerdictsKeep leaves it (a pipeline that processes twice on
	// purpose, with a trusted first pass).
	UpstreamVerdictsKeep = "keep"
)

// How a call or parameter that names this computer counts
// (loopback_targets).
const (
	// LoopbackTargetsLateral counts it as lateral movement: it takes the
	// remote-activation path, and Atomic Red Team's T1021.003 tests run so.
	LoopbackTargetsLateral = "lateral"
	// LoopbackTargetsLocal counts it as local COM use.
	LoopbackTargetsLocal = "local"
)

// Config configures the dcomdetection processor.
type Config struct {
	// Profile is "extended" (default) or "seed" (the Sumo Logic seed query exactly).
	Profile string `mapstructure:"profile"`
	// DropUnmatched drops every record that is not a detection.
	DropUnmatched bool `mapstructure:"drop_unmatched"`
	// BodyKey, when set, also writes the verdict as a map under this key of a
	// map body (Sumo Cloud SIEM's OpenTelemetry parser reads only the body).
	BodyKey string `mapstructure:"body_key"`
	// RecordAttributes writes the verdict as log-record attributes (default true).
	RecordAttributes bool `mapstructure:"record_attributes"`
	// ProcessAttributes adds the normalized process fields to the record
	// attributes of a detection (default true).
	ProcessAttributes bool `mapstructure:"process_attributes"`
	// Patterns switches patterns off or changes their severity, by pattern name.
	Patterns map[string]PatternConfig `mapstructure:"patterns"`
	// Lists adds names to or removes names from the extended profile's tables.
	Lists map[string]ListConfig `mapstructure:"lists"`
	// Exclusions suppress detections whose fields match.
	Exclusions []ExclusionConfig `mapstructure:"exclusions"`
	// Correlation joins events of one host (correlation.go, docs/correlation.md).
	Correlation CorrelationConfig `mapstructure:"correlation"`
	// UpstreamVerdicts is "strip" (default) or "keep": what happens to this
	// processor's verdict on a record that arrives with one (verdict.go).
	UpstreamVerdicts string `mapstructure:"upstream_verdicts"`
	// LoopbackTargets is "lateral" (default) or "local": how a COM call or
	// target parameter that names this computer (localhost, 127.0.0.1, its
	// own name) counts.
	LoopbackTargets string `mapstructure:"loopback_targets"`
	// Sigma loads Sigma process_creation rules (sigma.go, docs/sigma.md).
	Sigma SigmaConfig `mapstructure:"sigma"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PatternConfig tunes one pattern.
type PatternConfig struct {
	Enabled  *bool  `mapstructure:"enabled"`
	Severity string `mapstructure:"severity"`
}

// ListConfig edits one of the default lists.
type ListConfig struct {
	Add    []string `mapstructure:"add"`
	Remove []string `mapstructure:"remove"`
}

// ExclusionConfig is a named rule of case-insensitive '*' wildcards; a
// detection is suppressed when every given field matches.
type ExclusionConfig struct {
	Name              string   `mapstructure:"name"`
	Patterns          []string `mapstructure:"patterns"`
	Image             string   `mapstructure:"image"`
	ParentImage       string   `mapstructure:"parent_image"`
	CommandLine       string   `mapstructure:"command_line"`
	ParentCommandLine string   `mapstructure:"parent_command_line"`
	User              string   `mapstructure:"user"`
	Host              string   `mapstructure:"host"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Profile:           ProfileExtended,
		RecordAttributes:  true,
		ProcessAttributes: true,
		Correlation:       defaultCorrelationConfig(),
		UpstreamVerdicts:  UpstreamVerdictsStrip,
		LoopbackTargets:   LoopbackTargetsLateral,
		Sigma:             SigmaConfig{PatternField: "title", Ruleset: "sigma"},
	}
}

// Validate checks the configuration; every error names its key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Profile != ProfileExtended && cfg.Profile != ProfileSeed {
		errs = append(errs, fmt.Errorf("profile: unknown profile %q (use %q or %q)", cfg.Profile, ProfileExtended, ProfileSeed))
	}
	if cfg.UpstreamVerdicts != UpstreamVerdictsStrip && cfg.UpstreamVerdicts != UpstreamVerdictsKeep {
		errs = append(errs, fmt.Errorf("upstream_verdicts: unknown value %q (use %q or %q)", cfg.UpstreamVerdicts, UpstreamVerdictsStrip, UpstreamVerdictsKeep))
	}
	if cfg.LoopbackTargets != LoopbackTargetsLateral && cfg.LoopbackTargets != LoopbackTargetsLocal {
		errs = append(errs, fmt.Errorf("loopback_targets: unknown value %q (use %q or %q)", cfg.LoopbackTargets, LoopbackTargetsLateral, LoopbackTargetsLocal))
	}
	if cfg.BodyKey != "" && strings.TrimSpace(cfg.BodyKey) != cfg.BodyKey {
		errs = append(errs, fmt.Errorf("body_key: %q has leading or trailing spaces", cfg.BodyKey))
	}
	if !cfg.RecordAttributes && cfg.BodyKey == "" {
		errs = append(errs, errors.New("record_attributes: false needs body_key, or detections would carry no verdict"))
	}
	for _, name := range sortedKeys(cfg.Patterns) {
		if _, ok := rules.ParsePattern(name); !ok {
			errs = append(errs, fmt.Errorf("patterns::%s: unknown pattern (known: %s)", name, strings.Join(rules.PatternNames(), ", ")))
		}
	}
	names := map[string]bool{}
	for i, x := range cfg.Exclusions {
		if x.Name != "" && names[x.Name] {
			errs = append(errs, fmt.Errorf("exclusions::%d::name: duplicate exclusion name %q", i, x.Name))
		}
		names[x.Name] = true
	}
	if err := cfg.Correlation.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, cfg.Sigma.validate()...)
	// The engine checks the rest (pattern and severity names, lists,
	// wildcards) exactly as it will use them.
	if _, err := rules.New(cfg.engineOptions()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// engineOptions translates the configuration into rule-engine options.
func (cfg *Config) engineOptions() rules.Options {
	o := rules.Options{Profile: rules.Extended, LoopbackLocal: cfg.LoopbackTargets == LoopbackTargetsLocal}
	if cfg.Profile == ProfileSeed {
		o.Profile = rules.Seed
	}
	for _, name := range sortedKeys(cfg.Patterns) {
		if _, ok := rules.ParsePattern(name); !ok {
			continue // reported by Validate
		}
		pc := cfg.Patterns[name]
		switch {
		case pc.Enabled == nil:
		case *pc.Enabled:
			o.Enabled = append(o.Enabled, name)
		default:
			o.Disabled = append(o.Disabled, name)
		}
		if pc.Severity != "" {
			if o.Severities == nil {
				o.Severities = map[string]string{}
			}
			o.Severities[name] = pc.Severity
		}
	}
	if len(cfg.Lists) > 0 {
		o.Lists = make(map[string]rules.ListEdit, len(cfg.Lists))
		for name, l := range cfg.Lists {
			o.Lists[name] = rules.ListEdit{Add: l.Add, Remove: l.Remove}
		}
	}
	for _, x := range cfg.Exclusions {
		o.Exclusions = append(o.Exclusions, rules.Exclusion{
			Name: x.Name, Patterns: x.Patterns, Image: x.Image, ParentImage: x.ParentImage,
			CommandLine: x.CommandLine, ParentCommandLine: x.ParentCommandLine, User: x.User, Host: x.Host,
		})
	}
	return o
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
