package winevent

import (
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Read fills ev from a log record with the fields the plan names for its
// event id. It tries, in order: a map body (the windowseventlog receiver's,
// a flat Windows map, Winlogbeat's), a string body (raw event XML, or a JSON
// object, decoded at most once), and flat Windows fields in the record
// attributes. Nothing is modified; ev is reset first. A record whose id the
// plan does not read costs the look for its id and allocates nothing; a
// read event allocates only to unescape XML entities, or when it comes as
// JSON text.
func (r *Reader) Read(body pcommon.Value, attrs pcommon.Map, ev *Event) Result {
	*ev = Event{}
	result := NotWindows
	switch body.Type() {
	case pcommon.ValueTypeMap:
		result = r.readMap(body.Map(), ev)
	case pcommon.ValueTypeStr:
		result = r.readString(body.Str(), ev)
	default:
	}
	return r.orAttributes(result, attrs, ev)
}

// orAttributes is how a read of a body that is no readable event ends:
// forwarders that keep the message text in the body put the fields in the
// attributes.
func (r *Reader) orAttributes(result Result, attrs pcommon.Map, ev *Event) Result {
	if result == NotWindows || result == Unreadable {
		*ev = Event{}
		if fr := r.readFlat(attrs, ev, ShapeFlatAttributes); fr != NotWindows {
			return fr
		}
	}
	return result
}

func (r *Reader) readString(s string, ev *Event) Result {
	s = trimBodyStart(s)
	switch {
	case strings.HasPrefix(s, "<"):
		return r.readXML(s, ev)
	case strings.HasPrefix(s, "{"):
		return r.readJSON(s, ev)
	default:
		return NotWindows
	}
}

// readJSON handles a string body holding one JSON object in any of the map
// shapes. The event id is looked up in the text first, so an event no
// consumer reads is passed over without decoding (and without allocating);
// a read one is decoded once.
func (r *Reader) readJSON(s string, ev *Event) Result {
	if id, ok := jsonEventID(s); ok && r.row(id) == nil {
		ev.EventID = id
		return OtherEvent
	}
	m, result := decodeJSONEvent(s)
	if result != OtherEvent {
		return result
	}
	result = r.readMap(m, ev)
	if result == NotWindows {
		return Unreadable
	}
	ev.Shape = ShapeJSONString
	return result
}

func (r *Reader) readMap(m pcommon.Map, ev *Event) Result {
	if v, ok := m.Get("event_id"); ok {
		return r.readReceiverMap(m, v, ev)
	}
	if v, ok := m.Get("winlog"); ok && v.Type() == pcommon.ValueTypeMap {
		return r.readWinlogbeat(m, v.Map(), ev)
	}
	return r.readFlat(m, ev, ShapeFlatMap)
}

// readReceiverMap reads the windowseventlog receiver's structured body, with
// event_data in map format or in array format (event_data.data = [{Name: value}]).
func (r *Reader) readReceiverMap(m pcommon.Map, idValue pcommon.Value, ev *Event) Result {
	id, ok := receiverEventID(idValue)
	row, result := r.admit(ev, id, ok)
	if result != Filled {
		return result
	}
	return fillReceiverMap(m, row, ev)
}

// fillReceiverMap reads the receiver's body once its event id is admitted.
func fillReceiverMap(m pcommon.Map, row *planRow, ev *Event) Result {
	ev.Shape = ShapeReceiverMap
	wanted := row.first | row.rest
	// A Get per key, not a walk: Admit's Get of event_id brought the keys'
	// headers into the cache, and a Get compares a key's bytes only when its
	// length is the one looked for, where a walk's switch compares most of
	// them (each a cache miss on a record fresh from a receiver). Get finds
	// the first of repeated keys, as every walk does.
	if v, ok := m.Get("channel"); ok && v.Type() == pcommon.ValueTypeStr {
		ev.Channel = v.Str()
	}
	if v, ok := m.Get("computer"); ok && v.Type() == pcommon.ValueTypeStr {
		ev.Computer = v.Str()
	}
	if ev.Channel == "" {
		if v, ok := m.Get("provider"); ok && v.Type() == pcommon.ValueTypeMap {
			ev.Provider = mapStr(v.Map(), "name")
		}
	}
	if wanted&FieldSystemTime != 0 {
		if v, ok := m.Get("system_time"); ok && v.Type() == pcommon.ValueTypeStr {
			ev.SystemTime = v.Str()
		}
	}
	if wanted&FieldRecordID != 0 {
		if v, ok := m.Get("record_id"); ok {
			ev.RecordID = recordID(v)
		}
	}
	if wanted&FieldUserID != 0 {
		if v, ok := m.Get("security"); ok && v.Type() == pcommon.ValueTypeMap {
			ev.UserID = mapStr(v.Map(), "user_id")
		}
	}
	data, ok := m.Get("event_data")
	eventData := ok && data.Type() == pcommon.ValueTypeMap
	f := newFiller(ev, row, false)
	if eventData {
		readEventDataMap(data.Map(), &f)
	}
	f.finish()
	return Filled
}

// readEventDataMap walks event_data: in map format its keys are the fields;
// in array format the fields are under "data" (a slice of one-key maps).
func readEventDataMap(data pcommon.Map, f *filler) {
	for k, v := range data.All() {
		if b, slot := f.lookup(k); slot != nil {
			if v.Type() == pcommon.ValueTypeStr && f.store(b, slot, v.Str()) {
				return
			}
			continue
		}
		if k != "data" || v.Type() != pcommon.ValueTypeSlice {
			continue
		}
		f.ev.Shape = ShapeReceiverArray
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			item := s.At(i)
			if item.Type() != pcommon.ValueTypeMap {
				continue
			}
			for k, v := range item.Map().All() {
				if b, slot := f.lookup(k); slot != nil && v.Type() == pcommon.ValueTypeStr && f.store(b, slot, v.Str()) {
					return
				}
			}
		}
	}
}

