package winevent

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// IsContextEventID reports whether the correlation reads events with this
// id: Sysmon 1, 3 and 5, Security 4624, 4688 and 4689. Every other id is
// rejected before anything else of the record is read.
func IsContextEventID(id int64) bool {
	_, ok := kindOf(id)
	return ok
}

// ReadContext fills ev from a log record holding one of the events the
// correlation reads (see IsContextEventID), in every body shape Read
// accepts, and reports whether it did. Sysmon ids count only from the Sysmon
// log and Security ids only from the Security log (other logs reuse event
// ids 1, 3 and 5), with the same tolerance for forwarders that drop both the
// channel and the provider as Read. Any other record is rejected right
// after its event id is read, without allocating; a used event allocates
// only to unescape XML entities, or when it comes as JSON text.
func ReadContext(body pcommon.Value, attrs pcommon.Map, ev *Event) bool {
	return ReadContextFields(body, attrs, ev, AllFields)
}

// ReadContextFields is ReadContext filling only the fields in want (and the
// event id, channel, provider, computer and shape, always). The walk over
// the event data stops once every wanted field is found, and only the
// wanted values are loaded.
func ReadContextFields(body pcommon.Value, attrs pcommon.Map, ev *Event, want Fields) bool {
	*ev = Event{}
	result := NotWindows
	switch body.Type() {
	case pcommon.ValueTypeMap:
		result = readContextMap(body.Map(), ev, want)
	case pcommon.ValueTypeStr:
		result = readContextString(body.Str(), ev, want)
	default:
	}
	if result == NotWindows || result == Unreadable {
		*ev = Event{}
		result = readContextFlat(attrs, ev, ShapeFlatAttributes, want)
	}
	if result != ProcessCreation || !ev.FromExpectedLog() {
		*ev = Event{}
		return false
	}
	return true
}

