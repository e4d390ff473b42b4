package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// A record can arrive already carrying this processor's verdict: from a
// sender on a gateway that accepts OTLP from anyone (a forged alert), or
// from an earlier pass of the same processor (a stale verdict). With
// upstream_verdicts: strip (the default) that verdict is removed before the
// record is evaluated, so every verdict that leaves was made here, now.

// rulesetPrefix starts security_rule.ruleset.name of every verdict this
// processor writes, whatever the profile.
const rulesetPrefix = "otelcol-dcom/dcomdetection/"

// stripUpstream strips a record's upstream verdict unless upstream_verdicts
// is keep, and counts it.
func (p *detectionProcessor) stripUpstream(lr plog.LogRecord, stats *batchStats) {
	if p.strip && p.stripVerdict(lr) {
		stats.stripped++
	}
}

// stripVerdict removes this processor's verdict from a record and reports
// whether there was one. A record attribute set is ours when it holds
// DetectionPattern, a dcom.* key, or a security_rule.ruleset.name of this
// processor; then DetectionPattern, dcom.*, security_rule.*, threat.* and
// an event.kind of alert or enrichment (or not a string) go. The ECS
// fields the logon join writes (source.*, user.*) and the process fields
// stay: other components write them too. With body_key, that key of a map
// body goes.
func (p *detectionProcessor) stripVerdict(lr plog.LogRecord) bool {
	stripped := false
	if attrs := lr.Attributes(); attrs.Len() > 0 && carriesVerdict(attrs) {
		attrs.RemoveIf(isVerdictAttribute)
		stripped = true
	}
	if p.cfg.BodyKey != "" && lr.Body().Type() == pcommon.ValueTypeMap && lr.Body().Map().Remove(p.cfg.BodyKey) {
		stripped = true
	}
	return stripped
}

// carriesVerdict reports whether attributes hold a verdict of this
// processor. It reads only keys until one says so: no allocation.
func carriesVerdict(attrs pcommon.Map) bool {
	for k, v := range attrs.All() {
		switch {
		case k == attrDetectionPattern, strings.HasPrefix(k, "dcom."):
			return true
		case k == attrRulesetName && v.Type() == pcommon.ValueTypeStr && strings.HasPrefix(v.Str(), rulesetPrefix):
			return true
		}
	}
	return false
}

func isVerdictAttribute(k string, v pcommon.Value) bool {
	switch {
	case k == attrDetectionPattern, strings.HasPrefix(k, "dcom."), strings.HasPrefix(k, "security_rule."), strings.HasPrefix(k, "threat."):
		return true
	case k == attrEventKind:
		// ours is a string; a value of another type is no other tool's either
		return v.Type() != pcommon.ValueTypeStr || v.Str() == "alert" || v.Str() == eventKindEnrichment
	}
	return false
}
