package winevent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// contextLine is one stream event (testdata/streams), rendered once in
// every shape ReadContext reads. The tests share these values and only read
// them, so subtests over shapes run in parallel.
type contextLine struct {
	receiver receiverLine
	xml      string
	shapes   map[string]renderedShape
}

type renderedShape struct {
	body  pcommon.Value
	attrs pcommon.Map
}

// contextShapeNames are the shapes of contextLine, in a fixed order.
var contextShapeNames = []string{
	"receiver map", "receiver array", "raw xml", "flat map body", "flat attributes", "json string", "winlogbeat",
}

var contextFixture struct {
	once  sync.Once
	lines []contextLine
	err   error
}

// contextLines reads and renders the streams' events on first use.
func contextLines(t testing.TB) []contextLine {
	t.Helper()
	contextFixture.once.Do(func() { contextFixture.lines, contextFixture.err = loadContextLines() })
	require.NoError(t, contextFixture.err)
	require.Greater(t, len(contextFixture.lines), 1400)
	return contextFixture.lines
}

// loadContextLines reads every stream's receiver-map and XML lines.
func loadContextLines() ([]contextLine, error) {
	matches, err := filepath.Glob(filepath.Join("..", "..", "testdata", "streams", "*.stream.json"))
	if err != nil {
		return nil, err
	}
	if len(matches) != 6 {
		return nil, fmt.Errorf("%d streams in testdata/streams, want 6", len(matches))
	}
	read := func(path string) ([]string, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		return out, sc.Err()
	}
	var lines []contextLine
	for _, m := range matches {
		j, err := read(m)
		if err != nil {
			return nil, err
		}
		x, err := read(strings.TrimSuffix(m, ".json") + ".xml")
		if err != nil {
			return nil, err
		}
		if len(x) != len(j) {
			return nil, fmt.Errorf("%s: %d JSON lines, %d XML lines", m, len(j), len(x))
		}
		for i := range j {
			l, err := renderContextLine(j[i], x[i])
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", m, i+1, err)
			}
			lines = append(lines, l)
		}
	}
	return lines, nil
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

// renderContextLine renders one receiver-map line in every shape ReadContext
// reads: body, attributes.
func renderContextLine(line, xml string) (contextLine, error) {
	l := contextLine{xml: xml, shapes: map[string]renderedShape{}}
	if err := json.Unmarshal([]byte(line), &l.receiver); err != nil {
		return l, err
	}
	r := l.receiver
	// The streams' receiver lines were rendered without the user id the
	// receiver writes (security.user_id); it is taken from the XML into
	// every shape, under each one's name for it.
	userID := xmlUserID(xml)
	flat := map[string]any{
		"EventID": r.EventID.ID, "Channel": r.Channel, "Computer": r.Computer, "ProviderName": r.Provider.Name,
		"EventRecordID": r.RecordID, "TimeCreated": r.SystemTime,
	}
	if userID != "" {
		flat["UserID"] = userID
	}
	for k, v := range r.EventData {
		flat[k] = v
	}
	var array []map[string]string
	for k, v := range r.EventData {
		array = append(array, map[string]string{k: v})
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		return l, err
	}
	var receiver map[string]any
	if err := json.Unmarshal([]byte(line), &receiver); err != nil {
		return l, err
	}
	if userID != "" {
		raw["security"] = map[string]any{"user_id": userID}
		receiver["security"] = map[string]any{"user_id": userID}
	}
	raw["event_data"] = map[string]any{"data": array}
	winlog := map[string]any{
		"event_id": r.EventID.ID, "channel": r.Channel, "computer_name": r.Computer,
		"provider_name": r.Provider.Name, "record_id": r.RecordID, "event_data": r.EventData,
	}
	if userID != "" {
		winlog["user"] = map[string]any{"identifier": userID}
	}
	winlogbeat := map[string]any{"@timestamp": r.SystemTime, "winlog": winlog}
	// The map shapes as JSON.
	mapJSON := map[string][]byte{}
	for name, v := range map[string]any{"receiver map": receiver, "receiver array": raw, "flat map body": flat, "winlogbeat": winlogbeat} {
		b, err := json.Marshal(v)
		if err != nil {
			return l, err
		}
		mapJSON[name] = b
	}
	for name, b := range mapJSON {
		m, err := MapFromJSON(b)
		if err != nil {
			return l, err
		}
		body := pcommon.NewValueMap()
		m.CopyTo(body.Map())
		l.shapes[name] = renderedShape{body, pcommon.NewMap()}
	}
	// The flat map again, as attributes beside a text body (shared: the tests only read it).
	l.shapes["flat attributes"] = renderedShape{pcommon.NewValueStr("An account was logged on."), l.shapes["flat map body"].body.Map()}
	l.shapes["raw xml"] = renderedShape{pcommon.NewValueStr(xml), pcommon.NewMap()}
	l.shapes["json string"] = renderedShape{pcommon.NewValueStr(string(mapJSON["flat map body"])), pcommon.NewMap()}
	if len(l.shapes) != len(contextShapeNames) {
		return l, fmt.Errorf("%d shapes rendered, want %d", len(l.shapes), len(contextShapeNames))
	}
	return l, nil
}

