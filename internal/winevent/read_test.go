package winevent

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var catalogueDir = filepath.Join("..", "..", "testdata", "catalogue")

// bodyShape renders one fixture line into a log record the way a receiver or
// forwarder delivers it (the same renderings as the root package's tests).
type bodyShape struct {
	name   string
	file   string
	shape  Shape
	render func(t testing.TB, line string, lr plog.LogRecord)
}

func renderMapBody(t testing.TB, line string, lr plog.LogRecord) {
	m, err := MapFromJSON([]byte(line))
	require.NoError(t, err)
	m.CopyTo(lr.Body().SetEmptyMap())
}

var bodyShapes = []bodyShape{
	{"receiver map", "map.jsonl", ShapeReceiverMap, renderMapBody},
	{"receiver array", "array.jsonl", ShapeReceiverArray, renderMapBody},
	{"raw xml", "events.xml", ShapeRawXML, func(_ testing.TB, line string, lr plog.LogRecord) { lr.Body().SetStr(line) }},
	{"flat map body", "flat.jsonl", ShapeFlatMap, renderMapBody},
	{"flat attributes", "flat.jsonl", ShapeFlatAttributes, func(t testing.TB, line string, lr plog.LogRecord) {
		m, err := MapFromJSON([]byte(line))
		require.NoError(t, err)
		m.CopyTo(lr.Attributes())
		lr.Body().SetStr("A new process has been created.")
	}},
	{"json string body", "flat.jsonl", ShapeJSONString, func(_ testing.TB, line string, lr plog.LogRecord) { lr.Body().SetStr(line) }},
	{"winlogbeat", "winlogbeat.jsonl", ShapeWinlogbeat, renderMapBody},
}

func fixtureLines(t testing.TB, name string) []string {
	t.Helper()
	return linesOf(t, filepath.Join(catalogueDir, name))
}

// linesOf reads the non-empty lines of a test data file.
func linesOf(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	require.NoError(t, sc.Err())
	return lines
}

type catalogueRecord struct {
	ID    string         `json:"id"`
	Event map[string]any `json:"event"`
}

func catalogueRecords(t testing.TB) []catalogueRecord {
	t.Helper()
	var out []catalogueRecord
	for _, line := range fixtureLines(t, "catalogue.jsonl") {
		var r catalogueRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		out = append(out, r)
	}
	require.Len(t, out, 78)
	return out
}

// readRecord renders a line in a shape and reads it back.
func readRecord(t testing.TB, s bodyShape, line string) (Event, Result) {
	t.Helper()
	lr := plog.NewLogRecord()
	s.render(t, line, lr)
	var ev Event
	r := readProcess(lr.Body(), lr.Attributes(), &ev)
	return ev, r
}

// TestEveryShapeAgrees reads each of the 78 catalogue events in all seven
// body shapes: every shape must give the same Event (apart from Shape),
// and that event must carry exactly the catalogue's fields.
func TestEveryShapeAgrees(t *testing.T) {
	records := catalogueRecords(t)
	events := make([][]Event, len(bodyShapes))
	for si, s := range bodyShapes {
		lines := fixtureLines(t, s.file)
		require.Len(t, lines, 78, s.name)
		for i, line := range lines {
			ev, r := readRecord(t, s, line)
			require.Equal(t, Filled, r, "%s %s", s.name, records[i].ID)
			assert.Equal(t, s.shape, ev.Shape, "%s %s", s.name, records[i].ID)
			events[si] = append(events[si], ev)
		}
	}
	for i, rec := range records {
		want := events[0][i]
		want.Shape = ShapeNone
		for si := 1; si < len(bodyShapes); si++ {
			got := events[si][i]
			got.Shape = ShapeNone
			assert.Equal(t, want, got, "%s: %s disagrees with %s", rec.ID, bodyShapes[si].name, bodyShapes[0].name)
		}
		// The fields the brief names, against the catalogue itself.
		ev := events[0][i]
		assert.Equal(t, int64(rec.Event["EventID"].(float64)), ev.EventID, rec.ID)
		assert.Equal(t, rec.ID+".catalogue.test", ev.Computer, rec.ID)
		for field, get := range map[string]func(*Event) string{
			"Image":             func(e *Event) string { return e.Image },
			"NewProcessName":    func(e *Event) string { return e.NewProcessName },
			"ParentImage":       func(e *Event) string { return e.ParentImage },
			"ParentProcessName": func(e *Event) string { return e.ParentProcessName },
			"CommandLine":       func(e *Event) string { return e.CommandLine },
			"ParentCommandLine": func(e *Event) string { return e.ParentCommandLine },
			"User":              func(e *Event) string { return e.User },
			"OriginalFileName":  func(e *Event) string { return e.OriginalFileName },
			"SubjectUserName":   func(e *Event) string { return e.SubjectUserName },
			"TargetUserName":    func(e *Event) string { return e.TargetUserName },
			"TargetLogonId":     func(e *Event) string { return e.TargetLogonID },
		} {
			want, _ := rec.Event[field].(string)
			assert.Equal(t, want, get(&ev), "%s %s", rec.ID, field)
		}
		switch {
		case rec.Event["Channel"] == "System":
			assert.Equal(t, "System", ev.Channel, rec.ID)
		case ev.EventID == SecurityProcessCreate:
			assert.Equal(t, "Security", ev.Channel, rec.ID)
		default:
			assert.Equal(t, "Microsoft-Windows-Sysmon/Operational", ev.Channel, rec.ID)
		}
		assert.Empty(t, ev.Provider, "%s: the channel decides the log; the provider is not read", rec.ID)
	}
}

