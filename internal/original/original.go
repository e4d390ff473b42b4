// Package original keeps a compact copy of a log record, and of the resource
// and scope it came in, so that the record can be emitted again after it has
// left the pipeline: a late correlation alert is the original Windows event,
// with the body the receiver produced, in its own resource.
//
// A copy is a byte string in a private encoding (made by AppendRecord and
// AppendOrigin, read by DecodeRecord and DecodeOrigin in the same process),
// bounded in size: a record over its limit has its longest strings cut (in a
// raw XML body, the longest character data, so that the XML stays well
// formed), and an origin over its limit leaves out its last attributes,
// counted as dropped. Nothing is kept of a record that cannot fit.
package original // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/original"

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

const (
	// MaxRecordBytes bounds the copy of one record. Real Windows process
	// creations encode to 1-5 KiB in every body shape, an Empire stager with
	// its 5 KB command line and parent command line to 12 KiB, twice that
	// with the receiver's rendered message; longer strings are cut to fit.
	MaxRecordBytes = 32 << 10
	// MaxOriginBytes bounds the copy of a resource and scope together.
	MaxOriginBytes = 2 << 10
	// maxDepth bounds the nesting of maps and slices kept: deeper bodies are
	// not kept (no Windows receiver nests more than three levels).
	maxDepth = 32
)

// Value tags of the encoding.
const (
	tagEmpty byte = iota
	tagStr
	tagInt
	tagDouble
	tagBool
	tagBytes
	tagMap
	tagSlice
)

var errCorrupt = errors.New("original: corrupt copy")

// encoder writes values; strings and XML character data longer than cutTo
// are cut to it (cutTo < 0: nothing is cut).
type encoder struct {
	buf   []byte
	cutTo int
	cut   int // bytes left out by cuts
	deep  bool
}

// AppendRecord appends the copy of lr (body, attributes, times, severity,
// event name, flags, trace context) to dst. limit is the most bytes the copy
// may take (0: MaxRecordBytes). ok is false, and dst returned unchanged, when
// the record cannot be kept within limit.
func AppendRecord(dst []byte, lr plog.LogRecord, limit int) (out []byte, ok bool) {
	if limit <= 0 {
		limit = MaxRecordBytes
	}
	start := len(dst)
	e := encoder{buf: dst, cutTo: -1}
	e.record(lr)
	if !e.deep && len(e.buf)-start <= limit {
		return e.buf, true
	}
	if e.deep {
		return dst[:start], false
	}
	// Over the limit: cut every string longer than the largest length that
	// makes the copy fit.
	// The count of bytes cut, written last, grows from one byte.
	over := len(e.buf) - start - limit + binary.MaxVarintLen64
	var segs []int
	collectRecord(lr, &segs)
	cutTo, fits := cutLength(segs, over)
	if !fits {
		return dst[:start], false
	}
	e = encoder{buf: dst[:start], cutTo: cutTo}
	e.record(lr)
	if e.deep || len(e.buf)-start > limit {
		return dst[:start], false
	}
	return e.buf, true
}

func (e *encoder) record(lr plog.LogRecord) {
	e.uvarint(uint64(lr.Timestamp()))
	e.uvarint(uint64(lr.ObservedTimestamp()))
	e.uvarint(uint64(lr.SeverityNumber())) //nolint:gosec // G115: a severity number is a small enum; the sign is kept by the round trip
	e.str(lr.SeverityText())
	e.str(lr.EventName())
	e.uvarint(uint64(lr.Flags()))
	tid, sid := lr.TraceID(), lr.SpanID()
	e.buf = append(e.buf, tid[:]...)
	e.buf = append(e.buf, sid[:]...)
	e.uvarint(uint64(lr.DroppedAttributesCount()))
	e.value(lr.Body(), 0, true)
	e.attrs(lr.Attributes(), 0)
	// The bytes cut are written last, once known.
	e.uvarint(ulen(e.cut))
}

func (e *encoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }

