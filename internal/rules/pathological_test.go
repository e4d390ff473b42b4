package rules

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Attacker-controlled text (command lines, image paths, the XML around them)
// must cost time linear in its length. These tests compare the cost of a
// pathological input with the cost of an ordinary input of the same length.
//
// How cost is measured, and why this is not flaky:
//   - CPU: testing.Benchmark runs each input for a short, fixed benchtime and
//     reports ns/op. Absolute times on a shared machine mean nothing, but the
//     ratio of two measurements taken back to back in the same process is
//     stable. A ratio over the limit is measured twice more and the
//     smallest of the three kept: interference only ever makes a measurement
//     slower, so it cannot push three rounds above the limit unless the input
//     really is expensive (it can hide a small regression for one run, never
//     invent one). The limit (20x) is above the ratios measured for the
//     linear code (at most about 6x on command lines, about 12x on XML values
//     full of "&#") and far below what a quadratic scan costs (550x-1100x at
//     256 KiB for the scan in XML unescaping that this test found). It also
//     caught a linear scan with a large constant: overlapping 512-byte
//     argument scans made "GetTypeFromProgID(" repeated cost 15x-27x.
//   - Allocations: testing.AllocsPerRun is exact, so a pathological input
//     must not allocate more than the ordinary one of the same length.
//
// The race detector slows plain Go loops far more than the assembly behind
// strings.Index, which distorts ratios; the CPU comparison is skipped there
// (the allocation comparison still runs), as it is with -short.

const (
	// oneByteSize is the length of the one-character command lines;
	// pathologicalSize that of the others (a quadratic scan already costs
	// thousands of times the ordinary input at this size).
	oneByteSize      = 1 << 20
	pathologicalSize = 256 << 10
	// allocationSize is enough to show an allocation that grows with the input.
	allocationSize = 64 << 10
	maxCostRatio   = 20
)

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// repeatTo repeats unit until the result is exactly n bytes long.
func repeatTo(unit string, n int) string {
	s := strings.Repeat(unit, n/len(unit)+1)
	return s[:n]
}

// ordinaryCommandLine is text that looks like real command lines: paths,
// switches, quotes, a few of the characters the rules look at.
const ordinaryCommandLine = `"C:\Program Files\Vendor App\bin\app.exe" --config "C:\ProgramData\Vendor\config.json" /log:info -v ` +
	`-ExecutionPolicy Bypass -File C:\Users\jane\Documents\report-2026.ps1 /q /c echo done 2>nul & dir C:\Windows\Temp ` +
	`powershell -NoProfile -Command "Get-ChildItem -Path C:\ -Filter *.log | Select-Object -First 10" `

// setBenchtime shortens testing.Benchmark runs for the duration of a test.
func setBenchtime(t *testing.T, d string) {
	t.Helper()
	f := flag.Lookup("test.benchtime")
	if f == nil {
		t.Skip("testing flags not registered")
	}
	old := f.Value.String()
	require.NoError(t, f.Value.Set(d))
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

func nsPerOp(f func()) float64 {
	r := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f()
		}
	})
	if r.N == 0 {
		return 0
	}
	return float64(r.T.Nanoseconds()) / float64(r.N)
}

// costRatio returns cost(patho)/cost(normal). A ratio over the limit is
// measured twice more and the smallest of the three kept.
func costRatio(normal, patho func()) float64 {
	best := 0.0
	for round := 0; round < 3; round++ {
		n := nsPerOp(normal)
		p := nsPerOp(patho)
		if n <= 0 {
			continue
		}
		if r := p / n; round == 0 || r < best {
			best = r
		}
		if best < maxCostRatio {
			break
		}
	}
	return best
}

func skipCPUComparison(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("cost ratios are measured without -short")
	}
	if raceEnabled() {
		t.Skip("the race detector distorts cost ratios; allocation checks still run")
	}
}

