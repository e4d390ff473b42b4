// Package streamtest loads the recorded DCOM event streams of
// testdata/streams and checks correlation findings against their expect
// files. Only tests use it.
package streamtest // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Feature names, as the expect files write them.
const (
	InboundChild = "shellwindows_inbound_child"
	ServerChild  = "embedding_child_by_pid"
	Logon        = "logon_enrichment"
	None         = "none"
	// AddressLogon is not a feature of the expect files: it is the logon an
	// inbound child gets by the connection's remote address and port, checked
	// against the inbound entry's logon_by_address_and_port.
	AddressLogon = "address_logon"
)

// AddressLogonExpect is an inbound child's logon_by_address_and_port.
type AddressLogonExpect struct {
	LogonLine   int    `json:"logon_line"`
	LogonID     string `json:"logon_id"`
	Account     string `json:"account"`
	Domain      string `json:"domain"`
	AuthPackage string `json:"auth_package"`
}

// Expect is one line of an expect file.
type Expect struct {
	Line              int                 `json:"line"`
	Feature           string              `json:"feature"`
	Required          bool                `json:"required"`
	LookalikeOf       string              `json:"lookalike_of"`
	Host              string              `json:"host"`
	EventID           int64               `json:"event_id"`
	RecordID          int64               `json:"record_id"`
	Image             string              `json:"image"`
	RemoteAddress     string              `json:"remote_address"`
	RemotePort        int                 `json:"remote_port"`
	LocalPort         int                 `json:"local_port"`
	ServerCommandLine string              `json:"server_command_line"`
	ServerPID         string              `json:"server_pid"`
	LogonID           string              `json:"logon_id"`
	Account           string              `json:"account"`
	Domain            string              `json:"domain"`
	AuthPackage       string              `json:"auth_package"`
	LogonProcess      string              `json:"logon_process"`
	Workstation       string              `json:"workstation"`
	AddressLogon      *AddressLogonExpect `json:"logon_by_address_and_port"`
}

// Stream is one recording.
type Stream struct {
	Name   string
	JSON   []string // receiver body maps, one per line
	XML    []string // the same events as raw XML
	Expect []Expect
	// Index maps host (lower case), event id and record id to the 1-based line.
	Index map[string]int
}

// Key names a record for Index.
func Key(host string, eventID, recordID int64) string {
	return strings.ToLower(host) + "|" + strconv.FormatInt(eventID, 10) + "|" + strconv.FormatInt(recordID, 10)
}

// Short is a readable stream name.
func (s *Stream) Short() string {
	name := s.Name
	if i := strings.LastIndex(name, "__"); i >= 0 {
		name = name[i+2:]
	}
	return name
}

