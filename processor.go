package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/scriptblock"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Attribute names written on a detection. DetectionPattern is the Sumo field
// name of the seed query; threat.* follow ECS, security_rule.* follow
// OpenTelemetry semantic conventions, process.* follow semconv where it has
// the name and ECS otherwise; dcom.* are this processor's own.
const (
	attrDetectionPattern = "DetectionPattern"
	attrSeverity         = "dcom.detection.severity"
	attrSeverityScore    = "dcom.detection.severity_score"
	attrEvidence         = "dcom.detection.evidence"
	attrProfile          = "dcom.detection.profile"
	attrEventKind        = "event.kind"

	attrThreatFramework      = "threat.framework"
	attrTacticID             = "threat.tactic.id"
	attrTacticName           = "threat.tactic.name"
	attrTacticReference      = "threat.tactic.reference"
	attrTechniqueID          = "threat.technique.id"
	attrTechniqueName        = "threat.technique.name"
	attrTechniqueReference   = "threat.technique.reference"
	attrSubtechniqueID       = "threat.technique.subtechnique.id"
	attrSubtechniqueName     = "threat.technique.subtechnique.name"
	attrSubtechniqueRef      = "threat.technique.subtechnique.reference"
	attrRuleName             = "security_rule.name"
	attrRuleUUID             = "security_rule.uuid"
	attrRuleDescription      = "security_rule.description"
	attrRuleReference        = "security_rule.reference"
	attrRulesetName          = "security_rule.ruleset.name"
	attrProcessPath          = "process.executable.path"
	attrProcessName          = "process.executable.name"
	attrProcessCommandLine   = "process.command_line"
	attrProcessPID           = "process.pid"
	attrProcessParentPID     = "process.parent_pid"
	attrProcessEntityID      = "process.entity_id"
	attrProcessOriginalName  = "process.pe.original_file_name"
	attrProcessOwner         = "process.owner"
	attrParentPath           = "process.parent.executable.path"
	attrParentName           = "process.parent.executable.name"
	attrParentCommandLine    = "process.parent.command_line"
	attrParentEntityID       = "process.parent.entity_id"
	attrHostName             = "host.name"
	attrUserID               = "user.id"
	attrScriptBlockID        = "powershell.file.script_block_id"
	attrScriptPart           = "powershell.sequence"
	attrScriptParts          = "powershell.total"
	attrFilePath             = "file.path"
	attrLogonID              = "dcom.logon_id"
	attrCreatorAccount       = "dcom.creator.account"
	mitreFramework           = "MITRE ATT&CK"
	verdictAttributeCapacity = 39 // 21 verdict attributes, 3 more of a Sigma verdict, at most 15 process attributes
	// verdictBodyCapacity is the map a verdict takes under body_key.
	verdictBodyCapacity = 24
)

type detectionProcessor struct {
	cfg       *Config
	reader    *winevent.Reader // what the rules, the annotation and the correlation read
	engine    *rules.Engine
	ruleset   string
	logger    *zap.Logger
	telemetry *telemetry
	corr      *correlation // nil when correlation is off (correlation.go)
	strip     bool         // upstream_verdicts: strip (verdict.go)
	// scripts keeps the ends of multi-part script blocks' parts, to find
	// a token split between two parts; nil when the rules read no 4104.
	scripts    *scriptblock.Assembler
	scriptsReg metric.Registration
	sigma      *sigmaRules // nil without sigma::rules (sigma.go)
}