// pathologicalCommandLines are near misses of everything the rules scan a
// command line for, each exactly n bytes long (one-character lines are
// oneByte long).
func pathologicalCommandLines(n, oneByte int) map[string]string {
	cases := map[string]string{}
	for _, c := range []string{"a", "A", "g", "G", "-", "/", "\\", "(", ",", "&", "\"", " ", "D", "e", "\x00", "\xff"} {
		cases[fmt.Sprintf("one byte %q", c)] = repeatTo(c, oneByte)
	}
	for _, tok := range append(DefaultLists()[ListSourceTokens], DefaultLists()[ListDualUseTokens]...) {
		text, withHost := strings.CutSuffix(tok, "(host)")
		cases["near miss "+text] = repeatTo(text[:len(text)-1], n)
		cases["near miss lower "+text] = repeatTo(strings.ToLower(text[:len(text)-1]), n)
		if withHost {
			cases["no host "+text] = repeatTo(text+"(", n)
			cases["parens and commas "+text] = repeatTo(text+"((((,", n)
			cases["open parens after "+text] = text + repeatTo("((((,", n-len(text))
			cases["closed call "+text] = repeatTo(text+`("MMC20.Application")`, n)
		}
	}
	for _, unit := range []string{
		"-embeddin", "/embeddin", "-automatio", "/automatio", "-Embedding", // markers and near misses
		`\\127.0.0.1`, `\\127.0.0.1\`, "/q /c \\\\127.0.0.1", "2>&", "2>&1", "/q /c 2>&1 ", // impacket redirect parts
		"dcomlaunc", "DCOM", "-Exe", "DCOM-Exe", // DcomLaunch and the seed branch
		"((((,", ")))),", "\"\"\"\"", "&&&&;",
		"-e ", " -enc AAAA", " -ec QQBBAA==", " /e \"////\"", " \u2013e A", // encoded commands to decode
		"RegisterXLL ", "RegisterXLL -ComputerName ", " -cn $null", " -ComputerName", // dual-use tokens and targets
		`name="ComputerName"; value="`, `computername=`, ", $true)", `GetTypeFromProgID("x", $true) `,
	} {
		cases["repeated "+unit] = repeatTo(unit, n)
	}
	// One dual-use token, then a text of near-targets: the target scan
	// runs once over all of it.
	for _, unit := range []string{" -ComputerName", " -cn $null", `name="ComputerName"; value="`, " -Target:''", "computername="} {
		cases["dual-use token then "+unit] = "RegisterXLL " + repeatTo(unit, n-len("RegisterXLL "))
	}
	return cases
}

// engines are every profile the rules run with, including an exclusion so
// that excludedBy runs on the inputs that are detections.
func pathologicalEngines(t testing.TB) []*Engine {
	var engines []*Engine
	for _, o := range []Options{
		{Profile: Seed},
		{Profile: Extended},
		{Profile: Extended, Exclusions: []Exclusion{{
			Name: "x", CommandLine: "*a*b*c*d*e*f*g*", ParentImage: "*\\*e*x*e*", User: "*\\*",
		}}},
	} {
		e, err := New(o)
		require.NoError(t, err)
		engines = append(engines, e)
	}
	return engines
}

// eventsAround puts one command line into events that reach every rule: an
// Office/MMC parent (COM child, server child, impacket), svchost starting a
// COM server (activation), Internet Explorer on 4688, and the same text as
// image paths.
func eventsAround(cl string) []winevent.Event {
	sysmon := "Microsoft-Windows-Sysmon/Operational"
	return []winevent.Event{
		{EventID: 1, Channel: sysmon, Image: `C:\Windows\System32\cmd.exe`, ParentImage: `C:\Windows\System32\mmc.exe`, CommandLine: cl, ParentCommandLine: cl, User: `CORP\x`},
		{EventID: 1, Channel: sysmon, Image: `C:\Windows\System32\mmc.exe`, ParentImage: `C:\Windows\System32\svchost.exe`, CommandLine: cl, ParentCommandLine: cl},
		{EventID: 1, Channel: sysmon, Image: `C:\Windows\explorer.exe`, ParentImage: `C:\Windows\explorer.exe`, CommandLine: cl, ParentCommandLine: cl, OriginalFileName: cl},
		{EventID: 1, Channel: sysmon, Image: cl, ParentImage: cl, CommandLine: cl, ParentCommandLine: cl, User: cl},
		{EventID: 4688, Channel: "Security", NewProcessName: `C:\x\calc.exe`, ParentProcessName: `C:\Program Files\Internet Explorer\iexplore.exe`, CommandLine: cl, TargetUserName: cl},
		{EventID: 4688, Channel: "Security", NewProcessName: cl, ParentProcessName: cl, CommandLine: cl},
	}
}