// TestXMLEntities covers the entities the receiver's raw XML carries and the
// ones it must leave alone.
func TestXMLEntities(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a&#10;b", "a\nb"},
		{"a&#13;&#10;b", "a\r\nb"},
		{"x &amp; y", "x & y"},
		{"&quot;C:\\a b\\c.exe&quot; /x", `"C:\a b\c.exe" /x`},
		{"1 &lt; 2 &gt; 0", "1 < 2 > 0"},
		{"it&apos;s", "it's"},
		{"&#x41;&#X42;&#67;", "ABC"},
		{"&#x1F600;", "\U0001F600"},
		// unknown and malformed entities stay exactly as written
		{"&xxe;", "&xxe;"},
		{"&foo;bar&amp;", "&foo;bar&"},
		{"&", "&"},
		{"&&&", "&&&"},
		{"a & b", "a & b"},
		{"&amp", "&amp"},
		{"&;", "&;"},
		{"&#;", "&#;"},
		{"&#x;", "&#x;"},
		{"&#xZZ;", "&#xZZ;"},
		{"&#-1;", "&#-1;"},
		{"&#1114112;", "&#1114112;"},         // beyond U+10FFFF
		{"&#xD800;", "&#xD800;"},             // a surrogate
		{"&#99999999999;", "&#99999999999;"}, // overflows 32 bits
		{"&averyveryverylongname;", "&averyveryverylongname;"},
		{"&#x000000041;", "A"},                         // 13 bytes: the longest resolved
		{"&#x0000000041;", "&#x0000000041;"},           // 14 bytes: literal
		{"&&&&&&&&&&&&&&&&&amp;", "&&&&&&&&&&&&&&&&&"}, // a run of '&' before an entity
		{"&amp;amp;", "&amp;"},                         // one level only
	} {
		assert.Equal(t, tc.want, unescapeXML(tc.in), "%q", tc.in)
	}
}

func xmlEvent(id, data string) string {
	return `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>` +
		`<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>` +
		`<EventID>` + id + `</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel>` +
		`<Computer>host.example</Computer></System><EventData>` + data + `</EventData></Event>`
}

func TestXMLValuesUnescaped(t *testing.T) {
	body := pcommon.NewValueStr(xmlEvent("1",
		`<Data Name="Image">C:\Windows\System32\cmd.exe</Data>`+
			`<Data Name="CommandLine">cmd /c &quot;echo a &amp;&amp; echo b&quot;&#10;&#x41;&lt;&xxe;</Data>`+
			`<Data Name="ParentCommandLine"/>`+
			`<Data Name='User'>CORP\x</Data>`+
			`<DataX Name="Image">wrong</DataX>`+
			`<Data>anonymous</Data>`))
	var ev Event
	require.Equal(t, Filled, readProcess(body, pcommon.NewMap(), &ev))
	assert.Equal(t, ShapeRawXML, ev.Shape)
	assert.Equal(t, `C:\Windows\System32\cmd.exe`, ev.Image)
	assert.Equal(t, "cmd /c \"echo a && echo b\"\nA<&xxe;", ev.CommandLine)
	assert.Empty(t, ev.ParentCommandLine)
	assert.Equal(t, `CORP\x`, ev.User)
	assert.Equal(t, "host.example", ev.Computer)
	assert.Empty(t, ev.Provider, "read only without a channel")
	assert.Equal(t, "Microsoft-Windows-Sysmon/Operational", ev.Channel)
}