func newDetectionProcessor(set processor.Settings, cfg *Config) (*detectionProcessor, error) {
	engine, err := rules.New(cfg.engineOptions())
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	var scripts *scriptblock.Assembler
	var scriptsReg metric.Registration
	if readsScriptBlocks(engine) {
		scripts = scriptblock.New(rules.EdgeBytes)
		if scriptsReg, err = registerScriptBlockMetrics(set.TelemetrySettings, scripts); err != nil {
			return nil, err
		}
	}
	corr, err := newCorrelation(set, cfg.Correlation, cfg.Profile, engine)
	if err != nil {
		return nil, err
	}
	sigmaRules, err := loadSigma(set.TelemetrySettings, cfg.Sigma)
	if err != nil {
		return nil, err
	}
	return &detectionProcessor{
		cfg:        cfg,
		reader:     winevent.NewReader(readerNeeds(cfg, engine, corr, sigmaRules, scripts != nil)...),
		sigma:      sigmaRules,
		engine:     engine,
		ruleset:    "otelcol-dcom/dcomdetection/" + cfg.Profile,
		logger:     set.Logger,
		telemetry:  tel,
		corr:       corr,
		strip:      cfg.UpstreamVerdicts != UpstreamVerdictsKeep,
		scripts:    scripts,
		scriptsReg: scriptsReg,
	}, nil
}

// shutdown unregisters the processor's metric callbacks. Its state is in
// memory only and is simply dropped.
func (p *detectionProcessor) shutdown(ctx context.Context) error {
	var err error
	if p.scriptsReg != nil {
		err = p.scriptsReg.Unregister()
	}
	return errors.Join(err, p.corr.shutdown(ctx))
}

// readsScriptBlocks reports whether the rules read PowerShell 4104.
func readsScriptBlocks(engine *rules.Engine) bool {
	for _, n := range engine.Needs() {
		if n.ID == winevent.PowerShellScriptBlock {
			return true
		}
	}
	return false
}

// readerNeeds compiles what each consumer of an event reads: the rules and
// their exclusions, the Sigma rules, the reassembly of script blocks, the
// annotation (process_attributes), the correlation.
func readerNeeds(cfg *Config, engine *rules.Engine, corr *correlation, sigmaRules *sigmaRules, scripts bool) []winevent.Need {
	needs := append(engine.Needs(), sigmaRules.needs()...)
	if cfg.ProcessAttributes {
		// The annotation of each kind the rules read (the range is over
		// the rules' needs: what is appended is not visited).
		for _, n := range needs {
			switch n.ID {
			case winevent.SysmonProcessCreate, winevent.SecurityProcessCreate:
				needs = append(needs, winevent.Need{ID: n.ID, First: processAttributeFields})
			case winevent.PowerShellScriptBlock:
				needs = append(needs, winevent.Need{ID: n.ID, First: scriptBlockAttributeFields})
			case winevent.PowerShellModule:
				needs = append(needs, winevent.Need{ID: n.ID, First: moduleAttributeFields})
			}
		}
	}
	if scripts {
		needs = append(needs, winevent.Need{ID: winevent.PowerShellScriptBlock, First: scriptBlockPartFields})
	}
	return append(needs, corr.needs()...)
}

// processLogs inspects every record; detections are annotated in place, and
// with drop_unmatched everything else is removed. Late correlation findings
// are appended after the last scope, each in a resource and scope like its
// own record's. The only state between calls is the correlation's, which
// locks per host shard.
func (p *detectionProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var stats batchStats
	var ev winevent.Event
	p.corr.begin(&stats.corr)
	defer p.corr.end(&stats.corr)
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			stats.corr.keep.scope(rl, sls.At(j))
			lrs := sls.At(j).LogRecords()
			if p.cfg.DropUnmatched {
				lrs.RemoveIf(func(lr plog.LogRecord) bool { return !p.inspect(lr, p.reader.Admit(lr.Body()), &ev, &stats) })
			} else {
				p.inspectAll(lrs, &ev, &stats)
			}
			p.corr.emitLate(p, lrs, &stats.corr, &stats)
		}
		if p.cfg.DropUnmatched {
			sls.RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
		}
	}
	p.corr.emitOwn(p, rls, &stats.corr, &stats)
	p.telemetry.record(ctx, &stats)
	p.sigma.record(ctx, &stats)
	if p.cfg.DropUnmatched {
		rls.RemoveIf(func(rl plog.ResourceLogs) bool { return rl.ScopeLogs().Len() == 0 })
		if rls.Len() == 0 {
			return ld, processorhelper.ErrSkipProcessingData
		}
	}
	return ld, nil
}

