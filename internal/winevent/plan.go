package winevent

import "math/bits"

// Need is what one consumer reads of one kind of event. The rules need the
// process fields of Sysmon 1 and Security 4688; the correlation needs a few
// fields of every event it joins and the rest of only a few of them (an
// inbound connection to a watched process, a network logon): First are read
// always, Rest only when More, asked once the By fields are read, says so.
type Need struct {
	ID    int64
	First Fields
	Rest  Fields
	// By are one or two event data fields (read among First) whose values
	// decide, through More, whether Rest is needed.
	By Fields
	// More gets the values of the By fields in the order of their Field
	// constants ("" for a field not in the event, and for the second of a
	// single field). Nil: Rest is always read. It is called during the walk
	// and gets the values only, so that the event need not leave the stack.
	More func(a, b string) bool
}

// planRow is the fields the reader fills for one event id.
type planRow struct {
	id    int64
	first Fields
	rest  Fields
	by    Fields
	more  func(a, b string) bool // nil: first and rest are one set
}

// Reader reads Windows events from log records in every body shape. Its
// plan, compiled once from its consumers' needs, says which fields it
// fills for each event id; a record of any other id is passed over as soon
// as its id is read. One walk per body shape fills one Event; nothing is
// read twice.
type Reader struct {
	rows []planRow
}

// NewReader compiles the needs of all consumers into one plan: the fields of
// an id are the union of every consumer's, and the walk stops early only
// when every consumer of the id says that it can.
func NewReader(needs ...Need) *Reader {
	r := &Reader{}
	for _, n := range needs {
		by := n.By & EventDataFields
		more := n.More
		if by == 0 || bits.OnesCount64(uint64(by)) > 2 {
			more = nil // nothing to decide by: read it all
		}
		row := r.row(n.ID)
		if row == nil {
			r.rows = append(r.rows, planRow{id: n.ID, first: n.First | by, rest: n.Rest, by: by, more: more})
			row = &r.rows[len(r.rows)-1]
		} else {
			row.first |= n.First | by
			row.rest |= n.Rest
			switch a, b := row.more, more; {
			case a == nil || b == nil || row.by != by:
				row.more = nil
			default:
				row.more = func(x, y string) bool { return a(x, y) || b(x, y) }
			}
		}
		if row.more == nil {
			row.first, row.rest, row.by = row.first|row.rest, 0, 0
		}
	}
	return r
}

// row returns the plan of an event id, nil when no consumer reads it.
func (r *Reader) row(id int64) *planRow {
	for i := range r.rows {
		if r.rows[i].id == id {
			return &r.rows[i]
		}
	}
	return nil
}

// Fields returns every field the reader may fill for an event id (0: the
// id is passed over).
func (r *Reader) Fields(id int64) Fields {
	if row := r.row(id); row != nil {
		return row.first | row.rest
	}
	return 0
}

// IDs returns the event ids the reader reads.
func (r *Reader) IDs() []int64 {
	ids := make([]int64, len(r.rows))
	for i := range r.rows {
		ids[i] = r.rows[i].id
	}
	return ids
}

// filler fills one event for one walk: the first value of a name counts
// (as for a lookup by name, and as Windows XML has it), only wanted values
// are loaded, and the walk is told to stop once there is nothing more to
// read.
type filler struct {
	ev      *Event
	want    Fields // event data fields wanted now
	system  Fields // FieldSystemTime, FieldRecordID and FieldUserID if wanted now
	got     Fields
	pending Fields // the By fields the decision waits for; 0 once decided or without one
	row     *planRow
	escaped bool // values are XML text: unescape the ones kept
	// scratch, if not nil, takes the unescaped scratchFields.
	scratch *Scratch
}

// scratchFields are the long texts a Scratch takes when they need
// unescaping: PowerShell's, which the rules search and nothing keeps.
const scratchFields = FieldScriptBlockText | FieldPayload | FieldContextInfo

// newFiller begins the walk of an event's data; its System fields are read.
func newFiller(ev *Event, row *planRow, escaped bool) filler {
	all := row.first | row.rest
	return filler{ev: ev, want: all & EventDataFields, system: all &^ EventDataFields, row: row, escaped: escaped, pending: row.by}
}

// set stores a named value if it is wanted and not yet filled. It reports
// whether the walk can stop.
func (f *filler) set(name, value string) (done bool) {
	b, slot := f.lookup(name)
	return slot != nil && f.store(b, slot, value)
}

// lookup returns where the value of a name goes if it is wanted and not yet
// filled (nil otherwise). The map walks look the name up before they touch
// the value: on a record fresh from a receiver each value is a cache miss,
// and most are not wanted.
func (f *filler) lookup(name string) (Fields, *string) {
	b, slot := f.ev.field(name)
	if b&f.want&^f.got == 0 {
		return 0, nil
	}
	return b, slot
}

// store fills a field lookup found. It reports whether the walk can stop.
func (f *filler) store(b Fields, slot *string, value string) (done bool) {
	if f.escaped {
		if f.scratch != nil && b&scratchFields != 0 {
			value = f.scratch.unescape(value)
		} else {
			value = unescapeXML(value)
		}
	}
	*slot = value
	f.got |= b
	if f.pending != 0 && f.got&f.pending == f.pending {
		return f.decide()
	}
	return f.got == f.want
}

// decide asks whether the rest is needed; without it, what was read beyond
// the first fields is dropped, so that the event is the full read
// restricted to them. It reports whether the walk can stop.
func (f *filler) decide() bool {
	f.pending = 0
	var values [2]string
	n := 0
	for b := f.row.by; b != 0; b &= b - 1 {
		values[n] = *f.ev.slot(b & -b)
		n++
	}
	if f.row.more(values[0], values[1]) {
		return f.got == f.want
	}
	f.ev.clear((f.got | f.system) &^ f.row.first)
	f.want &= f.row.first
	f.system &= f.row.first
	f.got &= f.row.first
	return f.got == f.want
}

// finish ends a walk that read to the end: a decision still pending (a By
// field is missing) is taken now.
func (f *filler) finish() {
	if f.pending != 0 {
		f.decide()
	}
}

// clear empties the fields in drop.
func (e *Event) clear(drop Fields) {
	for b := drop & EventDataFields; b != 0; b &= b - 1 {
		*e.slot(b & -b) = ""
	}
	if drop&FieldSystemTime != 0 {
		e.SystemTime, e.EventTime = "", ""
	}
	if drop&FieldRecordID != 0 {
		e.RecordID = 0
	}
	if drop&FieldUserID != 0 {
		e.UserID = ""
	}
}
