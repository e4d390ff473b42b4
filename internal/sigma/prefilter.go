package sigma

import (
	"slices"
	"unicode/utf8"
)

// The prefilter skips the rules an event cannot match. Most rules need a
// literal in a field (Image|endswith '\whoami.exe', CommandLine|contains
// 'downloadstring'): for each rule a set of needles is derived, one of
// which occurs in a field's lower-cased value whenever the rule is true.
// An event's fields are scanned once for the needles' trigrams, and only
// the rules with a trigram found (and those without needles) are
// evaluated. A trigram found is no proof (the evaluation decides); a rule
// skipped is one that cannot be true.

// needle is a literal that must occur in a field's lower-cased value.
type needle struct {
	field int
	lit   string // lower-case ASCII, at least minNeedle bytes
}

// minNeedle is the shortest literal worth a needle (a trigram).
const minNeedle = 3

// necessary returns needles one of which occurs whenever n is true, and
// false when none can be derived (the rule is then always evaluated).
func necessary(n node) ([]needle, bool) {
	switch x := n.(type) {
	case andNode:
		var best []needle
		found := false
		for _, c := range x {
			if set, ok := necessary(c); ok && (!found || betterNeedles(set, best)) {
				best, found = set, true
			}
		}
		return best, found
	case orNode:
		var all []needle
		for _, c := range x {
			set, ok := necessary(c)
			if !ok {
				return nil, false
			}
			all = append(all, set...)
		}
		return all, true
	case *fieldMatch:
		return x.necessary()
	}
	return nil, false // not: nothing is necessary
}

// betterNeedles prefers fewer needles, then longer ones.
func betterNeedles(a, b []needle) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return shortest(a) > shortest(b)
}

func shortest(set []needle) int {
	n := 0
	for i, x := range set {
		if i == 0 || len(x.lit) < n {
			n = len(x.lit)
		}
	}
	return n
}

// necessary: with all, the best of the values (each is necessary); else
// every value must give one.
func (f *fieldMatch) necessary() ([]needle, bool) {
	if f.field < 0 {
		return nil, false
	}
	var best, all []needle
	found := false
	for _, forms := range f.values {
		var set []needle
		for _, m := range forms {
			s, ok := m.(*stringMatch)
			if !ok {
				set = nil
				break
			}
			lit, ok := s.needle()
			if !ok {
				set = nil
				break
			}
			set = append(set, needle{field: f.field, lit: lit})
		}
		if set == nil {
			if !f.all {
				return nil, false
			}
			continue
		}
		if f.all {
			if !found || betterNeedles(set, best) {
				best, found = set, true
			}
			continue
		}
		all = append(all, set...)
	}
	if f.all {
		return best, found
	}
	return all, len(all) > 0
}

// needle is the longest run of ASCII text a match of the value must
// contain, lower case, when it is at least minNeedle bytes (a windash
// form's en dash splits its literal; the parts around it still must occur).
func (m *stringMatch) needle() (string, bool) {
	var lit string
	longest := func(s string) {
		start := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] >= utf8.RuneSelf {
				if i-start > len(lit) {
					lit = s[start:i]
				}
				start = i + 1
			}
		}
	}
	switch m.shape {
	case shapeAny:
		return "", false
	case shapeGlob:
		for _, t := range m.toks {
			if t.kind == tokLit {
				longest(t.lit)
			}
		}
	default:
		longest(m.lit)
	}
	if len(lit) < minNeedle {
		return "", false
	}
	return lowerString(lit), true
}

// trigram packs three bytes.
func trigram(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16
}

// fieldIndex is the needles of one taxonomy field: the rules each chosen
// trigram stands for, behind a bit filter that most trigrams of a value
// miss.
type fieldIndex struct {
	field  int
	rules  map[uint32][]int32
	filter [filterWords]uint64
	// any are the rules with a needle in this field, candidates whenever
	// the value is not ASCII (it is then not scanned).
	any []int32
}

const filterWords = 1024 // 64 Ki bits

func filterBit(key uint32) (word, bit uint32) {
	h := (key * 2654435761) >> 16 // 16 bits
	return h >> 6, h & 63
}

// prefilter is the engine's index of needles.
type prefilter struct {
	fields []fieldIndex
	always []int32 // rules without needles
	words  int     // bitset words per event
}

// newPrefilter picks, for each rule's needles, the trigram that the
// fewest needles share (a trigram common among the rules' literals, like
// "exe" or "\\wi", is likely common in events too), and indexes it.
func newPrefilter(rules []*Rule) *prefilter {
	p := &prefilter{words: (len(rules) + 63) / 64}
	sets := make([][]needle, len(rules))
	common := map[uint32]int{}
	for i, r := range rules {
		set, ok := necessary(r.condition)
		if !ok {
			p.always = append(p.always, int32(i))
			continue
		}
		sets[i] = set
		for _, n := range set {
			seen := map[uint32]bool{}
			for j := 0; j+minNeedle <= len(n.lit); j++ {
				if k := trigram(n.lit, j); !seen[k] {
					seen[k] = true
					common[k]++
				}
			}
		}
	}
	byField := map[int]*fieldIndex{}
	for i, set := range sets {
		for _, n := range set {
			fi := byField[n.field]
			if fi == nil {
				fi = &fieldIndex{field: n.field, rules: map[uint32][]int32{}}
				byField[n.field] = fi
			}
			key := trigram(n.lit, 0)
			for j := 1; j+minNeedle <= len(n.lit); j++ {
				if k := trigram(n.lit, j); common[k] < common[key] {
					key = k
				}
			}
			if l := fi.rules[key]; len(l) == 0 || l[len(l)-1] != int32(i) {
				fi.rules[key] = append(l, int32(i))
			}
			w, b := filterBit(key)
			fi.filter[w] |= 1 << b
			if len(fi.any) == 0 || fi.any[len(fi.any)-1] != int32(i) {
				fi.any = append(fi.any, int32(i))
			}
		}
	}
	for _, fi := range byField {
		p.fields = append(p.fields, *fi)
	}
	slices.SortFunc(p.fields, func(a, b fieldIndex) int { return a.field - b.field })
	return p
}

// candidates marks in c.candidates the rules the event may match.
func (p *prefilter) candidates(c *evalCtx) []uint64 {
	if cap(c.candidates) < p.words {
		c.candidates = make([]uint64, p.words)
	}
	bits := c.candidates[:p.words]
	clear(bits)
	for _, i := range p.always {
		bits[i>>6] |= 1 << (i & 63)
	}
	for fi := range p.fields {
		f := &p.fields[fi]
		if taxonomy[f.field].get[c.kind] == nil {
			continue // a field this kind lacks: its needles' searches cannot be true
		}
		v := c.value(f.field)
		if len(v) < minNeedle {
			continue
		}
		c.cur = f.field
		lv, ascii := c.lowered(v)
		if !ascii {
			for _, i := range f.any {
				bits[i>>6] |= 1 << (i & 63)
			}
			continue
		}
		for j := 0; j+minNeedle <= len(lv); j++ {
			key := trigram(lv, j)
			if w, b := filterBit(key); f.filter[w]&(1<<b) == 0 {
				continue
			}
			for _, i := range f.rules[key] {
				bits[i>>6] |= 1 << (i & 63)
			}
		}
	}
	return bits
}
