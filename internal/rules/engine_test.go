package rules

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

type catalogueEvent struct {
	ID    string         `json:"id"`
	Event map[string]any `json:"event"`
}

// loadCatalogue reads the 78 catalogue events as Events built from
// their flat fields (the shape-specific readers are tested in winevent).
func loadCatalogue(t testing.TB) ([]catalogueEvent, map[string]map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "catalogue", "catalogue.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var events []catalogueEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ce catalogueEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ce))
		events = append(events, ce)
	}
	require.NoError(t, sc.Err())
	require.Len(t, events, 78)
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "catalogue", "expected.json"))
	require.NoError(t, err)
	var expected map[string]map[string]string
	require.NoError(t, json.Unmarshal(raw, &expected))
	return events, expected
}

func processEvent(t testing.TB, fields map[string]any, channel bool) *winevent.Event {
	t.Helper()
	m := map[string]any{}
	for k, v := range fields {
		m[k] = v
	}
	if channel {
		if _, ok := m["Channel"]; !ok {
			if m["EventID"] == float64(4688) {
				m["Channel"] = "Security"
			} else {
				m["Channel"] = "Microsoft-Windows-Sysmon/Operational"
			}
		}
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	ev := &winevent.Event{}
	require.Equal(t, winevent.Filled, winevent.Read(pcommon.NewValueStr(string(b)), pcommon.NewMap(), ev))
	return ev
}

func TestCatalogue(t *testing.T) {
	events, expected := loadCatalogue(t)
	for _, tc := range []struct {
		profile Profile
		key     string
	}{{Seed, "seed"}, {Extended, "extended"}} {
		engine, err := New(Options{Profile: tc.profile})
		require.NoError(t, err)
		for _, withChannel := range []bool{true, false} {
			for _, ce := range events {
				ev := processEvent(t, ce.Event, withChannel)
				got := engine.Evaluate(ev)
				assert.Equal(t, expected[ce.ID][tc.key], got.Pattern.String(), "%s profile %s (channel %v): %s", ce.ID, tc.key, withChannel, got.Evidence)
			}
		}
	}
}
