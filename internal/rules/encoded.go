package rules

import (
	"strings"
	"sync"
	"unsafe"
)

// PowerShell runs -EncodedCommand's argument as base64 of UTF-16LE text, so
// a command line can carry "Invoke-DCOM -ComputerName srv01" as
// SQBuAHYAbwBrAGUALQBEAEMATwBNACAA... The token search decodes such an
// argument where it finds one and searches the decoded text too.
const (
	// maxDecoded bounds the UTF-16LE bytes decoded from one text, over
	// all its encoded arguments and their nested ones: a gigantic argument is
	// decoded up to it and its first 32 K characters are searched.
	maxDecoded = 64 << 10
	// maxEncodedDepth is how deep encoded commands inside decoded ones are
	// decoded (Invoke-Obfuscation's launchers nest one in another).
	maxEncodedDepth = 2
	// encodedBit is the bit of the token tables that marks where an
	// encoded parameter may begin: '-', '/' or a Unicode dash before an 'e'.
	encodedBit = maxTokens
)

// encodedName is PowerShell's parameter; powershell.exe and pwsh.exe accept
// any prefix of it ("-e", "-enc", ...) and the alias "-ec", in any case.
const encodedName = "encodedcommand"

// unicodeDashes are the dashes PowerShell reads as '-' in front of a
// parameter (Sigma's windash modifier lists the same), as UTF-8.
var unicodeDashes = [...]string{"\u2013", "\u2014", "\u2015"}

// encodedArgument reports whether s[i:] begins an -EncodedCommand
// parameter that starts an argument and returns its base64 argument
// (without quotes).
func encodedArgument(s string, i int) (arg string, ok bool) {
	if i > 0 && !isArgumentBoundary(s[i-1]) {
		return "", false
	}
	j := i
	switch s[i] {
	case '-', '/':
		j++
	case 0xE2:
		for _, d := range unicodeDashes {
			if strings.HasPrefix(s[i:], d) {
				j += len(d)
				break
			}
		}
		if j == i {
			return "", false
		}
	default:
		return "", false
	}
	k := j
	for k < len(s) && k-j <= len(encodedName) && isASCIILetter(s[k]) {
		k++
	}
	if !isEncodedName(s[j:k]) {
		return "", false
	}
	if i > 0 && k < len(s) && (s[i-1] == '"' || s[i-1] == '\'') && s[k] == s[i-1] {
		k++ // a quoted parameter: "-enc"
	}
	if k == len(s) || (s[k] != ' ' && s[k] != '\t') {
		return "", false
	}
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		k++
	}
	start := k
	for k < len(s) && base64Value[s[k]] != invalidBase64 {
		k++
	}
	if k == start {
		return "", false
	}
	return s[start:k], true
}

// mayBeEncodedParameter is the search's cheap first look at a dash (or
// '/') before an 'e' at s[i]: it starts an argument, and what follows the
// 'e' can continue -e, -ec or -en...: "-Embedding" and "-ExecutionPolicy"
// go no further. A Unicode dash is left to encodedArgument.
func mayBeEncodedParameter(s string, i int) bool {
	if i > 0 && !isArgumentBoundary(s[i-1]) {
		return false
	}
	if s[i] == 0xE2 || i+2 >= len(s) {
		return true
	}
	switch s[i+2] {
	case ' ', '\t', '"', '\'', 'c', 'C', 'n', 'N':
		return true
	}
	return false
}

// isEncodedName reports whether a parameter name (after its dash) selects
// -EncodedCommand.
func isEncodedName(name string) bool {
	if name == "" || len(name) > len(encodedName) {
		return false
	}
	if strings.EqualFold(name, "ec") {
		return true
	}
	for i := 0; i < len(name); i++ {
		if lower(name[i]) != encodedName[i] {
			return false
		}
	}
	return true
}

func isArgumentBoundary(c byte) bool { return c == ' ' || c == '\t' || c == '"' || c == '\'' }

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// invalidBase64 marks a byte outside the base64 alphabet ('=' included: it
// ends the data).
const invalidBase64 = 0xFF

// base64Value maps a byte to its 6-bit value in the standard alphabet.
var base64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = invalidBase64
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// nonASCII stands for a UTF-16 code unit outside ASCII in decoded text: the
// tokens are ASCII, so it matches none of them, and invalid UTF-16 (a lone
// surrogate, an odd last byte) needs no special case.
const nonASCII = 0x80

// decodeUTF16Base64 decodes base64 of UTF-16LE text into dst as one byte
// per code unit (ASCII as itself, anything else nonASCII), reading at most
// *budget decoded bytes, which it charges. It stops at the first byte
// outside the alphabet; a trailing partial group is decoded as far as it
// goes. dst must hold len(arg)*3/8+1 bytes.
func decodeUTF16Base64(dst []byte, arg string, budget *int) []byte {
	n := 0
	var unit [2]byte
	half := 0
	var acc uint32
	bitsHeld := 0
	for i := 0; i < len(arg) && *budget > 0; i++ {
		v := base64Value[arg[i]]
		if v == invalidBase64 {
			break
		}
		acc = acc<<6 | uint32(v)
		bitsHeld += 6
		if bitsHeld < 8 {
			continue
		}
		bitsHeld -= 8
		unit[half] = byte(acc >> bitsHeld & 0xFF)
		*budget--
		if half == 0 {
			half = 1
			continue
		}
		half = 0
		if unit[1] == 0 && unit[0] < 0x80 {
			dst[n] = unit[0]
		} else {
			dst[n] = nonASCII
		}
		n++
	}
	return dst[:n]
}

// decodeBuffers lends the buffers decoded text is written to, so that a
// command line with an encoded argument allocates nothing in the steady
// state. Each Engine has its own.
type decodeBuffers struct{ pool sync.Pool }

// get returns a buffer of at least n bytes.
func (d *decodeBuffers) get(n int) *[]byte {
	if b, ok := d.pool.Get().(*[]byte); ok && cap(*b) >= n {
		return b
	}
	b := make([]byte, max(n, 1024))
	return &b
}

func (d *decodeBuffers) put(b *[]byte) { d.pool.Put(b) }

// findEncoded decodes the encoded argument at s[i:], if there is one, and
// searches the decoded text. It returns the hit found there, its evidence
// saying it was decoded. The scan of s goes on over the argument: a text
// that only looks like an encoded parameter keeps its plain tokens.
func (ts *tokenSet) findEncoded(s string, i int, st *decodeState) tokenHit {
	if st.depth >= maxEncodedDepth || st.budget <= 0 {
		return tokenHit{}
	}
	arg, ok := encodedArgument(s, i)
	if !ok {
		return tokenHit{}
	}
	buf := ts.buffers.get(min(len(arg), maxDecoded*4/3+4)*3/8 + 1)
	defer ts.buffers.put(buf)
	text := decodeUTF16Base64(*buf, arg, &st.budget)
	if len(text) == 0 {
		return tokenHit{}
	}
	// A view of the buffer: the search keeps nothing of it, and the hit
	// it returns points into the table.
	st.depth++
	h := ts.findAt(unsafe.String(&text[0], len(text)), st) //nolint:gosec // G103: read-only view of a lent buffer, not kept past the search
	st.depth--
	if h.found() {
		h.place = placeDecoded
	}
	return h
}
