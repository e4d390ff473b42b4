package winevent

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// readXML reads a Windows event rendered as XML (the receiver's raw: true
// body). It is a scanner over the fixed layout Windows writes, not a general
// XML parser: it never resolves DTDs or declared entities, only the five
// predefined entities and character references, so hostile XML cannot make
// it fetch or expand anything. Values are substrings of the input unless they
// hold an entity; only the values kept are unescaped.
func (r *Reader) readXML(s string, ev *Event) Result {
	id, found := xmlEventID(s)
	if found != OtherEvent {
		return found
	}
	row, result := r.admit(ev, id, true)
	if result != Filled {
		return result
	}
	return fillXML(s, row, ev, nil)
}

// fillXML reads an event's XML once its event id is admitted; scratch, if
// not nil, takes the long texts that need unescaping.
func fillXML(s string, row *planRow, ev *Event, scratch *Scratch) Result {
	sys := scanSystem(s)
	ev.Shape = ShapeRawXML
	ev.Channel, ev.Computer, ev.Provider = sys.source()
	wanted := row.first | row.rest
	if sys.found[sysRecordID] && wanted&FieldRecordID != 0 {
		if n, ok := parseDecimal(strings.TrimSpace(sys.value[sysRecordID])); ok {
			ev.RecordID = n
		}
	}
	if sys.found[sysTimeCreated] && wanted&FieldSystemTime != 0 {
		if t, ok := attribute(sys.value[sysTimeCreated], "SystemTime"); ok {
			ev.SystemTime = t
		}
	}
	if sys.found[sysSecurity] && wanted&FieldUserID != 0 {
		if id, ok := attribute(sys.value[sysSecurity], "UserID"); ok {
			ev.UserID = unescapeXML(id)
		}
	}
	f := newFiller(ev, row, true)
	f.scratch = scratch
	if sys.eventData == "" {
		f.finish()
		return Filled // no data: some forwarders strip it
	}
	d := dataScanner{rest: sys.eventData}
	for {
		name, value, ok := d.next()
		if !ok {
			f.finish()
			return d.result
		}
		if f.set(name, value) {
			return Filled
		}
	}
}

// dataScanner walks the <Data Name="...">value</Data> elements of an
// event, for both readers. Values are returned as written.
type dataScanner struct {
	rest   string
	result Result // once next reports the end: Filled, or Unreadable for a cut element
}

// next returns the next named element; ok is false at the end.
func (d *dataScanner) next() (name, value string, ok bool) {
	s := d.rest
	for {
		i := strings.Index(s, "<Data")
		if i < 0 {
			return d.end(Filled)
		}
		s = s[i+len("<Data"):]
		if s == "" {
			return d.end(Unreadable)
		}
		if c := s[0]; c != ' ' && c != '>' && c != '/' && c != '\t' && c != '\n' && c != '\r' {
			continue // another element, such as <DataX>
		}
		tagEnd := strings.IndexByte(s, '>')
		if tagEnd < 0 {
			return d.end(Unreadable)
		}
		tag := s[:tagEnd]
		s = s[tagEnd+1:]
		if strings.HasSuffix(tag, "/") {
			continue // <Data Name="X"/>: empty value
		}
		end := strings.Index(s, "</Data>")
		if end < 0 {
			return d.end(Unreadable)
		}
		value = s[:end]
		s = s[end+len("</Data>"):]
		if name, ok = attribute(tag, "Name"); ok {
			d.rest = s
			return name, value, true
		}
	}
}

func (d *dataScanner) end(r Result) (string, string, bool) {
	d.rest, d.result = "", r
	return "", "", false
}

// elementText returns the text of the first element whose start tag begins
// with open (such as "<EventID"), which must be followed by '>' or attributes.
func elementText(s, open string) (string, bool) {
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return "", false
		}
		s = s[i+len(open):]
		if s == "" {
			return "", false
		}
		if c := s[0]; c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			continue // a longer name, such as <EventIDX
		}
		return elementTextAfterName(s)
	}
}