// xmlUserID is the UserID of an event's <Security> element.
func xmlUserID(xml string) string {
	_, rest, ok := strings.Cut(xml, `<Security UserID="`)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// TestReadContextEveryShape reads every stream event in every shape and
// gets the same fields, and rejects the events the correlation does not use.
func TestReadContextEveryShape(t *testing.T) {
	lines := contextLines(t)
	// The XML read is the reference; each shape is a parallel subtest.
	want := make([]Event, len(lines))
	ok := make([]bool, len(lines))
	used, unused := 0, 0
	for i, l := range lines {
		r := l.receiver
		ok[i] = ReadContext(pcommon.NewValueStr(l.xml), pcommon.NewMap(), &want[i])
		require.Equal(t, IsKind(r.EventID.ID), ok[i], "line %d: event %d", i, r.EventID.ID)
		if ok[i] {
			used++
			assert.Equal(t, want[i].RecordID, r.RecordID)
			assert.Equal(t, want[i].Computer, r.Computer)
			assert.Equal(t, want[i].SystemTime, r.SystemTime)
		} else {
			unused++
		}
	}
	t.Logf("%d events read, %d rejected", used, unused)
	require.Greater(t, used, 1350, "with the PowerShell events")
	require.Greater(t, unused, 100)
	for _, name := range contextShapeNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for i, l := range lines {
				shape := l.shapes[name]
				var got Event
				require.Equal(t, ok[i], ReadContext(shape.body, shape.attrs, &got), "%s line %d", name, i)
				if !ok[i] {
					continue
				}
				got.Shape = want[i].Shape
				assert.Equal(t, want[i], got, "%s line %d", name, i)
			}
		})
	}
}

// TestReadContextAllocations: nothing for an unused event in any shape
// (JSON text included: its event id is found without decoding), nothing for
// a used event in a map shape or in XML without entities.
func TestReadContextAllocations(t *testing.T) {
	lines := contextLines(t)
	checked := map[string]int{}
	for i := 0; i < len(lines); i += 3 {
		l := lines[i]
		usedID := IsKind(l.receiver.EventID.ID)
		for _, name := range contextShapeNames {
			if usedID && (name == "json string" || (name == "raw xml" && strings.Contains(l.xml, "&"))) {
				continue
			}
			shape := l.shapes[name]
			var ev Event
			allocs := testing.AllocsPerRun(5, func() { ReadContext(shape.body, shape.attrs, &ev) })
			assert.Zero(t, allocs, "%s line %d (event %d)", name, i, l.receiver.EventID.ID)
			allocs = testing.AllocsPerRun(5, func() {
				Everything.ReadAdmitted(shape.body, shape.attrs, Everything.Admit(shape.body), &ev)
			})
			assert.Zero(t, allocs, "%s line %d (event %d): read in two steps", name, i, l.receiver.EventID.ID)
			checked[name]++
		}
	}
	assert.Len(t, checked, 7)
}

