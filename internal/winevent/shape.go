package winevent

import (
	"encoding/json"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The pieces the walks use to recognize a body shape and find its event id.

// trimBodyStart drops the spaces and UTF-8 byte-order mark before a string
// body's first character.
func trimBodyStart(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == 0xEF || s[i] == 0xBB || s[i] == 0xBF) {
		i++
	}
	return s[i:]
}

// decodeJSONEvent decodes a JSON object that names an event id key into a
// map. The result is OtherEvent when the map is ready to read, NotWindows when
// the text has no event-id key (so ordinary JSON logs are never decoded), and
// Unreadable when it does not parse.
func decodeJSONEvent(s string) (pcommon.Map, Result) {
	if !strings.Contains(s, `"EventID"`) && !strings.Contains(s, `"event_id"`) &&
		!strings.Contains(s, `"EventCode"`) && !strings.Contains(s, `"winlog"`) {
		return pcommon.Map{}, NotWindows
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return pcommon.Map{}, Unreadable
	}
	m := pcommon.NewMap()
	if err := m.FromRaw(raw); err != nil {
		return pcommon.Map{}, Unreadable
	}
	return m, OtherEvent
}

// receiverEventID reads the receiver's event_id value: {id, qualifiers}, or
// the id alone.
func receiverEventID(v pcommon.Value) (int64, bool) {
	if v.Type() == pcommon.ValueTypeMap {
		// A missing "id" must not reach valueInt: the zero Value that Get
		// returns for a missing key panics on any method call.
		id, found := v.Map().Get("id")
		if !found {
			return 0, false
		}
		v = id
	}
	return valueInt(v)
}

// flatEventID reads EventID (or EventCode) at the top level of a flat map.
func flatEventID(m pcommon.Map) (int64, bool) {
	if m.Len() == 0 {
		return 0, false
	}
	v, ok := m.Get("EventID")
	if !ok {
		if v, ok = m.Get("EventCode"); !ok {
			return 0, false
		}
	}
	return valueInt(v)
}

// winlogEventID reads Winlogbeat's winlog.event_id.
func winlogEventID(w pcommon.Map) (int64, bool) {
	v, ok := w.Get("event_id")
	if !ok {
		return 0, false
	}
	return valueInt(v)
}

// xmlEventID reads the EventID of an event rendered as XML. The result is
// OtherEvent when the id was read, NotWindows when the text is not an event,
// and Unreadable when it has no readable EventID.
func xmlEventID(s string) (int64, Result) {
	if !strings.HasPrefix(s, "<Event") && !strings.Contains(s, "<Event ") && !strings.Contains(s, "<Event>") {
		return 0, NotWindows
	}
	text, ok := elementText(s, "<EventID")
	if !ok {
		return 0, Unreadable
	}
	id, ok := parseEventID(text)
	if !ok {
		return 0, Unreadable
	}
	return id, OtherEvent
}

// admit is how every walk goes on once it has looked for the event id:
// NotWindows without one; else the id is stored in ev, and the result is
// OtherEvent for an id no consumer reads, Filled (read on, with the row's
// fields) otherwise.
func (r *Reader) admit(ev *Event, id int64, found bool) (*planRow, Result) {
	if !found {
		return nil, NotWindows
	}
	ev.EventID = id
	row := r.row(id)
	if row == nil {
		return nil, OtherEvent
	}
	return row, Filled
}

// flatSystemKey says which System field a key of a flat map holds, under
// the names NXLog, the Sumo Logic installed collector and forwarders use;
// sysElements for any other key (an event data name).
func flatSystemKey(k string) systemElement {
	switch k {
	case "Channel":
		return sysChannel
	case "Provider", "ProviderName", "SourceName":
		return sysProvider
	case "Computer", "Hostname", "ComputerName":
		return sysComputer
	case "TimeCreated", "SystemTime", "@timestamp":
		return sysTimeCreated
	case "EventTime", "TimeGenerated": // NXLog's names
		return sysEventTime
	case "RecordNumber", "EventRecordID", "RecordID", "record_id":
		return sysRecordID
	case "UserID":
		return sysUserID
	}
	return sysElements
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
