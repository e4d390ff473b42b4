package dcomdetectionprocessor

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// shapeChannelBatches renders a stream in one of streamtest.Shapes, each
// batch's Sysmon and Security records in a resource and scope of their own
// channel, as two receivers deliver them.
func shapeChannelBatches(t testing.TB, s *streamtest.Stream, shape string, size int) []plog.Logs {
	t.Helper()
	var out []plog.Logs
	var sysmon, security plog.LogRecordSlice
	for i := range s.JSON {
		if i%size == 0 {
			ld := plog.NewLogs()
			for _, channel := range []string{"sysmon", "security"} {
				rl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().Attributes().PutStr("_sourceCategory", "windows/"+channel)
				rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.38.0")
				sl := rl.ScopeLogs().AppendEmpty()
				sl.Scope().SetName("windowseventlog/" + channel)
				sl.Scope().SetVersion("v0.165.0")
				if channel == "sysmon" {
					sysmon = sl.LogRecords()
				} else {
					security = sl.LogRecords()
				}
			}
			out = append(out, ld)
		}
		lrs := security
		if isSysmonLine(s, i) {
			lrs = sysmon
		}
		lr := lrs.AppendEmpty()
		require.NoError(t, s.Record(shape, i, lr))
		lr.SetTimestamp(streamTimestamp(s, i))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Attributes().PutStr("log.file.name", "events.jsonl")
	}
	return out
}

// streamTimestamp is the time of line i as a record timestamp (the
// recordings are all after 1970).
func streamTimestamp(s *streamtest.Stream, i int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(time.Unix(0, s.Time(i)))
}

func isSysmonLine(s *streamtest.Stream, i int) bool {
	return strings.Contains(s.XML[i], "Microsoft-Windows-Sysmon")
}

// lateMarks returns where a late record's marks are: the verdict map under
// body_key for a map body, else the record's attributes.
func lateMarks(lr plog.LogRecord, bodyKey string) (pcommon.Map, bool) {
	if lr.Body().Type() == pcommon.ValueTypeMap {
		if v, ok := lr.Body().Map().Get(bodyKey); ok && v.Type() == pcommon.ValueTypeMap {
			if late, ok := v.Map().Get(attrCorrLate); ok && late.Bool() {
				return v.Map(), true
			}
		}
	}
	if late, ok := lr.Attributes().Get(attrCorrLate); ok && late.Bool() {
		return lr.Attributes(), true
	}
	return pcommon.Map{}, false
}

// lateRecord is a late record of the processor's output, with the
// resource and scope it left in and where its marks are.
type lateRecord struct {
	rl    plog.ResourceLogs
	sl    plog.ScopeLogs
	lr    plog.LogRecord
	marks pcommon.Map
}

// lateRecords lists the late records of the output, in order.
func lateRecords(lds []plog.Logs, bodyKey string) []lateRecord {
	var out []lateRecord
	for _, ld := range lds {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					if marks, ok := lateMarks(lr, bodyKey); ok {
						out = append(out, lateRecord{rl: rl, sl: sl, lr: lr, marks: marks})
					}
				}
			}
		}
	}
	return out
}

// correlationStream is the recorded stream whose name contains name.
func correlationStream(t *testing.T, name string) *streamtest.Stream {
	t.Helper()
	for _, s := range loadCorrelationStreams(t) {
		if strings.Contains(s.Name, name) {
			return s
		}
	}
	require.FailNow(t, "no recorded stream "+name)
	return nil
}

// A late record is the original Windows event, in every body shape the
// processor reads: the receiver's body with the verdict under body_key (or
// in attributes for a body that is not a map), record_attributes: false
// honoured, and the resource and scope of its own channel, whichever
// channel's record completed it and however the stream is split.
func TestLateRecordIsTheOriginalEventInEveryShape(t *testing.T) {
	counts := map[string]int{}
	for _, s := range loadCorrelationStreams(t) {
		for _, shape := range streamtest.Shapes {
			for _, size := range []int{1, 7, 1 << 20} {
				cfg := defaultConfig()
				cfg.DropUnmatched = true
				cfg.BodyKey = "dcom_detection"
				cfg.RecordAttributes = false
				late := lateRecords(consumeAll(t, cfg, shapeChannelBatches(t, s, shape, size)), cfg.BodyKey)
				for _, l := range late {
					checkLateRecord(t, s.Short()+"/"+shape+"/"+strconv.Itoa(size), s, shape, l, cfg.BodyKey)
				}
				lates := len(late)
				// Late records are the same whatever the shape; how many depends
				// on the split (in one call, fewer findings are late).
				key := s.Short() + "/" + strconv.Itoa(size)
				if n, ok := counts[key]; ok {
					assert.Equal(t, n, lates, "%s/%s: late records", key, shape)
				}
				counts[key] = lates
			}
		}
	}
	t.Logf("late records per stream and batch size: %v", counts)
	assert.Positive(t, counts["empire_dcom_shellwindows_stager/1"], "the ShellWindows child is a late alert")
}