func TestReadContextSourceGate(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{`{"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"}`, true},
		{`{"EventID": 3, "Channel": "Application"}`, false},
		{`{"EventID": 5, "ProviderName": "Microsoft-Windows-Sysmon"}`, true},
		{`{"EventID": 5, "ProviderName": "Service Control Manager"}`, false},
		{`{"EventID": 4624, "Channel": "Security"}`, true},
		{`{"EventID": 4624, "Channel": "Microsoft-Windows-Sysmon/Operational"}`, false},
		{`{"EventID": 4689}`, true}, // a forwarder that drops both
		{`{"EventID": 4634, "Channel": "Security"}`, false},
		{`<Event><System><EventID>3</EventID><Channel>System</Channel></System></Event>`, false},
		// Without a channel the provider decides, in every shape; with one,
		// the channel does.
		{`{"event_id": {"id": 5}, "provider": {"name": "Microsoft-Windows-Sysmon"}}`, true},
		{`{"event_id": {"id": 5}, "provider": {"name": "Service Control Manager"}}`, false},
		{`{"event_id": {"id": 5}, "channel": "", "provider": {"name": "Microsoft-Windows-Sysmon"}}`, true},
		{`{"event_id": {"id": 5}, "channel": "Microsoft-Windows-Sysmon/Operational", "provider": {"name": "Service Control Manager"}}`, true},
		{`{"event_id": {"id": 5}, "channel": "Application", "provider": {"name": "Microsoft-Windows-Sysmon"}}`, false},
		{`<Event><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>5</EventID></System></Event>`, true},
		{`<Event><System><Provider Name="Service Control Manager"/><EventID>5</EventID></System></Event>`, false},
		{`<Event><System><Provider Name="Service Control Manager"/><EventID>5</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System></Event>`, true},
		{`{"winlog": {"event_id": "5", "provider_name": "Microsoft-Windows-Sysmon"}}`, true},
		{`{"winlog": {"event_id": "5", "provider_name": "Service Control Manager"}}`, false},
		{`{"winlog": {"event_id": "5", "channel": "Microsoft-Windows-Sysmon/Operational", "provider_name": "Service Control Manager"}}`, true},
	}
	for _, c := range cases {
		var ev Event
		assert.Equal(t, c.want, ReadContext(pcommon.NewValueStr(c.body), pcommon.NewMap(), &ev), c.body)
		if !c.want {
			assert.Equal(t, Event{}, ev, "a rejected event leaves nothing behind")
		}
	}
}

func TestReadContextEntitiesAndSystemFields(t *testing.T) {
	xml := `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F}'/>` +
		`<EventID>1</EventID><TimeCreated SystemTime='2020-09-18T17:08:36.030Z'/><EventRecordID>1729868</EventRecordID>` +
		`<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>W6</Computer></System><EventData>` +
		`<Data Name='CommandLine'>cmd.exe /c echo &quot;a&amp;b&quot;&#13;&#10;</Data><Data Name='Hashes'>&amp;ignored</Data>` +
		`<Data Name='ParentProcessId'>8200</Data><Data Name='RuleName'/></EventData></Event>`
	var ev Event
	require.True(t, ReadContext(pcommon.NewValueStr(xml), pcommon.NewMap(), &ev))
	assert.Equal(t, "cmd.exe /c echo \"a&b\"\r\n", ev.CommandLine)
	assert.Equal(t, "8200", ev.ParentProcessID)
	assert.Equal(t, int64(1729868), ev.RecordID)
	assert.Equal(t, "2020-09-18T17:08:36.030Z", ev.SystemTime)
	assert.Empty(t, ev.Provider, "read only without a channel")
	assert.Equal(t, ShapeRawXML, ev.Shape)
}

func TestJSONEventID(t *testing.T) {
	cases := map[string]int64{
		`{"event_id": {"id": 4688, "qualifiers": 0}, "channel": "Security"}`: 4688,
		`{"event_id":{"qualifiers":0,"id":4103}}`:                            4103,
		`{"winlog": {"event_id": "4624", "channel": "Security"}}`:            4624,
		`{"EventID": 7, "Channel": "x"}`:                                     7,
		`{"EventCode" : "10016"}`:                                            10016,
	}
	for s, want := range cases {
		got, ok := jsonEventID(s)
		assert.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{`{"message": "EventID 4688"}`, `{"EventID": 4.5}`, `{"EventID": "x"}`, `{"event_id": {"name": 1}}`} {
		_, ok := jsonEventID(s)
		assert.False(t, ok, s)
	}
	// an event the correlation uses is still decoded in full
	var ev Event
	require.True(t, ReadContext(pcommon.NewValueStr(`{"EventID": 4689, "Channel": "Security", "ProcessId": "0x52c"}`), pcommon.NewMap(), &ev))
	assert.Equal(t, "0x52c", ev.ProcessID)
	assert.Equal(t, ShapeJSONString, ev.Shape)
}

func TestParseTime(t *testing.T) {
	ref := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tm.UnixNano()
	}
	cases := map[string]int64{
		"2020-09-18T17:08:36.030Z":          ref("2020-09-18T17:08:36.030Z"),
		"2021-04-26T15:16:04.047085300Z":    ref("2021-04-26T15:16:04.0470853Z"),
		"2020-09-18 17:08:36.030":           ref("2020-09-18T17:08:36.030Z"),
		"2020-09-18T17:08:36Z":              ref("2020-09-18T17:08:36Z"),
		"2020-09-18T19:08:36.5+02:00":       ref("2020-09-18T17:08:36.5Z"),
		"2020-09-18T12:08:36-05:00":         ref("2020-09-18T17:08:36Z"),
		" 2020-09-18T17:08:36.1234567891Z ": ref("2020-09-18T17:08:36.123456789Z"),
	}
	for s, want := range cases {
		got, ok := ParseTime(s)
		assert.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "-", "2020-09-18", "2020-13-18T17:08:36Z", "2020-09-18T17:08:36.Z", "2020-09-18T17:08:36+0200", "yesterday at noon"} {
		_, ok := ParseTime(s)
		assert.False(t, ok, s)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = ParseTime("2020-09-18T17:08:36.030Z") })
	assert.Zero(t, allocs)
}

