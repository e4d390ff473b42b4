package dcomdetectionprocessor

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

// Broken, hostile and oversized records must pass through the processor
// without a panic; every record that goes in comes out (unless
// drop_unmatched), and a record that is not a detection comes out byte for
// byte as it went in.

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	brokenMiB     = 1 << 20
)

// brokenCase builds one record. detect says whether the extended profile
// must flag it (most broken records must not).
type brokenCase struct {
	name   string
	detect bool
	build  func(t *testing.T, lr plog.LogRecord)
	// check, if set, runs on the attributes the extended profile wrote.
	check func(t *testing.T, attrs pcommon.Map)
}

// receiverBody is a windowseventlog receiver body (map format) for a
// Sysmon 1 event; edit adjusts it.
func receiverBody(lr plog.LogRecord, eventData map[string]string, edit func(m pcommon.Map)) {
	m := lr.Body().SetEmptyMap()
	m.PutEmptyMap("event_id").PutInt("id", 1)
	m.PutEmptyMap("provider").PutStr("name", "Microsoft-Windows-Sysmon")
	m.PutStr("channel", sysmonChannel)
	m.PutStr("computer", "host.example")
	ed := m.PutEmptyMap("event_data")
	for k, v := range eventData {
		ed.PutStr(k, v)
	}
	if edit != nil {
		edit(m)
	}
}

// comChild is the event data of a detection: mmc.exe started as a COM
// server spawning cmd.exe.
func comChild(commandLine string) map[string]string {
	return map[string]string{
		"Image":             `C:\Windows\System32\cmd.exe`,
		"ParentImage":       `C:\Windows\System32\mmc.exe`,
		"ParentCommandLine": `C:\Windows\system32\mmc.exe -Embedding`,
		"CommandLine":       commandLine,
	}
}

// benign is the event data of an ordinary process start.
func benign(commandLine string) map[string]string {
	return map[string]string{
		"Image":             `C:\Windows\System32\notepad.exe`,
		"ParentImage":       `C:\Windows\explorer.exe`,
		"ParentCommandLine": `C:\Windows\explorer.exe`,
		"CommandLine":       commandLine,
	}
}

func setEventID(set func(v pcommon.Value)) func(m pcommon.Map) {
	return func(m pcommon.Map) { set(m.PutEmptyMap("event_id").PutEmpty("id")) }
}

