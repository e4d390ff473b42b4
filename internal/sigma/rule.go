// Package sigma compiles Sigma rules (specification v2) of the
// process_creation category into matchers over winevent.Event, for Sysmon 1
// and Security 4688 alike. A rule is compiled once; evaluating it reads the
// fields the one reader filled and allocates nothing.
package sigma // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/sigma"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Rule is one compiled rule and what the annotation writes of it.
type Rule struct {
	ID          string
	Title       string
	Description string
	Status      string
	// Level is the rule's level, on the scale of the built-in patterns'
	// severities (the same five grades, ordered).
	Level      rules.Severity
	References []string
	Tags       []string
	Author     string
	// Scalars are the rule's top-level string values by key (title, id,
	// name, or a key of the user's own), for a DetectionPattern taken from
	// another key than the title.
	Scalars map[string]string
	File    string
	Line    int

	condition node
	// reads are the event fields the rule reads, per kind.
	reads [kindCount]winevent.Fields
}

// Rejection is a rule (or a file) that is not loaded, and why.
type Rejection struct {
	File  string
	Line  int
	ID    string
	Title string
	// Reason says what is wrong or not supported.
	Reason string
	// Unsupported: the rule is valid Sigma that this engine does not run
	// (another logsource, a feature it lacks), not a broken rule.
	Unsupported bool
}

func (r Rejection) String() string {
	where := r.File
	if r.Line > 0 {
		where += ":" + strconv.Itoa(r.Line)
	}
	if r.ID != "" {
		return fmt.Sprintf("%s: rule %s (%s): %s", where, r.ID, r.Title, r.Reason)
	}
	return where + ": " + r.Reason
}

// Category is the one logsource this package compiles.
const Category = "process_creation"

// Compile reads every YAML document of a file's data as a rule. A broken
// file is one rejection naming its line; each rule that cannot be compiled
// is a rejection of its own, and the others are compiled.
func Compile(file string, data []byte) ([]*Rule, []Rejection) {
	var rules []*Rule
	var rejected []Rejection
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, msg := yamlError(err)
			rejected = append(rejected, Rejection{File: file, Line: line, Reason: "YAML: " + msg})
			break // the decoder cannot go on past a syntax error
		}
		r, rej := compileDocument(file, &doc)
		switch {
		case rej != nil:
			rejected = append(rejected, *rej)
		case r != nil:
			rules = append(rules, r)
		}
	}
	return rules, rejected
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError returns the line a YAML syntax error names, and its message
// without it. The parser's errors ("did not find expected ...") give the
// line where the unclosed construct began counted from 0, the scanner's
// counted from 1 (go.yaml.in/yaml/v3 v3.0.6): both are returned from 1.
func yamlError(err error) (int, string) {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	msg = msg[len(m[0]):]
	if strings.HasPrefix(msg, "did not find expected") {
		n++
	}
	return n, msg
}

// ruleDoc is what a rule's YAML holds that the engine reads.
type ruleDoc struct {
	Title       string         `yaml:"title"`
	ID          string         `yaml:"id"`
	Status      string         `yaml:"status"`
	Description string         `yaml:"description"`
	References  []string       `yaml:"references"`
	Author      string         `yaml:"author"`
	Tags        []string       `yaml:"tags"`
	Level       string         `yaml:"level"`
	Action      string         `yaml:"action"`
	Correlation any            `yaml:"correlation"`
	Logsource   map[string]any `yaml:"logsource"`
	Detection   yaml.Node      `yaml:"detection"`
}

func compileDocument(file string, doc *yaml.Node) (*Rule, *Rejection) {
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null" {
		return nil, nil // an empty document
	}
	top := doc.Content[0]
	rej := func(reason string, unsupported bool) *Rejection {
		return &Rejection{File: file, Line: top.Line, Reason: reason, Unsupported: unsupported}
	}
	if top.Kind != yaml.MappingNode {
		return nil, rej("a rule is a YAML mapping", false)
	}
	var d ruleDoc
	if err := top.Decode(&d); err != nil {
		return nil, rej("YAML: "+err.Error(), false)
	}
	named := func(reason string, unsupported bool) *Rejection {
		r := rej(reason, unsupported)
		r.ID, r.Title = d.ID, d.Title
		return r
	}
	switch {
	case d.Action != "":
		return nil, named("rule collections (action: "+d.Action+") are not supported", true)
	case d.Correlation != nil:
		return nil, named("correlation rules are not supported", true)
	case d.Title == "":
		return nil, named("a rule needs a title", false)
	}
	if reason := checkLogsource(d.Logsource); reason != "" {
		return nil, named(reason, true)
	}
	level := rules.SeverityMedium // the specification leaves it optional; medium is what SigmaHQ's tooling assumes
	if d.Level != "" {
		l, ok := rules.ParseSeverity(strings.ToLower(d.Level))
		if !ok {
			return nil, named(fmt.Sprintf("level %q is not one of %s", d.Level, strings.Join(rules.SeverityNames(), ", ")), false)
		}
		level = l
	}
	r := &Rule{
		ID: d.ID, Title: d.Title, Description: d.Description, Status: d.Status, Level: level,
		References: d.References, Tags: d.Tags, Author: d.Author, Scalars: scalars(top), File: file, Line: top.Line,
	}
	if err := r.compileDetection(&d.Detection); err != nil {
		return nil, named(err.Error(), errors.Is(err, errUnsupported))
	}
	return r, nil
}