// ulen converts a length or count, never negative, for the encoding.
func ulen(n int) uint64 { return uint64(max(n, 0)) }

// str writes a string as it is.
func (e *encoder) str(s string) {
	e.uvarint(ulen(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) value(v pcommon.Value, depth int, top bool) {
	if depth > maxDepth {
		e.deep = true
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		e.buf = append(e.buf, tagStr)
		e.strValue(v.Str(), top)
	case pcommon.ValueTypeInt:
		e.buf = append(e.buf, tagInt)
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case pcommon.ValueTypeDouble:
		e.buf = append(e.buf, tagDouble)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		e.buf = append(e.buf, tagBool)
		if v.Bool() {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case pcommon.ValueTypeBytes:
		b := v.Bytes().AsRaw()
		e.buf = append(e.buf, tagBytes)
		e.uvarint(ulen(len(b)))
		e.buf = append(e.buf, b...)
	case pcommon.ValueTypeMap:
		e.buf = append(e.buf, tagMap)
		e.attrs(v.Map(), depth+1)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		e.buf = append(e.buf, tagSlice)
		e.uvarint(ulen(s.Len()))
		for i := 0; i < s.Len(); i++ {
			e.value(s.At(i), depth+1, false)
		}
	default:
		e.buf = append(e.buf, tagEmpty)
	}
}

// strValue writes a string value, cut when cutting: a raw XML body (the
// record's body, top) loses the tails of its long character-data runs, any
// other string its own tail, at a rune boundary.
func (e *encoder) strValue(s string, top bool) {
	if e.cutTo >= 0 {
		if top && isXML(s) {
			s = e.cutXML(s)
		} else if len(s) > e.cutTo {
			kept := runePrefix(s, e.cutTo)
			e.cut += len(s) - len(kept)
			s = kept
		}
	}
	e.str(s)
}

func (e *encoder) attrs(m pcommon.Map, depth int) {
	if depth > maxDepth {
		e.deep = true
		return
	}
	e.uvarint(ulen(m.Len()))
	for k, v := range m.All() {
		e.str(k)
		e.value(v, depth, false)
	}
}

// cutXML cuts the character-data runs of an XML text longer than cutTo.
func (e *encoder) cutXML(s string) string {
	if !hasRunLonger(s, e.cutTo) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for s != "" {
		open := strings.IndexByte(s, '<')
		if open < 0 {
			open = len(s)
		}
		run := s[:open]
		if len(run) > e.cutTo {
			kept := xmlPrefix(run, e.cutTo)
			e.cut += len(run) - len(kept)
			run = kept
		}
		b.WriteString(run)
		s = s[open:]
		closing := strings.IndexByte(s, '>')
		if closing < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:closing+1])
		s = s[closing+1:]
	}
	return b.String()
}

// isXML reports whether a string body is raw XML (a rendered Windows event).
func isXML(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n\ufeff")
	return strings.HasPrefix(s, "<")
}

// runePrefix is the longest prefix of s of at most n bytes that ends at a
// rune boundary.
func runePrefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// xmlPrefix is runePrefix that also does not end inside an entity
// reference (&amp;), so that the cut text is still well formed.
func xmlPrefix(s string, n int) string {
	p := runePrefix(s, n)
	if amp := strings.LastIndexByte(p, '&'); amp >= 0 && strings.IndexByte(p[amp:], ';') < 0 {
		p = p[:amp]
	}
	return p
}

// forEachRun calls f with the length of each character-data run of XML.
func forEachRun(s string, f func(n int)) {
	for s != "" {
		open := strings.IndexByte(s, '<')
		if open < 0 {
			f(len(s))
			return
		}
		f(open)
		s = s[open:]
		closing := strings.IndexByte(s, '>')
		if closing < 0 {
			return
		}
		s = s[closing+1:]
	}
}

func hasRunLonger(s string, n int) bool {
	longer := false
	forEachRun(s, func(m int) { longer = longer || m > n })
	return longer
}

// collectRecord lists the lengths of the record's cuttable strings: string
// values of the body and attributes, or a raw XML body's character data.
func collectRecord(lr plog.LogRecord, segs *[]int) {
	collectValue(lr.Body(), true, segs, 0)
	for _, v := range lr.Attributes().All() {
		collectValue(v, false, segs, 1)
	}
}

func collectValue(v pcommon.Value, top bool, segs *[]int, depth int) {
	if depth > maxDepth {
		return
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if top && isXML(s) {
			forEachRun(s, func(n int) { *segs = append(*segs, n) })
			return
		}
		*segs = append(*segs, len(s))
	case pcommon.ValueTypeMap:
		for _, x := range v.Map().All() {
			collectValue(x, false, segs, depth+1)
		}
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			collectValue(s.At(i), false, segs, depth+1)
		}
	default:
	}
}