// xmlBody renders a Sysmon 1 event as the receiver's raw XML.
func xmlBody(prolog string, data map[string]string) string {
	var b strings.Builder
	b.WriteString(prolog)
	b.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>`)
	b.WriteString(`<Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID>`)
	b.WriteString(`<Channel>` + sysmonChannel + `</Channel><Computer>host.example</Computer></System><EventData>`)
	for _, k := range []string{"Image", "ParentImage", "ParentCommandLine", "CommandLine"} {
		if v, ok := data[k]; ok {
			b.WriteString(`<Data Name="` + k + `">` + v + `</Data>`)
		}
	}
	b.WriteString(`</EventData></Event>`)
	return b.String()
}

// nested builds a value nested depth levels deep without recursion.
func nested(v pcommon.Value, depth int, slices bool) {
	for range depth {
		if slices {
			v = v.SetEmptySlice().AppendEmpty()
		} else {
			v = v.SetEmptyMap().PutEmpty("x")
		}
	}
	v.SetStr("bottom")
}

func brokenCases(marker, entityURL string) []brokenCase {
	big := strings.Repeat("A", brokenMiB)
	eventIDs := map[string]func(v pcommon.Value){
		"string":         func(v pcommon.Value) { v.SetStr("one") },
		"numeric string": func(v pcommon.Value) { v.SetStr("3") },
		"double":         func(v pcommon.Value) { v.SetDouble(1.5) },
		"NaN":            func(v pcommon.Value) { v.SetDouble(math.NaN()) },
		"+Inf":           func(v pcommon.Value) { v.SetDouble(math.Inf(1)) },
		"-Inf":           func(v pcommon.Value) { v.SetDouble(math.Inf(-1)) },
		"-0":             func(v pcommon.Value) { v.SetDouble(math.Copysign(0, -1)) },
		"huge double":    func(v pcommon.Value) { v.SetDouble(math.MaxFloat64) },
		"2^32+1 double":  func(v pcommon.Value) { v.SetDouble(1<<32 + 1) },
		"negative":       func(v pcommon.Value) { v.SetInt(-1) },
		"MinInt64":       func(v pcommon.Value) { v.SetInt(math.MinInt64) },
		"MaxInt64":       func(v pcommon.Value) { v.SetInt(math.MaxInt64) },
		"2^32+1":         func(v pcommon.Value) { v.SetInt(1<<32 + 1) },
		"map":            func(v pcommon.Value) { v.SetEmptyMap().PutInt("id", 1) },
		"slice":          func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetInt(1) },
		"bool":           func(v pcommon.Value) { v.SetBool(true) },
		"bytes":          func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte{1}) },
		"empty":          func(pcommon.Value) {},
		"long string":    func(v pcommon.Value) { v.SetStr(strings.Repeat("1", brokenMiB)) },
	}
	var cases []brokenCase
	for name, set := range eventIDs {
		cases = append(cases,
			brokenCase{name: "receiver event_id.id " + name, build: func(_ *testing.T, lr plog.LogRecord) {
				receiverBody(lr, comChild("cmd /c whoami"), setEventID(set))
			}},
			// event_id {"id": 1} is the receiver's own layout.
			brokenCase{name: "receiver event_id " + name, detect: name == "map", build: func(_ *testing.T, lr plog.LogRecord) {
				receiverBody(lr, comChild("cmd /c whoami"), func(m pcommon.Map) { set(m.PutEmpty("event_id")) })
			}},
			brokenCase{name: "flat EventID " + name, build: func(_ *testing.T, lr plog.LogRecord) {
				m := lr.Body().SetEmptyMap()
				set(m.PutEmpty("EventID"))
				for k, v := range comChild("cmd /c whoami") {
					m.PutStr(k, v)
				}
			}},
			brokenCase{name: "attributes EventID " + name, build: func(_ *testing.T, lr plog.LogRecord) {
				lr.Body().SetStr("A new process has been created.")
				set(lr.Attributes().PutEmpty("EventID"))
				for k, v := range comChild("cmd /c whoami") {
					lr.Attributes().PutStr(k, v)
				}
			}},
			brokenCase{name: "winlogbeat event_id " + name, build: func(_ *testing.T, lr plog.LogRecord) {
				w := lr.Body().SetEmptyMap().PutEmptyMap("winlog")
				set(w.PutEmpty("event_id"))
				ed := w.PutEmptyMap("event_data")
				for k, v := range comChild("cmd /c whoami") {
					ed.PutStr(k, v)
				}
			}},
		)
	}

	cases = append(cases, []brokenCase{
		// The reference records: a detection and an ordinary event.
		{name: "detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, comChild("cmd /c whoami"), nil) }},
		{name: "ordinary", build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, benign("notepad a.txt"), nil) }},

		// Missing keys.
		{name: "event_id without id", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) { m.PutEmptyMap("event_id").PutInt("qualifiers", 0) })
		}},
		{name: "empty event_id map", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) { m.PutEmptyMap("event_id") })
		}},
		{name: "no event_data", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) { m.Remove("event_data") })
		}},
		{name: "empty event_data", build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, nil, nil) }},
		{name: "no channel, provider or computer", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) { m.Remove("channel"); m.Remove("provider"); m.Remove("computer") })
		}},
		// Channel and provider of the wrong types count as missing, and an
		// event without either is judged on its event id alone.
		{name: "channel and provider of the wrong types", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) {
				m.PutInt("channel", 5)
				m.PutStr("provider", "not a map")
				m.PutEmptySlice("computer")
			})
		}},
		{name: "Application channel reusing event id 1", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) { m.PutStr("channel", "Application") })
		}},
		{name: "only the event id", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetEmptyMap().PutInt("EventID", 4688) }},

		// Command lines.
		{name: "empty command line", detect: true, build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, comChild(""), nil) }},
		{name: "1 MiB command line", build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, benign(big), nil) }},
		{name: "1 MiB command line, detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) { receiverBody(lr, comChild(big), nil) }},
		{name: "1 MiB image path", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, map[string]string{"Image": `C:\` + big + `\cmd.exe`, "ParentImage": `C:\` + big}, nil)
		}},
		{name: "invalid UTF-8", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, map[string]string{"Image": "C:\\\xff\xfe\\cmd\xc3.exe", "ParentImage": "\xed\xa0\x80", "CommandLine": "\xff"}, nil)
		}},
		{name: "invalid UTF-8, detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("cmd /c \xff\xfe\x80 \xed\xa0\x80"), nil)
		}},
		{name: "invalid UTF-8 keys", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, map[string]string{"\xff": "x", "Image\xff": `C:\x\cmd.exe`}, nil)
		}},
		{name: "control characters", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, benign("a\x00b\x1b[31mc\r\nd\x7f\te\u2028f\ufeff"), nil)
		}},
		{name: "control characters, detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("cmd\x00 /c \x1b[2J\r\n"), nil)
		}},
		{name: "NUL in names", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, map[string]string{"Image": "C:\\x\\cmd.exe\x00.txt", "ParentImage": "C:\\x\\mmc.exe\x00", "ParentCommandLine": "-Embedding"}, nil)
		}},

		// Deep nesting, built iteratively.
		{name: "10,000 nested maps in event_data", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, benign("x"), func(m pcommon.Map) {
				ed, _ := m.Get("event_data")
				nested(ed.Map().PutEmpty("Deep"), 10_000, false)
			})
		}},
		{name: "10,000 nested maps as the body", build: func(_ *testing.T, lr plog.LogRecord) { nested(lr.Body(), 10_000, false) }},
		{name: "10,000 nested slices as the body", build: func(_ *testing.T, lr plog.LogRecord) { nested(lr.Body(), 10_000, true) }},
		{name: "10,000 nested maps as event_id", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, comChild("x"), func(m pcommon.Map) { nested(m.PutEmpty("event_id"), 10_000, false) })
		}},
		{name: "10,000 nested maps in winlog", build: func(_ *testing.T, lr plog.LogRecord) {
			w := lr.Body().SetEmptyMap().PutEmptyMap("winlog")
			w.PutStr("event_id", "1")
			nested(w.PutEmpty("event_data"), 10_000, false)
		}},

		// event_data and data of the wrong shapes.
		{name: "event_data a string", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) { m.PutStr("event_data", "Image=cmd.exe") })
		}},
		{name: "event_data a slice", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) { m.PutEmptySlice("event_data").AppendEmpty().SetStr("cmd.exe") })
		}},
		{name: "event_data an int", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) { m.PutInt("event_data", 1) })
		}},
		{name: "data a string", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) { m.PutEmptyMap("event_data").PutStr("data", "Image") })
		}},
		{name: "data of strings", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				s := m.PutEmptyMap("event_data").PutEmptySlice("data")
				s.AppendEmpty().SetStr("Image")
				s.AppendEmpty().SetStr(`C:\Windows\System32\cmd.exe`)
			})
		}},
		{name: "data of nested slices", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				s := m.PutEmptyMap("event_data").PutEmptySlice("data")
				s.AppendEmpty().SetEmptySlice().AppendEmpty().SetEmptyMap().PutStr("Image", `C:\x\cmd.exe`)
				nested(s.AppendEmpty(), 1000, true)
			})
		}},
		{name: "data of maps with non-string values", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				s := m.PutEmptyMap("event_data").PutEmptySlice("data")
				s.AppendEmpty().SetEmptyMap().PutInt("Image", 1)
				s.AppendEmpty().SetEmptyMap().PutEmptyMap("ParentImage").PutStr("x", `C:\x\mmc.exe`)
				s.AppendEmpty().SetEmptyMap().PutDouble("CommandLine", math.NaN())
				s.AppendEmpty().SetEmptyMap().PutEmptyBytes("User").FromRaw([]byte("x"))
				s.AppendEmpty().SetEmptyMap()
				s.AppendEmpty()
			})
		}},
		{name: "data array, detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				s := m.PutEmptyMap("event_data").PutEmptySlice("data")
				for k, v := range comChild("cmd /c whoami") {
					s.AppendEmpty().SetEmptyMap().PutStr(k, v)
				}
				s.AppendEmpty().SetStr("junk")
				s.AppendEmpty().SetEmptyMap().PutInt("Image", 7)
			})
		}},

		// Body types.
		{name: "empty body", build: func(*testing.T, plog.LogRecord) {}},
		{name: "empty string body", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetStr("") }},
		{name: "empty map body", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetEmptyMap() }},
		{name: "bytes body holding XML", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetEmptyBytes().FromRaw([]byte(xmlBody("", comChild("cmd"))))
		}},
		{name: "slice body", build: func(_ *testing.T, lr plog.LogRecord) {
			s := lr.Body().SetEmptySlice()
			s.AppendEmpty().SetStr(xmlBody("", comChild("cmd")))
			s.AppendEmpty().SetEmptyMap().PutInt("EventID", 1)
		}},
		{name: "bool body", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetBool(true) }},
		{name: "int body", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetInt(4688) }},
		{name: "NaN body", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetDouble(math.NaN()) }},

		// Huge maps.
		{name: "100k attributes", build: func(t *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr("hello")
			raw := make(map[string]any, 100_000)
			for i := range 100_000 {
				raw["key"+strconv.Itoa(i)] = "value"
			}
			require.NoError(t, lr.Attributes().FromRaw(raw))
		}},
		{name: "100k attributes with an event id", detect: true, build: func(t *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr("A new process has been created.")
			raw := make(map[string]any, 100_010)
			for i := range 100_000 {
				raw["key"+strconv.Itoa(i)] = i
			}
			for k, v := range comChild("cmd /c whoami") {
				raw[k] = v
			}
			raw["EventID"] = 1
			require.NoError(t, lr.Attributes().FromRaw(raw))
		}},
		{name: "100k event_data keys", build: func(t *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				raw := make(map[string]any, 100_000)
				for i := range 100_000 {
					raw["Field"+strconv.Itoa(i)] = "value"
				}
				ed, _ := m.Get("event_data")
				require.NoError(t, ed.Map().FromRaw(raw))
			})
		}},
		{name: "100k-item data array", build: func(_ *testing.T, lr plog.LogRecord) {
			receiverBody(lr, nil, func(m pcommon.Map) {
				s := m.PutEmptyMap("event_data").PutEmptySlice("data")
				s.EnsureCapacity(100_000)
				for i := range 100_000 {
					s.AppendEmpty().SetEmptyMap().PutStr("Field"+strconv.Itoa(i), "v")
				}
			})
		}},

		// XML.
		{name: "XML, detection", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(xmlBody("", comChild("cmd /c &quot;whoami&quot; &amp;&#10;&#x41;")))
		}},
		{name: "XML truncated in the event data", build: func(_ *testing.T, lr plog.LogRecord) {
			doc := xmlBody("", comChild("cmd"))
			lr.Body().SetStr(doc[:strings.Index(doc, "<EventData>")+30])
		}},
		{name: "XML truncated in the header", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetStr(xmlBody("", nil)[:90]) }},
		{name: "XML truncated at every tenth byte", build: func(_ *testing.T, lr plog.LogRecord) {
			// One record can only hold one body: use the shortest prefix
			// that still names an event; the others are covered by fuzzing.
			lr.Body().SetStr(xmlBody("", comChild("cmd"))[:10])
		}},
		{name: "XML without an EventID", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(strings.Replace(xmlBody("", comChild("cmd")), "<EventID>1</EventID>", "", 1))
		}},
		{name: "XML with a non-numeric EventID", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(strings.Replace(xmlBody("", comChild("cmd")), "<EventID>1<", "<EventID>&#49;<", 1))
		}},
		{name: "XML with unclosed Data", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(strings.ReplaceAll(xmlBody("", comChild("cmd")), "</Data>", ""))
		}},
		{name: "XML with a broken Data tag", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(strings.Replace(xmlBody("", comChild("cmd")), `<Data Name="Image">`, `<Data Name="Image`, 1))
		}},
		{name: "XML with many '&'", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(xmlBody("", benign(strings.Repeat("&", brokenMiB))))
		}},
		{name: "XML with 100k Data elements", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(xmlBody("", benign(strings.Repeat(`</Data><Data Name="X">y`, 100_000))))
		}},
		{name: "XML with invalid UTF-8 and NUL", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(xmlBody("\xef\xbb\xbf", benign("\xff\x00\xfe&#0;&#xFFFE;")))
		}},
		{name: "XML with external entities", detect: true, check: func(t *testing.T, attrs pcommon.Map) {
			cl, _ := attrs.Get("process.command_line")
			assert.Equal(t, "cmd /c &file;&net;&lol2;", cl.Str(), "entity references stay literal")
		}, build: func(_ *testing.T, lr plog.LogRecord) {
			prolog := `<?xml version="1.0"?><!DOCTYPE Event [` +
				`<!ENTITY file SYSTEM "file://` + marker + `">` +
				`<!ENTITY net SYSTEM "` + entityURL + `">` +
				`<!ENTITY % param SYSTEM "` + entityURL + `/param"> %param;` +
				`<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
				`]>`
			lr.Body().SetStr(xmlBody(prolog, comChild("cmd /c &file;&net;&lol2;")))
		}},
		// A declared entity must not turn the image into cmd.exe (which would
		// be COM_SuspiciousChild); "&cmd;" is just an unknown child of a COM server.
		{name: "XML with entities in the image", detect: true, check: func(t *testing.T, attrs pcommon.Map) {
			pattern, _ := attrs.Get(attrDetectionPattern)
			assert.Equal(t, "DCOM_ServerChild", pattern.Str())
			name, _ := attrs.Get("process.executable.name")
			assert.Equal(t, "&cmd;", name.Str())
		}, build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(xmlBody(`<!DOCTYPE Event [<!ENTITY cmd "cmd.exe">]>`, map[string]string{
				"Image": `C:\Windows\System32\&cmd;`, "ParentImage": `C:\Windows\System32\mmc.exe`, "ParentCommandLine": "mmc.exe -Embedding",
			}))
		}},
		{name: "JSON string, malformed", build: func(_ *testing.T, lr plog.LogRecord) { lr.Body().SetStr(`{"EventID": 1, "Image": `) }},
		{name: "JSON string, deeply nested", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(`{"EventID": 1, "x": ` + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + `}`)
		}},
		{name: "JSON string, wrong types", build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(`{"EventID": 1, "Image": 5, "ParentImage": null, "CommandLine": ["cmd"], "ParentCommandLine": {"a": 1}}`)
		}},
	}...)
	return append(cases, brokenPowerShellCases(big)...)
}

// powershellBody is a windowseventlog receiver body of a PowerShell
// Operational event; edit fills its event data.
func powershellBody(lr plog.LogRecord, id int64, edit func(data pcommon.Map)) {
	m := lr.Body().SetEmptyMap()
	m.PutEmptyMap("event_id").PutInt("id", id)
	m.PutEmptyMap("provider").PutStr("name", "Microsoft-Windows-PowerShell")
	m.PutStr("channel", "Microsoft-Windows-PowerShell/Operational")
	m.PutStr("computer", "host.example")
	m.PutEmptyMap("security").PutStr("user_id", "S-1-5-21-1-2-3-1104")
	edit(m.PutEmptyMap("event_data"))
}

// scriptBlockData fills a 4104's event data.
func scriptBlockData(text, id, number, total string) func(pcommon.Map) {
	return func(d pcommon.Map) {
		d.PutStr("MessageNumber", number)
		d.PutStr("MessageTotal", total)
		d.PutStr("ScriptBlockText", text)
		d.PutStr("ScriptBlockId", id)
		d.PutStr("Path", "")
	}
}

// brokenPowerShellCases are script blocks and pipelines at their worst:
// megabytes of text, of base64 and of entities, wrong types, part numbers
// that are not numbers, parts that never complete.
func brokenPowerShellCases(big string) []brokenCase {
	huge := strings.Repeat("Write-Output 'x'\n", 4*brokenMiB/17)
	return []brokenCase{
		{name: "4104 of 4 MiB, the token at its end", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData(huge+"Invoke-DCOM -ComputerName x", "b-1", "1", "1"))
		}},
		{name: "4104 raw XML, a megabyte of entities", detect: true, build: func(_ *testing.T, lr plog.LogRecord) {
			lr.Body().SetStr(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-PowerShell"/>` +
				`<EventID>4104</EventID><Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>host.example</Computer>` +
				`<Security UserID="S-1-5-18"/></System><EventData><Data Name="MessageNumber">1</Data><Data Name="MessageTotal">1</Data>` +
				`<Data Name="ScriptBlockText">` + strings.Repeat("&#13;&#10;&amp;&quot;", brokenMiB/20) + `[type]::GetTypeFromProgID(&quot;MMC20.Application&quot;, &quot;h&quot;)</Data>` +
				`<Data Name="ScriptBlockId">b-2</Data></EventData></Event>`)
		}},
		{name: "4104 with megabytes of invalid base64 after -enc", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData("powershell -enc "+strings.Repeat("!~", brokenMiB), "b-3", "1", "1"))
		}},
		{name: "4104 with megabytes of base64 that is no UTF-16 text", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData("powershell -e "+big+" -ec "+strings.Repeat("/w==", brokenMiB/4), "b-4", "1", "1"))
		}},
		{name: "4104 with wrong types", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, func(d pcommon.Map) {
				d.PutInt("ScriptBlockText", 5)
				d.PutEmptyMap("MessageTotal").PutStr("Invoke-DCOM", "x")
				d.PutEmptySlice("ScriptBlockId").AppendEmpty().SetStr("Invoke-DCOM")
				d.PutDouble("MessageNumber", math.NaN())
			})
		}},
		{name: "4104 part numbers that are not part numbers", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData("Invoke-DC", "b-6", "-5", "99999999999999999999"))
		}},
		{name: "4104 first of 10,000 parts, never completed", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData(big+"Invoke-DC", "b-7", "1", "10000"))
		}},
		{name: "4104 last of three parts, alone", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4104, scriptBlockData("OM -ComputerName x"+big, "b-7", "3", "3"))
		}},
		{name: "4103 with a megabyte payload and no ContextInfo", build: func(_ *testing.T, lr plog.LogRecord) {
			powershellBody(lr, 4103, func(d pcommon.Map) { d.PutStr("Payload", big+"\xff\xfe\x00") })
		}},
	}
}

