package dcomdetectionprocessor

import (
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
				out := consumeAll(t, cfg, shapeChannelBatches(t, s, shape, size))
				lates := 0
				for _, ld := range out {
					for _, rl := range ld.ResourceLogs().All() {
						for _, sl := range rl.ScopeLogs().All() {
							for _, lr := range sl.LogRecords().All() {
								marks, ok := lateMarks(lr, cfg.BodyKey)
								if !ok {
									continue
								}
								lates++
								name := s.Short() + "/" + shape + "/" + strconv.Itoa(size)
								checkLateRecord(t, name, s, shape, rl, sl, lr, marks, cfg.BodyKey)
							}
						}
					}
				}
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

func checkLateRecord(t *testing.T, name string, s *streamtest.Stream, shape string, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, marks pcommon.Map, bodyKey string) {
	t.Helper()
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
			assert.Equal(t, subtechniqueID, str(verdict.Map(), attrSubtechniqueID), name)
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
