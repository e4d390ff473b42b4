package rules

// tokenSet finds any of a set of case-insensitive tokens in one pass over a
// command line. A table of the tokens' first bytes skips the positions where
// no token can start, so the common case costs one table read per byte.
type tokenSet struct {
	tokens []sourceToken
	first  [256]uint64 // bit i set: tokens[i] starts with this byte (either case); encodedBit: a dash
	second [256]uint64 // bit i set: tokens[i] has this second byte (either case); encodedBit: 'e' after a dash
	// buffers lend the space encoded commands are decoded to.
	buffers *decodeBuffers
	dualUse uint64 // bit i set: tokens[i] is a dual-use token
	// loopbackLocal: a target that is this computer makes a hit local
	// COM use, not lateral movement (loopback_targets: local).
	loopbackLocal bool
}

// tokenKind says when a token is lateral movement.
type tokenKind uint8

const (
	// lateralToken is lateral movement by nature: Invoke-DCOM, dcomexec.
	lateralToken tokenKind = iota
	// hostCallToken is a method call that counts when it names a server:
	// GetTypeFromProgID("MMC20.Application", "10.0.0.5").
	hostCallToken
	// dualUseToken also serves local COM use (RegisterXLL, the ShellWindows
	// CLSID): it counts when the same text names a target computer.
	dualUseToken
)

// target is the computer a hit acts on, as far as the text says.
type target uint8

const (
	// targetRemote is another computer, or one the text does not spell
	// out ($ComputerName); lateral-by-nature tokens need none.
	targetRemote target = iota
	// targetLoopback is this computer named: localhost, 127.0.0.1, ".",
	// $env:COMPUTERNAME or the event's own computer name.
	targetLoopback
	// targetNone is no computer named: a dual-use token used locally.
	targetNone
	targetCount
)

// place is where a hit was found, for its evidence.
type place uint8

const (
	placeText    place = iota
	placeDecoded       // in a decoded -EncodedCommand argument
	placeSplit         // across two parts of a script block
	placeCount
)

// sourceToken is one attacker-side token.
type sourceToken struct {
	Text string // lower case
	Kind tokenKind
	// NotAfter: a host call whose name follows it is another method
	// (WScript.CreateObject).
	NotAfter string
	// displays are the evidence per place and target, built once so that
	// a hit allocates nothing.
	displays [placeCount][targetCount]string
}

// tokenHit is a token found in a text: lateral movement when it names a
// target (or needs none), local COM use when it is a dual-use token with
// no target, or names this computer and loopback counts as local.
type tokenHit struct {
	token  *sourceToken
	target target
	place  place
	local  bool
}

// found reports whether a token was found at all.
func (h tokenHit) found() bool { return h.token != nil }

// lateral reports whether the hit is lateral movement.
func (h tokenHit) lateral() bool { return h.token != nil && !h.local }

// hit is the hit of token t with a target, local when there is none or
// it is this computer and loopback counts as local.
func (ts *tokenSet) hit(t *sourceToken, tg target, p place) tokenHit {
	return tokenHit{token: t, target: tg, place: p, local: tg == targetNone || (tg == targetLoopback && ts.loopbackLocal)}
}

// display is the hit's evidence.
func (h tokenHit) display() string {
	if h.token == nil {
		return ""
	}
	return h.token.displays[h.place][h.target]
}

// maxTokenLen bounds a configured token, so that a token split across two
// parts of a script block lies within the edges the parts keep (EdgeBytes).
const maxTokenLen = 256

// EdgeBytes is how much of each end of a script block's part a search
// across the seam between two parts needs: a token that starts before the
// seam, and a remote-host argument that ends after it.
const EdgeBytes = maxTokenLen + hostLookahead

// maxTokens is how many tokens a set holds: one bit each in the tables,
// and the last bit marks encoded parameters.
const maxTokens = 63

func newTokenSet(tokens []sourceToken) tokenSet {
	ts := tokenSet{tokens: tokens, buffers: &decodeBuffers{}}
	for i, t := range tokens {
		setBoth(&ts.first, t.Text[0], i)
		setBoth(&ts.second, t.Text[1], i)
		if t.Kind == dualUseToken {
			ts.dualUse |= 1 << uint(i)
		}
	}
	for _, dash := range []byte{'-', '/', unicodeDashes[0][0]} {
		ts.first[dash] |= 1 << encodedBit
	}
	setBoth(&ts.second, 'e', encodedBit)
	ts.second[unicodeDashes[0][1]] |= 1 << encodedBit
	return ts
}