func newBrokenProcessor(t *testing.T, cfg *Config, sink *consumertest.LogsSink) processor.Logs {
	t.Helper()
	require.NoError(t, cfg.Validate())
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p
}

func marshalLogs(t *testing.T, ld plog.Logs) []byte {
	t.Helper()
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return b
}

// bodyBytes serializes a record's body alone.
func bodyBytes(t *testing.T, body pcommon.Value) []byte {
	t.Helper()
	ld := plog.NewLogs()
	body.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body())
	return marshalLogs(t, ld)
}

func TestBrokenRecords(t *testing.T) {
	// An external entity that were resolved would read this file or call
	// this server; neither may happen.
	marker := filepath.Join(t.TempDir(), "entity-target")
	secret := "ENTITY-WAS-EXPANDED-" + strconv.Itoa(os.Getpid())
	require.NoError(t, os.WriteFile(marker, []byte(secret), 0o600))
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte(secret))
	}))
	t.Cleanup(srv.Close)

	cases := brokenCases(marker, srv.URL)
	for _, profile := range []string{ProfileExtended, ProfileSeed} {
		cfg := defaultConfig()
		cfg.Profile = profile
		sink := new(consumertest.LogsSink)
		p := newBrokenProcessor(t, cfg, sink)
		dropCfg := defaultConfig()
		dropCfg.Profile = profile
		dropCfg.DropUnmatched = true
		dropSink := new(consumertest.LogsSink)
		drop := newBrokenProcessor(t, dropCfg, dropSink)

		for _, tc := range cases {
			t.Run(profile+"/"+tc.name, func(t *testing.T) {
				in := plog.NewLogs()
				tc.build(t, in.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
				before := marshalLogs(t, in)
				bodyBefore := bodyBytes(t, in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body())
				dropIn := plog.NewLogs()
				in.CopyTo(dropIn)

				sink.Reset()
				require.NotPanics(t, func() { require.NoError(t, p.ConsumeLogs(context.Background(), in)) })
				require.Len(t, sink.AllLogs(), 1)
				out := sink.AllLogs()[0]
				require.Equal(t, 1, out.LogRecordCount(), "records in = records out")
				lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
				pattern, detected := lr.Attributes().Get(attrDetectionPattern)
				if profile == ProfileExtended {
					assert.Equal(t, tc.detect, detected, "detection")
					if tc.check != nil && detected {
						tc.check(t, lr.Attributes())
					}
				}
				if detected {
					assert.NotEmpty(t, pattern.Str())
					assert.Equal(t, bodyBefore, bodyBytes(t, lr.Body()), "a detection's body is unchanged")
				} else {
					assert.Equal(t, before, marshalLogs(t, out), "an unmatched record leaves byte for byte as it came")
				}
				outBytes := marshalLogs(t, out)
				assert.NotContains(t, string(outBytes), secret, "an external entity was resolved")

				dropSink.Reset()
				require.NotPanics(t, func() { require.NoError(t, drop.ConsumeLogs(context.Background(), dropIn)) })
				kept := dropSink.LogRecordCount()
				if detected {
					assert.Equal(t, 1, kept, "drop_unmatched keeps the detection")
				} else {
					assert.Zero(t, kept, "drop_unmatched drops the record")
				}
			})
		}
	}
	assert.Zero(t, requests.Load(), "an external entity was fetched")
}