func BenchmarkReadContext(b *testing.B) {
	lines := contextLines(b)
	for _, used := range []bool{false, true} {
		for _, name := range []string{"receiver map", "raw xml", "json string", "winlogbeat"} {
			var bodies []pcommon.Value
			var attrs []pcommon.Map
			for _, l := range lines {
				if IsKind(l.receiver.EventID.ID) != used || (used && strings.Contains(l.xml, "&")) {
					continue
				}
				bodies = append(bodies, l.shapes[name].body)
				attrs = append(attrs, l.shapes[name].attrs)
				if len(bodies) == 200 {
					break
				}
			}
			label := map[bool]string{false: "unused-id", true: "used-id"}[used]
			b.Run(label+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				var ev Event
				for b.Loop() {
					for i := range bodies {
						ReadContext(bodies[i], attrs[i], &ev)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bodies)), "ns/record")
			})
		}
	}
}

// project keeps of a fully read event only the fields in want, and the
// fields every read fills.
func project(ev Event, want Fields) Event {
	for f := EventDataFields; f != 0; f &= f - 1 {
		if b := f & -f; want&b == 0 {
			*ev.slot(b) = ""
		}
	}
	if want&FieldSystemTime == 0 {
		ev.SystemTime, ev.EventTime = "", ""
	}
	if want&FieldRecordID == 0 {
		ev.RecordID = 0
	}
	if want&FieldUserID == 0 {
		ev.UserID = ""
	}
	return ev
}

// fieldsReader reads the given fields of every kind.
func fieldsReader(want Fields) *Reader { return NewReader(EveryKind(want)...) }

// readFields reads with r and reports whether the event is of a known kind
// from its expected log (as ReadContext does with every field).
func readFields(r *Reader, body pcommon.Value, attrs pcommon.Map, ev *Event) bool {
	if r.Read(body, attrs, ev) != Filled || !ev.FromExpectedLog() {
		*ev = Event{}
		return false
	}
	return true
}

// decisionNeeds decide on a field or two whether to read the rest, as the
// correlation's needs do.
var decisionNeeds = []Need{
	{
		ID: SysmonNetworkConnect, First: FieldProtocol | FieldInitiated | FieldImage | FieldSourceIP | FieldUtcTime | FieldSystemTime,
		Rest: AllFields, By: FieldImage | FieldInitiated,
		More: func(image, initiated string) bool {
			return initiated == "false" && strings.HasSuffix(strings.ToLower(image), `\explorer.exe`)
		},
	},
	{
		ID: SecurityLogon, First: FieldLogonType, Rest: FieldTargetLogonID | FieldIPAddress | FieldSystemTime | FieldRecordID,
		By: FieldLogonType, More: func(logonType, _ string) bool { return logonType == "3" },
	},
	{
		ID: SecurityProcessExit, First: FieldProcessName, Rest: FieldProcessID | FieldSystemTime,
		By: FieldProcessName, More: func(name, _ string) bool { return strings.Contains(strings.ToLower(name), "mmc") },
	},
	{ID: SysmonProcessCreate, First: AllFields},
	{ID: SecurityProcessCreate, First: FieldImage, Rest: FieldCommandLine}, // no More: both read
}