func evaluateAll(engines []*Engine, events []winevent.Event) {
	for _, e := range engines {
		for i := range events {
			e.Evaluate(&events[i])
		}
	}
}

func TestPathologicalCommandLines(t *testing.T) {
	engines := pathologicalEngines(t)

	t.Run("allocations", func(t *testing.T) {
		normalEvents := eventsAround(repeatTo(ordinaryCommandLine, allocationSize))
		normal := testing.AllocsPerRun(2, func() { evaluateAll(engines, normalEvents) })
		assert.Zero(t, normal)
		for name, cl := range pathologicalCommandLines(allocationSize, allocationSize) {
			events := eventsAround(cl)
			allocs := testing.AllocsPerRun(2, func() { evaluateAll(engines, events) })
			// Exact counts, so no allowance: nothing here allocates (the
			// domain\name string built for exclusions fits Go's stack buffer).
			assert.LessOrEqual(t, allocs, normal, name)
		}
	})

	t.Run("cpu", func(t *testing.T) {
		skipCPUComparison(t)
		setBenchtime(t, "20ms")
		normals := map[int]func(){}
		for name, cl := range pathologicalCommandLines(pathologicalSize, oneByteSize) {
			normal, ok := normals[len(cl)]
			if !ok {
				events := eventsAround(repeatTo(ordinaryCommandLine, len(cl)))
				normal = func() { evaluateAll(engines, events) }
				normals[len(cl)] = normal
			}
			events := eventsAround(cl)
			ratio := costRatio(normal, func() { evaluateAll(engines, events) })
			t.Logf("%-55q %8d bytes %6.2fx", name, len(cl), ratio)
			assert.Less(t, ratio, float64(maxCostRatio), "%s: evaluation is %.1fx slower than on ordinary text of the same length", name, ratio)
		}
	})
}

// xmlDocument wraps EventData in a Sysmon 1 event.
func xmlDocument(eventData string) string {
	return `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>` +
		`<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/><EventID>1</EventID>` +
		`<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>host.example</Computer></System>` +
		`<EventData>` + eventData + `</EventData></Event>`
}

// ordinaryXML is an event of exactly n bytes whose command line is ordinary
// text, escaped as Windows escapes it.
func ordinaryXML(n int) string {
	head := `<Data Name="Image">C:\Windows\System32\cmd.exe</Data><Data Name="ParentImage">C:\Windows\System32\mmc.exe</Data><Data Name="CommandLine">`
	tail := `</Data><Data Name="ParentCommandLine">C:\Windows\system32\mmc.exe -Embedding</Data>`
	frame := len(xmlDocument(head + tail))
	escaped := strings.NewReplacer(`"`, "&quot;", "&", "&amp;").Replace(ordinaryCommandLine)
	value := repeatTo(escaped, n-frame)
	return xmlDocument(head + value + tail)
}

