package winevent

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Admission is the first step of a read: the event id of a record in the
// receiver's map shape or in raw XML, found with one or two lookups and no
// allocation, and whether the plan reads it. A caller can take this step
// for a run of records in a tight loop, letting the CPU overlap the cache
// misses of records fresh from a receiver, then take the second step
// (ReadAdmitted) for each: nothing is read twice, and ReadAdmitted gives
// exactly what Read gives.
type Admission struct {
	id   int64
	row  *planRow
	step admissionStep
}

type admissionStep uint8

const (
	admitUnknown  admissionStep = iota // any other shape: read from the start
	admitPassed                        // an id the plan does not read
	admitReceiver                      // a receiver map body of an id the plan reads
	admitXML                           // raw XML of an id the plan reads
)

// Admit takes the first step of a read.
func (r *Reader) Admit(body pcommon.Value) Admission {
	var id int64
	var step admissionStep
	switch body.Type() {
	case pcommon.ValueTypeMap:
		v, found := body.Map().Get("event_id")
		if !found {
			return Admission{}
		}
		n, ok := receiverEventID(v)
		if !ok {
			return Admission{}
		}
		id, step = n, admitReceiver
	case pcommon.ValueTypeStr:
		s := body.Str()
		if !strings.HasPrefix(s, "<Event") {
			return Admission{}
		}
		n, found := xmlEventID(s)
		if found != OtherEvent {
			return Admission{}
		}
		id, step = n, admitXML
	default:
		return Admission{}
	}
	row := r.row(id)
	if row == nil {
		return Admission{id: id, step: admitPassed}
	}
	return Admission{id: id, row: row, step: step}
}

// PassedOver reports whether the record is an event of an id the plan does
// not read: Read would give OtherEvent with only the event id filled.
func (a Admission) PassedOver() bool { return a.step == admitPassed }

// ReadAdmitted takes the second step of a read the first step admitted:
// the result and the event are Read's.
func (r *Reader) ReadAdmitted(body pcommon.Value, attrs pcommon.Map, a Admission, ev *Event) Result {
	return r.ReadAdmittedReusing(body, attrs, a, ev, nil)
}

// ReadAdmittedReusing is ReadAdmitted with a Scratch: PowerShell's long
// texts (ScriptBlockText, Payload, ContextInfo) of a raw XML body, which
// hold entities (every CR/LF is one), are unescaped into it instead of
// into new strings. Such values are valid until the next read with the
// same Scratch: copy them before keeping them.
func (r *Reader) ReadAdmittedReusing(body pcommon.Value, attrs pcommon.Map, a Admission, ev *Event, scratch *Scratch) Result {
	switch a.step {
	case admitPassed:
		*ev = Event{EventID: a.id}
		return OtherEvent
	case admitReceiver:
		*ev = Event{EventID: a.id}
		return fillReceiverMap(body.Map(), a.row, ev)
	case admitXML:
		*ev = Event{EventID: a.id}
		scratch.reset()
		return r.orAttributes(fillXML(body.Str(), a.row, ev, scratch), attrs, ev)
	default:
		return r.Read(body, attrs, ev)
	}
}
