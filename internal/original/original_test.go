package original

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// sameRecord reports the first difference between two records.
func sameRecord(t *testing.T, want, got plog.LogRecord) {
	t.Helper()
	if !want.Body().Equal(got.Body()) {
		t.Fatalf("body:\nwant %v\ngot  %v", want.Body().AsRaw(), got.Body().AsRaw())
	}
	if !want.Attributes().Equal(got.Attributes()) {
		t.Fatalf("attributes:\nwant %v\ngot  %v", want.Attributes().AsRaw(), got.Attributes().AsRaw())
	}
	if want.Timestamp() != got.Timestamp() || want.ObservedTimestamp() != got.ObservedTimestamp() ||
		want.SeverityNumber() != got.SeverityNumber() || want.SeverityText() != got.SeverityText() ||
		want.EventName() != got.EventName() || want.Flags() != got.Flags() ||
		want.TraceID() != got.TraceID() || want.SpanID() != got.SpanID() ||
		want.DroppedAttributesCount() != got.DroppedAttributesCount() {
		t.Fatalf("record fields differ: want %v %v %v %q %q %v %v %v %d, got %v %v %v %q %q %v %v %v %d",
			want.Timestamp(), want.ObservedTimestamp(), want.SeverityNumber(), want.SeverityText(), want.EventName(), want.Flags(), want.TraceID(), want.SpanID(), want.DroppedAttributesCount(),
			got.Timestamp(), got.ObservedTimestamp(), got.SeverityNumber(), got.SeverityText(), got.EventName(), got.Flags(), got.TraceID(), got.SpanID(), got.DroppedAttributesCount())
	}
}

func roundTrip(t *testing.T, lr plog.LogRecord, limit int) (plog.LogRecord, int, int) {
	t.Helper()
	b, ok := AppendRecord(nil, lr, limit)
	if !ok {
		t.Fatal("not kept")
	}
	if limit <= 0 {
		limit = MaxRecordBytes
	}
	if len(b) > limit {
		t.Fatalf("copy of %d bytes over its limit of %d", len(b), limit)
	}
	got := plog.NewLogRecord()
	cut, err := DecodeRecord(b, got)
	if err != nil {
		t.Fatal(err)
	}
	return got, cut, len(b)
}

// Every record of the recorded streams, in every body shape the processor
// reads, comes back as it was, well under the limit.
func TestRoundTripEveryShapeOfTheRecordings(t *testing.T) {
	streams, err := streamtest.Load("../../testdata/streams")
	if err != nil {
		t.Fatal(err)
	}
	largest := map[string]int{}
	for _, s := range streams {
		for i := range s.JSON {
			for _, shape := range streamtest.Shapes {
				lr := plog.NewLogRecord()
				if err := s.Record(shape, i, lr); err != nil {
					t.Fatal(err)
				}
				lr.SetTimestamp(pcommon.Timestamp(max(s.Time(i), 0)))
				lr.Attributes().PutStr("log.file.name", "security.jsonl")
				got, cut, n := roundTrip(t, lr, 0)
				if cut != 0 {
					// Only events that are not process creations (a 14 KB
					// PowerShell script block) are that long.
					if isProcessCreation(s.JSON[i]) {
						t.Fatalf("%s line %d %s: %d bytes cut", s.Short(), i+1, shape, cut)
					}
					continue
				}
				sameRecord(t, lr, got)
				if isProcessCreation(s.JSON[i]) {
					largest[shape] = max(largest[shape], n)
				}
			}
		}
	}
	for shape, n := range largest {
		if n > MaxRecordBytes/2 {
			// The Empire stager's process creation takes 12 KiB.
			t.Errorf("%s: a recorded process creation takes %d bytes, more than half the limit", shape, n)
		}
	}
	if len(largest) != len(streamtest.Shapes) {
		t.Fatalf("process creations seen in %d shapes", len(largest))
	}
	t.Logf("largest copy of a process creation per shape: %v", largest)
}

func isProcessCreation(receiverLine string) bool {
	return strings.HasPrefix(receiverLine, `{"event_id":{"id":1,`) || strings.HasPrefix(receiverLine, `{"event_id":{"id":4688,`)
}

func TestRoundTripEveryValueType(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(1)
	lr.SetObservedTimestamp(math.MaxUint64)
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("Warning")
	lr.SetEventName("windows.event")
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1})
	lr.SetDroppedAttributesCount(3)
	m := lr.Body().SetEmptyMap()
	m.PutStr("s", "ünïcödé \x00 text")
	m.PutInt("i", math.MinInt64)
	m.PutInt("j", math.MaxInt64)
	m.PutDouble("d", -0.5)
	m.PutDouble("nan", math.Inf(-1))
	m.PutBool("t", true)
	m.PutBool("f", false)
	m.PutEmptyBytes("b").FromRaw([]byte{0, 1, 255})
	m.PutEmpty("empty")
	sl := m.PutEmptySlice("slice")
	sl.AppendEmpty().SetStr("a")
	sl.AppendEmpty().SetEmptyMap().PutInt("n", 1)
	sl.AppendEmpty().SetEmptySlice().AppendEmpty().SetBool(true)
	m.PutEmptyMap("empty map")
	lr.Attributes().PutStr("k", "v")
	lr.Attributes().PutEmptyMap("nested").PutEmptySlice("x").AppendEmpty().SetDouble(2)
	got, cut, _ := roundTrip(t, lr, 0)
	if cut != 0 {
		t.Fatalf("%d bytes cut", cut)
	}
	sameRecord(t, lr, got)
}

