package winevent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The fuzz targets check what must hold for any record, however hostile:
// Read does not panic, does not modify the record, is deterministic, and
// reports a process creation only for event id 1 or 4688. Seeds are the
// catalogue fixtures (every line of every shape) plus hand-written edge cases;
// crashers found by `go test -fuzz` are kept under testdata/fuzz/<target>/
// and run as regressions by every plain `go test`.

// addFixtureLines seeds a fuzz target with every line of catalogue files.
func addFixtureLines(f *testing.F, files ...string) {
	f.Helper()
	for _, file := range files {
		for _, line := range fixtureLines(f, file) {
			f.Add(line)
		}
	}
}

// marshalRecord serializes a record, to prove Read leaves it untouched.
func marshalRecord(t *testing.T, ld plog.Logs) []byte {
	t.Helper()
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

func newRecord() (plog.Logs, plog.LogRecord) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	return ld, lr
}

var (
	fuzzMasks   = [...]Fields{FieldProtocol | FieldInitiated | FieldImage | FieldSourceIP, FieldLogonType, FieldProcessID | FieldSystemTime}
	fuzzReaders = [...]*Reader{fieldsReader(fuzzMasks[0]), fieldsReader(fuzzMasks[1]), fieldsReader(fuzzMasks[2])}
)

// checkRead reads a record twice and checks the invariants.
func checkRead(t *testing.T, ld plog.Logs, lr plog.LogRecord) (Event, Result) {
	t.Helper()
	before := marshalRecord(t, ld)
	var ev Event
	r := Read(lr.Body(), lr.Attributes(), &ev)
	if r > Unreadable {
		t.Fatalf("unknown result %d", r)
	}
	if r == Filled {
		if !IsKind(ev.EventID) {
			t.Fatalf("Filled with event id %d", ev.EventID)
		}
		if ev.Shape == ShapeNone || ev.Shape > ShapeWinlogbeat {
			t.Fatalf("Filled with shape %d", ev.Shape)
		}
	}
	if r == OtherEvent && IsKind(ev.EventID) {
		t.Fatalf("OtherEvent with the id %d of a kind read", ev.EventID)
	}
	var again Event
	if r2 := Read(lr.Body(), lr.Attributes(), &again); r2 != r || again != ev {
		t.Fatalf("not deterministic: %v %+v, then %v %+v", r, ev, r2, again)
	}
	// The correlation's reader, in full and with the fields it asks for
	// first: never a panic, and a partial read is the full one restricted.
	// Only a partial read may succeed alone: it stops before a malformed
	// tail the full read fails on.
	var full Event
	ok := ReadContext(lr.Body(), lr.Attributes(), &full)
	for i, want := range fuzzMasks {
		var part Event
		partOK := readFields(fuzzReaders[i], lr.Body(), lr.Attributes(), &part)
		if (ok && !partOK) || (ok && part != project(full, want)) {
			t.Fatalf("fields %x: %v %+v, full read %v %+v", want, partOK, part, ok, full)
		}
	}
	// The read in two steps is the read.
	for _, reader := range []*Reader{Everything, decisionReader, processReader} {
		var want, got Event
		r1 := reader.Read(lr.Body(), lr.Attributes(), &want)
		a := reader.Admit(lr.Body())
		if r2 := reader.ReadAdmitted(lr.Body(), lr.Attributes(), a, &got); r2 != r1 || got != want {
			t.Fatalf("read in two steps: %v %+v, read: %v %+v", r2, got, r1, want)
		}
		if a.PassedOver() && r1 != OtherEvent {
			t.Fatalf("passed over, but read: %v", r1)
		}
	}
	// A plan that decides on a field or two whether to read the rest fills
	// the full read restricted to what it decided.
	var dec Event
	decOK := readFields(decisionReader, lr.Body(), lr.Attributes(), &dec)
	if want, read := decided(full); ok && read && (!decOK || dec != want) {
		t.Fatalf("decision plan: %v %+v, want %+v", decOK, dec, want)
	}
	if after := marshalRecord(t, ld); !bytes.Equal(before, after) {
		t.Fatal("Read modified the record")
	}
	return ev, r
}