// checkLogsource accepts process_creation on Windows (a product other
// than windows, or a service, is another log).
func checkLogsource(ls map[string]any) string {
	str := func(k string) string {
		s, _ := ls[k].(string)
		return s
	}
	switch {
	case ls == nil:
		return "the rule has no logsource"
	case str("category") != Category:
		return fmt.Sprintf("logsource category %q is not supported (only %s)", str("category"), Category)
	case str("product") != "" && !strings.EqualFold(str("product"), "windows"):
		return fmt.Sprintf("logsource product %q is not supported (only windows)", str("product"))
	case str("service") != "":
		return fmt.Sprintf("logsource service %q is not supported", str("service"))
	}
	return ""
}

// scalars are the top-level keys whose values are strings.
func scalars(top *yaml.Node) map[string]string {
	m := make(map[string]string)
	for i := 0; i+1 < len(top.Content); i += 2 {
		if v := top.Content[i+1]; v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
			m[top.Content[i].Value] = v.Value
		}
	}
	return m
}

func (r *Rule) compileDetection(det *yaml.Node) error {
	if det.Kind != yaml.MappingNode {
		return errors.New("the rule has no detection")
	}
	searches := make(map[string]node)
	var conditions []string
	for i := 0; i+1 < len(det.Content); i += 2 {
		key, val := det.Content[i].Value, det.Content[i+1]
		switch key {
		case "condition":
			var err error
			if conditions, err = conditionList(val); err != nil {
				return err
			}
			continue
		case "timeframe":
			return fmt.Errorf("timeframe is %w: use a correlation rule", errUnsupported)
		}
		var v any
		if err := val.Decode(&v); err != nil {
			return fmt.Errorf("search %s: %w", key, err)
		}
		s, err := r.compileSearch(v)
		if err != nil {
			return fmt.Errorf("search %s (line %d): %w", key, val.Line, err)
		}
		searches[key] = s
	}
	if len(conditions) == 0 {
		return errors.New("the detection has no condition")
	}
	var alts []node
	for _, c := range conditions {
		n, err := parseCondition(c, searches)
		if err != nil {
			return err
		}
		alts = append(alts, n)
	}
	r.condition = alts[0]
	if len(alts) > 1 {
		r.condition = orNode(alts) // a list of conditions: any of them
	}
	r.condition = order(r.condition)
	return nil
}