// lookahead is how many records inspectAll admits before it reads them.
const lookahead = 64

// inspectAll inspects records in runs of lookahead: the first step of each
// record's read (its event id, Reader.Admit) is taken for the whole run in a
// tight loop, so that the CPU overlaps the cache misses of many records
// fresh from a receiver; then each record is inspected, its read going on
// from where the first step left it (nothing is read twice), and a record
// of an id no consumer reads is left alone.
func (p *detectionProcessor) inspectAll(lrs plog.LogRecordSlice, ev *winevent.Event, stats *batchStats) {
	var admitted [lookahead]winevent.Admission
	n := lrs.Len()
	for k := 0; k < n; k += lookahead {
		m := min(lookahead, n-k)
		for x := 0; x < m; x++ {
			admitted[x] = p.reader.Admit(lrs.At(k + x).Body())
		}
		for x := 0; x < m; x++ {
			p.inspect(lrs.At(k+x), admitted[x], ev, stats)
		}
	}
}

// inspect reads one record, once, evaluates it and annotates a detection.
// The rules and the correlation consume the same event. It reports whether
// the record is a detection.
func (p *detectionProcessor) inspect(lr plog.LogRecord, a winevent.Admission, ev *winevent.Event, stats *batchStats) bool {
	stats.inspected++
	p.stripUpstream(lr, stats)
	if a.PassedOver() {
		return false
	}
	switch p.reader.ReadAdmittedReusing(lr.Body(), lr.Attributes(), a, ev, &stats.scratch) {
	case winevent.Filled:
	case winevent.Unreadable:
		stats.unreadable++
		return false
	default:
		return false
	}
	if ev.IsPowerShell() {
		verdict := p.engine.Evaluate(ev)
		own := verdict.Pattern == rules.SourceInvocation
		if joined, ok := p.reassemble(lr, ev, own); ok && !own {
			verdict = joined
		}
		return p.report(lr, ev, verdict, nil, stats)
	}
	if !ev.IsProcessCreation() {
		p.corr.observeContext(lr, ev, &stats.corr)
		return false
	}
	verdict := p.engine.Evaluate(ev)
	verdict, found := p.corr.observeProcess(lr, ev, verdict, &stats.corr)
	stats.sigmaHits = p.sigma.match(ev, stats.sigmaHits, stats)
	if len(stats.sigmaHits) == 0 {
		return p.report(lr, ev, verdict, found, stats)
	}
	// A built-in detection comes first and lists the Sigma rules beside
	// it; otherwise the highest-level Sigma rule is the verdict.
	if p.report(lr, ev, verdict, found, stats) {
		p.addSigmaIDs(lr, stats.sigmaHits)
		return true
	}
	stats.sigmaDetections++
	p.annotateSigma(lr, ev, stats.sigmaHits)
	p.corr.annotate(lr, found, p.cfg)
	if ce := p.logger.Check(zap.DebugLevel, "Sigma detection"); ce != nil {
		r := p.sigma.rules[stats.sigmaHits[0]]
		ce.Write(zap.String("rule_id", sigmaRuleID(r)), zap.String("title", r.Title), zap.String("host", ev.Computer),
			zap.String("image", ev.ChildImage()), zap.String("command_line", ev.CommandLine), zap.Int("rules_matched", len(stats.sigmaHits)))
	}
	return true
}

// scriptBlockPartFields are what the reassembly reads of a 4104.
const scriptBlockPartFields = winevent.FieldScriptBlockID | winevent.FieldMessageNumber | winevent.FieldMessageTotal |
	winevent.FieldSystemTime

