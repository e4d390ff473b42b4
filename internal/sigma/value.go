package sigma

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A valueMatcher decides one value of a field (after its modifiers) against
// what the event holds; "" is an absent or empty field. It allocates nothing.
type valueMatcher interface {
	match(v string, c *evalCtx) bool
	cost() int // relative work of a match (see node)
}

// tokKind is one element of a string value: literal text, Sigma's '*' and
// '?' wildcards, or (windash) one of the five dashes.
type tokKind uint8

const (
	tokLit  tokKind = iota
	tokStar         // any run of characters, empty included
	tokOne          // exactly one character
	tokDash         // '-', '/', en dash, em dash or horizontal bar
)

type tok struct {
	kind tokKind
	lit  string // tokLit: the text, lower-cased unless the match is cased
}

// parseValue reads a Sigma string value into tokens: '*' and '?' are
// wildcards, '\' escapes '*', '?' and '\' and stands for itself before any
// other character (the specification's escaping, as pySigma reads it).
func parseValue(s string) []tok {
	var toks []tok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, tok{kind: tokLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, tok{kind: tokStar})
			}
		case '?':
			flush()
			toks = append(toks, tok{kind: tokOne})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks
}

// hasWildcards reports whether tokens hold anything but literal text.
func hasWildcards(toks []tok) bool {
	for _, t := range toks {
		if t.kind != tokLit {
			return true
		}
	}
	return false
}

// literalOf joins the literal tokens (for values that hold no wildcard).
func literalOf(toks []tok) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.lit)
	}
	return b.String()
}

// windashTokens splits out, as dash tokens, every '-' or '/' that begins a
// word: after the start or a non-word character and before a word
// character (pySigma's \B[-/]\b), so that "-enc" also matches "/enc" and
// "–enc", but the dashes inside "a-b" or "C:/x" stay literal.
func windashTokens(toks []tok) []tok {
	var out []tok
	prevWord := false // the character before the current one is a word character
	for _, t := range toks {
		if t.kind != tokLit {
			out = append(out, t)
			prevWord = false
			continue
		}
		start := 0
		for i := 0; i < len(t.lit); i++ {
			c := t.lit[i]
			if (c == '-' || c == '/') && !prevWord && i+1 < len(t.lit) && isWordByte(t.lit[i+1]) {
				if i > start {
					out = append(out, tok{kind: tokLit, lit: t.lit[start:i]})
				}
				out = append(out, tok{kind: tokDash})
				start = i + 1
			}
			prevWord = isWordByte(c)
		}
		if start < len(t.lit) {
			out = append(out, tok{kind: tokLit, lit: t.lit[start:]})
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z' || c >= 0x80
}

// stringMatch matches a string value: case-insensitively (ASCII letters
// byte by byte, others by Unicode simple folding) unless cased, with the
// common shapes (exact, prefix, suffix, contains) taken without the general
// wildcard walk.
type stringMatch struct {
	shape matchShape
	lit   string // the literal of the simple shapes
	toks  []tok  // shapeGlob
	cased bool
	// ascii: every literal is ASCII. Such a value is matched on the
	// field's lower-cased copy with the plain (vectorised) string
	// functions; a literal that is not can never match an ASCII value.
	ascii bool
}

type matchShape uint8

const (
	shapeExact matchShape = iota
	shapePrefix
	shapeSuffix
	shapeContains
	shapeAny // "*": any value, an empty one included
	shapeGlob
)

func newStringMatch(toks []tok, cased bool) *stringMatch {
	if !cased {
		for i := range toks {
			toks[i].lit = lowerString(toks[i].lit)
		}
	}
	m := &stringMatch{shape: shapeGlob, toks: toks, cased: cased, ascii: true}
	for _, t := range toks {
		if !isASCII(t.lit) {
			m.ascii = false
		}
	}
	lit := func(i int) bool { return toks[i].kind == tokLit }
	star := func(i int) bool { return toks[i].kind == tokStar }
	switch n := len(toks); {
	case n == 0:
		m.shape = shapeExact
	case n == 1 && lit(0):
		m.shape, m.lit = shapeExact, toks[0].lit
	case n == 1 && star(0):
		m.shape = shapeAny
	case n == 2 && lit(0) && star(1):
		m.shape, m.lit = shapePrefix, toks[0].lit
	case n == 2 && star(0) && lit(1):
		m.shape, m.lit = shapeSuffix, toks[1].lit
	case n == 3 && star(0) && lit(1) && star(2):
		m.shape, m.lit = shapeContains, toks[1].lit
	}
	return m
}

func (m *stringMatch) match(v string, c *evalCtx) bool {
	if !m.cased {
		if lv, ascii := c.lowered(v); ascii {
			if !m.ascii {
				return m.shape == shapeAny
			}
			return m.matchCased(lv)
		}
		return m.matchFolded(v)
	}
	return m.matchCased(v)
}

func (m *stringMatch) cost() int {
	switch m.shape {
	case shapeContains:
		return 3
	case shapeGlob:
		return 6
	}
	return 1
}

// matchCased matches v byte for byte (a cased value, or the lower-cased
// copy of an ASCII field).
func (m *stringMatch) matchCased(v string) bool {
	switch m.shape {
	case shapeAny:
		return true
	case shapeGlob:
		return globMatch(m.toks, v, true)
	}
	return shapeMatch(m.shape, v, m.lit)
}

// shapeMatch matches a literal byte for byte in one of the simple shapes
// (exact, prefix, suffix, contains).
func shapeMatch(shape matchShape, v, lit string) bool {
	switch shape {
	case shapePrefix:
		return strings.HasPrefix(v, lit)
	case shapeSuffix:
		return strings.HasSuffix(v, lit)
	case shapeContains:
		return strings.Contains(v, lit)
	}
	return v == lit
}

// matchFolded matches v regardless of case, rune by rune where it is not
// ASCII.
func (m *stringMatch) matchFolded(v string) bool {
	switch m.shape {
	case shapeExact:
		n, ok := foldPrefix(v, m.lit)
		return ok && n == len(v)
	case shapePrefix:
		_, ok := foldPrefix(v, m.lit)
		return ok
	case shapeSuffix:
		return foldSuffix(v, m.lit)
	case shapeContains:
		return foldContains(v, m.lit)
	case shapeAny:
		return true
	}
	return globMatch(m.toks, v, false)
}

// lowerString lower-cases ASCII letters and, rune by rune, others.
func lowerString(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return strings.Map(unicode.ToLower, s)
		}
	}
	return s
}

