package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/sigma"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Attributes of a Sigma detection beyond the verdict's.
const (
	// attrSigmaRuleIDs lists every Sigma rule that matched the record,
	// the one annotated first, also on a record the built-in patterns
	// annotate.
	attrSigmaRuleIDs = "dcom.sigma.rule_ids"
	attrRuleTags     = "security_rule.tags"
	attrRuleFile     = "dcom.sigma.rule_file"
	// sigmaPattern is the pattern the detections metric counts Sigma
	// detections under (the rules themselves are counted by rule id).
	sigmaPattern = "sigma"
)

// Metric names of the Sigma rules.
const (
	metricSigmaRules   = "otelcol_processor_dcomdetection_sigma_rules"
	metricSigmaMatches = "otelcol_processor_dcomdetection_sigma_matches"
)

// SigmaConfig loads Sigma rules beside the built-in patterns.
type SigmaConfig struct {
	// Rules are rule files, directories (every .yml and .yaml under them)
	// and globs, read at start-up. Empty: no Sigma rules.
	Rules []string `mapstructure:"rules"`
	// PatternField is the rule key whose value a Sigma detection's
	// DetectionPattern takes (default "title"; "id", or a key of your own).
	PatternField string `mapstructure:"pattern_field"`
	// Ruleset is written as security_rule.ruleset.name (default "sigma").
	Ruleset string `mapstructure:"ruleset"`
}

// validate checks the keys and that every entry names rule files; the
// rules themselves are compiled (and rejected one by one) at start-up.
func (c *SigmaConfig) validate() []error {
	var errs []error
	for i, entry := range c.Rules {
		if strings.TrimSpace(entry) == "" {
			errs = append(errs, fmt.Errorf("sigma::rules::%d: empty path", i))
		}
	}
	if strings.TrimSpace(c.PatternField) == "" {
		errs = append(errs, errors.New("sigma::pattern_field: empty (use title, id or a key of your rules)"))
	}
	if strings.TrimSpace(c.Ruleset) == "" {
		errs = append(errs, errors.New("sigma::ruleset: empty"))
	}
	if len(errs) == 0 && len(c.Rules) > 0 {
		if _, err := sigma.Load(c.Rules); err != nil {
			errs = append(errs, fmt.Errorf("sigma::rules: %w", err))
		}
	}
	return errs
}

// sigmaRules are the loaded Sigma rules of a processor.
type sigmaRules struct {
	engine  *sigma.Engine
	rules   []*sigma.Rule
	field   string
	ruleset string
	threats []*rules.Threat // per rule, from its attack.* tags
	matches metric.Int64Counter
	ruleIDs []metric.MeasurementOption // per rule, its rule attribute
}

// loadSigma loads the configured rules, logs each rejection once and
// records how many rules were loaded and rejected. No rules configured: nil.
func loadSigma(set component.TelemetrySettings, cfg SigmaConfig) (*sigmaRules, error) {
	if len(cfg.Rules) == 0 {
		return nil, nil
	}
	loaded, err := sigma.Load(cfg.Rules)
	if err != nil {
		return nil, fmt.Errorf("sigma::rules: %w", err)
	}
	unsupported, invalid := 0, 0
	for _, r := range loaded.Rejected {
		kind := "invalid"
		if r.Unsupported {
			kind = "unsupported"
			unsupported++
		} else {
			invalid++
		}
		set.Logger.Warn("Sigma rule rejected", zap.String("file", r.File), zap.Int("line", r.Line),
			zap.String("rule_id", r.ID), zap.String("title", r.Title), zap.String("kind", kind), zap.String("reason", r.Reason))
	}
	set.Logger.Info("Sigma rules loaded", zap.Int("files", len(loaded.Files)), zap.Int("rules", len(loaded.Rules)),
		zap.Int("rejected_unsupported", unsupported), zap.Int("rejected_invalid", invalid))
	s := &sigmaRules{
		engine: sigma.NewEngine(loaded.Rules), rules: loaded.Rules, field: cfg.PatternField, ruleset: cfg.Ruleset,
	}
	s.threats = make([]*rules.Threat, len(s.rules))
	s.ruleIDs = make([]metric.MeasurementOption, len(s.rules))
	for i, r := range s.rules {
		s.threats[i] = threatOf(r.Tags)
		s.ruleIDs[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("rule_id", sigmaRuleID(r)), attribute.String("title", r.Title)))
	}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	gauge, err := meter.Int64Gauge(metricSigmaRules,
		metric.WithDescription("Sigma rules loaded at start-up, and rules rejected (unsupported: valid Sigma this processor does not run; invalid: broken rules)"),
		metric.WithUnit("{rules}"))
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	gauge.Record(ctx, int64(len(loaded.Rules)), metric.WithAttributes(attribute.String("state", "loaded")))
	gauge.Record(ctx, int64(unsupported), metric.WithAttributes(attribute.String("state", "rejected_unsupported")))
	gauge.Record(ctx, int64(invalid), metric.WithAttributes(attribute.String("state", "rejected_invalid")))
	if s.matches, err = meter.Int64Counter(metricSigmaMatches,
		metric.WithDescription("Records each Sigma rule matched, by rule id and title"), metric.WithUnit("{records}")); err != nil {
		return nil, err
	}
	return s, nil
}