// A command line longer than the limit is cut to fit; the rest of the
// event is whole and the cut is counted.
func TestLongCommandLineIsCutToFit(t *testing.T) {
	lr := plog.NewLogRecord()
	m := lr.Body().SetEmptyMap()
	m.PutInt("record_id", 7)
	ed := m.PutEmptyMap("event_data")
	ed.PutStr("Image", `C:\Windows\System32\cmd.exe`)
	long := "cmd.exe /c " + strings.Repeat("é", 40000) // 80 KB of two-byte runes
	ed.PutStr("CommandLine", long)
	ed.PutStr("ParentImage", `C:\Windows\explorer.exe`)
	got, cut, n := roundTrip(t, lr, 0)
	gotED, _ := got.Body().Map().Get("event_data")
	gotCmd, _ := gotED.Map().Get("CommandLine")
	if !strings.HasPrefix(long, gotCmd.Str()) || len(gotCmd.Str()) < MaxRecordBytes/2 {
		t.Fatalf("command line kept %d bytes, not a long prefix", len(gotCmd.Str()))
	}
	if !strings.HasPrefix(gotCmd.Str(), "cmd.exe /c é") || !strings.HasSuffix(gotCmd.Str(), "é") {
		t.Fatal("cut inside a rune")
	}
	if cut != len(long)-len(gotCmd.Str()) {
		t.Fatalf("cut %d, left out %d", cut, len(long)-len(gotCmd.Str()))
	}
	img, _ := gotED.Map().Get("Image")
	parent, _ := gotED.Map().Get("ParentImage")
	if img.Str() != `C:\Windows\System32\cmd.exe` || parent.Str() != `C:\Windows\explorer.exe` {
		t.Fatal("short fields changed")
	}
	if n < MaxRecordBytes-64 {
		t.Logf("copy of %d bytes", n)
	}
}

// Two long strings share the cut: each keeps what the limit allows.
func TestTwoLongStringsShareTheCut(t *testing.T) {
	lr := plog.NewLogRecord()
	m := lr.Body().SetEmptyMap()
	m.PutStr("a", strings.Repeat("a", 10000))
	m.PutStr("b", strings.Repeat("b", 6000))
	m.PutStr("c", "short")
	got, cut, _ := roundTrip(t, lr, 4096)
	a, _ := got.Body().Map().Get("a")
	b, _ := got.Body().Map().Get("b")
	if len(a.Str()) != len(b.Str()) || len(a.Str()) < 1900 {
		t.Fatalf("kept %d and %d bytes", len(a.Str()), len(b.Str()))
	}
	if cut != 16000-len(a.Str())-len(b.Str()) {
		t.Fatalf("cut %d", cut)
	}
}

// A raw XML event over the limit stays well-formed XML: the long character
// data is cut at a rune and outside an entity reference, whatever the
// limit.
func TestLongXMLStaysWellFormed(t *testing.T) {
	cmd := strings.Repeat("powershell -c &quot;Get-Item &amp; ü€ &lt;x&gt;&quot; ", 600)
	event := `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>4688</EventID>` +
		`<Computer>ws01.corp.example</Computer></System><EventData><Data Name="NewProcessName">C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe</Data>` +
		`<Data Name="CommandLine">` + cmd + `</Data></EventData></Event>`
	for limit := 1000; limit <= 4000; limit += 37 {
		lr := plog.NewLogRecord()
		lr.Body().SetStr(event)
		got, cut, _ := roundTrip(t, lr, limit)
		s := got.Body().Str()
		if cut != len(event)-len(s) || cut == 0 {
			t.Fatalf("limit %d: cut %d, left out %d", limit, cut, len(event)-len(s))
		}
		dec := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("limit %d: cut XML does not parse: %v\n%s", limit, err, s)
			}
		}
		if !strings.Contains(s, `<Data Name="NewProcessName">C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe</Data>`) ||
			!strings.HasSuffix(s, `</Data></EventData></Event>`) {
			t.Fatalf("limit %d: the short fields or the structure changed", limit)
		}
	}
}