func FuzzReadXML(f *testing.F) {
	addFixtureLines(f, "events.xml")
	for _, s := range []string{
		"",
		"<",
		"<Event",
		"<Event>",
		"<Event><EventID>1</EventID></Event>",
		"<Event><EventID>4688</EventID><EventData><Data Name=\"NewProcessName\">x</Data></EventData></Event>",
		"<Event><EventID>1</EventID><EventData><Data Name=\"CommandLine\">&#10;&amp;&quot;&lt;&#x41;&xxe;&",
		"<Event><EventID>1</EventID><EventData><Data Name=\"Image\"/><Data Name='Image'>a</Data><Data>b</Data><DataX>c</DataX>",
		"<Event ><EventID Qualifiers=\"0\">\n4688\n</EventID><Provider Name=\"P\" /><Channel>Security</Channel><Computer/>",
		"<?xml version=\"1.0\"?><!DOCTYPE Event [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><Event><EventID>1</EventID><EventData><Data Name=\"Image\">&xxe;</Data></EventData></Event>",
		"<Event><EventID>99999999999</EventID></Event>",
		"<Event><EventID>-1</EventID></Event>",
		"<Event><EventIDX>1</EventIDX><EventID>1<",
		"\xEF\xBB\xBF <Event><EventID>1</EventID><Data Name=\"Image\">\xff\xfe</Data>",
		"<Event><EventID>1</EventID><EventData><Data Name=\"CommandLine\">" + strings.Repeat("&", 100) + "</Data>",
		"<Event><EventID>1</EventID><Provider Name=",
		"<Event><EventID>1</EventID><Provider Name=\"unterminated>",
		"<Event><EventID>1</EventID><EventData><Data Name=\"Image\" Name=\"CommandLine\">x</Data>",
		"<Event><System><EventID>3</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name=\"Initiated\">false</Data><Data Name=\"Image\">a</Data><Data Name=\"Protocol\">tcp</Data><Data Name=\"SourceIp\">1</Data><Data Name=\"Image\">b</Data></EventData></Event>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ld, lr := newRecord()
		lr.Body().SetStr(s)
		ev, r := checkRead(t, ld, lr)
		if r == Filled && strings.HasPrefix(strings.TrimLeft(s, " \t\r\n\xEF\xBB\xBF"), "<") && ev.Shape != ShapeRawXML {
			t.Fatalf("XML read as shape %d", ev.Shape)
		}
		// Entities never expand: unescaping only ever shortens text.
		if u := unescapeXML(s); len(u) > len(s) {
			t.Fatalf("unescapeXML grew %d bytes to %d", len(s), len(u))
		}
		if !strings.Contains(s, "&") && unescapeXML(s) != s {
			t.Fatal("unescapeXML changed text without entities")
		}
	})
}