// sigmaRuleID names a rule in dcom.sigma.rule_ids and the metrics: its
// id, or its title when it has none (the specification makes id optional).
func sigmaRuleID(r *sigma.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Title
}

// needs are what the rules read of process creations.
func (s *sigmaRules) needs() []winevent.Need {
	if s == nil {
		return nil
	}
	return s.engine.Needs()
}

// match returns the rules matching a process creation, ranked; dst is
// reused. Nothing is allocated for a record no rule matches.
func (s *sigmaRules) match(ev *winevent.Event, dst []int, stats *batchStats) []int {
	if s == nil {
		return dst[:0]
	}
	dst = s.engine.Match(ev, dst[:0])
	if len(dst) == 0 {
		return dst
	}
	if stats.sigmaMatches == nil {
		stats.sigmaMatches = make(map[int]int64)
	}
	for _, i := range dst {
		stats.sigmaMatches[i]++
	}
	slices.SortStableFunc(dst, func(a, b int) int { return int(s.rules[b].Level) - int(s.rules[a].Level) })
	return dst
}

// record counts a batch's matches by rule.
func (s *sigmaRules) record(ctx context.Context, stats *batchStats) {
	if s == nil {
		return
	}
	for i, n := range stats.sigmaMatches {
		s.matches.Add(ctx, n, s.ruleIDs[i])
	}
}

// ruleIDList writes the matching rules' ids, ranked, into a slice.
func (s *sigmaRules) ruleIDList(matched []int, dst pcommon.Slice) {
	dst.EnsureCapacity(len(matched))
	for _, i := range matched {
		dst.AppendEmpty().SetStr(sigmaRuleID(s.rules[i]))
	}
}

// annotateSigma writes a Sigma detection: the first of the matched rules (the
// highest level) as the verdict, every matched rule's id beside it.
func (p *detectionProcessor) annotateSigma(lr plog.LogRecord, ev *winevent.Event, matched []int) {
	p.annotate(lr, ev, func(m pcommon.Map) { p.putSigmaVerdict(m, matched) })
}

// addSigmaIDs lists the Sigma rules that also matched a record the built-in
// patterns annotated.
func (p *detectionProcessor) addSigmaIDs(lr plog.LogRecord, matched []int) {
	inBody, inAttributes := p.cfg.verdictPlaces(lr.Body())
	if inBody {
		if v, ok := lr.Body().Map().Get(p.cfg.BodyKey); ok && v.Type() == pcommon.ValueTypeMap {
			p.sigma.ruleIDList(matched, v.Map().PutEmptySlice(attrSigmaRuleIDs))
		}
	}
	if inAttributes {
		p.sigma.ruleIDList(matched, lr.Attributes().PutEmptySlice(attrSigmaRuleIDs))
	}
}

