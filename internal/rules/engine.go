package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Profile selects the rule set.
type Profile uint8

const (
	// Extended is the default: the seed's bugs fixed and the missing patterns added.
	Extended Profile = iota
	// Seed is the Sumo Logic seed query exactly as written, bugs included.
	Seed
)

// ListEdit adds names to or removes names from one of the default lists.
type ListEdit struct {
	Add    []string
	Remove []string
}

// Exclusion suppresses detections whose fields all match the given
// case-insensitive '*' wildcards. Empty fields are not checked.
type Exclusion struct {
	Name              string
	Patterns          []string // pattern names; empty means every pattern
	Image             string
	ParentImage       string
	CommandLine       string
	ParentCommandLine string
	User              string
	Host              string
}

// Options configure an Engine.
type Options struct {
	Profile    Profile
	Disabled   []string            // pattern names switched off
	Enabled    []string            // pattern names switched on (those off by default)
	Severities map[string]string   // pattern name -> severity name
	Lists      map[string]ListEdit // list name -> edit (extended profile only)
	Exclusions []Exclusion
	// LoopbackLocal counts a call or target parameter that names this
	// computer as local COM use, not lateral movement.
	LoopbackLocal bool
}

// Verdict is the outcome for one event.
type Verdict struct {
	Pattern  Pattern
	Severity Severity
	// Evidence says in a few words which rule row matched (a constant, so
	// building a verdict allocates nothing).
	Evidence string
	// Excluded names the exclusion that suppressed the detection, if any.
	Excluded string
	// ServerLaunch is a fact, not an alert: DcomLaunch started a com_servers
	// member with -Embedding or /automation. It holds whatever the pattern
	// switches and exclusions say (the correlation remembers such a
	// process as a DCOM-launched server); DCOM_ServerActivation is the
	// alert about it.
	ServerLaunch bool
}

// Detected reports whether the verdict is a detection that was not excluded.
func (v Verdict) Detected() bool { return v.Pattern != None && v.Excluded == "" }

type nameSet map[string]struct{}

func (s nameSet) has(nb *nameBuf) bool {
	_, ok := s[string(nb.b[:nb.n])]
	return ok
}

func newNameSet(names []string) nameSet {
	s := make(nameSet, len(names))
	for _, n := range names {
		s[lowerASCII(n)] = struct{}{}
	}
	return s
}

// nameClass is what the extended tables say about a file name, one bit per
// table: a name is looked up once, not once per table.
type nameClass uint8

const (
	classCOMParent      nameClass = 1 << iota // com_parents
	classSuspicious                           // suspicious_children
	classServer                               // com_servers
	classImpacketParent                       // impacketParents
	classIExploreLike                         // childWithoutParentCommandLine
	classSvchost                              // svchost.exe: DcomLaunch runs in it
	classConfigTool                           // dcomcnfg.exe
)

// nameClasses maps a lower-case file name to its classes.
type nameClasses map[string]nameClass

func (c nameClasses) add(names []string, class nameClass) {
	for _, n := range names {
		c[lowerASCII(n)] |= class
	}
}

// of returns the classes of a name (0 for a name in no table or an empty one).
func (c nameClasses) of(nb *nameBuf) nameClass {
	if nb.n == 0 {
		return 0
	}
	return c[string(nb.b[:nb.n])]
}

type allowEntry struct {
	parent    glob
	hasParent bool
	child     glob
}

type compiledExclusion struct {
	name     string
	patterns [patternCount]bool
	fields   [exclusionFieldCount]*glob
}

const (
	exImage = iota
	exParentImage
	exCommandLine
	exParentCommandLine
	exUser
	exHost
	exclusionFieldCount
)

// Engine evaluates events against one profile. It is immutable after New
// and safe for concurrent use.
type Engine struct {
	profile    Profile
	enabled    [patternCount]bool
	severity   [patternCount]Severity
	exclusions []compiledExclusion

	// seed
	seedWhere, seedClass, seedChild nameSet

	// extended
	classes nameClasses
	allow   []allowEntry
	tokens  tokenSet
}

