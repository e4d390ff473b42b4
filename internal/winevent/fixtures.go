package winevent

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MapFromJSON builds a pcommon.Map from a JSON object the way the receivers
// do: whole numbers become Int (the windowseventlog receiver's event_id.id is
// an Int), other numbers Double. Tests and tools use it to load fixtures.
func MapFromJSON(data []byte) (pcommon.Map, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return pcommon.Map{}, fmt.Errorf("decoding fixture: %w", err)
	}
	m := pcommon.NewMap()
	if err := m.FromRaw(convertNumbers(raw).(map[string]any)); err != nil {
		return pcommon.Map{}, fmt.Errorf("converting fixture: %w", err)
	}
	return m, nil
}

func convertNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = convertNumbers(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = convertNumbers(x)
		}
		return t
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	default:
		return v
	}
}

// Everything is a reader of every kind of event the package knows, with
// every field: tests and tools read with it; the processor reads with the
// plan its consumers compile (NewReader).
var Everything = NewReader(EveryKind(AllFields)...)

// EveryKind is a need of the given fields of every kind of event.
func EveryKind(fields Fields) []Need {
	needs := make([]Need, len(kinds))
	for i, k := range kinds {
		needs[i] = Need{ID: k.ID, First: fields}
	}
	return needs
}

// Read reads a record with Everything.
func Read(body pcommon.Value, attrs pcommon.Map, ev *Event) Result {
	return Everything.Read(body, attrs, ev)
}

// ReadContext reads a record with Everything and reports whether it is an
// event of a known kind from the log its kind is written to; ev is left
// empty when not.
func ReadContext(body pcommon.Value, attrs pcommon.Map, ev *Event) bool {
	if Everything.Read(body, attrs, ev) != Filled || !ev.FromExpectedLog() {
		*ev = Event{}
		return false
	}
	return true
}

// IsKind reports whether an event id is of a kind the package knows.
func IsKind(id int64) bool {
	_, ok := kindOf(id)
	return ok
}