// foldPrefix reports whether v begins with lit (lower-cased) regardless of
// case, and how many bytes of v it took.
func foldPrefix(v, lit string) (int, bool) {
	i, j := 0, 0
	for j < len(lit) {
		if i >= len(v) {
			return 0, false
		}
		c, l := v[i], lit[j]
		if c < utf8.RuneSelf && l < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != l {
				return 0, false
			}
			i++
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(v[i:])
		q, m := utf8.DecodeRuneInString(lit[j:])
		if unicode.ToLower(r) != q {
			return 0, false
		}
		i += n
		j += m
	}
	return i, true
}

// foldSuffix reports whether v ends with lit regardless of case.
func foldSuffix(v, lit string) bool {
	if isASCII(lit) {
		if len(v) < len(lit) {
			return false
		}
		n, ok := foldPrefix(v[len(v)-len(lit):], lit)
		return ok && n == len(lit)
	}
	for i := 0; i <= len(v); i++ {
		if n, ok := foldPrefix(v[i:], lit); ok && i+n == len(v) {
			return true
		}
	}
	return false
}

// foldContains reports whether lit occurs in v regardless of case.
func foldContains(v, lit string) bool {
	if lit == "" {
		return true
	}
	first := lit[0]
	upper := first
	if 'a' <= first && first <= 'z' {
		upper -= 'a' - 'A'
	}
	ascii := first < utf8.RuneSelf
	for i := 0; i < len(v); i++ {
		if ascii && v[i] != first && v[i] != upper {
			continue
		}
		if _, ok := foldPrefix(v[i:], lit); ok {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// globMatch matches tokens against v: the classic walk that, on a
// mismatch, lets the last '*' take one more byte. Every other token matches
// at most one length at a given position, so it is exact and takes
// O(len(toks)*len(v)).
func globMatch(toks []tok, v string, cased bool) bool {
	ti, vi := 0, 0
	starTok, starV := -1, 0
	for {
		if ti < len(toks) {
			if toks[ti].kind == tokStar {
				starTok, starV = ti, vi
				ti++
				continue
			}
			if n, ok := tokAt(toks[ti], v[vi:], cased); ok {
				ti++
				vi += n
				continue
			}
		} else if vi == len(v) {
			return true
		}
		if starTok < 0 || starV >= len(v) {
			return false
		}
		starV++
		ti, vi = starTok+1, starV
	}
}

// tokAt matches one token at the start of v and returns its length.
func tokAt(t tok, v string, cased bool) (int, bool) {
	switch t.kind {
	case tokLit:
		if cased {
			return len(t.lit), strings.HasPrefix(v, t.lit)
		}
		return foldPrefix(v, t.lit)
	case tokOne:
		if v == "" {
			return 0, false
		}
		_, n := utf8.DecodeRuneInString(v)
		return n, true
	case tokDash:
		for _, d := range dashes {
			if strings.HasPrefix(v, d) {
				return len(d), true
			}
		}
	}
	return 0, false
}

// dashes are what windash lets a flag's dash be.
var dashes = [...]string{"-", "/", "\u2013", "\u2014", "\u2015"}

// regexMatch is the re modifier: RE2, unanchored, case-sensitive unless i.
type regexMatch struct{ re *regexp.Regexp }

func (m regexMatch) match(v string, _ *evalCtx) bool { return m.re.MatchString(v) }
func (regexMatch) cost() int                         { return 20 }

// cidrMatch is the cidr modifier: the field is an address in the prefix.
type cidrMatch struct{ prefix netip.Prefix }

func (m cidrMatch) match(v string, _ *evalCtx) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	return err == nil && m.prefix.Contains(a.Unmap())
}

func (cidrMatch) cost() int { return 3 }

// numberMatch is gt, gte, lt and lte: the field read as a number.
type numberMatch struct {
	op string
	n  float64
}

func (m numberMatch) match(v string, _ *evalCtx) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return false
	}
	switch m.op {
	case "gt":
		return f > m.n
	case "gte":
		return f >= m.n
	case "lt":
		return f < m.n
	}
	return f <= m.n
}