// New compiles options into an Engine.
func New(o Options) (*Engine, error) {
	e := &Engine{profile: o.Profile}
	for p := range patternCount {
		e.enabled[p] = p != None && !patternInfo[p].Off
		e.severity[p] = patternInfo[p].Severity
	}
	var errs []error
	for _, sw := range []struct {
		names []string
		on    bool
	}{{o.Enabled, true}, {o.Disabled, false}} {
		for _, name := range sw.names {
			p, ok := ParsePattern(name)
			if !ok {
				errs = append(errs, fmt.Errorf("patterns::%s: unknown pattern (known: %s)", name, strings.Join(PatternNames(), ", ")))
				continue
			}
			e.enabled[p] = sw.on
		}
	}
	for _, name := range sortedNames(o.Severities) {
		sev := o.Severities[name]
		p, ok := ParsePattern(name)
		if !ok {
			if !slices.Contains(o.Disabled, name) {
				errs = append(errs, fmt.Errorf("patterns::%s: unknown pattern (known: %s)", name, strings.Join(PatternNames(), ", ")))
			}
			continue
		}
		s, ok := ParseSeverity(sev)
		if !ok {
			errs = append(errs, fmt.Errorf("patterns::%s::severity: unknown severity %q (known: %s)", name, sev, strings.Join(SeverityNames(), ", ")))
			continue
		}
		e.severity[p] = s
	}
	for i, x := range o.Exclusions {
		cx, err := compileExclusion(x)
		if err != nil {
			errs = append(errs, fmt.Errorf("exclusions::%d (%s): %w", i, x.Name, err))
			continue
		}
		e.exclusions = append(e.exclusions, cx)
	}
	e.seedWhere = newNameSet(seedWhereParents)
	e.seedClass = newNameSet(seedClassParents)
	e.seedChild = newNameSet(seedChildren)
	if o.Profile == Seed && len(o.Lists) > 0 {
		errs = append(errs, errors.New("lists: the seed profile keeps the query's lists exactly; use profile extended to change them"))
	}
	lists, err := applyEdits(DefaultLists(), o.Lists)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e.classes = nameClasses{}
	e.classes.add(lists[ListCOMParents], classCOMParent)
	e.classes.add(lists[ListSuspiciousChildren], classSuspicious)
	e.classes.add(lists[ListCOMServers], classServer)
	e.classes.add(impacketParents, classImpacketParent)
	e.classes.add(childWithoutParentCommandLine, classIExploreLike)
	e.classes.add([]string{"svchost.exe"}, classSvchost)
	e.classes.add([]string{"dcomcnfg.exe"}, classConfigTool)
	for _, entry := range lists[ListServerChildAllowlist] {
		parent, child, hasParent := strings.Cut(entry, ">")
		if !hasParent {
			child, parent = parent, ""
		}
		e.allow = append(e.allow, allowEntry{parent: compileGlob(strings.TrimSpace(parent)), hasParent: hasParent, child: compileGlob(strings.TrimSpace(child))})
	}
	tokens, err := parseTokens(lists[ListSourceTokens], lists[ListDualUseTokens])
	if err != nil {
		return nil, err
	}
	e.tokens = newTokenSet(tokens)
	e.tokens.loopbackLocal = o.LoopbackLocal
	return e, nil
}

// applyEdits adds and removes names; removing a name that is not in the list
// is an error, because it is almost always a typo that leaves a rule on.
func applyEdits(lists map[string][]string, edits map[string]ListEdit) (map[string][]string, error) {
	var errs []error
	for _, name := range sortedNames(edits) {
		edit := edits[name]
		list, ok := lists[name]
		if !ok {
			errs = append(errs, fmt.Errorf("lists::%s: unknown list (known: %s)", name, strings.Join(sortedNames(lists), ", ")))
			continue
		}
		for _, r := range edit.Remove {
			i := slices.IndexFunc(list, func(s string) bool { return strings.EqualFold(s, r) })
			if i < 0 {
				errs = append(errs, fmt.Errorf("lists::%s::remove: %q is not in the list", name, r))
				continue
			}
			list = slices.Delete(list, i, i+1)
		}
		for _, a := range edit.Add {
			if err := checkListEntry(name, a); err != nil {
				errs = append(errs, err)
				continue
			}
			list = append(list, a)
		}
		lists[name] = list
	}
	return lists, errors.Join(errs...)
}

