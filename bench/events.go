// Package bench measures the dcomdetection processor against the contrib
// transform processor running the seed query in OTTL and against the physical
// floor (reading only the fields any detection must read), on generated
// batches of Windows events in every body shape a receiver delivers.
//
// The generator takes real event shapes (bench/testdata/templates.xml, from
// OTRF Security-Datasets and mdecrevoisier/EVTX-to-MITRE-Attack recordings),
// Sysmon events of the kinds those recordings lack written in the same layout
// (testdata/synth.xml), and the 19 catalogue events that both profiles flag
// (testdata/catalogue). See testdata/README.md for attribution.
package bench // import "github.com/otelcol-dcom/dcomdetectionprocessor/bench"

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Field is one <Data Name="...">value</Data> of an event.
type Field struct{ Name, Value string }

// Event is one Windows event in the layout of its XML rendering.
type Event struct {
	ProviderName, ProviderGUID string
	EventID                    int64
	Version                    int64
	Task, Opcode, Keywords     string
	SystemTime                 string
	RecordID                   int64
	ExecPID, ExecTID           int64
	Channel, Computer          string
	UserID                     string
	Data                       []Field
	// Match is set on the catalogue events injected as detections.
	Match string // catalogue id
}

// XMLEvent is the struct a plain encoding/xml decode fills; the generator
// reads its templates with it, and it is the encoding/xml contender's target.
type XMLEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
			GUID string `xml:"Guid,attr"`
		} `xml:"Provider"`
		EventID     int64  `xml:"EventID"`
		Version     int64  `xml:"Version"`
		Task        string `xml:"Task"`
		Opcode      string `xml:"Opcode"`
		Keywords    string `xml:"Keywords"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID int64 `xml:"EventRecordID"`
		Execution     struct {
			ProcessID int64 `xml:"ProcessID,attr"`
			ThreadID  int64 `xml:"ThreadID,attr"`
		} `xml:"Execution"`
		Channel  string `xml:"Channel"`
		Computer string `xml:"Computer"`
		Security struct {
			UserID string `xml:"UserID,attr"`
		} `xml:"Security"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
	} `xml:"EventData"`
}

func eventFromXML(line string) (Event, error) {
	var x XMLEvent
	if err := xml.Unmarshal([]byte(line), &x); err != nil {
		return Event{}, err
	}
	s := &x.System
	ev := Event{
		ProviderName: s.Provider.Name, ProviderGUID: s.Provider.GUID, EventID: s.EventID, Version: s.Version,
		Task: s.Task, Opcode: s.Opcode, Keywords: s.Keywords, SystemTime: s.TimeCreated.SystemTime,
		RecordID: s.EventRecordID, ExecPID: s.Execution.ProcessID, ExecTID: s.Execution.ThreadID,
		Channel: s.Channel, Computer: s.Computer, UserID: s.Security.UserID,
	}
	for _, d := range x.EventData.Data {
		ev.Data = append(ev.Data, Field{d.Name, d.Value})
	}
	return ev, nil
}

func (e *Event) set(name, value string) {
	for i := range e.Data {
		if e.Data[i].Name == name {
			e.Data[i].Value = value
			return
		}
	}
	e.Data = append(e.Data, Field{name, value})
}

func (e Event) clone() Event {
	e.Data = append([]Field(nil), e.Data...)
	return e
}

// Templates are the event shapes the generator draws from.
type Templates struct {
	ByID map[int64][]Event
	// Matches are catalogue events that both profiles flag, in the layout of
	// a full Sysmon 1 or Security 4688 event.
	Matches []Event
	// Expected maps a catalogue id to its expected pattern per profile.
	Expected map[string]map[string]string
}

// TestdataDir is where the templates are read from: testdata/ or
// bench/testdata/ in the working directory or the nearest directory above it
// that holds them. The tests and bench/run.sh run in bench/; the source
// file's own path is no guide, as make test builds with -trimpath.
func TestdataDir() string {
	dir, _ := os.Getwd()
	for {
		for _, d := range []string{filepath.Join(dir, "testdata"), filepath.Join(dir, "bench", "testdata")} {
			if _, err := os.Stat(filepath.Join(d, "templates.xml")); err == nil {
				return d
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "testdata" // not found: the error names the relative path
		}
		dir = parent
	}
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path) //nolint:gosec // the benchmark's own testdata files
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			lines = append(lines, t)
		}
	}
	return lines, sc.Err()
}