func (numberMatch) cost() int { return 2 }

// nullMatch is a null value: the field is absent or empty.
type nullMatch struct{}

func (nullMatch) match(v string, _ *evalCtx) bool { return v == "" }
func (nullMatch) cost() int                       { return 1 }

// existsMatch is the exists modifier.
type existsMatch struct{ want bool }

func (m existsMatch) match(v string, _ *evalCtx) bool { return (v != "") == m.want }
func (existsMatch) cost() int                         { return 1 }

// fieldrefMatch is the fieldref modifier: the field compared with another
// field of the same event (equal, or with contains, startswith, endswith).
type fieldrefMatch struct {
	other int // taxonomy index
	shape matchShape
	cased bool
}

func (m fieldrefMatch) match(v string, c *evalCtx) bool {
	o := c.value(m.other)
	if o == "" {
		return false
	}
	if m.cased {
		return shapeMatch(m.shape, v, o)
	}
	switch m.shape {
	case shapePrefix:
		return len(v) >= len(o) && strings.EqualFold(v[:len(o)], o)
	case shapeSuffix:
		return len(v) >= len(o) && strings.EqualFold(v[len(v)-len(o):], o)
	case shapeContains:
		for i := 0; i+len(o) <= len(v); i++ {
			if strings.EqualFold(v[i:i+len(o)], o) {
				return true
			}
		}
		return false
	}
	return strings.EqualFold(v, o)
}

func (fieldrefMatch) cost() int { return 3 }

// modifiers are what a field's '|' list says, checked and ordered.
type modifiers struct {
	shape    matchShape // shapeExact, shapePrefix, shapeSuffix or shapeContains
	all      bool
	windash  bool
	cased    bool
	encoding string // "", "utf16le", "utf16be", "utf16"
	base64   string // "", "base64", "base64offset"
	re       bool
	reFlags  string
	cidr     bool
	exists   bool
	fieldref bool
	compare  string // gt, gte, lt, lte
}