// pathologicalXML are raw XML bodies built to make the scanner backtrack or
// the unescaper work hard; each is at least pathologicalSize bytes.
func pathologicalXML() map[string]string {
	n := pathologicalSize
	value := func(v string) string {
		return xmlDocument(`<Data Name="Image">C:\x\cmd.exe</Data><Data Name="CommandLine">` + v + `</Data>`)
	}
	var manyData strings.Builder
	for i := 0; manyData.Len() < n; i++ {
		fmt.Fprintf(&manyData, `<Data Name="Field%d">value %d</Data>`, i, i)
	}
	var hundredK strings.Builder
	for i := 0; i < 100_000; i++ {
		hundredK.WriteString(`<Data Name="CommandLine">x</Data>`)
	}
	return map[string]string{
		"value of '&'":                   value(repeatTo("&", n)),
		"value of &amp;":                 value(repeatTo("&amp;", n)),
		"value of &#":                    value(repeatTo("&#", n)),
		"value of &#x4":                  value(repeatTo("&#x4", n)),
		"value of &#x41;":                value(repeatTo("&#x41;", n)),
		"value of &#10;":                 value(repeatTo("&#10;", n)),
		"value of unknown entities":      value(repeatTo("&xxe;", n)),
		"value of long unknown entities": value(repeatTo("&abcdefghijklmnop;", n)),
		"value of &&&&&&&&&&&&;":         value(repeatTo("&&&&&&&&&&&&;", n)),
		"value of '<'":                   value(repeatTo("<", n)),
		"value of <Data":                 value(repeatTo("<Data", n)),
		"value of </Data":                value(repeatTo("</Data", n)),
		"many <Data> elements":           xmlDocument(manyData.String()),
		"100k <Data> elements":           xmlDocument(hundredK.String()),
		"unclosed <Data":                 xmlDocument(repeatTo(`<Data Name="Image"`, n)),
		"unclosed <Data>":                xmlDocument(repeatTo(`<Data Name="Image">`, n)),
		"<DataX near misses":             xmlDocument(repeatTo("<DataX", n)),
		"Name near misses in a tag":      xmlDocument(`<Data ` + repeatTo(`xName="a" Name `, n) + `>v</Data>`),
		"unterminated attribute":         xmlDocument(`<Data Name="` + repeatTo("a", n) + `>v</Data>`),
		"<EventIDX near misses":          repeatTo("<EventIDX", n) + xmlDocument(""),
		"<Event near misses":             repeatTo("<Even", n) + xmlDocument(""),
		"<Channel near misses":           strings.Replace(xmlDocument(""), "<Channel>", repeatTo("<ChannelX", n)+"<Channel>", 1),
		"<Provider with many Names":      strings.Replace(xmlDocument(""), "<Provider ", "<Provider "+repeatTo("Name Name= ", n), 1),
		"no EventID":                     repeatTo("<Event ", n),
		"DOCTYPE with entities": `<!DOCTYPE Event [` + repeatTo(`<!ENTITY a "&b;&b;&b;">`, n) + `]>` +
			value("&a;"),
	}
}

func TestPathologicalXML(t *testing.T) {
	engines := pathologicalEngines(t)
	attrs := pcommon.NewMap()
	readAndEvaluate := func(body pcommon.Value) func() {
		return func() {
			var ev winevent.Event
			if winevent.Read(body, attrs, &ev) == winevent.Filled {
				for _, e := range engines {
					e.Evaluate(&ev)
				}
			}
		}
	}
	cases := pathologicalXML()
	normals := map[int]pcommon.Value{}
	normalFor := func(n int) pcommon.Value {
		if v, ok := normals[n]; ok {
			return v
		}
		v := pcommon.NewValueStr(ordinaryXML(n))
		normals[n] = v
		return v
	}

	t.Run("allocations", func(t *testing.T) {
		for name, doc := range cases {
			normal := testing.AllocsPerRun(2, readAndEvaluate(normalFor(len(doc))))
			allocs := testing.AllocsPerRun(2, readAndEvaluate(pcommon.NewValueStr(doc)))
			// Unescaping allocates once per value that holds an entity (one
			// in the ordinary document, at most one in these), never per entity.
			assert.LessOrEqual(t, allocs, normal, name)
		}
	})

	t.Run("cpu", func(t *testing.T) {
		skipCPUComparison(t)
		setBenchtime(t, "20ms")
		for name, doc := range cases {
			ratio := costRatio(readAndEvaluate(normalFor(len(doc))), readAndEvaluate(pcommon.NewValueStr(doc)))
			t.Logf("%-35q %8d bytes %6.2fx", name, len(doc), ratio)
			assert.Less(t, ratio, float64(maxCostRatio), "%s: reading is %.1fx slower than an ordinary event of the same length", name, ratio)
		}
	})
}

