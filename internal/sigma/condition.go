package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// tri is a truth value with unknown: a 4688 event does not carry every
// field Sysmon 1 does, and a search item on such a field is neither true
// nor false there. A rule fires only when its condition is true (Kleene's
// logic), so a rule is never true on a 4688 event because of a field the
// event cannot hold, and its other alternatives still work.
type tri uint8

const (
	no tri = iota
	yes
	unknown
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// node is a compiled condition.
type node interface {
	eval(c *evalCtx) tri
	// cost estimates the work of an evaluation, so that the cheap operands
	// of and and or are evaluated first (evaluation has no side effects:
	// the order changes the time, never the result).
	cost() int
}

func sumCost(nodes []node) int {
	c := 0
	for _, x := range nodes {
		c += x.cost()
	}
	return c
}

// order sorts the operands of every and and or by cost, cheapest first.
func order(n node) node {
	switch x := n.(type) {
	case andNode:
		for i := range x {
			x[i] = order(x[i])
		}
		slices.SortStableFunc(x, func(a, b node) int { return a.cost() - b.cost() })
	case orNode:
		for i := range x {
			x[i] = order(x[i])
		}
		slices.SortStableFunc(x, func(a, b node) int { return a.cost() - b.cost() })
	case notNode:
		x.n = order(x.n)
		return x
	}
	return n
}

type andNode []node

func (n andNode) eval(c *evalCtx) tri {
	r := yes
	for _, x := range n {
		switch x.eval(c) {
		case no:
			return no
		case unknown:
			r = unknown
		}
	}
	return r
}

func (n andNode) cost() int { return sumCost(n) }

type orNode []node

func (n orNode) eval(c *evalCtx) tri {
	r := no
	for _, x := range n {
		switch x.eval(c) {
		case yes:
			return yes
		case unknown:
			r = unknown
		}
	}
	return r
}

func (n orNode) cost() int { return sumCost(n) }

type notNode struct{ n node }

func (n notNode) eval(c *evalCtx) tri {
	switch n.n.eval(c) {
	case yes:
		return no
	case no:
		return yes
	}
	return unknown
}

func (n notNode) cost() int { return n.n.cost() }

// parseCondition compiles a condition over the rule's named searches.
func parseCondition(cond string, searches map[string]node) (node, error) {
	toks, err := lexCondition(cond)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, searches: searches}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("condition %q: unexpected %q", cond, p.toks[p.i])
	}
	return n, nil
}

func lexCondition(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '(', ')':
			toks = append(toks, s[i:i+1])
			i++
		case '|':
			return nil, fmt.Errorf("aggregations in a condition (%q) are %w: use a correlation rule", strings.TrimSpace(s[i:]), errUnsupported)
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, errors.New("empty condition")
	}
	return toks, nil
}

type condParser struct {
	toks     []string
	i        int
	searches map[string]node
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) or() (node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	alts := []node{n}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		alts = append(alts, m)
	}
	if len(alts) == 1 {
		return n, nil
	}
	return orNode(alts), nil
}

func (p *condParser) and() (node, error) {
	n, err := p.not()
	if err != nil {
		return nil, err
	}
	all := []node{n}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		m, err := p.not()
		if err != nil {
			return nil, err
		}
		all = append(all, m)
	}
	if len(all) == 1 {
		return n, nil
	}
	return andNode(all), nil
}

func (p *condParser) not() (node, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.i++
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, errors.New("condition ends too early")
	case t == "(":
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("condition: missing ')'")
		}
		p.i++
		return n, nil
	case t == ")":
		return nil, errors.New("condition: unexpected ')'")
	case (t == "1" || strings.EqualFold(t, "all") || isCount(t)) && p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1], "of"):
		if t != "1" && !strings.EqualFold(t, "all") {
			return nil, fmt.Errorf("%q of is %w (only 1 of and all of)", t, errUnsupported)
		}
		p.i += 2
		target := p.peek()
		if target == "" || target == "(" || target == ")" {
			return nil, fmt.Errorf("condition: %s of what?", t)
		}
		p.i++
		names := p.matching(target)
		if len(names) == 0 {
			return nil, fmt.Errorf("condition: %s of %s names no search", t, target)
		}
		nodes := make([]node, len(names))
		for i, name := range names {
			nodes[i] = p.searches[name]
		}
		if strings.EqualFold(t, "all") {
			return andNode(nodes), nil
		}
		return orNode(nodes), nil
	case isOperator(t):
		return nil, fmt.Errorf("condition: unexpected %q", t)
	}
	p.i++
	n, ok := p.searches[t]
	if !ok {
		return nil, fmt.Errorf("condition names %q, which the detection does not define", t)
	}
	return n, nil
}

// matching returns the searches a "1 of" / "all of" names: "them" is every
// search but those whose name starts with '_'; otherwise a name with '*'
// wildcards.
func (p *condParser) matching(target string) []string {
	var names []string
	toks := parseValue(target)
	for name := range p.searches {
		if strings.EqualFold(target, "them") {
			if !strings.HasPrefix(name, "_") {
				names = append(names, name)
			}
			continue
		}
		if globMatch(toks, name, true) {
			names = append(names, name)
		}
	}
	slices.Sort(names) // evaluation order does not change the result; keeps it reproducible
	return names
}

func isOperator(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

func isCount(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}