func checkListEntry(list, entry string) error {
	if strings.TrimSpace(entry) == "" {
		return fmt.Errorf("lists::%s::add: empty entry", list)
	}
	switch list {
	case ListServerChildAllowlist:
		for _, part := range strings.Split(entry, ">") {
			if err := checkGlob(strings.TrimSpace(part)); err != nil {
				return fmt.Errorf("lists::%s::add: entry %q: %w", list, entry, err)
			}
		}
		if strings.Count(entry, ">") > 1 {
			return fmt.Errorf("lists::%s::add: entry %q: use \"child\" or \"parent>child\"", list, entry)
		}
	case ListSourceTokens, ListDualUseTokens:
		text := strings.TrimSuffix(entry, "(host)")
		if list == ListDualUseTokens && text != entry {
			return fmt.Errorf("lists::%s::add: token %q: a \"(host)\" call names its own target; add it to %s", list, entry, ListSourceTokens)
		}
		if len(text) < 4 {
			return fmt.Errorf("lists::%s::add: token %q is shorter than 4 characters and would match ordinary command lines", list, entry)
		}
		if len(text) > maxTokenLen {
			return fmt.Errorf("lists::%s::add: token %q is longer than %d characters", list, entry, maxTokenLen)
		}
	default:
		if strings.ContainsAny(entry, `\/*`) {
			return fmt.Errorf("lists::%s::add: %q must be a file name such as cmd.exe, without a path or wildcard", list, entry)
		}
	}
	return nil
}

// checkGlob rejects wildcards that are empty or match everything.
func checkGlob(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	if strings.Trim(p, "*") == "" {
		return fmt.Errorf("pattern %q matches everything; leave the field out instead", p)
	}
	return nil
}

// parseTokens builds the token table: the source tokens ("(host)" marks
// a host call), then the dual-use ones.
func parseTokens(source, dualUse []string) ([]sourceToken, error) {
	if len(source)+len(dualUse) > maxTokens {
		return nil, fmt.Errorf("lists::%s and %s: at most %d tokens together", ListSourceTokens, ListDualUseTokens, maxTokens)
	}
	tokens := make([]sourceToken, 0, len(source)+len(dualUse))
	for _, t := range source {
		text, withHost := strings.CutSuffix(t, "(host)")
		kind := lateralToken
		if withHost {
			kind = hostCallToken
		}
		tokens = append(tokens, newSourceToken(text, kind))
	}
	for _, t := range dualUse {
		tokens = append(tokens, newSourceToken(t, dualUseToken))
	}
	return tokens, nil
}

func newSourceToken(text string, kind tokenKind) sourceToken {
	t := sourceToken{Text: lowerASCII(text), Kind: kind}
	if kind == hostCallToken {
		t.NotAfter = callsNotAfter[t.Text]
	}
	byTarget := [targetCount]string{text, text, text}
	switch kind {
	case hostCallToken:
		byTarget = [targetCount]string{text + " with a remote host", text + " with a loopback host", text + " without a host"}
	case dualUseToken:
		byTarget = [targetCount]string{text + " with a remote target", text + " with a loopback target", text + " without a target"}
	}
	byPlace := [placeCount]string{"", " (decoded from -EncodedCommand)", " (across script block parts)"}
	for p := range placeCount {
		for tg := range targetCount {
			t.displays[p][tg] = byTarget[tg] + byPlace[p]
		}
	}
	return t
}

func compileExclusion(x Exclusion) (compiledExclusion, error) {
	cx := compiledExclusion{name: x.Name}
	if strings.TrimSpace(x.Name) == "" {
		return cx, errors.New("name is required")
	}
	if len(x.Patterns) == 0 {
		for p := COMSuspiciousChild; p < patternCount; p++ {
			cx.patterns[p] = true
		}
	}
	for _, name := range x.Patterns {
		p, ok := ParsePattern(name)
		if !ok {
			return cx, fmt.Errorf("patterns: unknown pattern %q (known: %s)", name, strings.Join(PatternNames(), ", "))
		}
		cx.patterns[p] = true
	}
	fields := [exclusionFieldCount]struct{ key, value string }{
		{"image", x.Image},
		{"parent_image", x.ParentImage},
		{"command_line", x.CommandLine},
		{"parent_command_line", x.ParentCommandLine},
		{"user", x.User},
		{"host", x.Host},
	}
	anyField := false
	for i, f := range fields {
		if f.value == "" {
			continue
		}
		if err := checkGlob(f.value); err != nil {
			return cx, fmt.Errorf("%s: %w", f.key, err)
		}
		g := compileGlob(f.value)
		cx.fields[i] = &g
		anyField = true
	}
	if !anyField {
		return cx, errors.New("no field to match: set at least one of image, parent_image, command_line, parent_command_line, user, host")
	}
	return cx, nil
}