func conditionList(val *yaml.Node) ([]string, error) {
	switch val.Kind {
	case yaml.ScalarNode:
		return []string{val.Value}, nil
	case yaml.SequenceNode:
		var out []string
		for _, c := range val.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, errors.New("a condition is a string or a list of strings")
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errors.New("a condition is a string or a list of strings")
}

// fieldMatch is one field of a search with its values: any of them, or
// with all, every one (each value being any of its forms). field -1 is a
// keyword search over every field of the event. A search is an and of its
// map's fields, or an or of such ands for a list of maps: the condition's
// own nodes.
type fieldMatch struct {
	field  int
	all    bool
	values [][]valueMatcher
}

func (f *fieldMatch) cost() int {
	c := 0
	for _, forms := range f.values {
		for _, m := range forms {
			c += m.cost()
		}
	}
	if f.field < 0 {
		c *= len(taxonomy) // a keyword is looked for in every field
	}
	return c
}

func (f *fieldMatch) eval(c *evalCtx) tri {
	if f.field < 0 {
		return f.evalKeywords(c)
	}
	if taxonomy[f.field].get[c.kind] == nil {
		return unknown
	}
	v := c.value(f.field)
	c.cur = f.field
	for _, forms := range f.values {
		hit := false
		for _, m := range forms {
			if m.match(v, c) {
				hit = true
				break
			}
		}
		if hit != f.all {
			return triOf(hit)
		}
	}
	return triOf(f.all)
}

// evalKeywords looks for the values in every field the event holds: true
// when one is found (all of them, with all); on a kind that lacks some of
// Sysmon's fields, a value not found is unknown rather than false.
func (f *fieldMatch) evalKeywords(c *evalCtx) tri {
	miss := no
	if c.kind != kindSysmon {
		miss = unknown
	}
	for _, forms := range f.values {
		if hit := keywordFound(forms, c); hit != f.all {
			if hit {
				return yes
			}
			return miss
		}
	}
	if f.all {
		return yes
	}
	return miss
}

// keywordFound reports whether any field value holds one of a value's forms.
func keywordFound(forms []valueMatcher, c *evalCtx) bool {
	for i := range taxonomy {
		if taxonomy[i].get[c.kind] == nil {
			continue
		}
		v := c.value(i)
		if v == "" {
			continue
		}
		c.cur = i
		for _, m := range forms {
			if m.match(v, c) {
				return true
			}
		}
	}
	return false
}

// compileSearch compiles a search: a map of fields (all of them), a list
// of maps (any of them), or a keyword list.
func (r *Rule) compileSearch(v any) (node, error) {
	switch x := v.(type) {
	case map[string]any:
		return r.compileMap(x)
	case []any:
		if len(x) == 0 {
			return nil, errors.New("an empty list")
		}
		if _, isMap := x[0].(map[string]any); !isMap {
			return r.compileKeywords(x)
		}
		var alts orNode
		for _, item := range x {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, errors.New("a list mixes maps and keywords")
			}
			n, err := r.compileMap(m)
			if err != nil {
				return nil, err
			}
			alts = append(alts, n)
		}
		if len(alts) == 1 {
			return alts[0], nil
		}
		return alts, nil
	case nil:
		return nil, errors.New("an empty search")
	}
	return r.compileKeywords(v)
}

// compileKeywords compiles a keyword search (one keyword or a list).
func (r *Rule) compileKeywords(v any) (node, error) {
	f, err := r.compileField("", v)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// compileMap compiles a map's fields, in the order of their names (order,
// at the end of the rule's compilation, puts the cheapest first).
func (r *Rule) compileMap(m map[string]any) (node, error) {
	if len(m) == 0 {
		return nil, errors.New("an empty map")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	all := make(andNode, 0, len(keys))
	for _, k := range keys {
		f, err := r.compileField(k, m[k])
		if err != nil {
			return nil, err
		}
		all = append(all, f)
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

// compileField compiles "Field|mod|mod: value(s)"; an empty field name is a
// keyword search.
func (r *Rule) compileField(key string, v any) (*fieldMatch, error) {
	parts := strings.Split(key, "|")
	name := parts[0]
	mods, err := parseModifiers(parts[1:])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	f := fieldMatch{field: -1, all: mods.all}
	if name != "" {
		if f.field, err = r.use(name); err != nil {
			return nil, err
		}
	} else {
		if mods.exists || mods.fieldref || mods.compare != "" || v == nil {
			return nil, errors.New("a keyword search takes strings")
		}
		if mods.shape == shapeExact {
			mods.shape = shapeContains // a keyword is found anywhere in a value
		}
		for i := range taxonomy {
			r.reads[kindSysmon] |= taxonomy[i].read[kindSysmon]
			r.reads[kindSecurity] |= taxonomy[i].read[kindSecurity]
		}
	}
	values, ok := v.([]any)
	if !ok {
		values = []any{v}
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("%s: an empty list of values", key)
	}
	if mods.all && len(values) == 1 {
		f.all = false // a single value: all and any are one
	}
	for _, value := range values {
		if _, isMap := value.(map[string]any); isMap {
			return nil, fmt.Errorf("%s: a value cannot be a map", key)
		}
		if _, isList := value.([]any); isList {
			return nil, fmt.Errorf("%s: a value cannot be a list", key)
		}
		ms, err := mods.valueMatchers(value, r.use)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		f.values = append(f.values, ms)
	}
	return &f, nil
}

// use resolves a field name the rule reads and records what the reader
// must fill for it.
func (r *Rule) use(name string) (int, error) {
	i := taxonomyIndex(name)
	if i < 0 {
		return 0, fmt.Errorf("field %q is %w: it is not a field of %s events (Sysmon 1 names)", name, errUnsupported, Category)
	}
	r.reads[kindSysmon] |= taxonomy[i].read[kindSysmon]
	r.reads[kindSecurity] |= taxonomy[i].read[kindSecurity]
	return i, nil
}