// LoadTemplates reads the templates. isDetection, when not nil, is asked
// about every background template; templates it flags are left out, so that
// the background of the realistic mix holds no detection at all.
func LoadTemplates(isDetection func(Event) bool) (*Templates, error) {
	dir := TestdataDir()
	t := &Templates{ByID: map[int64][]Event{}}
	for _, name := range []string{"templates.xml", "synth.xml"} {
		lines, err := readLines(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		for _, line := range lines {
			ev, xerr := eventFromXML(line)
			if xerr != nil {
				return nil, fmt.Errorf("%s: %w", name, xerr)
			}
			if isDetection != nil && isDetection(ev) {
				continue
			}
			t.ByID[ev.EventID] = append(t.ByID[ev.EventID], ev)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "catalogue", "expected.json")) //nolint:gosec // the benchmark's own testdata
	if err != nil {
		return nil, err
	}
	if jerr := json.Unmarshal(raw, &t.Expected); jerr != nil {
		return nil, jerr
	}
	catalogue, err := readLines(filepath.Join(dir, "catalogue", "catalogue.jsonl"))
	if err != nil {
		return nil, err
	}
	for _, line := range catalogue {
		var c struct {
			ID    string         `json:"id"`
			Event map[string]any `json:"event"`
		}
		if jerr := json.Unmarshal([]byte(line), &c); jerr != nil {
			return nil, jerr
		}
		exp := t.Expected[c.ID]
		if exp["seed"] == "none" || exp["extended"] == "none" {
			continue
		}
		t.Matches = append(t.Matches, t.fullEvent(c.ID, c.Event))
	}
	if len(t.Matches) == 0 {
		return nil, errors.New("no catalogue event is flagged by both profiles")
	}
	return t, nil
}

// fullEvent dresses a catalogue event (a handful of fields) in the other
// fields of a real event of the same id, so that a detection costs what it
// would on a real record. Detection-relevant fields come from the catalogue
// only.
func (t *Templates) fullEvent(id string, flat map[string]any) Event {
	eid := int64(flat["EventID"].(float64))
	var base Event
	for _, cand := range t.ByID[eid] {
		base = cand.clone()
		break
	}
	relevant := map[string]bool{
		"Image": true, "ParentImage": true, "CommandLine": true, "ParentCommandLine": true, "User": true,
		"OriginalFileName": true, "NewProcessName": true, "ParentProcessName": true, "SubjectUserName": true,
		"SubjectDomainName": true, "TargetUserName": true, "TargetDomainName": true,
	}
	data := base.Data[:0:0]
	for _, f := range base.Data {
		if !relevant[f.Name] {
			data = append(data, f)
		}
	}
	base.Data = data
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "EventID" {
			continue
		}
		switch v := flat[k].(type) {
		case string:
			base.set(k, v)
		case float64:
			base.set(k, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	base.Computer = id + ".catalogue.test"
	base.Match = id
	return base
}

// Mix is the composition of a batch.
type Mix string

const (
	// Realistic: common Sysmon and Security events, about 1% detections.
	Realistic Mix = "realistic"
	// AllMatch: every record is a detection for both profiles.
	AllMatch Mix = "allmatch"
	// Process: what build servers, VDI hosts and an attack burst send:
	// 85% process creations (Sysmon 1 and Security 4688), 2% detections.
	Process Mix = "process"
)

// Mixes are the mixes the benchmark runs.
var Mixes = []Mix{Realistic, Process, AllMatch}

// eventWeight is a per-mille share of an event id in a mix's background.
type eventWeight struct {
	id     int64
	weight int
}

// realisticWeights are per-mille shares of each event id in the background
// of the realistic mix: Sysmon image loads, network connections, registry
// and file events dominate; process creations (1, 4688) are 8%.
var realisticWeights = []eventWeight{
	{1, 40},
	{3, 140},
	{5, 40},
	{7, 160},
	{10, 80},
	{11, 100},
	{12, 60},
	{13, 120},
	{22, 60},
	{4624, 50},
	{4634, 50},
	{4672, 30},
	{4688, 40},
	{4689, 30},
}

// processWeights are the background of the process mix: process
// creations are 85%, the rest the events that come with them.
var processWeights = []eventWeight{
	{1, 425},
	{3, 30},
	{5, 30},
	{7, 30},
	{4624, 20},
	{4688, 425},
	{4689, 40},
}

// MatchPerMille is the share of detections in the realistic mix.
const MatchPerMille = 10

// ProcessMatchPerMille is the share of detections in the process mix.
const ProcessMatchPerMille = 20

// Matches returns how many of n records of a mix are detections.
func (m Mix) Matches(n int) int {
	switch m {
	case AllMatch:
		return n
	case Process:
		return n * ProcessMatchPerMille / 1000
	default:
		return n * MatchPerMille / 1000
	}
}

func (m Mix) weights() []eventWeight {
	if m == Process {
		return processWeights
	}
	return realisticWeights
}

// Generator produces events. It is deterministic for a seed.
type Generator struct {
	t      *Templates
	rng    *rand.Rand
	record int64
	clock  time.Time
}

// NewGenerator returns a generator over the templates.
func NewGenerator(t *Templates, seed uint64) *Generator {
	return &Generator{
		t: t, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		record: 1_000_000, clock: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
	}
}

// Events returns n events of a mix: exactly mix.Matches(n) of them (at
// random positions) are detections.
func (g *Generator) Events(mix Mix, n int) []Event {
	out := make([]Event, n)
	isMatch := make([]bool, n)
	if mix == AllMatch {
		for i := range isMatch {
			isMatch[i] = true
		}
	} else {
		for _, i := range g.rng.Perm(n)[:mix.Matches(n)] {
			isMatch[i] = true
		}
	}
	weights := mix.weights()
	total := 0
	for _, w := range weights {
		total += w.weight
	}
	for i := range out {
		var ev Event
		if isMatch[i] {
			ev = g.t.Matches[g.rng.IntN(len(g.t.Matches))].clone()
		} else {
			r := g.rng.IntN(total)
			var id int64
			for _, w := range weights {
				if r < w.weight {
					id = w.id
					break
				}
				r -= w.weight
			}
			list := g.t.ByID[id]
			ev = list[g.rng.IntN(len(list))].clone()
		}
		g.vary(&ev)
		out[i] = ev
	}
	return out
}

// vary gives an event the values that differ between any two real events:
// record id, time, process ids and GUIDs.
func (g *Generator) vary(ev *Event) {
	g.record++
	g.clock = g.clock.Add(time.Duration(1+g.rng.IntN(3)) * time.Millisecond)
	ev.RecordID = g.record
	ev.SystemTime = g.clock.Format("2006-01-02T15:04:05.000000000Z")
	for i := range ev.Data {
		f := &ev.Data[i]
		switch {
		case f.Name == "UtcTime" || f.Name == "CreationUtcTime":
			f.Value = g.clock.Format("2006-01-02 15:04:05.000")
		case strings.HasSuffix(f.Name, "Guid") || strings.HasSuffix(f.Name, "GUID"):
			if len(f.Value) == 38 && f.Value[0] == '{' {
				f.Value = fmt.Sprintf("{%08x-%04x-%s-%04x-%012x}", g.rng.Uint32(), g.rng.Uint32()&0xffff,
					f.Value[15:19], g.rng.Uint32()&0xffff, g.rng.Uint64()&0xffffffffffff)
			}
		case f.Name == "ProcessId" || f.Name == "SourceProcessId" || f.Name == "TargetProcessId" || f.Name == "ParentProcessId":
			if strings.HasPrefix(f.Value, "0x") {
				f.Value = "0x" + strconv.FormatInt(int64(4+g.rng.IntN(16000)), 16)
			} else if f.Value != "" {
				f.Value = strconv.Itoa(4 + g.rng.IntN(16000))
			}
		case f.Name == "NewProcessId":
			f.Value = "0x" + strconv.FormatInt(int64(4+g.rng.IntN(16000)), 16)
		}
	}
}

// Shape is a body layout.
type Shape string

const (
	// MapShape: the windowseventlog receiver's structured body, event_data as a map.
	MapShape Shape = "map"
	// ArrayShape: the same with event_data_format: array.
	ArrayShape Shape = "array"
	// XMLShape: the receiver's raw: true body, the event XML as a string.
	XMLShape Shape = "xml"
)

// Shapes lists every shape.
var Shapes = []Shape{MapShape, ArrayShape, XMLShape}

// ScopeName is the scope the stanza-based receivers set.
const ScopeName = "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza"

// Logs renders events into one batch (one ResourceLogs, one ScopeLogs) in a
// shape. Map keys are shuffled per record: the receiver builds the body from
// Go maps, so their order differs from record to record.
func (g *Generator) Logs(events []Event, shape Shape) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(events))
	observed := pcommon.NewTimestampFromTime(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	for i := range events {
		ev := &events[i]
		lr := lrs.AppendEmpty()
		if ts, err := time.Parse(time.RFC3339Nano, ev.SystemTime); err == nil {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		}
		lr.SetObservedTimestamp(observed)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		switch shape {
		case XMLShape:
			lr.Body().SetStr(RenderXML(ev))
		default:
			g.renderMap(ev, shape == ArrayShape, lr.Body().SetEmptyMap())
		}
	}
	return ld
}

func (g *Generator) renderMap(ev *Event, array bool, body pcommon.Map) {
	type put func(pcommon.Map)
	var ops []put
	add := func(f put) { ops = append(ops, f) }
	add(func(m pcommon.Map) {
		id := m.PutEmptyMap("event_id")
		id.PutInt("id", ev.EventID)
		id.PutInt("qualifiers", 0)
	})
	add(func(m pcommon.Map) {
		p := m.PutEmptyMap("provider")
		p.PutStr("name", ev.ProviderName)
		p.PutStr("guid", ev.ProviderGUID)
		p.PutStr("event_source", "")
	})
	add(func(m pcommon.Map) { m.PutStr("system_time", ev.SystemTime) })
	add(func(m pcommon.Map) { m.PutStr("computer", ev.Computer) })
	add(func(m pcommon.Map) { m.PutStr("channel", ev.Channel) })
	add(func(m pcommon.Map) { m.PutInt("record_id", ev.RecordID) })
	add(func(m pcommon.Map) { m.PutStr("level", "4") })
	add(func(m pcommon.Map) { m.PutStr("task", ev.Task) })
	add(func(m pcommon.Map) { m.PutStr("opcode", ev.Opcode) })
	add(func(m pcommon.Map) { m.PutEmptySlice("keywords").AppendEmpty().SetStr(ev.Keywords) })
	add(func(m pcommon.Map) { m.PutStr("message", "") })
	add(func(m pcommon.Map) { m.PutInt("version", ev.Version) })
	add(func(m pcommon.Map) {
		x := m.PutEmptyMap("execution")
		x.PutInt("process_id", ev.ExecPID)
		x.PutInt("thread_id", ev.ExecTID)
	})
	if ev.UserID != "" {
		add(func(m pcommon.Map) { m.PutEmptyMap("security").PutStr("user_id", ev.UserID) })
	}
	add(func(m pcommon.Map) {
		ed := m.PutEmptyMap("event_data")
		if array {
			s := ed.PutEmptySlice("data")
			s.EnsureCapacity(len(ev.Data))
			for _, f := range ev.Data {
				s.AppendEmpty().SetEmptyMap().PutStr(f.Name, f.Value)
			}
			return
		}
		ed.EnsureCapacity(len(ev.Data))
		for _, j := range g.rng.Perm(len(ev.Data)) {
			ed.PutStr(ev.Data[j].Name, ev.Data[j].Value)
		}
	})
	body.EnsureCapacity(len(ops))
	for _, j := range g.rng.Perm(len(ops)) {
		ops[j](body)
	}
}

var (
	xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;", "\n", "&#10;")
	xmlAttr = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;")
)

// RenderXML writes an event the way Windows renders it (EvtRender): one
// line, text escaped for &, < and > only (quotes stay as they are), line
// breaks inside values as character references.
func RenderXML(ev *Event) string {
	var b strings.Builder
	b.Grow(512 + 64*len(ev.Data))
	b.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="`)
	b.WriteString(xmlAttr.Replace(ev.ProviderName))
	b.WriteString(`" Guid="`)
	b.WriteString(ev.ProviderGUID)
	b.WriteString(`"/><EventID>`)
	b.WriteString(strconv.FormatInt(ev.EventID, 10))
	b.WriteString(`</EventID><Version>`)
	b.WriteString(strconv.FormatInt(ev.Version, 10))
	b.WriteString(`</Version><Level>4</Level><Task>`)
	b.WriteString(ev.Task)
	b.WriteString(`</Task><Opcode>`)
	b.WriteString(ev.Opcode)
	b.WriteString(`</Opcode><Keywords>`)
	b.WriteString(ev.Keywords)
	b.WriteString(`</Keywords><TimeCreated SystemTime="`)
	b.WriteString(ev.SystemTime)
	b.WriteString(`"/><EventRecordID>`)
	b.WriteString(strconv.FormatInt(ev.RecordID, 10))
	b.WriteString(`</EventRecordID><Correlation/><Execution ProcessID="`)
	b.WriteString(strconv.FormatInt(ev.ExecPID, 10))
	b.WriteString(`" ThreadID="`)
	b.WriteString(strconv.FormatInt(ev.ExecTID, 10))
	b.WriteString(`"/><Channel>`)
	b.WriteString(xmlText.Replace(ev.Channel))
	b.WriteString(`</Channel><Computer>`)
	b.WriteString(xmlText.Replace(ev.Computer))
	b.WriteString(`</Computer>`)
	if ev.UserID != "" {
		b.WriteString(`<Security UserID="`)
		b.WriteString(ev.UserID)
		b.WriteString(`"/>`)
	} else {
		b.WriteString(`<Security/>`)
	}
	b.WriteString(`</System><EventData>`)
	for _, f := range ev.Data {
		b.WriteString(`<Data Name="`)
		b.WriteString(f.Name)
		b.WriteString(`">`)
		b.WriteString(xmlText.Replace(f.Value))
		b.WriteString(`</Data>`)
	}
	b.WriteString(`</EventData></Event>`)
	return b.String()
}