// Evaluate returns the verdict for one process-creation event or, in the
// extended profile, one PowerShell 4104 script block or 4103 pipeline.
func (e *Engine) Evaluate(ev *winevent.Event) Verdict {
	var v Verdict
	switch {
	case e.profile == Seed:
		v = e.evaluateSeed(ev)
	case ev.IsPowerShell():
		v = e.evaluatePowerShell(ev)
	default:
		v = e.evaluateExtended(ev)
	}
	return e.conclude(v, ev)
}

// conclude gives a detection its severity and the exclusion that
// suppresses it, if any.
func (e *Engine) conclude(v Verdict, ev *winevent.Event) Verdict {
	if v.Pattern == None {
		return v
	}
	v.Severity = e.severity[v.Pattern]
	if len(e.exclusions) > 0 {
		v.Excluded = e.excludedBy(v.Pattern, ev)
	}
	return v
}

// evaluateSeed is the Sumo query as written: Sysmon field names only, the
// basename after the last backslash, lower-cased before the in-lists, a
// case-sensitive "*DCOM*" and "*-Exec*", event 1 or 4688 from any provider.
func (e *Engine) evaluateSeed(ev *winevent.Event) Verdict {
	if ev.EventID != winevent.SysmonProcessCreate && ev.EventID != winevent.SecurityProcessCreate {
		return Verdict{}
	}
	var child, parent nameBuf
	child.set(seedBase(ev.Image))
	parent.set(seedBase(ev.ParentImage))
	isConfigTool := string(child.b[:child.n]) == "dcomcnfg.exe"
	where := (e.seedWhere.has(&parent) && e.seedChild.has(&child)) || isConfigTool ||
		(strings.Contains(ev.CommandLine, "DCOM") && strings.Contains(ev.CommandLine, "-Exec"))
	if !where {
		return Verdict{}
	}
	switch {
	case isConfigTool:
		return e.pick(ConfigTool, "seed: child is dcomcnfg.exe")
	case e.seedClass.has(&parent):
		return e.pick(COMSuspiciousChild, "seed: COM parent and listed child")
	default:
		return e.pick(CommandLineRef, "seed: no classified parent")
	}
}

func (e *Engine) pick(p Pattern, evidence string) Verdict {
	if !e.enabled[p] {
		return Verdict{}
	}
	return Verdict{Pattern: p, Evidence: evidence}
}

// evaluateExtended reads the names once, establishes the server-launch fact
// and applies the extended rules.
func (e *Engine) evaluateExtended(ev *winevent.Event) Verdict {
	if !fromExpectedSource(ev) {
		return Verdict{}
	}
	var child, parent, original nameBuf
	child.set(normalizedBase(ev.ChildImage()))
	parent.set(normalizedBase(ev.ParentPath()))
	original.set(normalizedBase(ev.OriginalFileName))
	names := processNames{child: e.classes.of(&child), parent: e.classes.of(&parent), original: e.classes.of(&original)}
	commandLine := ev.CommandLine

	// Security 4688 carries no parent command line, so whether the parent runs
	// as a COM server is unknown there rather than false.
	parentCommandLine := ev.ParentCommandLine
	parentKnown := !ev.IsSecurity() && parentCommandLine != ""
	parentIsServer := names.parent&(classCOMParent|classServer) != 0
	parentEmbedded := parentIsServer && parentKnown && hasEmbeddingMarker(parentCommandLine)
	// The fact first, whatever the switches: only svchost.exe parents pay
	// for the rest of it.
	launch := names.parent&classSvchost != 0 && names.child&classServer != 0 &&
		hasEmbeddingMarker(commandLine) && (!parentKnown || containsFold(parentCommandLine, "dcomlaunch"))
	v := e.matchExtended(ev, &child, &parent, names, parentKnown, parentEmbedded, launch)
	v.ServerLaunch = launch
	return v
}