var decisionReader = NewReader(decisionNeeds...)

// decided is what decisionReader fills of an event, from its full read.
func decided(full Event) (Event, bool) {
	for _, n := range decisionNeeds {
		if n.ID != full.EventID {
			continue
		}
		want := n.First | n.By
		if n.More == nil {
			want |= n.Rest
		} else {
			var values [2]string
			i := 0
			for b := n.By; b != 0; b &= b - 1 {
				values[i] = *full.slot(b & -b)
				i++
			}
			if n.More(values[0], values[1]) {
				want |= n.Rest
			}
		}
		return project(full, want), true
	}
	return Event{}, false
}

// TestReadContextFieldsFillsWhatIsWanted reads every stream event in every
// shape with the field sets the correlation asks for, and with each single
// field: the result is the full read restricted to those fields.
func TestReadContextFieldsFillsWhatIsWanted(t *testing.T) {
	lines := contextLines(t)
	masks := []Fields{
		0,
		FieldProtocol | FieldInitiated | FieldImage | FieldSourceIP,
		FieldProcessID | FieldProcessGUID | FieldUtcTime | FieldSystemTime,
		FieldLogonType,
		FieldTargetLogonID | FieldIPAddress | FieldIPPort | FieldTargetUserName | FieldTargetDomainName |
			FieldAuthenticationPackageName | FieldLogonProcessName | FieldWorkstationName | FieldSystemTime | FieldRecordID,
		EventDataFields,
		AllFields,
	}
	for f := AllFields; f != 0; f &= f - 1 {
		masks = append(masks, f&-f)
	}
	readers := make([]*Reader, len(masks))
	for i, want := range masks {
		readers[i] = fieldsReader(want)
	}
	// One parallel subtest per shape; each counts the comparisons it made.
	checked := make([]int, len(contextShapeNames))
	decisions := make([]int, len(contextShapeNames))
	t.Run("shapes", func(t *testing.T) {
		for s, name := range contextShapeNames {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for i, l := range lines {
					shape := l.shapes[name]
					var full Event
					ok := ReadContext(shape.body, shape.attrs, &full)
					for _, reader := range []*Reader{Everything, decisionReader, processReader} {
						var want, got Event
						r1 := reader.Read(shape.body, shape.attrs, &want)
						r2 := reader.ReadAdmitted(shape.body, shape.attrs, reader.Admit(shape.body), &got)
						require.Equal(t, r1, r2, "%s line %d: read in two steps", name, i)
						require.Equal(t, want, got, "%s line %d: read in two steps", name, i)
					}
					var dec Event
					decOK := readFields(decisionReader, shape.body, shape.attrs, &dec)
					if want, read := decided(full); ok && read {
						require.True(t, decOK, "%s line %d: a decision plan reads what a full read reads", name, i)
						assert.Equal(t, want, dec, "%s line %d: decision plan", name, i)
						decisions[s]++
					}
					for m, want := range masks {
						var got Event
						require.Equal(t, ok, readFields(readers[m], shape.body, shape.attrs, &got), "%s line %d fields %x", name, i, want)
						if ok {
							assert.Equal(t, project(full, want), got, "%s line %d fields %x", name, i, want)
							checked[s]++
						}
					}
					if t.Failed() {
						return
					}
				}
			})
		}
	})
	total, totalDecisions := 0, 0
	for s, n := range checked {
		total += n
		totalDecisions += decisions[s]
	}
	require.Greater(t, total, 900*7*len(masks)/2)
	require.Greater(t, totalDecisions, 300*7)
}

