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
}

// sourceToken is one attacker-side token. WithHost tokens are method calls
// that only matter when a remote host is passed: GetTypeFromProgID("X", "host").
type sourceToken struct {
	Text    string // lower case
	Display string // as documented, for the evidence attribute
	// DecodedDisplay is the evidence when the token was found in a
	// decoded -EncodedCommand argument; SplitDisplay when it was split
	// across two parts of a script block.
	DecodedDisplay string
	SplitDisplay   string
	WithHost       bool
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

// find returns the first token present in s, by position, in s itself or
// in the decoded argument of an -EncodedCommand parameter at that position.
// Tokens are at least two bytes long (config validation requires four).
func (ts *tokenSet) find(s string) (sourceToken, bool) {
	if len(ts.tokens) == 0 {
		return sourceToken{}, false
	}
	st := decodeState{budget: maxDecoded}
	return ts.findAt(s, &st)
}

// decodeState is how deep a search is in decoded text and how many bytes
// it may still decode: one pointer, so that the search's loop keeps no
// more values live than before decoding was added.
type decodeState struct{ depth, budget int }

// findAt is find at a depth of decoding, sharing one budget of decoded bytes.
func (ts *tokenSet) findAt(s string, st *decodeState) (sourceToken, bool) {
	// The argument scans of nearby calls overlap, so on a command line made
	// of "GetTypeFromProgID(" they alone cost some thirty passes over it.
	// They share one budget instead: one pass plus one window.
	budget := len(s) + hostLookahead
	for i := 0; i+1 < len(s); i++ {
		bits := ts.first[s[i]] & ts.second[s[i+1]]
		if bits == 0 {
			continue
		}
		if bits&(1<<encodedBit) != 0 {
			bits &^= 1 << encodedBit
			if mayBeEncodedParameter(s, i) {
				if t, ok := ts.findEncoded(s, i, st); ok {
					return t, true
				}
			}
		}
		rest := s[i:]
		for j := 0; bits != 0; j++ {
			if bits&1 != 0 {
				t := &ts.tokens[j] // not a copy: a token is five words
				if hasPrefixFold(rest, t.Text) && (!t.WithHost || hasHostArgument(rest[len(t.Text):], &budget)) {
					return *t, true
				}
			}
			bits >>= 1
		}
	}
	return sourceToken{}, false
}

// hostLookahead is how far past a call's '(' hasHostArgument looks for the
// second argument.
const hostLookahead = 512

// hasHostArgument reports whether a call's argument list, starting right after
// the method name, has a second argument before it closes: the remote host in
// GetTypeFromProgID("MMC20.Application", "10.0.0.5"). It looks at most
// hostLookahead bytes ahead, and no further than *budget bytes, which it
// charges for what it scans. A call whose scan the budget cuts short counts
// as having a host: only a command line stuffed with unclosed calls exhausts
// the budget, and it must not hide a real call behind them.
func hasHostArgument(s string, budget *int) bool {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) || s[i] != '(' {
		return false
	}
	end := min(len(s), i+hostLookahead)
	limit := min(end, i+max(*budget, 0))
	depth := 0
	for j := i; j < limit; j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				*budget -= j + 1 - i
				return false
			}
		case ',':
			if depth == 1 {
				*budget -= j + 1 - i
				return true
			}
		}
	}
	*budget -= limit - i
	return limit < end
}

// findAcross returns a token that the seam at window[seam] splits: one that
// starts before the seam and whose text, or whose call's remote-host
// argument, reaches past it. Tokens wholly on either side are the parts'
// own. The window is the end of one part and the start of the next, each
// at most EdgeBytes long.
func (ts *tokenSet) findAcross(window string, seam int) (sourceToken, bool) {
	for i := max(0, seam-EdgeBytes); i < seam && i+1 < len(window); i++ {
		bits := ts.first[window[i]] & ts.second[window[i+1]] &^ (1 << encodedBit)
		for j := 0; bits != 0; j++ {
			if bits&1 != 0 {
				t := &ts.tokens[j]
				if hasPrefixFold(window[i:], t.Text) && splitBySeam(t, window, i, seam) {
					found := *t
					found.Display = t.SplitDisplay
					return found, true
				}
			}
			bits >>= 1
		}
	}
	return sourceToken{}, false
}

// splitBySeam reports whether token t, present at window[i:], is found in
// the window but in neither side alone.
func splitBySeam(t *sourceToken, window string, i, seam int) bool {
	end := i + len(t.Text)
	if !t.WithHost {
		return end > seam
	}
	budget := len(window) + hostLookahead
	if !hasHostArgument(window[end:], &budget) {
		return false
	}
	if end > seam {
		return true
	}
	// The call's name is before the seam: the left part alone saw it
	// unless its argument list runs past the seam.
	budget = seam + hostLookahead
	return !hasHostArgument(window[end:seam], &budget)
}