func containsFoldASCII(s, lowerNeedle string) bool {
	n := len(lowerNeedle)
	for i := 0; i+n <= len(s); i++ {
		match := true
		for j := 0; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerNeedle[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func readContextString(s string, ev *Event, want Fields) Result {
	s = trimBodyStart(s)
	switch {
	case strings.HasPrefix(s, "<"):
		return readContextXML(s, ev, want)
	case strings.HasPrefix(s, "{"):
		return readContextJSON(s, ev, want)
	default:
		return NotWindows
	}
}

// readContextJSON reads a JSON object in any of the map shapes. The event id
// is looked up in the text first, so an event the correlation does not use
// is rejected without decoding (and without allocating).
func readContextJSON(s string, ev *Event, want Fields) Result {
	if id, ok := jsonEventID(s); ok && !IsContextEventID(id) {
		ev.EventID = id
		return OtherEvent
	}
	m, r := decodeJSONEvent(s)
	if r != OtherEvent {
		return r
	}
	r = readContextMap(m, ev, want)
	if r == NotWindows {
		return Unreadable
	}
	ev.Shape = ShapeJSONString
	return r
}

// jsonEventID finds the event id in JSON text without decoding it: the value
// of the first "event_id", "EventID" or "EventCode" key, as a number, a
// numeric string, or an object's "id" member (the receiver's event_id).
func jsonEventID(s string) (int64, bool) {
	for _, key := range [...]string{`"event_id"`, `"EventID"`, `"EventCode"`} {
		i := strings.Index(s, key)
		if i < 0 {
			continue
		}
		rest := skipJSONSpace(s[i+len(key):])
		if rest == "" || rest[0] != ':' {
			continue
		}
		rest = skipJSONSpace(rest[1:])
		if rest != "" && rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			obj := rest[:end]
			j := strings.Index(obj, `"id"`)
			if j < 0 {
				continue
			}
			rest = skipJSONSpace(obj[j+len(`"id"`):])
			if rest == "" || rest[0] != ':' {
				continue
			}
			rest = skipJSONSpace(rest[1:])
		}
		if id, ok := jsonNumber(rest); ok {
			return id, true
		}
	}
	return 0, false
}

func skipJSONSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	return s
}

// jsonNumber reads a non-negative integer, bare or quoted, at the start of s.
func jsonNumber(s string) (int64, bool) {
	quoted := s != "" && s[0] == '"'
	if quoted {
		s = s[1:]
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 10 {
		return 0, false
	}
	if quoted && (n == len(s) || s[n] != '"') {
		return 0, false
	}
	if !quoted && n < len(s) && (s[n] == '.' || s[n] == 'e' || s[n] == 'E') {
		return 0, false
	}
	return parseEventID(s[:n])
}

func readContextMap(m pcommon.Map, ev *Event, want Fields) Result {
	if v, ok := m.Get("event_id"); ok {
		return readContextReceiverMap(m, v, ev, want)
	}
	if v, ok := m.Get("winlog"); ok && v.Type() == pcommon.ValueTypeMap {
		r := readContextWinlogbeat(v.Map(), ev, want)
		if r == ProcessCreation && ev.SystemTime == "" && want&FieldSystemTime != 0 {
			ev.SystemTime = mapStr(m, "@timestamp")
		}
		return r
	}
	return readContextFlat(m, ev, ShapeFlatMap, want)
}

// readContextReceiverMap reads the windowseventlog receiver's body, with
// event_data as a map or as an array of {Name: value} maps.
func readContextReceiverMap(m pcommon.Map, idValue pcommon.Value, ev *Event, want Fields) Result {
	id, ok := receiverEventID(idValue)
	if r := admit(&ev.EventID, id, ok, IsContextEventID); r != ProcessCreation {
		return r
	}
	ev.Shape = ShapeReceiverMap
	ev.Channel = mapStr(m, "channel")
	ev.Computer = mapStr(m, "computer")
	if want&FieldSystemTime != 0 {
		ev.SystemTime = mapStr(m, "system_time")
	}
	if v, found := m.Get("record_id"); found && want&FieldRecordID != 0 {
		ev.RecordID = recordID(v)
	}
	if p, found := m.Get("provider"); found && p.Type() == pcommon.ValueTypeMap {
		ev.Provider = mapStr(p.Map(), "name")
	}
	data, ok := m.Get("event_data")
	if !ok || data.Type() != pcommon.ValueTypeMap {
		return ProcessCreation
	}
	dm := data.Map()
	want &= EventDataFields
	if arr, ok := dm.Get("data"); ok && arr.Type() == pcommon.ValueTypeSlice {
		ev.Shape = ShapeReceiverArray
		s := arr.Slice()
		var got Fields
		for i := 0; i < s.Len() && got != want; i++ {
			item := s.At(i)
			if item.Type() != pcommon.ValueTypeMap {
				continue
			}
			for k, v := range item.Map().All() {
				if v.Type() == pcommon.ValueTypeStr {
					got |= ev.setField(k, v.Str(), want&^got)
				}
			}
		}
		return ProcessCreation
	}
	var got Fields
	for k, v := range dm.All() {
		if v.Type() == pcommon.ValueTypeStr {
			got |= ev.setField(k, v.Str(), want&^got)
			if got == want {
				break
			}
		}
	}
	return ProcessCreation
}

// readContextFlat reads Windows names at the top level of a map (NXLog, the
// Sumo Logic installed collector, or record attributes).
func readContextFlat(m pcommon.Map, ev *Event, shape Shape, want Fields) Result {
	id, ok := flatEventID(m)
	if r := admit(&ev.EventID, id, ok, IsContextEventID); r != ProcessCreation {
		return r
	}
	ev.Shape = shape
	var got Fields
	for k, v := range m.All() {
		key := flatSystemKey(k)
		if key == sysRecordID {
			if want&FieldRecordID != 0 {
				ev.RecordID = recordID(v)
			}
			continue
		}
		if v.Type() != pcommon.ValueTypeStr {
			continue
		}
		switch key {
		case sysChannel:
			ev.Channel = v.Str()
		case sysProvider:
			ev.Provider = v.Str()
		case sysComputer:
			ev.Computer = v.Str()
		case sysTimeCreated:
			if want&FieldSystemTime != 0 {
				ev.SystemTime = v.Str()
			}
		case sysEventTime:
			if want&FieldSystemTime != 0 {
				ev.EventTime = v.Str()
			}
		default:
			got |= ev.setField(k, v.Str(), want&^got)
		}
	}
	return ProcessCreation
}

// readContextWinlogbeat reads Winlogbeat's winlog.* layout.
func readContextWinlogbeat(w pcommon.Map, ev *Event, want Fields) Result {
	id, ok := winlogEventID(w)
	if r := admit(&ev.EventID, id, ok, IsContextEventID); r != ProcessCreation {
		return r
	}
	ev.Shape = ShapeWinlogbeat
	ev.Channel = mapStr(w, "channel")
	ev.Provider = mapStr(w, "provider_name")
	ev.Computer = mapStr(w, "computer_name")
	if v, ok := w.Get("record_id"); ok && want&FieldRecordID != 0 {
		ev.RecordID = recordID(v)
	}
	if data, ok := w.Get("event_data"); ok && data.Type() == pcommon.ValueTypeMap {
		var got Fields
		for k, v := range data.Map().All() {
			if v.Type() == pcommon.ValueTypeStr {
				got |= ev.setField(k, v.Str(), want&^got)
			}
		}
	}
	return ProcessCreation
}

// readContextXML reads a rendered Windows event (the receiver's raw body)
// with the same scanner as readXML.
func readContextXML(s string, ev *Event, want Fields) Result {
	id, sys, r := readXMLSystem(s, IsContextEventID)
	ev.EventID = id
	if r != ProcessCreation {
		return r
	}
	ev.Shape = ShapeRawXML
	ev.Channel, ev.Computer, ev.Provider = sys.source()
	if sys.found[sysRecordID] && want&FieldRecordID != 0 {
		if n, ok := parseDecimal(strings.TrimSpace(sys.value[sysRecordID])); ok {
			ev.RecordID = n
		}
	}
	if sys.found[sysTimeCreated] && want&FieldSystemTime != 0 {
		if t, ok := attribute(sys.value[sysTimeCreated], "SystemTime"); ok {
			ev.SystemTime = t
		}
	}
	if sys.eventData == "" {
		return ProcessCreation
	}
	return readContextEventData(sys.eventData, ev, want&EventDataFields)
}

func readContextEventData(s string, ev *Event, want Fields) Result {
	var got Fields
	d := dataScanner{rest: s}
	for got != want {
		name, value, ok := d.next()
		if !ok {
			return d.result
		}
		// Unescape only the values the correlation keeps.
		if f := ev.setField(name, value, want&^got); f != 0 {
			got |= f
			if strings.IndexByte(value, '&') >= 0 {
				*ev.slot(f) = unescapeXML(value)
			}
		}
	}
	return ProcessCreation
}

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