// TestFieldNamesRoundTrip: every Windows name fills its own event data
// field, and every event data field has a name.
func TestFieldNamesRoundTrip(t *testing.T) {
	names := []string{
		"UtcTime", "ProcessGuid", "ProcessId", "Image", "ParentProcessGuid", "ParentProcessId",
		"ParentImage", "CommandLine", "ParentCommandLine", "OriginalFileName", "User", "LogonId", "Protocol", "Initiated", "SourceIp",
		"SourceHostname", "SourcePort", "DestinationIp", "DestinationHostname", "DestinationPort",
		"NewProcessId", "NewProcessName", "ParentProcessName", "ProcessName", "SubjectUserName",
		"SubjectDomainName", "SubjectLogonId", "TargetUserName", "TargetDomainName", "TargetLogonId",
		"LogonType", "LogonProcessName", "AuthenticationPackageName", "WorkstationName",
		"IpAddress", "IpPort", "ScriptBlockText", "ScriptBlockId", "MessageNumber", "MessageTotal", "Path",
		"Payload", "ContextInfo", "Hashes", "CurrentDirectory", "IntegrityLevel", "Description", "Product",
		"Company", "FileVersion", "LogonGuid", "TerminalSessionId", "ParentUser", "MandatoryLabel", "TokenElevationType",
	}
	var all Fields
	for _, name := range names {
		f := fieldOf(name)
		require.NotZero(t, f, name)
		require.Zero(t, all&f, "%s fills a field another name fills", name)
		require.Equal(t, 1, bits.OnesCount64(uint64(f)), name)
		var ev Event
		require.NotNil(t, ev.slot(f), name)
		require.Equal(t, f, ev.setField(name, "x", AllFields), name)
		all |= f
	}
	require.Equal(t, EventDataFields, all, "every event data field has a name")
	require.Equal(t, Fields(0), fieldOf("RuleName"))
}

// NXLog's flat map carries the event's time as EventTime (im_msvistalog)
// or TimeGenerated (im_mseventlog), beside or instead of TimeCreated; it is
// read whatever the order of the keys, and never mistaken for TimeCreated.
func TestReadContextNXLogEventTime(t *testing.T) {
	for _, key := range []string{"EventTime", "TimeGenerated"} {
		body := pcommon.NewValueMap()
		m := body.Map()
		m.PutInt("EventID", 3)
		m.PutStr("SourceName", "Microsoft-Windows-Sysmon")
		m.PutStr("Channel", "Microsoft-Windows-Sysmon/Operational")
		m.PutStr("Hostname", "WS01.corp.example")
		m.PutStr(key, "2026-11-02 09:00:01")
		m.PutStr("Initiated", "true")
		var ev Event
		require.True(t, readFields(fieldsReader(FieldSystemTime|FieldInitiated), body, pcommon.NewMap(), &ev), key)
		assert.Equal(t, "2026-11-02 09:00:01", ev.EventTime, key)
		assert.Empty(t, ev.SystemTime, key)
		at, ok := ParseTime(ev.EventTime)
		require.True(t, ok)
		assert.Equal(t, time.Date(2026, 11, 2, 9, 0, 1, 0, time.UTC).UnixNano(), at, "%s: read as UTC", key)

		m.PutStr("TimeCreated", "2026-11-02T09:00:01.250Z")
		require.True(t, readFields(fieldsReader(FieldSystemTime), body, pcommon.NewMap(), &ev))
		assert.Equal(t, "2026-11-02T09:00:01.250Z", ev.SystemTime, key)
		assert.Equal(t, "2026-11-02 09:00:01", ev.EventTime, key)

		require.True(t, readFields(fieldsReader(FieldInitiated), body, pcommon.NewMap(), &ev))
		assert.Empty(t, ev.EventTime, "%s: not wanted, not read", key)
	}
}

// TestAPlanReadsAnyEventKind: a plan is data. A need of an event id no
// consumer reads today (Security 4672, special privileges at logon) reads
// it in every shape with no other change, and the walks give the same
// event in each.
func TestAPlanReadsAnyEventKind(t *testing.T) {
	reader := NewReader(Need{ID: 4672, First: FieldSubjectUserName | FieldSubjectLogonID | FieldSystemTime | FieldRecordID})
	lines := contextLines(t)
	read := 0
	for i, l := range lines {
		if l.receiver.EventID.ID != 4672 {
			continue
		}
		var want Event
		require.Equal(t, Filled, reader.Read(pcommon.NewValueStr(l.xml), pcommon.NewMap(), &want), "line %d", i)
		require.NotEmpty(t, want.SubjectUserName, "line %d", i)
		require.NotEmpty(t, want.SubjectLogonID, "line %d", i)
		require.Empty(t, want.SubjectDomainName, "line %d: not asked for", i)
		for _, name := range contextShapeNames {
			shape := l.shapes[name]
			var got Event
			require.Equal(t, Filled, reader.Read(shape.body, shape.attrs, &got), "%s line %d", name, i)
			got.Shape = want.Shape
			assert.Equal(t, want, got, "%s line %d", name, i)
		}
		read++
	}
	require.Greater(t, read, 50)
}