// TestUnescapeRunOfAmpersandsIsLinear is the regression for the quadratic
// scan: a value of '&' with no ';' used to search the whole rest of the value
// for a ';' at every '&'. Doubling the input must roughly double the cost.
func TestUnescapeRunOfAmpersandsIsLinear(t *testing.T) {
	skipCPUComparison(t)
	setBenchtime(t, "20ms")
	doc := func(n int) pcommon.Value {
		return pcommon.NewValueStr(xmlDocument(`<Data Name="CommandLine">` + repeatTo("&", n) + `</Data>`))
	}
	small, large := doc(128<<10), doc(1<<20)
	read := func(v pcommon.Value) func() {
		return func() {
			var ev winevent.Event
			winevent.Read(v, pcommon.NewMap(), &ev)
		}
	}
	// 8x the input: linear code costs about 8x, the quadratic scan cost 64x.
	ratio := costRatio(read(small), read(large))
	t.Logf("1 MiB / 128 KiB of '&': %.2fx", ratio)
	assert.Less(t, ratio, 8.0*3)
}

// BenchmarkPathological reports the absolute numbers behind the ratios.
func BenchmarkPathological(b *testing.B) {
	engines := pathologicalEngines(b)
	for _, name := range []string{"one byte \"a\"", "no host GetTypeFromProgID", "parens and commas GetTypeFromProgID", "repeated -embeddin"} {
		events := eventsAround(pathologicalCommandLines(pathologicalSize, pathologicalSize)[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(pathologicalSize)
			for i := 0; i < b.N; i++ {
				evaluateAll(engines, events)
			}
		})
	}
	events := eventsAround(repeatTo(ordinaryCommandLine, pathologicalSize))
	b.Run("ordinary", func(b *testing.B) {
		b.SetBytes(pathologicalSize)
		for i := 0; i < b.N; i++ {
			evaluateAll(engines, events)
		}
	})
}

// catalogueBodies renders the catalogue fixtures of one shape file.
func catalogueBodies(t testing.TB, file string, asString bool) []pcommon.Value {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "catalogue", file))
	require.NoError(t, err)
	var out []pcommon.Value
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if asString {
			out = append(out, pcommon.NewValueStr(line))
			continue
		}
		m, err := winevent.MapFromJSON([]byte(line))
		require.NoError(t, err)
		v := pcommon.NewValueMap()
		m.CopyTo(v.Map())
		out = append(out, v)
	}
	require.Len(t, out, 78)
	return out
}

// TestReadEvaluateAllocations: reading a record and evaluating it allocates
// nothing when the record is not a detection, for the receiver's map and
// array shapes and raw XML without entities, in both profiles.
func TestReadEvaluateAllocations(t *testing.T) {
	_, expected := loadCatalogue(t)
	ids := catalogueIDs(t)
	attrs := pcommon.NewMap()
	for _, tc := range []struct {
		profile Profile
		key     string
	}{{Seed, "seed"}, {Extended, "extended"}} {
		engine, err := New(Options{Profile: tc.profile})
		require.NoError(t, err)
		reader := winevent.NewReader(engine.Needs()...)
		for _, shape := range []struct {
			file     string
			asString bool
		}{{"map.jsonl", false}, {"array.jsonl", false}, {"events.xml", true}} {
			checked := 0
			for i, body := range catalogueBodies(t, shape.file, shape.asString) {
				if shape.asString && strings.Contains(body.Str(), "&") {
					continue // unescaping builds new strings
				}
				var ev winevent.Event
				require.Equal(t, winevent.Filled, reader.Read(body, attrs, &ev))
				verdict := engine.Evaluate(&ev)
				want := expected[ids[i]][tc.key]
				require.Equal(t, want, verdict.Pattern.String(), "%s %s %s", tc.key, shape.file, ids[i])
				if want != "none" {
					continue
				}
				allocs := testing.AllocsPerRun(50, func() {
					var ev winevent.Event
					reader.Read(body, attrs, &ev)
					engine.Evaluate(&ev)
				})
				assert.Zero(t, allocs, "%s %s %s", tc.key, shape.file, ids[i])
				checked++
			}
			assert.Positive(t, checked, "%s %s: no unmatched record checked", tc.key, shape.file)
			t.Logf("%s %s: %d unmatched records read and evaluated without allocating", tc.key, shape.file, checked)
		}
	}
}