func (p *detectionProcessor) putSigmaVerdict(m pcommon.Map, matched []int) {
	s := p.sigma
	r := s.rules[matched[0]]
	pattern := r.Scalars[s.field]
	if pattern == "" {
		pattern = r.Title
	}
	severity := r.Level
	m.PutStr(attrDetectionPattern, pattern)
	m.PutStr(attrSeverity, severity.String())
	m.PutInt(attrSeverityScore, severity.Score())
	m.PutStr(attrEvidence, "Sigma rule "+sigmaRuleID(r))
	m.PutStr(attrProfile, p.cfg.Profile)
	if t := s.threats[matched[0]]; t != nil {
		m.PutStr(attrThreatFramework, mitreFramework)
		putNonEmpty(m, attrTacticID, t.TacticID)
		putNonEmpty(m, attrTacticName, t.TacticName)
		putNonEmpty(m, attrTacticReference, t.TacticReference)
		putNonEmpty(m, attrTechniqueID, t.TechniqueID)
		putNonEmpty(m, attrTechniqueName, t.TechniqueName)
		putNonEmpty(m, attrTechniqueReference, t.TechniqueReference)
		putNonEmpty(m, attrSubtechniqueID, t.SubtechniqueID)
		putNonEmpty(m, attrSubtechniqueName, t.SubtechniqueName)
		putNonEmpty(m, attrSubtechniqueRef, t.SubtechniqueReference)
	}
	m.PutStr(attrRuleName, r.Title)
	putNonEmpty(m, attrRuleUUID, r.ID)
	putNonEmpty(m, attrRuleDescription, r.Description)
	if len(r.References) > 0 {
		m.PutStr(attrRuleReference, r.References[0])
	}
	m.PutStr(attrRulesetName, s.ruleset)
	m.PutStr(attrRuleFile, r.File)
	if len(r.Tags) > 0 {
		tags := m.PutEmptySlice(attrRuleTags)
		tags.EnsureCapacity(len(r.Tags))
		for _, t := range r.Tags {
			tags.AppendEmpty().SetStr(t)
		}
	}
	s.ruleIDList(matched, m.PutEmptySlice(attrSigmaRuleIDs))
}

// tactics are ATT&CK's enterprise tactics by the name Sigma tags them with.
var tactics = map[string][2]string{
	"reconnaissance":       {"TA0043", "Reconnaissance"},
	"resource-development": {"TA0042", "Resource Development"},
	"initial-access":       {"TA0001", "Initial Access"},
	"execution":            {"TA0002", "Execution"},
	"persistence":          {"TA0003", "Persistence"},
	"privilege-escalation": {"TA0004", "Privilege Escalation"},
	"defense-evasion":      {"TA0005", "Defense Evasion"},
	"credential-access":    {"TA0006", "Credential Access"},
	"discovery":            {"TA0007", "Discovery"},
	"lateral-movement":     {"TA0008", "Lateral Movement"},
	"collection":           {"TA0009", "Collection"},
	"exfiltration":         {"TA0010", "Exfiltration"},
	"command-and-control":  {"TA0011", "Command and Control"},
	"impact":               {"TA0040", "Impact"},
}

// threatOf reads a rule's attack.* tags: its first tactic and its first
// technique (with its sub-technique), references built from the ids, names
// where this processor knows them (the tactics, and the techniques its own
// patterns report). Nil: the rule has no ATT&CK tag.
func threatOf(tags []string) *rules.Threat {
	var t rules.Threat
	var tagged [][2]string // the tactics tagged, in order
	for _, tag := range tags {
		name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(tag)), "attack.")
		if !ok {
			continue
		}
		name = strings.ReplaceAll(name, "_", "-")
		if tactic, ok := tactics[name]; ok {
			tagged = append(tagged, tactic)
			continue
		}
		if !isTechniqueTag(name) || t.TechniqueID != "" {
			continue
		}
		id := strings.ToUpper(name)
		technique, sub, hasSub := strings.Cut(id, ".")
		t.TechniqueID = technique
		t.TechniqueReference = "https://attack.mitre.org/techniques/" + technique + "/"
		if hasSub {
			t.SubtechniqueID = id
			t.SubtechniqueReference = t.TechniqueReference + sub + "/"
		}
	}
	if len(tagged) == 0 && t.TechniqueID == "" {
		return nil
	}
	known := rules.KnownTechnique(t.SubtechniqueID)
	if known == nil {
		known = rules.KnownTechnique(t.TechniqueID)
	}
	if known != nil {
		t.TechniqueName = known.TechniqueName
		if t.SubtechniqueID == known.SubtechniqueID {
			t.SubtechniqueName = known.SubtechniqueName
		}
	}
	if len(tagged) > 0 {
		// The technique's own tactic when the tags name it (T1021.003 is
		// lateral movement, though its rules also tag execution), else the
		// first.
		tactic := tagged[0]
		for _, x := range tagged {
			if known != nil && x[0] == known.TacticID {
				tactic = x
			}
		}
		t.TacticID, t.TacticName = tactic[0], tactic[1]
		t.TacticReference = "https://attack.mitre.org/tactics/" + tactic[0] + "/"
	}
	return &t
}

// isTechniqueTag reports whether a tag (without "attack.") is a technique
// id: t and four digits, optionally a dot and three digits.
func isTechniqueTag(s string) bool {
	if len(s) != 5 && len(s) != 9 || s[0] != 't' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if i == 5 {
			if s[i] != '.' {
				return false
			}
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