func setBoth(table *[256]uint64, c byte, i int) {
	table[c] |= 1 << uint(i)
	if 'a' <= c && c <= 'z' {
		table[c-('a'-'A')] |= 1 << uint(i)
	}
}

// find returns the first lateral-movement hit in s by position, in s
// itself or in the decoded argument of an -EncodedCommand parameter at
// that position; failing one, the first dual-use token, as local use.
// self is the event's computer name, which counts as loopback. Tokens are
// at least two bytes long (config validation requires four).
func (ts *tokenSet) find(s, self string) tokenHit { return ts.findIn(s, self, false, false) }

// findIn is find over a text cut out of a longer one, a part of a script
// block: cutStart, no parameter starts at its first byte (what precedes it
// is unknown); cutEnd, an argument or value it ends in may go on, so it
// is not read (the search across the seam reads it whole).
func (ts *tokenSet) findIn(s, self string, cutStart, cutEnd bool) tokenHit {
	if len(ts.tokens) == 0 {
		return tokenHit{}
	}
	st := decodeState{budget: maxDecoded, self: self, cutStart: cutStart, cutEnd: cutEnd}
	return ts.findAt(s, &st)
}

// decodeState is how deep a search is in decoded text, how many bytes
// it may still decode, and the event's computer name: one pointer, so
// that the search's loop keeps no more values live than before decoding
// was added.
type decodeState struct {
	depth, budget    int
	self             string
	cutStart, cutEnd bool // of the text at depth 0 (findIn)
}

// findAt is find at a depth of decoding, sharing one budget of decoded bytes.
func (ts *tokenSet) findAt(s string, st *decodeState) tokenHit {
	// The argument scans of nearby calls overlap, so on a command line made
	// of "GetTypeFromProgID(" they alone cost some thirty passes over it.
	// They share one budget instead: one pass plus one window.
	budget := len(s) + hostLookahead
	var local tokenHit
	targetChecked, textTarget := false, targetNone
	for i := 0; i+1 < len(s); i++ {
		bits := ts.first[s[i]] & ts.second[s[i+1]]
		if bits == 0 {
			continue
		}
		if bits&(1<<encodedBit) != 0 {
			bits &^= 1 << encodedBit
			if mayBeEncodedParameter(s, i) {
				if h := ts.findEncoded(s, i, st); h.lateral() {
					return h
				} else if h.found() && !local.found() {
					local = h
				}
			}
		}
		rest := s[i:]
		for j := 0; bits != 0; j, bits = j+1, bits>>1 {
			if bits&1 == 0 {
				continue
			}
			t := &ts.tokens[j] // not a copy: a token is a dozen words
			if !hasPrefixFold(rest, t.Text) {
				continue
			}
			switch t.Kind {
			case lateralToken:
				return tokenHit{token: t}
			case hostCallToken:
				if t.otherMethodAt(s, i) {
					continue
				}
				if tg := callTarget(rest[len(t.Text):], &budget, st.self, st.cutEnd && st.depth == 0); tg != targetNone {
					if h := ts.hit(t, tg, placeText); h.lateral() {
						return h
					} else if !local.found() {
						local = h
					}
				}
			case dualUseToken:
				if !targetChecked {
					// Once per text, at its first dual-use token.
					targetChecked = true
					textTarget = st.namedTarget(s)
				}
				if h := ts.hit(t, textTarget, placeText); h.lateral() {
					return h
				} else if !local.found() {
					local = h
				}
			}
		}
	}
	if local.found() && local.target == targetNone && !targetChecked {
		// The dual-use token was in a decoded argument: a target the
		// command line names around it counts too.
		local = ts.hit(local.token, st.namedTarget(s), local.place)
	}
	return local
}

// namedTarget is namedTargetIn for a text the search is in: cut as findIn
// says at depth 0, whole when decoded.
func (st *decodeState) namedTarget(s string) target {
	cut := st.depth == 0
	return namedTargetIn(s, st.self, cut && st.cutStart, cut && st.cutEnd)
}