// TestEvaluateAllocationsLongNames: names longer than Go's 32-byte stack
// buffer for string conversions must not make an unmatched event allocate
// (the allowlist check used to convert the lower-cased names to strings).
func TestEvaluateAllocationsLongNames(t *testing.T) {
	engine, err := New(Options{})
	require.NoError(t, err)
	long := `C:\Program Files\Microsoft Office\root\Office16\AppVDllSurrogate64-with-a-very-long-suffix.exe`
	for name, ev := range map[string]winevent.Event{
		"allowlisted child of an embedded server": {
			EventID: 1, Channel: "Microsoft-Windows-Sysmon/Operational", Image: long,
			ParentImage: `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, ParentCommandLine: `EXCEL.EXE /automation -Embedding`,
		},
		"allowlisted child of Internet Explorer on 4688": {
			EventID: 4688, Channel: "Security", NewProcessName: long,
			ParentProcessName: `C:\Program Files\Internet Explorer\iexplore.exe`,
		},
		"long parent and child": {
			EventID: 1, Channel: "Microsoft-Windows-Sysmon/Operational", Image: long, ParentImage: long, OriginalFileName: long,
		},
	} {
		require.Equal(t, None, engine.Evaluate(&ev).Pattern, name)
		allocs := testing.AllocsPerRun(50, func() { engine.Evaluate(&ev) })
		assert.Zero(t, allocs, name)
	}
}

// TestReadAllocationsOtherEvents: other Windows events (Sysmon 3, 4624) are
// recognized and skipped without allocating by a reader of the rules' plan,
// in the receiver shapes and XML.
func TestReadAllocationsOtherEvents(t *testing.T) {
	engine, err := New(Options{Profile: Extended})
	require.NoError(t, err)
	reader := winevent.NewReader(engine.Needs()...)
	attrs := pcommon.NewMap()
	bodies := map[string]pcommon.Value{}
	for _, e := range []struct {
		id      int64
		channel string
	}{{3, "Microsoft-Windows-Sysmon/Operational"}, {4624, "Security"}} {
		m := pcommon.NewValueMap()
		m.Map().PutEmptyMap("event_id").PutInt("id", e.id)
		m.Map().PutStr("channel", e.channel)
		m.Map().PutEmptyMap("event_data").PutStr("Image", `C:\Windows\System32\svchost.exe`)
		bodies[fmt.Sprintf("%d map", e.id)] = m
		a := pcommon.NewValueMap()
		a.Map().PutEmptyMap("event_id").PutInt("id", e.id)
		a.Map().PutStr("channel", e.channel)
		a.Map().PutEmptyMap("event_data").PutEmptySlice("data").AppendEmpty().SetEmptyMap().PutStr("Image", `C:\x.exe`)
		bodies[fmt.Sprintf("%d array", e.id)] = a
		bodies[fmt.Sprintf("%d xml", e.id)] = pcommon.NewValueStr(strings.Replace(
			xmlDocument(`<Data Name="Image">C:\x.exe</Data>`), "<EventID>1<", fmt.Sprintf("<EventID>%d<", e.id), 1))
	}
	for name, body := range bodies {
		var ev winevent.Event
		require.Equal(t, winevent.OtherEvent, reader.Read(body, attrs, &ev), name)
		allocs := testing.AllocsPerRun(50, func() {
			var ev winevent.Event
			reader.Read(body, attrs, &ev)
		})
		assert.Zero(t, allocs, name)
	}
}

// catalogueIDs lists the catalogue ids in file order.
func catalogueIDs(t testing.TB) []string {
	events, _ := loadCatalogue(t)
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}
