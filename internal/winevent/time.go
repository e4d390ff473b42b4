package winevent

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// recordID reads an EventRecordID stored as an integer (as is), an integral
// double or decimal text; anything else reads as 0.
func recordID(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d < 0 || d > 1<<53 || d != float64(int64(d)) {
			return 0
		}
		return int64(d)
	case pcommon.ValueTypeStr:
		n, _ := parseDecimal(strings.TrimSpace(v.Str()))
		return n
	default:
		return 0
	}
}

// parseDecimal reads a non-negative decimal number of at most 18 digits
// (no sign, no spaces).
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ParseTime reads the times Windows events carry, without allocating:
// TimeCreated/@SystemTime ("2020-09-18T17:08:36.030Z", up to nine fraction
// digits, or a ±hh:mm offset) and Sysmon's UtcTime ("2020-09-18
// 17:08:36.030", which is UTC). It returns Unix nanoseconds.
func ParseTime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	rest := s[19:]
	nanos := 0
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		rest = rest[1:]
		n := 0
		scale := 100000000
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if scale > 0 {
				nanos += int(rest[n]-'0') * scale
				scale /= 10
			}
			n++
		}
		if n == 0 {
			return 0, false
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	return t.UnixNano() - int64(offset)*int64(time.Second), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