// errUnsupported marks a rejection for a feature this engine does not run
// (as opposed to a rule that is wrong).
var errUnsupported = errors.New("not supported")

func parseModifiers(names []string) (modifiers, error) {
	var m modifiers
	for _, name := range names {
		switch name {
		case "contains", "startswith", "endswith":
			if m.shape != shapeExact {
				return m, errors.New("more than one of contains, startswith, endswith")
			}
			m.shape = map[string]matchShape{"contains": shapeContains, "startswith": shapePrefix, "endswith": shapeSuffix}[name]
		case "all":
			m.all = true
		case "windash":
			m.windash = true
		case "cased":
			m.cased = true
		case "utf16le", "wide", "utf16be", "utf16":
			if name == "wide" {
				name = "utf16le"
			}
			m.encoding = name
		case "base64", "base64offset":
			m.base64 = name
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return m, fmt.Errorf("modifier %q without re", name)
			}
			if !strings.Contains(m.reFlags, name) {
				m.reFlags += name
			}
		case "cidr":
			m.cidr = true
		case "exists":
			m.exists = true
		case "fieldref":
			m.fieldref = true
		case "gt", "gte", "lt", "lte":
			m.compare = name
		case "expand":
			return m, fmt.Errorf("placeholders (modifier expand) are %w: they need values a pipeline provides", errUnsupported)
		default:
			return m, fmt.Errorf("modifier %q is %w", name, errUnsupported)
		}
	}
	special := 0
	for _, on := range []bool{m.re, m.cidr, m.exists, m.fieldref, m.compare != ""} {
		if on {
			special++
		}
	}
	switch {
	case special > 1:
		return m, errors.New("modifiers re, cidr, exists, fieldref and gt/gte/lt/lte do not combine")
	case m.encoding != "" && m.base64 == "":
		return m, fmt.Errorf("modifier %s only combines with base64 or base64offset", m.encoding)
	case (m.re || m.cidr || m.exists || m.compare != "") && (m.shape != shapeExact || m.windash || m.base64 != "" || m.cased):
		return m, errors.New("modifiers re, cidr, exists and gt/gte/lt/lte take no other modifier")
	case m.fieldref && (m.windash || m.base64 != ""):
		return m, errors.New("modifier fieldref does not combine with windash or base64")
	}
	return m, nil
}

// valueMatchers compiles one value of a field into the matchers any of
// which decides it (base64offset gives three). field resolves a field name
// (for fieldref) to its taxonomy index.
func (m modifiers) valueMatchers(v any, field func(string) (int, error)) ([]valueMatcher, error) {
	if v == nil {
		if m.shape != shapeExact || m.base64 != "" || m.windash || m.re || m.cidr || m.compare != "" || m.fieldref || m.exists {
			return nil, errors.New("null takes no modifier")
		}
		return []valueMatcher{nullMatch{}}, nil
	}
	switch {
	case m.exists:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("exists takes true or false, not %v", v)
		}
		return []valueMatcher{existsMatch{want: b}}, nil
	case m.compare != "":
		var n float64
		switch x := v.(type) {
		case int:
			n = float64(x)
		case float64:
			n = x
		default:
			return nil, fmt.Errorf("%s takes a number, not %v", m.compare, v)
		}
		return []valueMatcher{numberMatch{op: m.compare, n: n}}, nil
	}
	s, err := scalarString(v)
	if err != nil {
		return nil, err
	}
	switch {
	case m.re:
		flags := ""
		if m.reFlags != "" {
			flags = "(?" + m.reFlags + ")"
		}
		re, err := regexp.Compile(flags + s)
		if err != nil {
			return nil, fmt.Errorf("regular expression RE2 cannot run (%w): %w", errUnsupported, err)
		}
		return []valueMatcher{regexMatch{re: re}}, nil
	case m.cidr:
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("cidr: %w", err)
		}
		return []valueMatcher{cidrMatch{prefix: p.Masked()}}, nil
	case m.fieldref:
		other, err := field(s)
		if err != nil {
			return nil, err
		}
		return []valueMatcher{fieldrefMatch{other: other, shape: m.shape, cased: m.cased}}, nil
	case m.base64 != "":
		toks := parseValue(s)
		if hasWildcards(toks) {
			return nil, fmt.Errorf("%s of a value with wildcards", m.base64)
		}
		var out []valueMatcher
		for _, enc := range encodeBase64(encodeText(literalOf(toks), m.encoding), m.base64 == "base64offset") {
			out = append(out, newStringMatch(m.positioned([]tok{{kind: tokLit, lit: enc}}), true))
		}
		return out, nil
	}
	toks := parseValue(s)
	if m.windash {
		toks = windashTokens(toks)
		if variants := expandDashes(toks); variants != nil {
			out := make([]valueMatcher, len(variants))
			for i, v := range variants {
				out[i] = newStringMatch(m.positioned(v), m.cased)
			}
			return out, nil
		}
	}
	return []valueMatcher{newStringMatch(m.positioned(toks), m.cased)}, nil
}