// TestBrokenRecordsInOneBatch sends every broken record, the catalogue
// detections among them, in one batch: the count is kept, and with
// drop_unmatched exactly the detections remain.
func TestBrokenRecordsInOneBatch(t *testing.T) {
	cases := brokenCases(filepath.Join(t.TempDir(), "none"), "http://127.0.0.1:9/")
	in := catalogueLogs(t, shapes[0])
	records := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for _, tc := range cases {
		tc.build(t, records.AppendEmpty())
	}
	total := records.Len()
	dropIn := plog.NewLogs()
	in.CopyTo(dropIn)

	sink := new(consumertest.LogsSink)
	p := newBrokenProcessor(t, defaultConfig(), sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), in))
	require.Equal(t, total, sink.LogRecordCount())
	detections := 0
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < out.Len(); i++ {
		if _, ok := out.At(i).Attributes().Get(attrDetectionPattern); ok {
			detections++
		}
	}
	wantBroken := 0
	for _, tc := range cases {
		if tc.detect {
			wantBroken++
		}
	}
	assert.Equal(t, 48+wantBroken, detections)

	cfg := defaultConfig()
	cfg.DropUnmatched = true
	dropSink := new(consumertest.LogsSink)
	drop := newBrokenProcessor(t, cfg, dropSink)
	require.NoError(t, drop.ConsumeLogs(context.Background(), dropIn))
	assert.Equal(t, detections, dropSink.LogRecordCount())
}

