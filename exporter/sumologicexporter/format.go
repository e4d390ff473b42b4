package sumologicexporter

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// logKey is where the json format puts the record body, as contrib does.
const logKey = "log"

// appendLine appends the text or json line for one record. The result never
// contains a raw CR or LF, so one record is exactly one Sumo message even with
// multiline processing off. An empty result means there is nothing to send.
func appendLine(dst []byte, format LogFormat, lr plog.LogRecord) []byte {
	if format == TextFormat {
		return appendText(dst, lr.Body())
	}
	body := lr.Body()
	if isEmptyValue(body) {
		return appendJSONObject(dst, lr.Attributes(), nil)
	}
	return appendJSONObject(dst, lr.Attributes(), &body)
}

// appendText renders the body as one line. Map and slice bodies become
// compact JSON with sorted keys, so for the windowseventlog receiver the line
// is exactly the body JSON that Cloud SIEM's "Windows-JSON-Open Telemetry"
// parser expects as _raw.
func appendText(dst []byte, body pcommon.Value) []byte {
	switch body.Type() {
	case pcommon.ValueTypeEmpty:
		return dst
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return appendJSONValue(dst, body)
	case pcommon.ValueTypeStr:
		return appendOneLine(dst, body.Str())
	default:
		return appendOneLine(dst, body.AsString())
	}
}

// appendOneLine escapes CR and LF as the two characters \r and \n. Contrib
// sends them raw and relies on Sumo's multiline detection, which the set-up
// for JSON lines turns off; invalid UTF-8 is replaced because Sumo requires UTF-8.
func appendOneLine(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		if s[i] == '\r' {
			dst = append(dst, `\r`...)
		} else {
			dst = append(dst, `\n`...)
		}
		s = s[i+1:]
	}
}

func isEmptyValue(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return true
	case pcommon.ValueTypeStr:
		return v.Str() == ""
	case pcommon.ValueTypeMap:
		return v.Map().Len() == 0
	case pcommon.ValueTypeSlice:
		return v.Slice().Len() == 0
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len() == 0
	}
	return false
}

// The JSON writer below produces what encoding/json produces for
// Map.AsRaw() with SetEscapeHTML(false) (sorted keys, the last of duplicate
// keys wins), without building the intermediate maps and without failing:
// NaN and ±Inf, which encoding/json rejects, are written as strings.

type keyValue struct {
	k string
	v pcommon.Value
}

// appendJSONObject writes m as an object; a non-nil log is added under
// logKey and replaces an attribute of that name, as in contrib.
func appendJSONObject(dst []byte, m pcommon.Map, log *pcommon.Value) []byte {
	kvs := make([]keyValue, 0, m.Len()+1)
	for k, v := range m.All() {
		if log == nil || k != logKey {
			kvs = append(kvs, keyValue{k, v})
		}
	}
	if log != nil {
		kvs = append(kvs, keyValue{logKey, *log})
	}
	slices.SortStableFunc(kvs, func(a, b keyValue) int { return strings.Compare(a.k, b.k) })
	dst = append(dst, '{')
	first := true
	for i, kv := range kvs {
		if i+1 < len(kvs) && kvs[i+1].k == kv.k {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, kv.k)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, kv.v)
	}
	return append(dst, '}')
}

func appendJSONValue(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSONFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	case pcommon.ValueTypeMap:
		return appendJSONObject(dst, v.Map(), nil)
	case pcommon.ValueTypeSlice:
		dst = append(dst, '[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}

// appendJSONFloat follows encoding/json's float formatting.
func appendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendQuote(dst, strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json does
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString escapes like encoding/json without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not valid JavaScript
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