// matchExtended is the extended rules in order; the first enabled pattern
// that matches wins.
func (e *Engine) matchExtended(ev *winevent.Event, child, parent *nameBuf, names processNames, parentKnown, parentEmbedded, launch bool) Verdict {
	commandLine := ev.CommandLine
	if e.enabled[COMSuspiciousChild] && names.parent&classCOMParent != 0 && (parentEmbedded || !parentKnown) &&
		(names.child|names.original)&classSuspicious != 0 {
		return Verdict{Pattern: COMSuspiciousChild, Evidence: "COM server parent started a shell or LOLBin"}
	}
	if e.enabled[ServerChild] {
		if names.parent&classServer != 0 {
			switch {
			case parentEmbedded && !e.allowlisted(parent, child):
				return Verdict{Pattern: ServerChild, Evidence: "child of a COM server started with -Embedding or /automation"}
			case !parentKnown && names.parent&classIExploreLike != 0 && !e.allowlisted(parent, child):
				return Verdict{Pattern: ServerChild, Evidence: "Internet Explorer started a process that is not one of its helpers"}
			}
		}
		if names.parent&classImpacketParent != 0 && allFold(commandLine, impacketRedirect) {
			return Verdict{Pattern: ServerChild, Evidence: "impacket dcomexec output redirection"}
		}
	}
	if e.enabled[ServerActivation] && launch {
		return Verdict{Pattern: ServerActivation, Evidence: "DcomLaunch started an abusable COM server"}
	}
	if e.enabled[SourceInvocation] || e.enabled[LocalAutomation] {
		if v := e.tokenVerdict(commandLine, ev, false, false); v.Pattern != None {
			return v
		}
	}
	if e.enabled[ConfigTool] && (names.child|names.original)&classConfigTool != 0 {
		return Verdict{Pattern: ConfigTool, Evidence: "dcomcnfg.exe started"}
	}
	return Verdict{}
}

// evaluatePowerShell searches the text PowerShell logged for the source
// tokens: a script block's text (4104), a pipeline's commands and bound
// parameters (4103), encoded commands in them decoded.
func (e *Engine) evaluatePowerShell(ev *winevent.Event) Verdict {
	if (!e.enabled[SourceInvocation] && !e.enabled[LocalAutomation]) || !ev.FromExpectedLog() {
		return Verdict{}
	}
	// A part of a multi-part script block is cut out of the block: a
	// parameter at its start or a value at its end is read across the seam.
	var cutStart, cutEnd bool
	if ev.EventID == winevent.PowerShellScriptBlock {
		number, total := ev.ScriptBlockPart()
		if total > 1 && number >= 1 && number <= total {
			cutStart, cutEnd = number > 1, number < total
		}
	}
	return e.tokenVerdict(ScriptText(ev), ev, cutStart, cutEnd)
}

// tokenVerdict searches a command line or script for the source tokens:
// DCOM_SourceInvocation for lateral movement, COM_LocalAutomation (when
// switched on) for a dual-use token used on this computer.
func (e *Engine) tokenVerdict(text string, ev *winevent.Event, cutStart, cutEnd bool) Verdict {
	h := e.tokens.findIn(text, ev.Computer, cutStart, cutEnd)
	switch {
	case h.lateral() && e.enabled[SourceInvocation]:
		return Verdict{Pattern: SourceInvocation, Evidence: h.display()}
	case h.found() && !h.lateral() && e.enabled[LocalAutomation]:
		return Verdict{Pattern: LocalAutomation, Evidence: h.display()}
	}
	return Verdict{}
}

// EvaluateAcross returns the verdict for a script block part (4104) that
// completes a token split across it and a neighbouring part: window is the
// end of the earlier part and the start of the later one, seam where they
// meet (scriptblock.Assembler keeps and joins them).
func (e *Engine) EvaluateAcross(ev *winevent.Event, window string, seam int) Verdict {
	if e.profile == Seed || !e.enabled[SourceInvocation] || !ev.FromExpectedLog() {
		return Verdict{}
	}
	h := e.tokens.findAcross(window, seam, ev.Computer)
	if !h.lateral() {
		return Verdict{}
	}
	return e.conclude(Verdict{Pattern: SourceInvocation, Evidence: h.display()}, ev)
}

// What ScriptFacts says of the targets a text names.
const (
	TargetRemote   uint8 = 1 << iota // a target parameter names another computer
	TargetLoopback                   // a target parameter names this computer
)