// attribute returns the value of name="..." (or '...') inside a start tag.
func attribute(tag, name string) (string, bool) {
	// Fast path: Windows writes the attribute first, as ` Name="value"`.
	if len(tag) > len(name)+3 && tag[0] == ' ' && tag[len(name)+1] == '=' && tag[len(name)+2] == '"' &&
		tag[1:len(name)+1] == name {
		rest := tag[len(name)+3:]
		if end := strings.IndexByte(rest, '"'); end >= 0 {
			return rest[:end], true
		}
		return "", false
	}
	for {
		i := strings.Index(tag, name)
		if i < 0 {
			return "", false
		}
		before := byte(' ')
		if i > 0 {
			before = tag[i-1]
		}
		rest := tag[i+len(name):]
		tag = rest
		if before != ' ' && before != '\t' && before != '\n' && before != '\r' {
			continue
		}
		rest = trimSpaceLeft(rest)
		if rest == "" || rest[0] != '=' {
			continue
		}
		rest = trimSpaceLeft(rest[1:])
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			return "", false
		}
		q := rest[0]
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return "", false
		}
		return rest[1 : 1+end], true
	}
}

// trimSpaceLeft drops leading XML white space (strings.TrimLeft would build
// its character set on every call).
func trimSpaceLeft(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	return s
}

// maxEntityLen is the farthest an entity's ';' may be from its '&': a
// reference of up to 13 bytes, such as "&#x000000041;", resolves; a longer
// one stays literal.
const maxEntityLen = 12

// unescapeXML resolves the predefined entities and character references.
// Unknown entities stay as written: nothing declared in a DTD is expanded.
func unescapeXML(s string) string {
	amp := strings.IndexByte(s, '&')
	if amp < 0 {
		return s
	}
	b := appendUnescapedXML(make([]byte, 0, len(s)), s, amp)
	return unsafe.String(unsafe.SliceData(b), len(b)) //nolint:gosec // G103: the new buffer is the string's alone
}

// appendUnescapedXML appends s, unescaped, to dst; amp is the index of its
// first '&'.
func appendUnescapedXML(dst []byte, s string, amp int) []byte {
	dst = append(dst, s[:amp]...)
	s = s[amp:]
	for s != "" {
		if s[0] != '&' {
			next := strings.IndexByte(s, '&')
			if next < 0 {
				dst = append(dst, s...)
				break
			}
			dst = append(dst, s[:next]...)
			s = s[next:]
			continue
		}
		// Look for the ';' only as far as the longest entity we accept: a
		// search over the whole rest made a run of '&' without ';' quadratic.
		semi := strings.IndexByte(s[:min(len(s), maxEntityLen+1)], ';')
		if semi < 0 {
			dst = append(dst, '&')
			s = s[1:]
			continue
		}
		r, ok := entity(s[1:semi])
		if !ok {
			// Keep the '&' literally and go on after it, so that a stray
			// '&' cannot swallow an entity that follows ("&x&amp;").
			dst = append(dst, '&')
			s = s[1:]
			continue
		}
		dst = utf8.AppendRune(dst, r)
		s = s[semi+1:]
	}
	return dst
}

// Scratch is where a read unescapes PowerShell's long texts
// (ReadAdmittedReusing), reused from read to read.
type Scratch struct{ b []byte }

// maxScratch is the most a Scratch keeps between reads: a megabyte script
// block's buffer is let go.
const maxScratch = 1 << 20

func (s *Scratch) reset() {
	if s == nil {
		return
	}
	if cap(s.b) > maxScratch {
		s.b = nil
	}
	s.b = s.b[:0]
}

// unescape unescapes value into the scratch and returns a view of it.
func (s *Scratch) unescape(value string) string {
	amp := strings.IndexByte(value, '&')
	if amp < 0 {
		return value
	}
	start := len(s.b)
	s.b = appendUnescapedXML(s.b, value, amp)
	v := s.b[start:]
	return unsafe.String(unsafe.SliceData(v), len(v)) //nolint:gosec // G103: a view valid until the scratch's next read, as documented
}