// TestBrokenRecordsWithSigmaRules: the broken records through a processor
// that also runs Sigma rules (the pack and SigmaHQ's 130 regression rules):
// no panic, every record out, and a record no rule flags leaves byte for
// byte as it came.
func TestBrokenRecordsWithSigmaRules(t *testing.T) {
	cases := brokenCases(filepath.Join(t.TempDir(), "none"), "http://127.0.0.1:9/")
	sink := new(consumertest.LogsSink)
	p := newBrokenProcessor(t, sigmaConfig(shippedPack, filepath.Join("testdata", "sigmahq", "rules")), sink)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := plog.NewLogs()
			tc.build(t, in.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
			before := marshalLogs(t, in)
			bodyBefore := bodyBytes(t, in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body())
			sink.Reset()
			require.NotPanics(t, func() { require.NoError(t, p.ConsumeLogs(context.Background(), in)) })
			require.Len(t, sink.AllLogs(), 1)
			out := sink.AllLogs()[0]
			require.Equal(t, 1, out.LogRecordCount())
			lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			if _, detected := lr.Attributes().Get(attrDetectionPattern); detected {
				assert.Equal(t, bodyBefore, bodyBytes(t, lr.Body()), "a detection's body is unchanged")
			} else {
				assert.Equal(t, before, marshalLogs(t, out), "an unmatched record leaves byte for byte as it came")
			}
		})
	}
}
