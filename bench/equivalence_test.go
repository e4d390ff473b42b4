package bench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// catalogueMapLogs renders the 78 catalogue events as receiver map bodies
// (the project's catalogue map.jsonl fixture) and returns their ids.
func catalogueMapLogs(t *testing.T) (plog.Logs, []string) {
	t.Helper()
	lines, err := readLines(filepath.Join(TestdataDir(), "catalogue", "map.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	var ids []string
	for _, line := range lines {
		m, err := winevent.MapFromJSON([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		m.CopyTo(lrs.AppendEmpty().Body().SetEmptyMap())
		c, _ := m.Get("computer")
		id, _, _ := strings.Cut(c.Str(), ".")
		ids = append(ids, id)
	}
	if len(ids) != 78 {
		t.Fatalf("catalogue has %d events, want 78", len(ids))
	}
	return ld, ids
}

// TestOTTLSeedFlagsWhatProfileSeedFlags checks that the OTTL rendering of the
// seed query gives, on every catalogue event, the pattern expected.json gives
// for the seed, and the same as the dcomdetection processor's seed profile.
func TestOTTLSeedFlagsWhatProfileSeedFlags(t *testing.T) {
	tmpl := loadTemplates(t)
	run := func(build func() (processor.Logs, error)) []string {
		ld, _ := catalogueMapLogs(t)
		p := newProcessor(t, build)
		if err := p.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		return detections(ld)
	}
	_, ids := catalogueMapLogs(t)
	ottl := run(NewOTTLSeed)
	seed := run(func() (processor.Logs, error) { return NewDCOM("seed") })
	flagged := 0
	for i, id := range ids {
		want := tmpl.Expected[id]["seed"]
		if want == "none" {
			want = ""
		} else {
			flagged++
		}
		if ottl[i] != want {
			t.Errorf("%s: OTTL gives %q, expected.json seed %q", id, ottl[i], want)
		}
		if seed[i] != ottl[i] {
			t.Errorf("%s: OTTL gives %q, profile seed %q", id, ottl[i], seed[i])
		}
	}
	if flagged != 25 {
		t.Errorf("expected.json flags %d events for the seed, want 25", flagged)
	}
}

// TestGeneratedBatchesDetections checks the generated data: in every shape
// and mix, each profile flags exactly the injected catalogue events, with the
// pattern expected.json gives, and the OTTL seed flags the same on map bodies.
func TestGeneratedBatchesDetections(t *testing.T) {
	tmpl := loadTemplates(t)
	for _, mix := range Mixes {
		for _, shape := range Shapes {
			s := source(t, shape, mix)
			wantMatches := mix.Matches(BatchSize)
			if s.Matches != wantMatches {
				t.Fatalf("%s/%s: %d detections per batch, want %d", shape, mix, s.Matches, wantMatches)
			}
			contenders := map[string]func() (processor.Logs, error){
				"seed":     func() (processor.Logs, error) { return NewDCOM("seed") },
				"extended": func() (processor.Logs, error) { return NewDCOM("extended") },
			}
			if shape == MapShape {
				contenders["ottl"] = NewOTTLSeed
			}
			for name, build := range contenders {
				profile := name
				if name == "ottl" {
					profile = "seed"
				}
				p := newProcessor(t, build)
				for b := 0; b < 2; b++ {
					ld := s.Batch(b)
					if err := p.ConsumeLogs(context.Background(), ld); err != nil {
						t.Fatal(err)
					}
					got := detections(ld)
					ids := catalogueIDs(ld, shape)
					n := 0
					for i, pattern := range got {
						want := ""
						if ids[i] != "" {
							want = tmpl.Expected[ids[i]][profile]
						}
						if pattern != want {
							t.Errorf("%s/%s/%s: record %d (%q): got %q, want %q", shape, mix, name, i, ids[i], pattern, want)
						}
						if pattern != "" {
							n++
						}
					}
					if n != s.Matches {
						t.Errorf("%s/%s/%s: %d detections, want %d", shape, mix, name, n, s.Matches)
					}
				}
			}
		}
	}
}

// catalogueIDs finds the catalogue id of each injected record (its computer
// is "<id>.catalogue.test"), "" for background records.
func catalogueIDs(ld plog.Logs, shape Shape) []string {
	var out []string
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for k := 0; k < lrs.Len(); k++ {
		body := lrs.At(k).Body()
		var text string
		if shape == XMLShape {
			text = body.Str()
		} else if c, ok := body.Map().Get("computer"); ok {
			text = c.Str()
		}
		id := ""
		if i := strings.Index(text, ".catalogue.test"); i >= 3 {
			id = text[i-3 : i]
		}
		out = append(out, id)
	}
	return out
}

// TestFloorReadsTheFields checks that the floors find the three values in
// every process creation of a batch, in every shape, and agree.
func TestFloorReadsTheFields(t *testing.T) {
	var sums []int
	for _, shape := range []Shape{MapShape, ArrayShape} {
		s := source(t, shape, Realistic)
		sums = append(sums, Floor(s.Batch(0), shape))
	}
	if sums[0] != sums[1] {
		t.Fatalf("floor sums differ: map %d, array %d", sums[0], sums[1])
	}
	if Floor(source(t, XMLShape, Realistic).Batch(0), XMLShape) == 0 {
		t.Fatal("the XML floor read nothing")
	}
	if _, err := DecodeXML(source(t, XMLShape, Realistic).Batch(0)); err != nil {
		t.Fatal(err)
	}
}

// TestCorrelationFloorReadsTheFields: the correlation floor reads the rest
// of a connection only when it is inbound and of a logon only when it is a
// network logon, the same in the map and array shapes; it adds up to the
// same in both, and allocates nothing.
func TestCorrelationFloorReadsTheFields(t *testing.T) {
	decided := map[string]int{}
	for _, shape := range []Shape{MapShape, ArrayShape} {
		lrs := source(t, shape, Realistic).Batch(0).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			m := lrs.At(k).Body().Map()
			id := floorEventID(m)
			if !correlated(id) {
				continue
			}
			data, _ := eventData(m)
			var first string
			if shape == MapShape {
				v, _ := data.Get(map[int64]string{3: "Initiated", 4624: "LogonType"}[id])
				first = v.Str()
			}
			n := corrFloorMap(m, id)
			if shape == ArrayShape {
				n = corrFloorArray(m, id)
				first = arrayValue(data, map[int64]string{3: "Initiated", 4624: "LogonType"}[id])
			}
			needed := corrNeedsRest(id, first)
			if needed != (n > 1) {
				t.Fatalf("%s record %d (event %d, %q): read %d", shape, k, id, first, n)
			}
			if needed {
				decided[string(shape)]++
			}
		}
	}
	if decided["map"] == 0 || decided["map"] != decided["array"] {
		t.Fatalf("records read in full: %v", decided)
	}
	var sums []int
	for _, shape := range []Shape{MapShape, ArrayShape, XMLShape} {
		b := source(t, shape, Realistic).Batch(0)
		sums = append(sums, CorrelationFloor(b, shape))
		if a := testing.AllocsPerRun(3, func() { sink += CorrelationFloor(b, shape) }); a != 0 {
			t.Fatalf("%s: %v allocations per batch", shape, a)
		}
	}
	if sums[0] != sums[1] {
		t.Fatalf("map and array differ: %d, %d", sums[0], sums[1])
	}
}

// arrayValue finds a field in event_data as an array.
func arrayValue(data pcommon.Map, name string) string {
	arr, _ := data.Get("data")
	for i := 0; i < arr.Slice().Len(); i++ {
		if v, ok := arr.Slice().At(i).Map().Get(name); ok {
			return v.Str()
		}
	}
	return ""
}