func checkLateRecord(t *testing.T, name string, s *streamtest.Stream, shape string, l lateRecord, bodyKey string) {
	t.Helper()
	rl, sl, lr, marks := l.rl, l.sl, l.lr, l.marks
	line := s.Index[streamtest.Key(strings.ToLower(str(marks, attrCorrHost)), integer(marks, attrCorrRecord+"event_id"), integer(marks, attrCorrRecord+"record_id"))]
	require.Positive(t, line, "%s: the late record names a record of the stream", name)
	want := plog.NewLogRecord()
	require.NoError(t, s.Record(shape, line-1, want))
	channel := "security"
	if isSysmonLine(s, line-1) {
		channel = "sysmon"
	}
	assert.Equal(t, "windows/"+channel, str(rl.Resource().Attributes(), "_sourceCategory"), "%s: the resource of its own channel", name)
	assert.Equal(t, "https://opentelemetry.io/schemas/1.38.0", rl.SchemaUrl(), name)
	assert.Equal(t, "windowseventlog/"+channel, sl.Scope().Name(), name)
	assert.Equal(t, "v0.165.0", sl.Scope().Version(), name)
	assert.Equal(t, streamTimestamp(s, line-1), lr.Timestamp(), name)
	assert.Equal(t, plog.SeverityNumberInfo, lr.SeverityNumber(), name)

	got := lr.Body()
	if got.Type() == pcommon.ValueTypeMap {
		// The receiver's body, with the verdict beside it; no attributes but
		// the receiver's.
		verdict, ok := got.Map().Get(bodyKey)
		require.True(t, ok, name)
		body := pcommon.NewValueEmpty()
		got.CopyTo(body)
		body.Map().Remove(bodyKey)
		assert.Equal(t, want.Body().AsRaw(), body.AsRaw(), "%s: the original body", name)
		assert.Equal(t, map[string]any{"log.file.name": "events.jsonl"}, lr.Attributes().AsRaw(), "%s: record_attributes: false", name)
		if _, ok := verdict.Map().Get(attrDetectionPattern); ok {
			assert.Equal(t, "T1021.003", str(verdict.Map(), attrSubtechniqueID), name)
		}
		return
	}
	// A text body (raw XML, JSON text, the flat attributes' message) stays
	// as it was; the verdict is in attributes beside the receiver's.
	assert.Equal(t, want.Body().AsRaw(), got.AsRaw(), "%s: the original body", name)
	for k, v := range want.Attributes().All() {
		g, ok := lr.Attributes().Get(k)
		if assert.True(t, ok, "%s: attribute %s of the original", name, k) {
			assert.Equal(t, v.AsRaw(), g.AsRaw(), name)
		}
	}
	if str(lr.Attributes(), attrEventKind) == "alert" {
		assert.NotEmpty(t, str(lr.Attributes(), attrDetectionPattern), name)
		assert.NotEmpty(t, str(lr.Attributes(), attrProcessPath), "%s: the process fields, read from the original", name)
	} else {
		assert.Equal(t, eventKindEnrichment, str(lr.Attributes(), attrEventKind), name)
	}
}