// otherMethodAt reports whether host call t, found at s[i:], is another
// method of that name: WScript.CreateObject.
func (t *sourceToken) otherMethodAt(s string, i int) bool {
	return t.NotAfter != "" && i >= len(t.NotAfter) && hasPrefixFold(s[i-len(t.NotAfter):], t.NotAfter)
}

// hostLookahead is how far past a call's '(' callTarget looks for the
// server argument.
const hostLookahead = 512

// callTarget reads a call's argument list, starting right after the
// method name, and returns what its second argument names: the server in
// GetTypeFromProgID("MMC20.Application", "10.0.0.5"), targetNone when
// there is no second argument or it names no server ($null, $true). It
// looks at most hostLookahead bytes ahead, and no further than *budget
// bytes, which it charges for what it scans. A call whose scan the budget
// cuts short counts as naming a remote host: only a command line stuffed
// with unclosed calls exhausts the budget, and it must not hide a real
// call behind them. An argument the text ends in is read as far as it
// goes, unless cutEnd says the text is cut there.
func callTarget(s string, budget *int, self string, cutEnd bool) target {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) || s[i] != '(' {
		return targetNone
	}
	end := min(len(s), i+hostLookahead)
	limit := min(end, i+max(*budget, 0))
	depth := 0
	second := -1 // where the second argument starts
	for j := i; j < limit; j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				*budget -= j + 1 - i
				if second < 0 {
					return targetNone
				}
				return hostTarget(s[second:j], self)
			}
		case ',':
			if depth != 1 {
				break
			}
			if second >= 0 {
				*budget -= j + 1 - i
				return hostTarget(s[second:j], self)
			}
			second = j + 1
		}
	}
	*budget -= limit - i
	if limit < end {
		return targetRemote
	}
	if second < 0 || (cutEnd && limit == len(s)) {
		return targetNone
	}
	return hostTarget(s[second:limit], self)
}

// firstDualUse returns the index of the first dual-use token in s, by
// position, whatever its target; -1 for none. Encoded arguments are not
// decoded here.
func (ts *tokenSet) firstDualUse(s string) int {
	for i := 0; i+1 < len(s); i++ {
		bits := ts.first[s[i]] & ts.second[s[i+1]] & ts.dualUse
		for j := 0; bits != 0; j, bits = j+1, bits>>1 {
			if bits&1 != 0 && hasPrefixFold(s[i:], ts.tokens[j].Text) {
				return j
			}
		}
	}
	return -1
}

// findAcross returns a lateral-movement hit that the seam at window[seam]
// splits: a token that starts before the seam and whose text, or whose
// call's server argument, reaches past it. Tokens wholly on either side
// are the parts' own. The window is the end of one part and the start of
// the next, each at most EdgeBytes long. A dual-use token split by the
// seam counts when the window names a target.
func (ts *tokenSet) findAcross(window string, seam int, self string) tokenHit {
	for i := max(0, seam-EdgeBytes); i < seam && i+1 < len(window); i++ {
		bits := ts.first[window[i]] & ts.second[window[i+1]] &^ (1 << encodedBit)
		for j := 0; bits != 0; j, bits = j+1, bits>>1 {
			if bits&1 == 0 {
				continue
			}
			t := &ts.tokens[j]
			if !hasPrefixFold(window[i:], t.Text) {
				continue
			}
			if tg := splitBySeam(t, window, i, seam, self); tg != targetNone {
				if h := ts.hit(t, tg, placeSplit); h.lateral() {
					return h
				}
			}
		}
	}
	return tokenHit{}
}

// splitBySeam returns the target of token t, present at window[i:], if
// it is lateral movement in the window but in neither side alone, and
// targetNone otherwise.
func splitBySeam(t *sourceToken, window string, i, seam int, self string) target {
	end := i + len(t.Text)
	switch t.Kind {
	case lateralToken:
		if end > seam {
			return targetRemote
		}
	case dualUseToken:
		if end > seam {
			return namedTargetIn(window, self, true, true)
		}
	case hostCallToken:
		if t.otherMethodAt(window, i) {
			return targetNone
		}
		budget := len(window) + hostLookahead
		tg := callTarget(window[end:], &budget, self, true)
		if tg == targetNone || end > seam {
			return tg
		}
		// The call's name is before the seam: the left part alone saw it
		// unless its argument list runs past the seam.
		budget = seam + hostLookahead
		if callTarget(window[end:seam], &budget, self, true) == targetNone {
			return tg
		}
	}
	return targetNone
}