// ScriptFacts returns what a text of a multi-part script block (a part,
// or the window across a seam) says toward a finding that its parts make
// together: the first dual-use token in it (its number, 0 for none) and
// the targets its parameters name (TargetRemote, TargetLoopback). cutStart
// and cutEnd say that the text starts or ends inside the block, where a
// parameter or its value may be cut; those are read from the window
// across the seam instead. EvaluateJoined turns the facts of a whole
// block into a verdict.
func (e *Engine) ScriptFacts(text, self string, cutStart, cutEnd bool) (token, targets uint8) {
	if i := e.tokens.firstDualUse(text); i >= 0 {
		token = uint8(i + 1) //nolint:gosec // G115: at most maxTokens
	}
	switch namedTargetIn(text, self, cutStart, cutEnd) {
	case targetRemote:
		targets = TargetRemote
	case targetLoopback:
		if !e.tokens.loopbackLocal {
			targets = TargetLoopback
		}
	}
	return token, targets
}

// EvaluateJoined returns the verdict for a script block (4104) whose parts
// hold a dual-use token (token, from ScriptFacts) and a target (targets)
// that no part and no seam holds together: DCOM_SourceInvocation, as if
// the block had been one text.
func (e *Engine) EvaluateJoined(ev *winevent.Event, token, targets uint8) Verdict {
	if e.profile == Seed || !e.enabled[SourceInvocation] || !ev.FromExpectedLog() ||
		token == 0 || int(token) > len(e.tokens.tokens) || targets == 0 {
		return Verdict{}
	}
	h := tokenHit{token: &e.tokens.tokens[token-1], target: targetRemote, place: placeSplit}
	if h.token.Kind != dualUseToken {
		return Verdict{}
	}
	if targets&TargetRemote == 0 {
		h.target = targetLoopback
	}
	return e.conclude(Verdict{Pattern: SourceInvocation, Evidence: h.display()}, ev)
}

// ScriptText is the text of a PowerShell event the rules search: a script
// block's (part of its) text, or a pipeline's payload.
func ScriptText(ev *winevent.Event) string {
	if ev.EventID == winevent.PowerShellScriptBlock {
		return ev.ScriptBlockText
	}
	return ev.Payload
}

// processNames are the classes of a process creation's three file names.
type processNames struct{ child, parent, original nameClass }

// fromExpectedSource gates Sysmon 1 on the Sysmon channel or provider and
// 4688 on Security (bug B11: other logs reuse event id 1).
func fromExpectedSource(ev *winevent.Event) bool {
	return (ev.EventID == winevent.SysmonProcessCreate || ev.EventID == winevent.SecurityProcessCreate) &&
		ev.FromExpectedLog()
}

// hasEmbeddingMarker reports whether one of the arguments of a command line,
// as Windows splits it, is one COM passes to a server it launches:
// -Embedding or /automation, with '-' or '/', in any case. A word inside a
// file or share name (Q3-Automation-Plan.xlsx, \\fs01\qa-automation\) is not.
func hasEmbeddingMarker(commandLine string) bool {
	args := commandLineArgs{rest: skipProgramName(commandLine)}
	for args.next() {
		if args.isMarker() {
			return true
		}
	}
	return false
}

func allFold(s string, needles []string) bool {
	for _, n := range needles {
		if !containsFold(s, n) {
			return false
		}
	}
	return true
}

func (e *Engine) allowlisted(parent, child *nameBuf) bool {
	c, p := child.view(), parent.view() // no copy: glob matching keeps neither
	for _, a := range e.allow {
		if a.child.match(c) && (!a.hasParent || a.parent.match(p)) {
			return true
		}
	}
	return false
}

// excludedBy returns the name of the first exclusion that matches, or "".
// It runs only for detections, so it may allocate.
func (e *Engine) excludedBy(p Pattern, ev *winevent.Event) string {
	domain, name := ev.Account()
	user := name
	if domain != "" {
		user = domain + `\` + name
	}
	values := [exclusionFieldCount]string{
		ev.ChildImage(), ev.ParentPath(), ev.CommandLine, ev.ParentCommandLine, user, ev.Computer,
	}
	if ev.IsPowerShell() {
		// A script has no process fields: command_line matches the text
		// searched, user the SID it ran under.
		values = [exclusionFieldCount]string{exCommandLine: ScriptText(ev), exUser: ev.UserID, exHost: ev.Computer}
	}
	for i := range e.exclusions {
		x := &e.exclusions[i]
		if !x.patterns[p] {
			continue
		}
		matched := true
		for f, g := range x.fields {
			if g != nil && !g.match(values[f]) {
				matched = false
				break
			}
		}
		if matched {
			return x.name
		}
	}
	return ""
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