// Past the copies' byte budget a record is still joined, and its late
// record is the short form: a message naming the record, the verdict under
// body_key, in the scope of the record that completed it.
func TestLateRecordPastTheBudgetIsTheShortForm(t *testing.T) {
	s := correlationStream(t, "shellwindows")
	cfg := defaultConfig()
	cfg.DropUnmatched, cfg.BodyKey, cfg.RecordAttributes = true, "dcom_detection", false
	cfg.Correlation.LateRecordsMaxBytesPerHost, cfg.Correlation.LateRecordsMaxBytes = 1, 64
	require.NoError(t, cfg.Validate())
	late := lateRecords(consumeAll(t, cfg, shapeChannelBatches(t, s, "receiver map", 1)), cfg.BodyKey)
	for _, l := range late {
		assert.Contains(t, str(l.lr.Body().Map(), "message"), "DCOM_ShellWindows (late correlation) for event")
		assert.Equal(t, "DCOM_ShellWindows", str(l.marks, attrDetectionPattern))
		_, hasEvent := l.lr.Body().Map().Get("event_data")
		assert.False(t, hasEvent, "no copy of the event was kept")
	}
	assert.Len(t, late, 2, "both ShellWindows children, late, in the short form")
}

// A record over original.MaxRecordBytes is kept with its longest strings
// cut: its late alert still arrives as the event (its XML well formed), and
// says how many bytes were left out.
func TestLateRecordOfAHugeEventIsCutToFit(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cmd := `cmd.exe /c echo ` + strings.Repeat("A&B ", 25000) // 100 KB, with entities in XML
	for _, shape := range []string{"map", "xml"} {
		cfg := defaultConfig()
		cfg.BodyKey = "dcom_detection"
		child := security4688("ws01", 10, at, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, 0x500, 0x400, cmd, "0x1f4a2")
		conn := sysmon3Inbound("ws01", 11, at.Add(time.Second), at.Add(-200*time.Millisecond), `C:\Windows\explorer.exe`, 0x400, "{e}", "10.0.0.5", 50000, "10.0.0.6", 49700)
		late := lateRecords(consumeAll(t, cfg, []plog.Logs{logsOf(shape, child), logsOf(shape, conn)}), cfg.BodyKey)
		require.Len(t, late, 1, shape)
		lr, marks := late[0].lr, late[0].marks
		assert.Greater(t, integer(marks, attrCorrRecordCut), int64(60000), shape)
		assert.Equal(t, "DCOM_ShellWindows", str(marks, attrDetectionPattern), shape)
		if shape == "map" {
			ed, _ := lr.Body().Map().Get("event_data")
			got := str(ed.Map(), "CommandLine")
			assert.True(t, strings.HasPrefix(cmd, got) && len(got) > 16<<10, "%s: a long prefix of the command line (%d bytes)", shape, len(got))
			continue
		}
		dec := xml.NewDecoder(strings.NewReader(lr.Body().Str()))
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, "the cut XML is well formed")
		}
		assert.Contains(t, lr.Body().Str(), `<Data Name="ParentProcessName">C:\Windows\explorer.exe</Data>`)
	}
}

// A record that cannot be copied within original.MaxRecordBytes (here,
// thousands of attributes) is still joined; its late record is the short
// form, in its own resource.
func TestLateRecordOfAnUncopiableEventIsShortInItsOwnResource(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	child := security4688("ws01", 10, at, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, 0x500, 0x400, "cmd.exe /c whoami", "0x1f4a2")
	conn := sysmon3Inbound("ws01", 11, at.Add(time.Second), at.Add(-200*time.Millisecond), `C:\Windows\explorer.exe`, 0x400, "{e}", "10.0.0.5", 50000, "10.0.0.6", 49700)
	first, second := logsOf("map", child), logsOf("map", conn)
	first.ResourceLogs().At(0).Resource().Attributes().PutStr("_sourceCategory", "windows/security")
	second.ResourceLogs().At(0).Resource().Attributes().PutStr("_sourceCategory", "windows/sysmon")
	attrs := first.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	for i := range 6000 {
		attrs.PutInt("field."+strconv.Itoa(i), int64(i))
	}
	cfg := defaultConfig()
	cfg.BodyKey = "dcom_detection"
	late := lateRecords(consumeAll(t, cfg, []plog.Logs{first, second}), cfg.BodyKey)
	require.Len(t, late, 1)
	assert.Equal(t, "windows/security", str(late[0].rl.Resource().Attributes(), "_sourceCategory"), "its own resource")
	assert.Contains(t, str(late[0].lr.Body().Map(), "message"), "DCOM_ShellWindows (late correlation)")
	assert.Equal(t, "DCOM_ShellWindows", str(late[0].marks, attrDetectionPattern))
}