func TestXMLDoctypeNotExpanded(t *testing.T) {
	xml := `<?xml version="1.0"?><!DOCTYPE Event [<!ENTITY xxe SYSTEM "file:///etc/passwd">` +
		`<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		xmlEvent("1", `<Data Name="CommandLine">&xxe;&lol2;</Data><Data Name="Image">&lol;</Data>`)
	var ev Event
	require.Equal(t, Filled, readProcess(pcommon.NewValueStr(xml), pcommon.NewMap(), &ev))
	assert.Equal(t, "&xxe;&lol2;", ev.CommandLine)
	assert.Equal(t, "&lol;", ev.Image)
}

// TestEventIDTypes: an event id is read from an Int, an integral Double and
// decimal text, in every place a shape keeps it; anything else is no id.
func TestEventIDTypes(t *testing.T) {
	ids := []struct {
		name string
		set  func(v pcommon.Value)
		ok   bool
	}{
		{"int", func(v pcommon.Value) { v.SetInt(4688) }, true},
		{"double", func(v pcommon.Value) { v.SetDouble(4688) }, true},
		{"string", func(v pcommon.Value) { v.SetStr("4688") }, true},
		{"string with spaces", func(v pcommon.Value) { v.SetStr(" 4688\n") }, true},
		{"negative int", func(v pcommon.Value) { v.SetInt(-4688) }, false},
		{"negative double", func(v pcommon.Value) { v.SetDouble(-4688) }, false},
		{"fractional double", func(v pcommon.Value) { v.SetDouble(4688.5) }, false},
		{"NaN", func(v pcommon.Value) { v.SetDouble(math.NaN()) }, false},
		{"+Inf", func(v pcommon.Value) { v.SetDouble(math.Inf(1)) }, false},
		{"huge double", func(v pcommon.Value) { v.SetDouble(1e300) }, false},
		{"hex string", func(v pcommon.Value) { v.SetStr("0x1250") }, false},
		{"signed string", func(v pcommon.Value) { v.SetStr("+4688") }, false},
		{"empty string", func(v pcommon.Value) { v.SetStr("") }, false},
		{"long string", func(v pcommon.Value) { v.SetStr("000000000004688") }, false},
		{"bool", func(v pcommon.Value) { v.SetBool(true) }, false},
		{"bytes", func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("4688")) }, false},
		{"slice", func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetInt(4688) }, false},
		{"empty", func(pcommon.Value) {}, false},
	}
	places := []struct {
		name string
		body func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map)
	}{
		{"receiver event_id.id", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			b := pcommon.NewValueMap()
			set(b.Map().PutEmptyMap("event_id").PutEmpty("id"))
			b.Map().PutStr("channel", "Security")
			b.Map().PutEmptyMap("event_data").PutStr("NewProcessName", `C:\x.exe`)
			return b, pcommon.NewMap()
		}},
		{"receiver event_id", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			b := pcommon.NewValueMap()
			set(b.Map().PutEmpty("event_id"))
			b.Map().PutEmptyMap("event_data").PutStr("NewProcessName", `C:\x.exe`)
			return b, pcommon.NewMap()
		}},
		{"flat EventID", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			b := pcommon.NewValueMap()
			set(b.Map().PutEmpty("EventID"))
			b.Map().PutStr("NewProcessName", `C:\x.exe`)
			return b, pcommon.NewMap()
		}},
		{"flat EventCode", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			b := pcommon.NewValueMap()
			set(b.Map().PutEmpty("EventCode"))
			b.Map().PutStr("NewProcessName", `C:\x.exe`)
			return b, pcommon.NewMap()
		}},
		{"attributes EventID", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			a := pcommon.NewMap()
			set(a.PutEmpty("EventID"))
			a.PutStr("NewProcessName", `C:\x.exe`)
			return pcommon.NewValueStr("A new process has been created."), a
		}},
		{"winlogbeat", func(set func(pcommon.Value)) (pcommon.Value, pcommon.Map) {
			b := pcommon.NewValueMap()
			w := b.Map().PutEmptyMap("winlog")
			set(w.PutEmpty("event_id"))
			w.PutEmptyMap("event_data").PutStr("NewProcessName", `C:\x.exe`)
			return b, pcommon.NewMap()
		}},
	}
	for _, p := range places {
		for _, id := range ids {
			body, attrs := p.body(id.set)
			var ev Event
			r := readProcess(body, attrs, &ev)
			if id.ok {
				if assert.Equal(t, Filled, r, "%s / %s", p.name, id.name) {
					assert.Equal(t, int64(SecurityProcessCreate), ev.EventID, "%s / %s", p.name, id.name)
					assert.Equal(t, `C:\x.exe`, ev.ChildImage(), "%s / %s", p.name, id.name)
				}
			} else {
				assert.Equal(t, NotWindows, r, "%s / %s", p.name, id.name)
			}
		}
	}
}

// TestEventIDMapWithoutID is the regression for a nil-pointer panic: a
// receiver-shaped body whose event_id map has no "id" key.
func TestEventIDMapWithoutID(t *testing.T) {
	body := pcommon.NewValueMap()
	body.Map().PutEmptyMap("event_id").PutInt("qualifiers", 0)
	body.Map().PutEmptyMap("event_data").PutStr("Image", `C:\x.exe`)
	var ev Event
	assert.Equal(t, NotWindows, readProcess(body, pcommon.NewMap(), &ev))
}

func TestEventIDInXMLAndJSON(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Result
		id   int64
	}{
		{xmlEvent("1", ""), Filled, 1},
		{xmlEvent(" 4688 ", ""), Filled, 4688},
		{strings.Replace(xmlEvent("4688", ""), "<EventID>", `<EventID Qualifiers="0">`, 1), Filled, 4688},
		{xmlEvent("3", ""), OtherEvent, 3},
		{xmlEvent("-1", ""), Unreadable, 0},
		{xmlEvent("x", ""), Unreadable, 0},
		{`{"EventID": 4688, "Channel": "Security"}`, Filled, 4688},
		{`{"EventID": 4688.0}`, Filled, 4688},
		{`{"EventID": "4688"}`, Filled, 4688},
		{`{"EventID": 4688.5}`, Unreadable, 0},
		{`{"EventID": -1}`, Unreadable, 0},
		{`{"EventID": 1e400}`, Unreadable, 0},
		{`{"event_id": {"id": 1}, "channel": "Microsoft-Windows-Sysmon/Operational"}`, Filled, 1},
		{`{"winlog": {"event_id": "4688"}}`, Filled, 4688},
		{`{"EventID": 4624}`, OtherEvent, 4624},
		{`{"message": "no id here"}`, NotWindows, 0},
	} {
		var ev Event
		assert.Equal(t, tc.want, readProcess(pcommon.NewValueStr(tc.body), pcommon.NewMap(), &ev), tc.body)
		assert.Equal(t, tc.id, ev.EventID, tc.body)
	}
}

func TestAccessors(t *testing.T) {
	sysmon := Event{
		EventID: 1, Image: `C:\a\child.exe`, ParentImage: `C:\a\parent.exe`, User: `CORP\jane`,
		ProcessID: "10", ParentProcessID: "20", LogonID: "0x3e7",
		NewProcessName: "ignored", ParentProcessName: "ignored", TargetUserName: "ignored", TargetLogonID: "ignored",
	}
	assert.False(t, sysmon.IsSecurity())
	assert.Equal(t, `C:\a\child.exe`, sysmon.ChildImage())
	assert.Equal(t, `C:\a\parent.exe`, sysmon.ParentPath())
	assert.Equal(t, "10", sysmon.ChildPID())
	assert.Equal(t, "20", sysmon.ParentPID())
	assert.Equal(t, "0x3e7", sysmon.SessionLogonID())
	d, n := sysmon.Account()
	assert.Equal(t, [2]string{"CORP", "jane"}, [2]string{d, n})
	sysmon.User = "jane"
	d, n = sysmon.Account()
	assert.Equal(t, [2]string{"", "jane"}, [2]string{d, n})
	sysmon.User = `NT AUTHORITY\SYSTEM\extra`
	d, n = sysmon.Account()
	assert.Equal(t, [2]string{"NT AUTHORITY", `SYSTEM\extra`}, [2]string{d, n}, "split at the first backslash")

	sec := Event{
		EventID: 4688, NewProcessName: `C:\b\new.exe`, ParentProcessName: `C:\b\creator.exe`,
		Image: `C:\ignored.exe`, ParentImage: `C:\ignored.exe`,
		ProcessID: "0x10", NewProcessID: "0x20",
		SubjectDomainName: "CORP", SubjectUserName: "WS1$", TargetDomainName: "CORP", TargetUserName: "jane",
		TargetLogonID: "0x153ec2b", LogonID: "ignored",
	}
	assert.True(t, sec.IsSecurity())
	assert.Equal(t, `C:\b\new.exe`, sec.ChildImage())
	assert.Equal(t, `C:\b\creator.exe`, sec.ParentPath())
	assert.Equal(t, "0x20", sec.ChildPID())
	assert.Equal(t, "0x10", sec.ParentPID())
	assert.Equal(t, "0x153ec2b", sec.SessionLogonID())
	d, n = sec.Account()
	assert.Equal(t, [2]string{"CORP", "jane"}, [2]string{d, n}, "4688: the target account")
	for _, none := range []string{"-", ""} {
		s := sec
		s.TargetUserName = none
		d, n = s.Account()
		assert.Equal(t, [2]string{"CORP", "WS1$"}, [2]string{d, n}, "4688 with TargetUserName %q: the subject", none)
	}
	// 4688 without the Security names falls back to the Sysmon ones.
	sec.NewProcessName, sec.ParentProcessName = "", ""
	assert.Equal(t, `C:\ignored.exe`, sec.ChildImage())
	assert.Equal(t, `C:\ignored.exe`, sec.ParentPath())
}

// TestReadResetsEvent: Read starts from a zero event, so fields of an earlier
// record never leak into the next.
func TestReadResetsEvent(t *testing.T) {
	ev := Event{Image: "stale", CommandLine: "stale", EventID: 1}
	assert.Equal(t, NotWindows, readProcess(pcommon.NewValueStr("hello"), pcommon.NewMap(), &ev))
	assert.Equal(t, Event{}, ev)
}

func TestReceiverArrayOddItems(t *testing.T) {
	body := pcommon.NewValueMap()
	m := body.Map()
	m.PutEmptyMap("event_id").PutInt("id", 1)
	data := m.PutEmptyMap("event_data").PutEmptySlice("data")
	data.AppendEmpty().SetStr("Image")
	data.AppendEmpty().SetEmptySlice().AppendEmpty().SetStr("x")
	odd := data.AppendEmpty().SetEmptyMap()
	odd.PutInt("Image", 5)
	odd.PutEmptyMap("CommandLine").PutStr("x", "y")
	item := data.AppendEmpty().SetEmptyMap()
	item.PutStr("Image", `C:\x.exe`)
	item.PutStr("CommandLine", "x /y")
	data.AppendEmpty().SetEmptyMap().PutStr("", "anonymous")
	var ev Event
	require.Equal(t, Filled, readProcess(body, pcommon.NewMap(), &ev))
	assert.Equal(t, ShapeReceiverArray, ev.Shape)
	assert.Equal(t, `C:\x.exe`, ev.Image)
	assert.Equal(t, "x /y", ev.CommandLine)
}

func TestStringBodyEdges(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Result
	}{
		{"", NotWindows},
		{"   \r\n\t", NotWindows},
		{"\xEF\xBB\xBF" + xmlEvent("1", ""), Filled},
		{"  \n" + `{"EventID": 1}`, Filled},
		{"<html><body>hi</body></html>", NotWindows},
		{"<Event", Unreadable},
		{"<Event><EventID>1", Unreadable},
		{xmlEvent("1", `<Data Name="Image">x`), Unreadable},
		{xmlEvent("1", `<Data Name="Image"`), Unreadable},
		{`{"EventID": 1`, Unreadable},
		{`{"EventID": 1}}`, Unreadable},
		{`{"EventID": "x"}`, Unreadable},
		{`{"log": "just mentions \"EventID\""}`, NotWindows}, // the cheap look wants the quoted key
		{`{"EventID": {"id": 1}}`, Unreadable},
		{`["EventID", 1]`, NotWindows},
		{`{"log": "ordinary"}`, NotWindows},
		{"plain text", NotWindows},
	} {
		var ev Event
		assert.Equal(t, tc.want, readProcess(pcommon.NewValueStr(tc.body), pcommon.NewMap(), &ev), "%q", tc.body)
	}
}

// nonProcessBodies are Sysmon 3 and Security 4624 in the three receiver shapes.
func nonProcessBodies() map[string]pcommon.Value {
	out := map[string]pcommon.Value{}
	for _, e := range []struct {
		id      int64
		channel string
		fields  [][2]string
	}{
		{3, "Microsoft-Windows-Sysmon/Operational", [][2]string{{"Image", `C:\Windows\System32\svchost.exe`}, {"DestinationIp", "10.0.0.5"}, {"DestinationPort", "135"}}},
		{4624, "Security", [][2]string{{"TargetUserName", "jane"}, {"LogonType", "3"}, {"TargetLogonId", "0x153ec2b"}}},
	} {
		for _, array := range []bool{false, true} {
			b := pcommon.NewValueMap()
			m := b.Map()
			m.PutEmptyMap("event_id").PutInt("id", e.id)
			m.PutStr("channel", e.channel)
			m.PutStr("computer", "host")
			ed := m.PutEmptyMap("event_data")
			if array {
				s := ed.PutEmptySlice("data")
				for _, f := range e.fields {
					s.AppendEmpty().SetEmptyMap().PutStr(f[0], f[1])
				}
			} else {
				for _, f := range e.fields {
					ed.PutStr(f[0], f[1])
				}
			}
			name := map[bool]string{false: "map", true: "array"}[array]
			out[e.channel+"/"+name] = b
		}
		var data strings.Builder
		for _, f := range e.fields {
			data.WriteString(`<Data Name="` + f[0] + `">` + f[1] + `</Data>`)
		}
		xml := strings.NewReplacer("Microsoft-Windows-Sysmon/Operational", e.channel).Replace(xmlEvent(itoa(e.id), data.String()))
		out[e.channel+"/xml"] = pcommon.NewValueStr(xml)
	}
	return out
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestReadAllocations: Read allocates nothing for the receiver map and array
// shapes and for raw XML without entities, on process creations and other events.
func TestReadAllocations(t *testing.T) {
	attrs := pcommon.NewMap()
	var ev Event
	for name, body := range nonProcessBodies() {
		r := readProcess(body, attrs, &ev)
		require.Equal(t, OtherEvent, r, name)
		allocs := testing.AllocsPerRun(100, func() { readProcess(body, attrs, &ev) })
		assert.Zero(t, allocs, "%s: Read allocated", name)
	}
	for _, s := range bodyShapes[:3] {
		for _, line := range fixtureLines(t, s.file) {
			if s.shape == ShapeRawXML && strings.Contains(line, "&") {
				continue // unescaping builds a new string
			}
			lr := plog.NewLogRecord()
			s.render(t, line, lr)
			body, attrs := lr.Body(), lr.Attributes()
			require.Equal(t, Filled, readProcess(body, attrs, &ev))
			allocs := testing.AllocsPerRun(20, func() { readProcess(body, attrs, &ev) })
			assert.Zero(t, allocs, "%s %s: Read allocated", s.name, ev.Computer)
		}
	}
}

// processFields are the fields the rules reader of earlier versions
// filled for a process creation (the tests of this file read them).
const processFields = FieldImage | FieldParentImage | FieldCommandLine | FieldParentCommandLine | FieldUser |
	FieldOriginalFileName | FieldProcessID | FieldProcessGUID | FieldParentProcessID | FieldParentProcessGUID |
	FieldLogonID | FieldNewProcessName | FieldParentProcessName | FieldNewProcessID | FieldSubjectUserName |
	FieldSubjectDomainName | FieldTargetUserName | FieldTargetDomainName | FieldTargetLogonID

// processReader reads what the rules read: the process fields of Sysmon 1
// and Security 4688, nothing of other events.
var processReader = NewReader(Need{ID: SysmonProcessCreate, First: processFields}, Need{ID: SecurityProcessCreate, First: processFields})

func readProcess(body pcommon.Value, attrs pcommon.Map, ev *Event) Result {
	return processReader.Read(body, attrs, ev)
}