// reassemble gives a part of a multi-part script block to the reassembly
// and returns the verdict on a token split between it and a part seen
// before, or on a dual-use token and a target that the block's parts hold
// apart (ok false: none). detected says the part is a detection on its
// own: its block then needs no join. A single-part block costs a look at
// its total.
func (p *detectionProcessor) reassemble(lr plog.LogRecord, ev *winevent.Event, detected bool) (rules.Verdict, bool) {
	if p.scripts == nil || ev.EventID != winevent.PowerShellScriptBlock || !ev.FromExpectedLog() {
		return rules.Verdict{}, false
	}
	number, total := ev.ScriptBlockPart()
	if total <= 1 {
		return rules.Verdict{}, false
	}
	part := scriptblock.Part{Host: ev.Computer, ID: ev.ScriptBlockID, Number: number, Total: total, Text: ev.ScriptBlockText}
	if t, untimed := recordTime(lr, ev); !untimed {
		part.Time = t
	}
	token, targets := p.engine.ScriptFacts(part.Text, ev.Computer, number > 1, number < total)
	part.Facts = scriptblock.Facts{Bits: targets, Tag: token}
	if detected {
		part.Facts.Bits |= factDetected
	}
	var verdict rules.Verdict
	added := p.scripts.Add(part, func(window string, seam int) (bool, scriptblock.Facts) {
		found := false
		if verdict.Pattern == rules.None {
			verdict = p.engine.EvaluateAcross(ev, window, seam)
			found = verdict.Pattern != rules.None
		}
		token, targets := p.engine.ScriptFacts(window, ev.Computer, true, true)
		facts := scriptblock.Facts{Bits: targets, Tag: token}
		if found {
			facts.Bits |= factDetected
		}
		return found, facts
	}, joinsLateral)
	switch {
	case added.Found:
		return verdict, true
	case added.Joined:
		return p.engine.EvaluateJoined(ev, added.Facts.Tag, added.Facts.Bits&^factDetected), true
	}
	return rules.Verdict{}, false
}

// factDetected marks a script block one of whose parts or seams is a
// detection already: its parts' facts then make no second one.
const factDetected uint8 = 1 << 7

// joinsLateral: a block's parts hold a dual-use token and a target, and
// none of its parts or seams was a detection.
func joinsLateral(f scriptblock.Facts) bool {
	return f.Tag != 0 && f.Bits&(rules.TargetRemote|rules.TargetLoopback) != 0 && f.Bits&factDetected == 0
}

// report counts and annotates a record's verdict (a detection, a
// suppressed one, or none) and reports whether it is a detection.
func (p *detectionProcessor) report(lr plog.LogRecord, ev *winevent.Event, verdict rules.Verdict, found *correlate.Finding, stats *batchStats) bool {
	if verdict.Pattern == rules.None {
		return false
	}
	if verdict.Excluded != "" {
		stats.excluded[verdict.Pattern]++
		if ce := p.logger.Check(zap.DebugLevel, "detection suppressed by exclusion"); ce != nil {
			ce.Write(zap.String("pattern", verdict.Pattern.String()), zap.String("exclusion", verdict.Excluded), zap.String("host", ev.Computer))
		}
		return false
	}
	stats.detections[verdict.Pattern]++
	p.annotate(lr, ev, func(m pcommon.Map) { p.putVerdict(m, verdict) })
	p.corr.annotate(lr, found, p.cfg)
	if ce := p.logger.Check(zap.DebugLevel, "DCOM detection"); ce != nil {
		if ev.IsPowerShell() {
			ce.Write(zap.String("pattern", verdict.Pattern.String()), zap.String("host", ev.Computer),
				zap.Int64("event_id", ev.EventID), zap.String("script_block_id", ev.ScriptBlockID),
				zap.String("user_id", ev.UserID), zap.String("evidence", verdict.Evidence))
		} else {
			ce.Write(zap.String("pattern", verdict.Pattern.String()), zap.String("host", ev.Computer),
				zap.String("parent", ev.ParentPath()), zap.String("image", ev.ChildImage()),
				zap.String("command_line", ev.CommandLine), zap.String("evidence", verdict.Evidence))
		}
	}
	return true
}