// readFlat reads Windows names at the top level of a map, as NXLog and the
// Sumo Logic installed collector send them, or the record attributes. The
// System fields may come anywhere, so the walk goes to the end.
func (r *Reader) readFlat(m pcommon.Map, ev *Event, shape Shape) Result {
	id, ok := flatEventID(m)
	row, result := r.admit(ev, id, ok)
	if result != Filled {
		return result
	}
	ev.Shape = shape
	f := newFiller(ev, row, false)
	var seen [sysUserID + 1]bool
	for k, v := range m.All() {
		key := flatSystemKey(k)
		if key == sysRecordID {
			// f.system, not the plan: a decision taken on the way may
			// have dropped the record id.
			if f.system&FieldRecordID != 0 && !seen[key] {
				seen[key] = true
				ev.RecordID = recordID(v)
			}
			continue
		}
		if key == sysElements {
			if b, slot := f.lookup(k); slot != nil && v.Type() == pcommon.ValueTypeStr {
				f.store(b, slot, v.Str())
			}
			continue
		}
		if seen[key] || v.Type() != pcommon.ValueTypeStr {
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
			if f.system&FieldSystemTime == 0 {
				continue
			}
			ev.SystemTime = v.Str()
		case sysEventTime:
			if f.system&FieldSystemTime == 0 {
				continue
			}
			ev.EventTime = v.Str()
		case sysUserID:
			if f.system&FieldUserID == 0 {
				continue
			}
			ev.UserID = v.Str()
		default:
		}
		seen[key] = true
	}
	f.finish()
	if ev.Channel != "" {
		ev.Provider = ""
	}
	return Filled
}

// readWinlogbeat reads Winlogbeat's winlog.* layout; the event's time is
// the document's @timestamp.
func (r *Reader) readWinlogbeat(top, w pcommon.Map, ev *Event) Result {
	id, ok := winlogEventID(w)
	row, result := r.admit(ev, id, ok)
	if result != Filled {
		return result
	}
	ev.Shape = ShapeWinlogbeat
	wanted := row.first | row.rest
	ev.Channel = mapStr(w, "channel")
	if ev.Channel == "" {
		ev.Provider = mapStr(w, "provider_name")
	}
	ev.Computer = mapStr(w, "computer_name")
	if v, ok := w.Get("record_id"); ok && wanted&FieldRecordID != 0 {
		ev.RecordID = recordID(v)
	}
	if wanted&FieldSystemTime != 0 {
		ev.SystemTime = mapStr(top, "@timestamp")
	}
	if wanted&FieldUserID != 0 {
		if v, ok := w.Get("user"); ok && v.Type() == pcommon.ValueTypeMap {
			ev.UserID = mapStr(v.Map(), "identifier")
		}
	}
	f := newFiller(ev, row, false)
	if data, ok := w.Get("event_data"); ok && data.Type() == pcommon.ValueTypeMap {
		for k, v := range data.Map().All() {
			if b, slot := f.lookup(k); slot != nil && v.Type() == pcommon.ValueTypeStr && f.store(b, slot, v.Str()) {
				break
			}
		}
	}
	f.finish()
	return Filled
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