// What cannot fit is not kept, and dst is as it was.
func TestWhatCannotFitIsNotKept(t *testing.T) {
	manyKeys := plog.NewLogRecord()
	m := manyKeys.Body().SetEmptyMap()
	for i := range 5000 {
		m.PutInt(strings.Repeat("k", 8)+string(rune('a'+i%26))+strings.Repeat("x", i%7)+itoa(i), int64(i))
	}
	deep := plog.NewLogRecord()
	v := deep.Body()
	for range 100 {
		v = v.SetEmptyMap().PutEmpty("d")
	}
	v.SetStr("bottom")
	for name, lr := range map[string]plog.LogRecord{"many keys": manyKeys, "deep": deep} {
		dst := []byte("prefix")
		out, ok := AppendRecord(dst, lr, 0)
		if ok || string(out) != "prefix" {
			t.Fatalf("%s: kept (%v) or dst changed (%q)", name, ok, out[:min(len(out), 10)])
		}
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

func TestOriginRoundTripAndBound(t *testing.T) {
	res := pcommon.NewResource()
	res.Attributes().PutStr("_sourceCategory", "security/windows/sysmon")
	res.Attributes().PutStr("host.name", "ws01")
	res.SetDroppedAttributesCount(1)
	scope := pcommon.NewInstrumentationScope()
	scope.SetName("windowseventlog")
	scope.SetVersion("0.165.0")
	scope.Attributes().PutBool("x", true)
	b := AppendOrigin(nil, res, "https://opentelemetry.io/schemas/1.9.0", scope, "s2", 0)
	gotRes, gotScope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	rs, ss, err := DecodeOrigin(b, gotRes, gotScope)
	if err != nil {
		t.Fatal(err)
	}
	if rs != "https://opentelemetry.io/schemas/1.9.0" || ss != "s2" || !gotRes.Attributes().Equal(res.Attributes()) ||
		gotRes.DroppedAttributesCount() != 1 || gotScope.Name() != "windowseventlog" || gotScope.Version() != "0.165.0" ||
		!gotScope.Attributes().Equal(scope.Attributes()) {
		t.Fatalf("origin changed: %v %v %q %q", gotRes.Attributes().AsRaw(), gotScope.Attributes().AsRaw(), rs, ss)
	}

	// Past the limit, attributes are left out and counted as dropped.
	for i := range 200 {
		res.Attributes().PutStr("k8s.label."+itoa(i), strings.Repeat("v", 40))
	}
	scope.SetName(strings.Repeat("n", 5000))
	b = AppendOrigin(nil, res, "", scope, "", 0)
	if len(b) > MaxOriginBytes {
		t.Fatalf("origin of %d bytes over the limit of %d", len(b), MaxOriginBytes)
	}
	gotRes, gotScope = pcommon.NewResource(), pcommon.NewInstrumentationScope()
	if _, _, err := DecodeOrigin(b, gotRes, gotScope); err != nil {
		t.Fatal(err)
	}
	kept := gotRes.Attributes().Len()
	if kept == 0 || kept == res.Attributes().Len() {
		t.Fatalf("kept %d of %d attributes", kept, res.Attributes().Len())
	}
	if int(gotRes.DroppedAttributesCount()) != 1+res.Attributes().Len()-kept {
		t.Fatalf("dropped %d, want %d", gotRes.DroppedAttributesCount(), 1+res.Attributes().Len()-kept)
	}
	if cat, _ := gotRes.Attributes().Get("_sourceCategory"); cat.Str() != "security/windows/sysmon" {
		t.Fatal("the first attributes must be kept")
	}
}

// A copy that is not one (corrupt, cut short) is an error, never a panic.
func FuzzDecode(f *testing.F) {
	lr := plog.NewLogRecord()
	lr.Body().SetEmptyMap().PutEmptySlice("a").AppendEmpty().SetEmptyBytes().FromRaw([]byte{1})
	lr.Attributes().PutDouble("d", 1)
	b, _ := AppendRecord(nil, lr, 0)
	f.Add(b)
	f.Add(AppendOrigin(nil, pcommon.NewResource(), "x", pcommon.NewInstrumentationScope(), "y", 0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(_ *testing.T, b []byte) {
		_, _ = DecodeRecord(b, plog.NewLogRecord())
		_, _, _ = DecodeOrigin(b, pcommon.NewResource(), pcommon.NewInstrumentationScope())
	})
}

// Any string body and any limit: a kept copy is within the limit and
// decodes; a cut string is a prefix of the original.
func FuzzAppendRecord(f *testing.F) {
	f.Add("<Event><Data>a &amp; b</Data></Event>", "cmd.exe /c x", 200)
	f.Add("plain", strings.Repeat("€", 300), 100)
	f.Fuzz(func(t *testing.T, body, field string, limit int) {
		limit = 64 + abs(limit)%4096
		lr := plog.NewLogRecord()
		lr.Body().SetStr(body)
		lr.Attributes().PutStr("f", field)
		b, ok := AppendRecord(nil, lr, limit)
		if !ok {
			return
		}
		if len(b) > limit {
			t.Fatalf("%d bytes over %d", len(b), limit)
		}
		got := plog.NewLogRecord()
		cut, err := DecodeRecord(b, got)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := got.Attributes().Get("f")
		if !strings.HasPrefix(field, f.Str()) {
			t.Fatal("attribute is not a prefix of the original")
		}
		if !isXML(body) && !strings.HasPrefix(body, got.Body().Str()) {
			t.Fatal("body is not a prefix of the original")
		}
		if cut != len(body)+len(field)-len(got.Body().Str())-len(f.Str()) {
			t.Fatalf("cut %d does not count what was left out", cut)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		if x == math.MinInt {
			return 0
		}
		return -x
	}
	return x
}