// annotate writes a verdict (put writes it into a map: a built-in
// pattern's, or a Sigma rule's) as record attributes and, with body_key, into a
// map body. Sumo Cloud SIEM's OpenTelemetry parser reads only the body, so a
// team may switch attributes off; a record whose body is not a map keeps the
// attributes either way, so no detection leaves unmarked.
func (p *detectionProcessor) annotate(lr plog.LogRecord, ev *winevent.Event, put func(pcommon.Map)) {
	inBody, inAttributes := p.cfg.verdictPlaces(lr.Body())
	if inBody {
		verdict := lr.Body().Map().PutEmptyMap(p.cfg.BodyKey)
		verdict.EnsureCapacity(verdictBodyCapacity)
		put(verdict)
	}
	if !inAttributes {
		return
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrs.Len() + verdictAttributeCapacity)
	put(attrs)
	attrs.PutStr(attrEventKind, "alert")
	switch {
	case !p.cfg.ProcessAttributes:
	case ev.IsPowerShell():
		putScript(attrs, ev)
	default:
		putProcess(attrs, ev)
	}
}

// verdictPlaces says where a record's verdict and findings are written:
// under body_key of a map body (inBody), and as record attributes unless
// record_attributes is false for such a body.
func (cfg *Config) verdictPlaces(body pcommon.Value) (inBody, inAttributes bool) {
	inBody = cfg.BodyKey != "" && body.Type() == pcommon.ValueTypeMap
	return inBody, cfg.RecordAttributes || !inBody
}

func (p *detectionProcessor) putVerdict(m pcommon.Map, v rules.Verdict) {
	info := v.Pattern.Info()
	m.PutStr(attrDetectionPattern, info.Name)
	m.PutStr(attrSeverity, v.Severity.String())
	m.PutInt(attrSeverityScore, v.Severity.Score())
	m.PutStr(attrEvidence, v.Evidence)
	m.PutStr(attrProfile, p.cfg.Profile)
	threat := v.Pattern.Threat()
	m.PutStr(attrThreatFramework, mitreFramework)
	m.PutStr(attrTacticID, threat.TacticID)
	m.PutStr(attrTacticName, threat.TacticName)
	m.PutStr(attrTacticReference, threat.TacticReference)
	m.PutStr(attrTechniqueID, threat.TechniqueID)
	m.PutStr(attrTechniqueName, threat.TechniqueName)
	m.PutStr(attrTechniqueReference, threat.TechniqueReference)
	m.PutStr(attrSubtechniqueID, threat.SubtechniqueID)
	m.PutStr(attrSubtechniqueName, threat.SubtechniqueName)
	m.PutStr(attrSubtechniqueRef, threat.SubtechniqueReference)
	m.PutStr(attrRuleName, info.Name)
	m.PutStr(attrRuleUUID, info.UUID)
	m.PutStr(attrRuleDescription, info.Description)
	m.PutStr(attrRuleReference, threat.SubtechniqueReference)
	m.PutStr(attrRulesetName, p.ruleset)
}

// processAttributeFields are what putProcess writes, under both schemas.
const processAttributeFields = winevent.FieldImage | winevent.FieldNewProcessName | winevent.FieldCommandLine |
	winevent.FieldProcessID | winevent.FieldNewProcessID | winevent.FieldParentProcessID | winevent.FieldProcessGUID |
	winevent.FieldOriginalFileName | winevent.FieldUser | winevent.FieldTargetUserName | winevent.FieldTargetDomainName |
	winevent.FieldSubjectUserName | winevent.FieldSubjectDomainName | winevent.FieldParentImage |
	winevent.FieldParentProcessName | winevent.FieldParentCommandLine | winevent.FieldParentProcessGUID |
	winevent.FieldLogonID | winevent.FieldTargetLogonID