// cutLength is the largest length L such that cutting every segment longer
// than L to L saves at least over bytes (the cuts' rune and entity
// boundaries only save more). fits is false when even cutting every
// segment to nothing does not.
func cutLength(segs []int, over int) (int, bool) {
	slices.SortFunc(segs, func(a, b int) int { return b - a })
	saved := 0
	for i, n := range segs {
		next := 0
		if i+1 < len(segs) {
			next = segs[i+1]
		}
		// Cutting the i+1 longest segments down to next saves this much more.
		if gain := (i + 1) * (n - next); saved+gain >= over {
			// Cut them to L with (i+1)*(n-L) = over-saved, rounding L down.
			need := over - saved
			l := n - (need+i)/(i+1)
			return max(l, 0), true
		}
		saved += (i + 1) * (n - next)
	}
	return 0, false
}

// DecodeRecord fills lr from a copy made by AppendRecord and returns the
// bytes its cuts left out.
func DecodeRecord(src []byte, lr plog.LogRecord) (cut int, err error) {
	d := decoder{src: src}
	lr.SetTimestamp(pcommon.Timestamp(d.uvarint()))
	lr.SetObservedTimestamp(pcommon.Timestamp(d.uvarint()))
	lr.SetSeverityNumber(plog.SeverityNumber(d.uvarint())) //nolint:gosec // G115: written from a SeverityNumber
	lr.SetSeverityText(d.str())
	lr.SetEventName(d.str())
	lr.SetFlags(plog.LogRecordFlags(d.uvarint())) //nolint:gosec // G115: written from LogRecordFlags
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	copy(tid[:], d.take(len(tid)))
	copy(sid[:], d.take(len(sid)))
	lr.SetTraceID(tid)
	lr.SetSpanID(sid)
	lr.SetDroppedAttributesCount(uint32(d.uvarint())) //nolint:gosec // G115: written from a uint32
	d.value(lr.Body(), 0)
	d.attrs(lr.Attributes(), 0)
	cut = int(d.uvarint()) //nolint:gosec // G115: written from a non-negative int
	if d.err == nil && d.off != len(d.src) {
		d.err = errCorrupt
	}
	return cut, d.err
}

type decoder struct {
	src []byte
	off int
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.off = len(d.src)
}

