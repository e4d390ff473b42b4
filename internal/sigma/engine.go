package sigma

import (
	"math/bits"
	"sync"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Engine evaluates compiled rules on process creations. It is safe for
// concurrent use.
type Engine struct {
	rules []*Rule
	// reads are the fields every rule reads together, per kind.
	reads [kindCount]winevent.Fields
	ctxs  sync.Pool
	pre   *prefilter
	// everyRule evaluates every rule, without the prefilter (tests).
	everyRule bool
}

// NewEngine makes an engine of compiled rules, evaluated in the order given.
func NewEngine(rules []*Rule) *Engine {
	e := &Engine{rules: rules}
	for _, r := range rules {
		for k := range kindCount {
			e.reads[k] |= r.reads[k]
		}
	}
	e.ctxs.New = func() any { return new(evalCtx) }
	e.pre = newPrefilter(rules)
	return e
}

// Rules returns the engine's rules; Match's indexes are into it.
func (e *Engine) Rules() []*Rule { return e.rules }

// Needs says what the reader fills for the rules: the fields they name of
// Sysmon 1 and of Security 4688. No rules, no needs.
func (e *Engine) Needs() []winevent.Need {
	if len(e.rules) == 0 {
		return nil
	}
	return []winevent.Need{
		{ID: winevent.SysmonProcessCreate, First: e.reads[kindSysmon]},
		{ID: winevent.SecurityProcessCreate, First: e.reads[kindSecurity]},
	}
}

// Match appends to dst the index of every rule whose condition is true of
// the event and returns it. An event that is no process creation from its
// expected log matches nothing; nothing is allocated unless a rule matches
// and dst has no room.
func (e *Engine) Match(ev *winevent.Event, dst []int) []int {
	if len(e.rules) == 0 {
		return dst
	}
	k, ok := kindOf(ev)
	if !ok {
		return dst
	}
	c := e.ctxs.Get().(*evalCtx)
	c.reset(ev, k)
	if e.everyRule {
		for i, r := range e.rules {
			if r.condition.eval(c) == yes {
				dst = append(dst, i)
			}
		}
	} else {
		for w, word := range e.pre.candidates(c) {
			for ; word != 0; word &= word - 1 {
				i := w<<6 + bits.TrailingZeros64(word)
				if e.rules[i].condition.eval(c) == yes {
					dst = append(dst, i)
				}
			}
		}
	}
	c.ev = nil
	e.ctxs.Put(c)
	return dst
}