// What putScript writes of a script block (4104) and a pipeline (4103).
const (
	scriptBlockAttributeFields = winevent.FieldScriptBlockID | winevent.FieldMessageNumber | winevent.FieldMessageTotal |
		winevent.FieldPath | winevent.FieldUserID
	moduleAttributeFields = winevent.FieldUserID | winevent.FieldContextInfo
)

// putScript writes what identifies a PowerShell detection: the host, the
// user's SID (and on 4103 the user's name, from ContextInfo), and for a
// script block its id, which part of how many, and the script's path.
func putScript(m pcommon.Map, ev *winevent.Event) {
	putNonEmpty(m, attrHostName, ev.Computer)
	putNonEmpty(m, attrUserID, ev.UserID)
	if ev.EventID == winevent.PowerShellModule {
		// ContextInfo may be a view of the read's scratch: copied.
		putNonEmpty(m, attrUserName, strings.Clone(contextInfoValue(ev.ContextInfo, "User")))
		putNonEmpty(m, attrProcessCommandLine, strings.Clone(contextInfoValue(ev.ContextInfo, "Host Application")))
		return
	}
	putNonEmpty(m, attrScriptBlockID, ev.ScriptBlockID)
	putPID(m, attrScriptPart, ev.MessageNumber)
	putPID(m, attrScriptParts, ev.MessageTotal)
	putNonEmpty(m, attrFilePath, ev.Path)
}

// contextInfoValue reads one "Name = value" line of a 4103 ContextInfo.
func contextInfoValue(info, name string) string {
	for line := range strings.Lines(info) {
		key, value, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(key) == name {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// putProcess writes the normalized process fields, whatever schema they came from.
func putProcess(m pcommon.Map, ev *winevent.Event) {
	putNonEmpty(m, attrHostName, ev.Computer)
	if path := ev.ChildImage(); path != "" {
		m.PutStr(attrProcessPath, path)
		m.PutStr(attrProcessName, baseName(path))
	}
	putNonEmpty(m, attrProcessCommandLine, ev.CommandLine)
	putPID(m, attrProcessPID, ev.ChildPID())
	putPID(m, attrProcessParentPID, ev.ParentPID())
	putNonEmpty(m, attrProcessEntityID, ev.ProcessGUID)
	putNonEmpty(m, attrProcessOriginalName, ev.OriginalFileName)
	if domain, name := ev.Account(); name != "" && name != "-" {
		if domain != "" && domain != "-" {
			name = domain + `\` + name
		}
		m.PutStr(attrProcessOwner, name)
	}
	if ev.IsSecurity() && ev.SubjectUserName != "" {
		creator := ev.SubjectUserName
		if ev.SubjectDomainName != "" {
			creator = ev.SubjectDomainName + `\` + creator
		}
		m.PutStr(attrCreatorAccount, creator)
	}
	if path := ev.ParentPath(); path != "" {
		m.PutStr(attrParentPath, path)
		m.PutStr(attrParentName, baseName(path))
	}
	putNonEmpty(m, attrParentCommandLine, ev.ParentCommandLine)
	putNonEmpty(m, attrParentEntityID, ev.ParentProcessGUID)
	if id := ev.SessionLogonID(); id != "" && id != "-" {
		m.PutStr(attrLogonID, id)
	}
}

func putNonEmpty(m pcommon.Map, key, value string) {
	if value != "" && value != "-" {
		m.PutStr(key, value)
	}
}

// putPID writes a process id given as decimal (Sysmon) or 0x-hex (Security).
func putPID(m pcommon.Map, key, value string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(value), "0x"); ok {
		value, base = rest, 16
	}
	if n, err := strconv.ParseInt(value, base, 64); err == nil && n >= 0 {
		m.PutInt(key, n)
	}
}

func baseName(path string) string {
	path = strings.Trim(path, " \"'")
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}