// maxDashExpansion is how many windash places a value may have for its
// forms to be listed (5 per place) rather than matched by the wildcard walk.
const maxDashExpansion = 2

// expandDashes lists a windash value's forms, one per choice of dash at
// each place, each of plain literals (which the simple shapes match
// fast); nil when it has no place or too many.
func expandDashes(toks []tok) [][]tok {
	places := 0
	for _, t := range toks {
		if t.kind == tokDash {
			places++
		}
	}
	if places == 0 || places > maxDashExpansion {
		return nil
	}
	forms := [][]tok{nil}
	for _, t := range toks {
		var next [][]tok
		for _, f := range forms {
			if t.kind != tokDash {
				next = append(next, appendTok(f, t))
				continue
			}
			for _, d := range dashes {
				next = append(next, appendTok(f, tok{kind: tokLit, lit: d}))
			}
		}
		forms = next
	}
	return forms
}

// appendTok appends a token to a copy of a form, joining adjacent literals.
func appendTok(form []tok, t tok) []tok {
	out := append([]tok(nil), form...)
	if n := len(out); n > 0 && t.kind == tokLit && out[n-1].kind == tokLit {
		out[n-1].lit += t.lit
		return out
	}
	return append(out, t)
}

// positioned adds the stars contains, startswith and endswith stand for.
func (m modifiers) positioned(toks []tok) []tok {
	star := tok{kind: tokStar}
	if (m.shape == shapeContains || m.shape == shapeSuffix) && (len(toks) == 0 || toks[0].kind != tokStar) {
		toks = append([]tok{star}, toks...)
	}
	if (m.shape == shapeContains || m.shape == shapePrefix) && (len(toks) == 0 || toks[len(toks)-1].kind != tokStar) {
		toks = append(toks, star)
	}
	return toks
}

// scalarString is a YAML scalar as Sigma compares it.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("a value must be a string, number, boolean or null, not %T", v)
}

// encodeText is the utf16* modifiers: the text's bytes as they are encoded.
func encodeText(s, encoding string) []byte {
	if encoding == "" {
		return []byte(s)
	}
	units := utf16.Encode([]rune(s))
	var out []byte
	if encoding == "utf16" {
		out = append(out, 0xff, 0xfe)
	}
	for _, u := range units {
		if encoding == "utf16be" {
			out = binary.BigEndian.AppendUint16(out, u)
		} else {
			out = binary.LittleEndian.AppendUint16(out, u)
		}
	}
	return out
}

// encodeBase64 is base64, or base64offset's three forms: the text after
// zero, one and two bytes of something else, with the characters that
// depend on those bytes (and on what follows) cut (pySigma's offsets).
func encodeBase64(b []byte, offsets bool) []string {
	if !offsets {
		return []string{base64.StdEncoding.EncodeToString(b)}
	}
	start := [3]int{0, 2, 3}
	end := [3]int{0, -3, -2} // 0: to the end
	out := make([]string, 0, 3)
	for i := range 3 {
		// The shifting bytes are spaces in pySigma; what is cut does not
		// depend on them.
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), b...))
		e := end[(len(b)+i)%3]
		hi := len(enc)
		if e < 0 {
			hi += e
		}
		if start[i] < hi {
			out = append(out, enc[start[i]:hi])
		}
	}
	return out
}