func FuzzReadJSON(f *testing.F) {
	addFixtureLines(f, "flat.jsonl", "map.jsonl", "array.jsonl", "winlogbeat.jsonl")
	for _, s := range []string{
		"{}",
		"{",
		`{"EventID": 1}`,
		`{"EventID": 4688.0, "NewProcessName": "x"}`,
		`{"EventID": "4688"}`,
		`{"EventID": 1e400}`,
		`{"EventID": -1}`,
		`{"EventID": 1, "Image": {"nested": true}, "CommandLine": ["a"]}`,
		`{"EventCode": 4688, "Channel": "Security"}`,
		`{"event_id": {}}`,
		`{"event_id": {"id": null}}`,
		`{"event_id": {"id": 1}, "event_data": "not a map"}`,
		`{"event_id": {"id": 1}, "event_data": {"data": "not a slice"}}`,
		`{"event_id": {"id": 1}, "event_data": {"data": [1, "a", [], {"Image": 5}, {"Image": "x"}]}}`,
		`{"winlog": {"event_id": 1, "event_data": []}}`,
		`{"winlog": "x", "EventID": 1}`,
		`{"EventID": 1, "EventID": 4688}`,
		`{"\u0045ventID": 1, "EventID": 3}`,
		`{"EventID": 1, "Image": "\ud800"}`,
		` {"EventID": 1} trailing`,
		`{"EventID":1,"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ld, lr := newRecord()
		lr.Body().SetStr(s)
		ev, r := checkRead(t, ld, lr)
		if r == Filled && strings.HasPrefix(strings.TrimLeft(s, " \t\r\n\xEF\xBB\xBF"), "{") && ev.Shape != ShapeJSONString {
			t.Fatalf("JSON read as shape %d", ev.Shape)
		}
	})
}

// FuzzReadMap builds map bodies from the input: a JSON object becomes the
// body map (as a receiver or forwarder would deliver it) and is also read
// as a JSON string, and the two must agree; any other input becomes the value
// of every field, in the receiver's map and array layouts and as flat
// attributes.
func FuzzReadMap(f *testing.F) {
	for _, file := range []string{"map.jsonl", "array.jsonl", "flat.jsonl", "winlogbeat.jsonl"} {
		for _, line := range fixtureLines(f, file) {
			f.Add([]byte(line))
		}
	}
	for _, s := range []string{
		`C:\Windows\System32\cmd.exe`, "", "-", "\xff\xfe", "\x00", "a\nb", strings.Repeat("A", 300),
		`{"event_id": {"qualifiers": 0}, "event_data": {"Image": "x"}}`,
		`{"event_id": {"id": {"id": 1}}}`,
		`{"event_id": 1.5}`,
		`{"event_id": 4688, "event_data": {"data": [[{"Image": "x"}], {"": "anon"}]}}`,
		`{"winlog": {"event_id": "4688", "event_data": {"TargetUserName": "-"}}}`,
		`{"EventID": 1, "Channel": 5, "Hostname": ["h"]}`,
	} {
		f.Add([]byte(s))
	}
	fields := []string{
		"Image", "ParentImage", "CommandLine", "ParentCommandLine", "User", "OriginalFileName",
		"NewProcessName", "ParentProcessName", "SubjectUserName", "TargetUserName", "TargetLogonId", "LogonId",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			m, err := MapFromJSON(data)
			if err != nil {
				return // e.g. a number too large for a float64
			}
			ld, lr := newRecord()
			m.CopyTo(lr.Body().SetEmptyMap())
			fromMap, r := checkRead(t, ld, lr)

			ld, lr = newRecord()
			lr.Body().SetStr(string(data))
			fromString, rs := checkRead(t, ld, lr)
			if r == Filled && rs == Filled {
				fromMap.Shape, fromString.Shape = ShapeNone, ShapeNone
				if fromMap != fromString {
					t.Fatalf("map and JSON string disagree:\n%+v\n%+v", fromMap, fromString)
				}
			}
			return
		}
		value := string(data)
		for _, id := range []int64{SysmonProcessCreate, SecurityProcessCreate} {
			for _, layout := range []string{"map", "array", "attributes"} {
				ld, lr := newRecord()
				var target pcommon.Map
				switch layout {
				case "attributes":
					lr.Body().SetStr("A new process has been created.")
					target = lr.Attributes()
					target.PutInt("EventID", id)
				default:
					body := lr.Body().SetEmptyMap()
					body.PutEmptyMap("event_id").PutInt("id", id)
					body.PutStr("channel", value)
					body.PutStr("computer", value)
					body.PutEmptyMap("provider").PutStr("name", value)
					target = body.PutEmptyMap("event_data")
				}
				if layout == "array" {
					s := target.PutEmptySlice("data")
					for _, k := range fields {
						s.AppendEmpty().SetEmptyMap().PutStr(k, value)
					}
				} else {
					for _, k := range fields {
						target.PutStr(k, value)
					}
				}
				ev, r := checkRead(t, ld, lr)
				if r != Filled || ev.EventID != id {
					t.Fatalf("%s layout, id %d: %v %+v", layout, id, r, ev)
				}
				if ev.CommandLine != value || ev.Image != value || ev.TargetUserName != value {
					t.Fatalf("%s layout: a field lost its value", layout)
				}
			}
		}
	})
}
