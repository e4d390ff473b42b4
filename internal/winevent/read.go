package winevent

import (
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Read fills ev from a log record. It tries, in order: a map body (the
// windowseventlog receiver's, a flat Windows map, Winlogbeat's), a string body
// (raw event XML, or a JSON object), and flat Windows fields in the record
// attributes. Nothing is modified; ev is reset first.
func Read(body pcommon.Value, attrs pcommon.Map, ev *Event) Result {
	*ev = Event{}
	result := NotWindows
	switch body.Type() {
	case pcommon.ValueTypeMap:
		result = readMap(body.Map(), ev)
	case pcommon.ValueTypeStr:
		result = readString(body.Str(), ev)
	default:
	}
	if result == NotWindows || result == Unreadable {
		// Forwarders that keep the message text in the body put the fields in
		// the attributes.
		if r := readFlat(attrs, ev, ShapeFlatAttributes); r != NotWindows {
			return r
		}
	}
	return result
}

func readString(s string, ev *Event) Result {
	s = trimBodyStart(s)
	switch {
	case strings.HasPrefix(s, "<"):
		return readXML(s, ev)
	case strings.HasPrefix(s, "{"):
		return readJSON(s, ev)
	default:
		return NotWindows
	}
}

// readJSON handles a string body holding one JSON object in any of the map
// shapes. It allocates (JSON strings need unescaping); a cheap look for an
// event-id key first keeps ordinary JSON logs from being decoded at all.
func readJSON(s string, ev *Event) Result {
	m, r := decodeJSONEvent(s)
	if r != OtherEvent {
		return r
	}
	r = readMap(m, ev)
	if r == NotWindows {
		return Unreadable
	}
	ev.Shape = ShapeJSONString
	return r
}

func readMap(m pcommon.Map, ev *Event) Result {
	if v, ok := m.Get("event_id"); ok {
		return readReceiverMap(m, v, ev)
	}
	if v, ok := m.Get("winlog"); ok && v.Type() == pcommon.ValueTypeMap {
		return readWinlogbeat(v.Map(), ev)
	}
	return readFlat(m, ev, ShapeFlatMap)
}

// readReceiverMap reads the windowseventlog receiver's structured body, with
// event_data in map format or in array format (event_data.data = [{Name: value}]).
func readReceiverMap(m pcommon.Map, idValue pcommon.Value, ev *Event) Result {
	id, ok := receiverEventID(idValue)
	if r := admit(&ev.EventID, id, ok, isProcessCreation); r != ProcessCreation {
		return r
	}
	ev.Shape = ShapeReceiverMap
	// One pass over the top-level keys instead of a Get per key: each Get
	// scans the record's keys again, and on a record fresh from a receiver
	// every key it touches is a cache miss.
	var data pcommon.Map
	hasData, haveChannel, haveComputer, haveProvider := false, false, false, false
	for k, v := range m.All() {
		switch k {
		case "channel":
			if !haveChannel && v.Type() == pcommon.ValueTypeStr {
				ev.Channel, haveChannel = v.Str(), true
			}
		case "computer":
			if !haveComputer && v.Type() == pcommon.ValueTypeStr {
				ev.Computer, haveComputer = v.Str(), true
			}
		case "provider":
			if !haveProvider && v.Type() == pcommon.ValueTypeMap {
				ev.Provider, haveProvider = mapStr(v.Map(), "name"), true
			}
		case "event_data":
			if !hasData && v.Type() == pcommon.ValueTypeMap {
				data, hasData = v.Map(), true
			}
		}
	}
	if !hasData {
		return ProcessCreation
	}
	// One pass over event_data too: in map format its keys are the fields;
	// in array format the fields are under "data" (a slice of one-key maps).
	for k, v := range data.All() {
		if f := ev.field(k); f != nil {
			if v.Type() == pcommon.ValueTypeStr {
				*f = v.Str()
			}
			continue
		}
		if k == "data" && v.Type() == pcommon.ValueTypeSlice {
			ev.Shape = ShapeReceiverArray
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				item := s.At(i)
				if item.Type() != pcommon.ValueTypeMap {
					continue
				}
				for k, v := range item.Map().All() {
					if f := ev.field(k); f != nil && v.Type() == pcommon.ValueTypeStr {
						*f = v.Str()
					}
				}
			}
		}
	}
	return ProcessCreation
}

// readFlat reads Windows names at the top level of a map, as NXLog and the
// Sumo Logic installed collector send them.
func readFlat(m pcommon.Map, ev *Event, shape Shape) Result {
	id, ok := flatEventID(m)
	if r := admit(&ev.EventID, id, ok, isProcessCreation); r != ProcessCreation {
		return r
	}
	ev.Shape = shape
	for k, v := range m.All() {
		if v.Type() != pcommon.ValueTypeStr {
			continue
		}
		switch flatSystemKey(k) {
		case sysChannel:
			ev.Channel = v.Str()
		case sysProvider:
			ev.Provider = v.Str()
		case sysComputer:
			ev.Computer = v.Str()
		case sysElements:
			ev.setProcessField(k, v.Str())
		default:
		}
	}
	return ProcessCreation
}

// readWinlogbeat reads Winlogbeat's winlog.* layout.
func readWinlogbeat(w pcommon.Map, ev *Event) Result {
	id, ok := winlogEventID(w)
	if r := admit(&ev.EventID, id, ok, isProcessCreation); r != ProcessCreation {
		return r
	}
	ev.Shape = ShapeWinlogbeat
	ev.Channel = mapStr(w, "channel")
	ev.Provider = mapStr(w, "provider_name")
	ev.Computer = mapStr(w, "computer_name")
	if data, ok := w.Get("event_data"); ok && data.Type() == pcommon.ValueTypeMap {
		for k, v := range data.Map().All() {
			if v.Type() == pcommon.ValueTypeStr {
				ev.setProcessField(k, v.Str())
			}
		}
	}
	return ProcessCreation
}

func mapStr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// valueInt reads an event id stored as an integer, an integral double (JSON
// numbers) or decimal text. Anything else, negative ids included, is not an id.
func valueInt(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		n := v.Int()
		return n, n >= 0
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d < 0 || d > math.MaxUint32 || d != math.Trunc(d) {
			return 0, false
		}
		return int64(d), true
	case pcommon.ValueTypeStr:
		return parseEventID(v.Str())
	default:
		return 0, false
	}
}

// ReadJSONForTest reads a flat JSON object, for other packages' tests.
func ReadJSONForTest(s string) (*Event, Result) {
	ev := &Event{}
	return ev, readString(s, ev)
}

// PeekEventID is a cheap first look at a record: the event id of a
// windowseventlog receiver map body or of an event XML string, read with one
// or two lookups and no allocation. ok is false for any other shape or an
// unreadable id; such records must go through Read. A caller can run it over
// a run of records in a tight loop, letting the CPU overlap their cache
// misses, before reading in full only the records whose id it needs.
func PeekEventID(body pcommon.Value) (id int64, ok bool) {
	switch body.Type() {
	case pcommon.ValueTypeMap:
		v, found := body.Map().Get("event_id")
		if !found {
			return 0, false
		}
		return receiverEventID(v)
	case pcommon.ValueTypeStr:
		s := body.Str()
		if !strings.HasPrefix(s, "<Event") {
			return 0, false
		}
		text, found := elementText(s, "<EventID")
		if !found {
			return 0, false
		}
		return parseEventID(text)
	default:
		return 0, false
	}
}

// IsProcessCreationID reports whether Read fills a process creation for this id.
func IsProcessCreationID(id int64) bool { return isProcessCreation(id) }
