package rules

import (
	"strings"
	"unsafe"
)

// maxName bounds the basenames looked up in the name tables; Windows paths
// are at most 260 characters in the common case and no listed name is close.
const maxName = 260

// nameBuf holds a lower-cased basename without allocating.
type nameBuf struct {
	b [maxName]byte
	n int
}

func (nb *nameBuf) String() string { return string(nb.b[:nb.n]) }

// view returns the name without copying it: string(nb.b[:nb.n]) allocates
// for names longer than 32 bytes. The string shares the buffer, so it may
// only be used while the buffer is unchanged and in scope, never kept.
func (nb *nameBuf) view() string {
	return unsafe.String(&nb.b[0], nb.n) //nolint:gosec // G103: a read-only view of the buffer that saves an allocation per lookup on the hot path; see the comment above
}

// set lower-cases s into the buffer; a name too long for it is left empty,
// which matches nothing in the tables.
func (nb *nameBuf) set(s string) {
	if len(s) > maxName {
		nb.n = 0
		return
	}
	for i := 0; i < len(s); i++ {
		nb.b[i] = lower(s[i])
	}
	nb.n = len(s)
}

// normalizedBase returns the file name of a Windows path after the fixes the
// seed lacks: surrounding quotes and spaces trimmed, '/' accepted as a
// separator, and trailing separators ignored.
func normalizedBase(path string) string {
	path = TrimNoise(path)
	for path != "" && (path[len(path)-1] == '\\' || path[len(path)-1] == '/') {
		path = path[:len(path)-1]
	}
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '\\' || path[i] == '/' {
			path = path[i+1:]
			break
		}
	}
	return TrimNoise(path)
}

// TrimNoise strips the quotes and white space forwarders leave around paths
// (loops, not strings.Trim with a cutset, which builds the set on every
// call: it runs for every process creation).
func TrimNoise(s string) string {
	for s != "" && isNoise(s[0]) {
		s = s[1:]
	}
	for s != "" && isNoise(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isNoise(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\''
}

// seedBase is the seed's parse regex "[^\\]+$": the text after the last
// backslash, untouched; a value ending in a backslash gives nothing.
func seedBase(path string) string {
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// lowerASCII folds the ASCII letters of configured names, exactly as lower
// folds event text; strings.ToLower also folded other letters ("Ä"), so a
// configured name holding one never matched the same text in an event.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

// hasPrefixFold reports whether s starts with the lower-case prefix p, ignoring ASCII case.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

// indexFold returns the index of the lower-case needle in s, ignoring ASCII
// case, or -1. Its cost is linear in len(s) times len(needle), and needles
// come from configuration, never from the event.
func indexFold(s, needle string) int {
	if needle == "" {
		return 0
	}
	first := needle[0]
	firstUpper := first
	if 'a' <= first && first <= 'z' {
		firstUpper = first - ('a' - 'A')
	}
	for i := 0; i+len(needle) <= len(s); i++ {
		if c := s[i]; c != first && c != firstUpper {
			continue
		}
		if hasPrefixFold(s[i+1:], needle[1:]) {
			return i
		}
	}
	return -1
}

func containsFold(s, needle string) bool { return indexFold(s, needle) >= 0 }

// glob is a case-insensitive pattern where '*' matches any run of characters.
// Matching is greedy over the literal segments, which is exact for '*'-only
// patterns and linear in the input for a given pattern.
type glob struct {
	segments []string // lower-case literal parts between the stars
	anchorL  bool     // no leading '*'
	anchorR  bool     // no trailing '*'
}

func compileGlob(pattern string) glob {
	p := lowerASCII(pattern)
	return glob{
		segments: strings.Split(p, "*"),
		anchorL:  !strings.HasPrefix(p, "*"),
		anchorR:  !strings.HasSuffix(p, "*"),
	}
}

func (g glob) match(s string) bool {
	segs := g.segments
	if len(segs) == 1 { // no star at all
		return len(s) == len(segs[0]) && hasPrefixFold(s, segs[0])
	}
	if g.anchorL {
		if !hasPrefixFold(s, segs[0]) {
			return false
		}
		s = s[len(segs[0]):]
	}
	last := segs[len(segs)-1]
	if g.anchorR {
		if len(s) < len(last) || !hasPrefixFold(s[len(s)-len(last):], last) {
			return false
		}
		s = s[:len(s)-len(last)]
	}
	for _, seg := range segs[1 : len(segs)-1] {
		if seg == "" {
			continue
		}
		i := indexFold(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// skipProgramName returns a command line after its program name, which
// Windows reads apart from the arguments: up to the closing quote when it
// starts with one, else up to the first space or tab; no escapes.
func skipProgramName(commandLine string) string {
	s := commandLine
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	if s != "" && s[0] == '"' {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 {
			return s[end+2:]
		}
		return ""
	}
	if end := strings.IndexAny(s, " \t"); end >= 0 {
		return s[end:]
	}
	return ""
}

// maxMarkerArg is the longest argument commandLineArgs keeps: one longer
// than every marker is only measured.
const maxMarkerArg = 16

// commandLineArgs walks the arguments after the program name as Windows
// splits them (CommandLineToArgvW and the C runtime): white space outside
// quotes separates; a quote toggles quoting; 2n backslashes before a quote
// are n backslashes and the quote toggles, 2n+1 are n and a literal quote;
// "" inside quotes is a literal quote. Each argument's first characters are
// kept in a fixed buffer: no allocation, one pass, linear in the line.
type commandLineArgs struct {
	rest string
	arg  [maxMarkerArg]byte
	n    int // the argument's length (may exceed what arg holds)
}

// next reads the next argument; false at the end of the line.
func (a *commandLineArgs) next() bool {
	s := a.rest
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	if s == "" {
		a.rest = ""
		return false
	}
	a.n = 0
	quoted := false
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case (c == ' ' || c == '\t') && !quoted:
			a.rest = s[i:]
			return true
		case c == '\\':
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			slashes := j - i
			if j < len(s) && s[j] == '"' {
				a.emitBackslashes(slashes / 2)
				if slashes%2 == 1 {
					a.emit('"')
				} else {
					quoted = !quoted
				}
				i = j + 1
				continue
			}
			a.emitBackslashes(slashes)
			i = j
			continue
		case c == '"':
			if quoted && i+1 < len(s) && s[i+1] == '"' {
				a.emit('"')
				i += 2
				continue
			}
			quoted = !quoted
		default:
			a.emit(c)
		}
		i++
	}
	a.rest = ""
	return true
}

func (a *commandLineArgs) emit(c byte) {
	if a.n < len(a.arg) {
		a.arg[a.n] = lower(c)
	}
	a.n++
}

// emitBackslashes adds a run of n backslashes: only those inside the window
// are written, the rest are counted.
func (a *commandLineArgs) emitBackslashes(n int) {
	for i := a.n; i < len(a.arg) && i < a.n+n; i++ {
		a.arg[i] = '\\'
	}
	a.n += n
}

// isMarker reports whether the argument is '-' or '/' and one of
// embeddingMarkers, in any case.
func (a *commandLineArgs) isMarker() bool {
	if a.n < 2 || a.n > len(a.arg) || (a.arg[0] != '-' && a.arg[0] != '/') {
		return false
	}
	word := a.arg[1:a.n]
	for _, m := range embeddingMarkers {
		if string(word) == m {
			return true
		}
	}
	return false
}