func entity(name string) (rune, bool) {
	switch name {
	case "amp":
		return '&', true
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || n > utf8.MaxRune || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// systemElement names an element of <System> the readers use.
type systemElement int

const (
	sysChannel systemElement = iota
	sysComputer
	sysRecordID
	sysProvider    // a start tag: its attributes are used
	sysTimeCreated // a start tag
	sysSecurity    // a start tag
	sysElements
	// sysEventTime and sysUserID are keys of flat maps only (NXLog's
	// EventTime and UserID), not elements of <System>.
	sysEventTime = sysElements + 1
	sysUserID    = sysElements + 2
)

// xmlSystem holds what the readers use of an event's <System> element, as
// written (entities not yet replaced), and where the event data starts.
type xmlSystem struct {
	value     [sysElements]string // element text, or the inside of the start tag after the name
	found     [sysElements]bool
	eventData string // from "<EventData" to the end; "" when there is none
}

// scanSystem finds the System elements the readers use in one pass over the
// tags, up to the start of the event data: XML is full of '<', so a search
// per element would stop at each of them again. The first element of each
// name counts, as for elementText.
func scanSystem(s string) xmlSystem {
	var sys xmlSystem
	var seen [sysElements]bool
	for pos := 0; ; {
		i := strings.IndexByte(s[pos:], '<')
		if i < 0 {
			return sys
		}
		start := pos + i
		pos = start + 1
		if pos < len(s) && s[pos] == '/' {
			continue // an end tag
		}
		// The name ends at '>', '/' or white space; a name longer than any
		// wanted one, or cut by another '<', is passed over without reading
		// on, so near misses cost no more than ordinary tags.
		n, limit := pos, min(len(s), pos+len("EventRecordID")+1)
		for n < limit && !tagNameEnd[s[n]] {
			n++
		}
		if n == len(s) || s[n] == '<' {
			continue
		}
		var e systemElement
		switch s[pos:n] {
		case "EventData":
			sys.eventData = s[start:]
			return sys
		case "UserData":
			return sys
		case "Channel":
			e = sysChannel
		case "Computer":
			e = sysComputer
		case "EventRecordID":
			e = sysRecordID
		case "Provider":
			e = sysProvider
		case "TimeCreated":
			e = sysTimeCreated
		case "Security":
			e = sysSecurity
		default:
			continue
		}
		// Each element is tried once: a malformed first one is not searched
		// for again further on.
		if seen[e] {
			continue
		}
		seen[e] = true
		if e >= sysProvider {
			sys.value[e], sys.found[e] = startTagAfterName(s[n:])
		} else {
			sys.value[e], sys.found[e] = elementTextAfterName(s[n:])
		}
	}
}

// tagNameEnd are the bytes that end a tag's name (or cut it, '<').
var tagNameEnd = [256]bool{'>': true, '/': true, '<': true, ' ': true, '\t': true, '\r': true, '\n': true}

// source returns the channel, computer and provider name, unescaped.
func (sys *xmlSystem) source() (channel, computer, provider string) {
	if sys.found[sysChannel] {
		channel = unescapeXML(sys.value[sysChannel])
	}
	if sys.found[sysComputer] {
		computer = unescapeXML(sys.value[sysComputer])
	}
	if channel == "" && sys.found[sysProvider] {
		if name, ok := attribute(sys.value[sysProvider], "Name"); ok {
			provider = unescapeXML(name)
		}
	}
	return channel, computer, provider
}

// elementTextAfterName is elementText once the start tag's name is read.
func elementTextAfterName(s string) (string, bool) {
	gt := strings.IndexByte(s, '>')
	if gt < 0 {
		return "", false
	}
	if gt > 0 && s[gt-1] == '/' {
		return "", true // self-closing: empty
	}
	s = s[gt+1:]
	lt := strings.IndexByte(s, '<')
	if lt < 0 {
		return "", false
	}
	return s[:lt], true
}

// startTagAfterName is the rest of a start tag once its name is read.
func startTagAfterName(s string) (string, bool) {
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return "", false
	}
	return s[:end], true
}
