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