func (d *decoder) uvarint() uint64 {
	x, n := binary.Uvarint(d.src[d.off:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) take(n int) []byte {
	if n < 0 || n > len(d.src)-d.off {
		d.fail()
		return nil
	}
	b := d.src[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > ulen(len(d.src)-d.off) {
		d.fail()
		return ""
	}
	return string(d.take(int(n))) //nolint:gosec // G115: n is at most the bytes left, an int
}

// count reads a number of elements, each at least one byte long.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > ulen(len(d.src)-d.off) {
		d.fail()
		return 0
	}
	return int(n) //nolint:gosec // G115: at most the bytes left, an int
}

func (d *decoder) value(v pcommon.Value, depth int) {
	if depth > maxDepth {
		d.fail()
		return
	}
	tag := d.take(1)
	if tag == nil {
		return
	}
	switch tag[0] {
	case tagEmpty:
	case tagStr:
		v.SetStr(d.str())
	case tagInt:
		x, n := binary.Varint(d.src[d.off:])
		if n <= 0 {
			d.fail()
			return
		}
		d.off += n
		v.SetInt(x)
	case tagDouble:
		b := d.take(8)
		if b == nil {
			return
		}
		v.SetDouble(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case tagBool:
		b := d.take(1)
		if b == nil {
			return
		}
		v.SetBool(b[0] == 1)
	case tagBytes:
		n := d.count()
		v.SetEmptyBytes().FromRaw(d.take(n))
	case tagMap:
		d.attrs(v.SetEmptyMap(), depth+1)
	case tagSlice:
		n := d.count()
		s := v.SetEmptySlice()
		s.EnsureCapacity(n)
		for i := 0; i < n && d.err == nil; i++ {
			d.value(s.AppendEmpty(), depth+1)
		}
	default:
		d.fail()
	}
}

func (d *decoder) attrs(m pcommon.Map, depth int) {
	if depth > maxDepth+1 {
		d.fail()
		return
	}
	n := d.count()
	m.EnsureCapacity(n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.str()
		d.value(m.PutEmpty(k), depth)
	}
}

// AppendOrigin appends the copy of a resource and scope to dst, within
// limit bytes (0: MaxOriginBytes): attributes past the limit are left out
// and added to the dropped-attributes count, as the data model has it.
func AppendOrigin(dst []byte, res pcommon.Resource, resourceSchema string, scope pcommon.InstrumentationScope, scopeSchema string, limit int) []byte {
	if limit <= 0 {
		limit = MaxOriginBytes
	}
	e := encoder{buf: dst, cutTo: -1}
	start := len(dst)
	budget := func() int { return limit - (len(e.buf) - start) }
	// The names come first and are cut to a quarter of the limit each.
	e.str(runePrefix(resourceSchema, limit/4))
	e.str(runePrefix(scope.Name(), limit/4))
	e.str(runePrefix(scope.Version(), limit/8))
	e.str(runePrefix(scopeSchema, limit/8))
	e.boundedAttrs(res.Attributes(), res.DroppedAttributesCount(), budget()/2)
	e.boundedAttrs(scope.Attributes(), scope.DroppedAttributesCount(), budget())
	return e.buf
}

// boundedAttrs writes the attributes that fit in limit bytes, then the
// dropped count (those left out added).
func (e *encoder) boundedAttrs(m pcommon.Map, dropped uint32, limit int) {
	var kept encoder
	kept.cutTo = -1
	n := 0
	for k, v := range m.All() {
		mark := len(kept.buf)
		kept.str(k)
		kept.value(v, 1, false)
		if kept.deep || len(kept.buf) > limit-2*binary.MaxVarintLen32 {
			kept.buf, kept.deep = kept.buf[:mark], false
			continue
		}
		n++
	}
	e.uvarint(ulen(n))
	e.buf = append(e.buf, kept.buf...)
	left := uint64(dropped) + uint64(m.Len()-n) //nolint:gosec // G115: n <= m.Len()
	e.uvarint(min(left, math.MaxUint32))
}

// DecodeOrigin fills a resource and scope from a copy made by AppendOrigin.
func DecodeOrigin(src []byte, res pcommon.Resource, scope pcommon.InstrumentationScope) (resourceSchema, scopeSchema string, err error) {
	d := decoder{src: src}
	resourceSchema = d.str()
	scope.SetName(d.str())
	scope.SetVersion(d.str())
	scopeSchema = d.str()
	d.attrs(res.Attributes(), 0)
	res.SetDroppedAttributesCount(uint32(d.uvarint())) //nolint:gosec // G115: written as at most MaxUint32
	d.attrs(scope.Attributes(), 0)
	scope.SetDroppedAttributesCount(uint32(d.uvarint())) //nolint:gosec // G115: written as at most MaxUint32
	if d.err == nil && d.off != len(d.src) {
		d.err = errCorrupt
	}
	return resourceSchema, scopeSchema, d.err
}