// Load reads every stream under dir.
func Load(dir string) ([]*Stream, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.expect.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	var out []*Stream
	for _, m := range matches {
		name := strings.TrimSuffix(filepath.Base(m), ".expect.jsonl")
		s := &Stream{Name: name, Index: map[string]int{}}
		if s.JSON, err = Lines(filepath.Join(dir, name+".stream.json")); err != nil {
			return nil, err
		}
		if s.XML, err = Lines(filepath.Join(dir, name+".stream.xml")); err != nil {
			return nil, err
		}
		if len(s.JSON) != len(s.XML) {
			return nil, fmt.Errorf("%s: %d json lines, %d xml lines", name, len(s.JSON), len(s.XML))
		}
		expects, err := Lines(m)
		if err != nil {
			return nil, err
		}
		for _, l := range expects {
			var e Expect
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			s.Expect = append(s.Expect, e)
		}
		for i, l := range s.XML {
			var ev winevent.Event
			if winevent.ReadContext(pcommon.NewValueStr(l), pcommon.NewMap(), &ev) {
				s.Index[Key(ev.Computer, ev.EventID, ev.RecordID)] = i + 1
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Lines reads the non-blank lines of a fixture (JSON lines, one event XML
// per line; a line may hold up to 16 MiB).
func Lines(path string) ([]string, error) {
	f, err := os.Open(path) //nolint:gosec // G304: test-only helper reading the tests' own testdata files
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

// MustLines is Lines for a test: a file that cannot be read fails it.
func MustLines(tb testing.TB, path string) []string {
	tb.Helper()
	out, err := Lines(path)
	if err != nil {
		tb.Fatalf("reading %s: %v", path, err)
	}
	return out
}

// MustDecodeLines decodes each line of a JSON-lines file into a T, for a
// test: a file or line that cannot be read fails it.
func MustDecodeLines[T any](tb testing.TB, path string) []T {
	tb.Helper()
	lines := MustLines(tb, path)
	out := make([]T, len(lines))
	for i, line := range lines {
		if err := json.Unmarshal([]byte(line), &out[i]); err != nil {
			tb.Fatalf("%s:%d: %v", path, i+1, err)
		}
	}
	return out
}

// Body renders line i (0-based) in a shape: "json" (receiver map) or "xml".
func (s *Stream) Body(shape string, i int) (pcommon.Value, error) {
	if shape == "xml" {
		return pcommon.NewValueStr(s.XML[i]), nil
	}
	m, err := winevent.MapFromJSON([]byte(s.JSON[i]))
	if err != nil {
		return pcommon.Value{}, err
	}
	v := pcommon.NewValueMap()
	m.MoveTo(v.Map())
	return v, nil
}

// Time is line i's system_time (Unix ns), for shuffling.
func (s *Stream) Time(i int) int64 {
	var m struct {
		SystemTime string `json:"system_time"`
	}
	_ = json.Unmarshal([]byte(s.JSON[i]), &m)
	t, _ := winevent.ParseTime(m.SystemTime)
	return t
}

// Shuffled returns the 0-based line order with every event moved by up to
// jitter nanoseconds of its time (deterministic for a seed).
func (s *Stream) Shuffled(seed, jitter int64) []int {
	r := rand.New(rand.NewSource(seed))
	type k struct {
		i   int
		key int64
	}
	keys := make([]k, len(s.JSON))
	for i := range keys {
		keys[i] = k{i, s.Time(i) + r.Int63n(jitter)}
	}
	sort.SliceStable(keys, func(a, b int) bool { return keys[a].key < keys[b].key })
	order := make([]int, len(keys))
	for i, x := range keys {
		order[i] = x.i
	}
	return order
}

// Observed is one correlation finding as a test saw it.
type Observed struct {
	Host              string
	EventID           int64
	RecordID          int64
	Feature           string
	Late              bool
	RemoteAddress     string
	RemotePort        int
	LocalPort         int
	ServerCommandLine string
	ServerPID         int64
	LogonID           string
	Account           string
	Domain            string
	AuthPackage       string
	LogonProcess      string
	Workstation       string
}

// Report is the outcome for one stream.
type Report struct {
	RequiredFound, Required int
	OptionalFound           int
	LookalikesFlagged       int
	Late                    int
	Errors                  []string
}

func (r *Report) String() string {
	return fmt.Sprintf("required %d/%d, optional %d, look-alikes flagged %d, late findings %d",
		r.RequiredFound, r.Required, r.OptionalFound, r.LookalikesFlagged, r.Late)
}

// Check compares findings with the stream's expect file: every required
// entry found with its values, nothing on a look-alike line, nothing on a
// line without an entry for that feature, and the values of optional
// findings right too.
func (s *Stream) Check(obs []Observed) *Report {
	rep := &Report{}
	errf := func(format string, a ...any) { rep.Errors = append(rep.Errors, fmt.Sprintf(format, a...)) }
	byLine := map[int][]Observed{}
	for _, o := range obs {
		line, ok := s.Index[Key(o.Host, o.EventID, o.RecordID)]
		if !ok {
			errf("finding about an unknown record %s %d %d", o.Host, o.EventID, o.RecordID)
			continue
		}
		byLine[line] = append(byLine[line], o)
		if o.Late {
			rep.Late++
		}
	}
	expect := map[int]map[string]*Expect{}
	none := map[int]*Expect{}
	for i := range s.Expect {
		e := &s.Expect[i]
		if e.Feature == None {
			none[e.Line] = e
			continue
		}
		if expect[e.Line] == nil {
			expect[e.Line] = map[string]*Expect{}
		}
		expect[e.Line][e.Feature] = e
	}
	lookalikes := map[int]bool{}
	found := map[int]map[string]bool{}
	for line, list := range byLine {
		if _, ok := none[line]; ok {
			lookalikes[line] = true
			errf("line %d: look-alike flagged (%s)", line, list[0].Feature)
			continue
		}
		for _, o := range list {
			feature := o.Feature
			if feature == AddressLogon {
				feature = InboundChild
			}
			e := expect[line][feature]
			if e == nil {
				errf("line %d: unexpected %s finding", line, o.Feature)
				continue
			}
			if msg := compare(e, &o); msg != "" {
				errf("line %d %s: %s", line, o.Feature, msg)
				continue
			}
			if found[line] == nil {
				found[line] = map[string]bool{}
			}
			found[line][o.Feature] = true
		}
	}
	rep.LookalikesFlagged = len(lookalikes)
	for line, features := range expect {
		for feature, e := range features {
			ok := found[line][feature]
			if ok && feature == InboundChild && e.Required && e.AddressLogon != nil && !found[line][AddressLogon] {
				errf("line %d: inbound child found without the logon of its connection's remote end", line)
				ok = false
			}
			switch {
			case e.Required:
				rep.Required++
				if ok {
					rep.RequiredFound++
				} else {
					errf("line %d: required %s not found", line, feature)
				}
			case ok:
				rep.OptionalFound++
			}
		}
	}
	sort.Strings(rep.Errors)
	return rep
}

func compare(e *Expect, o *Observed) string {
	var diffs []string
	eq := func(name string, want, got any) {
		// Windows writes "-" for no value; attributes leave such values out.
		if w := fmt.Sprint(want); w != fmt.Sprint(got) && (w != "-" || fmt.Sprint(got) != "") {
			diffs = append(diffs, fmt.Sprintf("%s: want %v, got %v", name, want, got))
		}
	}
	switch o.Feature {
	case InboundChild:
		eq("remote_address", e.RemoteAddress, o.RemoteAddress)
		eq("remote_port", e.RemotePort, o.RemotePort)
		if e.LocalPort != 0 {
			eq("local_port", e.LocalPort, o.LocalPort)
		}
	case AddressLogon:
		if e.AddressLogon == nil {
			// An optional entry that lists no logon (the 4688 copy of a
			// ShellWindows child): nothing to compare with.
			return ""
		}
		eq("logon_id", e.AddressLogon.LogonID, o.LogonID)
		eq("account", e.AddressLogon.Account, o.Account)
		eq("domain", e.AddressLogon.Domain, o.Domain)
		eq("auth_package", e.AddressLogon.AuthPackage, o.AuthPackage)
		eq("remote_address", e.RemoteAddress, o.RemoteAddress)
		eq("remote_port", e.RemotePort, o.RemotePort)
	case ServerChild:
		eq("server_command_line", e.ServerCommandLine, o.ServerCommandLine)
		if pid, err := strconv.ParseInt(strings.TrimPrefix(e.ServerPID, "0x"), 16, 64); err == nil {
			eq("server_pid", pid, o.ServerPID)
		}
	case Logon:
		eq("logon_id", e.LogonID, o.LogonID)
		eq("remote_address", e.RemoteAddress, o.RemoteAddress)
		eq("remote_port", e.RemotePort, o.RemotePort)
		eq("account", e.Account, o.Account)
		eq("domain", e.Domain, o.Domain)
		eq("auth_package", e.AuthPackage, o.AuthPackage)
		eq("logon_process", e.LogonProcess, o.LogonProcess)
		eq("workstation", e.Workstation, o.Workstation)
	}
	return strings.Join(diffs, "; ")
}

// Shapes are the body shapes Record renders: the windowseventlog
// receiver's map and its event_data array form, raw XML, a flat map body,
// the flat map as attributes beside a text body, a JSON text body, and
// Winlogbeat's winlog map, and NXLog's flat map (EventTime in UTC without a
// zone, to the second, as GenerateDateInUTC writes it; Hostname,
// SourceName, RecordNumber).
var Shapes = []string{
	"receiver map", "receiver array", "raw xml", "flat map body", "flat attributes", "json string", "winlogbeat",
	"nxlog",
}

type receiverLine struct {
	EventID struct {
		ID int64 `json:"id"`
	} `json:"event_id"`
	Provider struct {
		Name string `json:"name"`
	} `json:"provider"`
	Channel    string            `json:"channel"`
	Computer   string            `json:"computer"`
	RecordID   int64             `json:"record_id"`
	SystemTime string            `json:"system_time"`
	EventData  map[string]string `json:"event_data"`
}

// Record renders line i (0-based) into a record in one of Shapes.
func (s *Stream) Record(shape string, i int, lr plog.LogRecord) error {
	line := s.JSON[i]
	var r receiverLine
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return err
	}
	flat := map[string]any{
		"EventID": r.EventID.ID, "Channel": r.Channel, "Computer": r.Computer, "ProviderName": r.Provider.Name,
		"EventRecordID": r.RecordID, "TimeCreated": r.SystemTime,
	}
	for k, v := range r.EventData {
		flat[k] = v
	}
	var doc any
	switch shape {
	case "raw xml":
		lr.Body().SetStr(s.XML[i])
		return nil
	case "receiver map":
		doc = json.RawMessage(line)
	case "receiver array":
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return err
		}
		keys := make([]string, 0, len(r.EventData))
		for k := range r.EventData {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		array := make([]map[string]string, 0, len(keys))
		for _, k := range keys {
			array = append(array, map[string]string{k: r.EventData[k]})
		}
		raw["event_data"] = map[string]any{"data": array}
		doc = raw
	case "flat map body", "flat attributes", "json string":
		doc = flat
	case "nxlog":
		nx := map[string]any{
			"EventID": r.EventID.ID, "Channel": r.Channel, "Hostname": r.Computer, "SourceName": r.Provider.Name,
			"RecordNumber": r.RecordID, "Severity": "INFO",
		}
		if t, err := time.Parse(time.RFC3339Nano, r.SystemTime); err == nil {
			nx["EventTime"] = t.UTC().Format(time.DateTime)
		}
		for k, v := range r.EventData {
			nx[k] = v
		}
		doc = nx
	case "winlogbeat":
		doc = map[string]any{
			"@timestamp": r.SystemTime,
			"winlog": map[string]any{
				"event_id": r.EventID.ID, "channel": r.Channel, "computer_name": r.Computer,
				"provider_name": r.Provider.Name, "record_id": r.RecordID, "event_data": r.EventData,
			},
		}
	default:
		return fmt.Errorf("unknown shape %q", shape)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if shape == "json string" {
		lr.Body().SetStr(string(b))
		return nil
	}
	m, err := winevent.MapFromJSON(b)
	if err != nil {
		return err
	}
	if shape == "flat attributes" {
		m.CopyTo(lr.Attributes())
		lr.Body().SetStr("A Windows event.")
		return nil
	}
	m.MoveTo(lr.Body().SetEmptyMap())
	return nil
}

// Observe reads the correlation findings back from the records the
// processor passed on: annotations on a record, and late records (the
// processor's attribute names, correlation.go). patterns maps a record's Key
// to the DetectionPattern on it or on the late alert about it.
func Observe(lds []plog.Logs) (obs []Observed, patterns map[string]string) {
	patterns = map[string]string{} // record key -> DetectionPattern of the record or its late alert
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					attrs := lr.Attributes()
					var base Observed
					if late, ok := attrs.Get("dcom.correlation.late"); ok && late.Bool() {
						base.Late = true
						base.Host = attrStr(attrs, "dcom.correlation.host")
						base.EventID = attrInt(attrs, "dcom.correlation.record.event_id")
						base.RecordID = attrInt(attrs, "dcom.correlation.record.record_id")
					} else {
						var ce winevent.Event
						if !winevent.ReadContext(lr.Body(), lr.Attributes(), &ce) {
							continue
						}
						base.Host, base.EventID, base.RecordID = ce.Computer, ce.EventID, ce.RecordID
					}
					// the pattern of a record: on it, or on the late alert about it
					if p := attrStr(attrs, "DetectionPattern"); p != "" {
						patterns[Key(base.Host, base.EventID, base.RecordID)] = p
					}
					kindsValue, ok := attrs.Get("dcom.correlation.kinds")
					if !ok {
						continue
					}
					var kinds []string
					for _, v := range kindsValue.Slice().All() {
						kinds = append(kinds, v.Str())
					}
					if slices.Contains(kinds, "inbound_child") {
						o := base
						o.Feature = InboundChild
						o.RemoteAddress = attrStr(attrs, "source.address")
						o.RemotePort = int(attrInt(attrs, "source.port"))
						o.LocalPort = int(attrInt(attrs, "destination.port"))
						obs = append(obs, o)
					}
					if slices.Contains(kinds, "server_child") {
						o := base
						o.Feature = ServerChild
						o.ServerCommandLine = attrStr(attrs, "dcom.correlation.server.command_line")
						o.ServerPID = attrInt(attrs, "dcom.correlation.server.pid")
						obs = append(obs, o)
					}
					if join := attrStr(attrs, "dcom.correlation.logon.joined_on"); join != "" {
						o := base
						o.Feature = Logon
						if join == "address_port" {
							o.Feature = AddressLogon
						}
						o.LogonID = attrStr(attrs, "dcom.correlation.logon.id")
						o.Account, o.Domain = attrStr(attrs, "user.name"), attrStr(attrs, "user.domain")
						o.AuthPackage, o.LogonProcess = attrStr(attrs, "dcom.correlation.logon.authentication_package"), attrStr(attrs, "dcom.correlation.logon.process")
						o.Workstation = attrStr(attrs, "dcom.correlation.logon.workstation")
						o.RemoteAddress, o.RemotePort = attrStr(attrs, "source.address"), int(attrInt(attrs, "source.port"))
						obs = append(obs, o)
					}
				}
			}
		}
	}
	return obs, patterns
}

func attrStr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func attrInt(m pcommon.Map, key string) int64 {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeInt {
		return v.Int()
	}
	return 0
}
