package sumologicexporter

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func record(body any, attrs map[string]any) plog.LogRecord {
	lr := plog.NewLogRecord()
	_ = lr.Body().FromRaw(body)
	_ = lr.Attributes().FromRaw(attrs)
	return lr
}

func TestAppendLineText(t *testing.T) {
	tests := []struct {
		name string
		body any
		want string
	}{
		{"windows map body is the parser's _raw", windowsBody(), windowsLine},
		{"string", "plain line", "plain line"},
		{"string with line breaks stays one line", "a\nb\r\nc", `a\nb\r\nc`},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
		{"int", int64(42), "42"},
		{"double", 1.5, "1.5"},
		{"bool", true, "true"},
		{"bytes", []byte("hi"), "aGk="},
		{"slice", []any{"a", int64(1), nil}, `["a",1,null]`},
		{"empty map", map[string]any{}, "{}"},
		{"nil body sends nothing", nil, ""},
		{"empty string sends nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendLine(nil, TextFormat, record(tt.body, nil))))
		})
	}
}

func TestAppendLineJSON(t *testing.T) {
	tests := []struct {
		name  string
		body  any
		attrs map[string]any
		want  string
	}{
		{"attributes sorted, body under log", "msg", map[string]any{"b": int64(1), "a": "x"}, `{"a":"x","b":1,"log":"msg"}`},
		{"body replaces a log attribute", "msg", map[string]any{"log": "attr", "z": false}, `{"log":"msg","z":false}`},
		{"map body is nested", map[string]any{"k": "v"}, nil, `{"log":{"k":"v"}}`},
		{"empty body is left out", "", map[string]any{"a": "x"}, `{"a":"x"}`},
		{"nothing at all", nil, nil, `{}`},
		{"html is not escaped", "<a href='x'>&</a>", nil, `{"log":"<a href='x'>&</a>"}`},
		{"NaN and Inf become strings", math.NaN(), map[string]any{"inf": math.Inf(-1)}, `{"inf":"-Inf","log":"NaN"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendLine(nil, JSONFormat, record(tt.body, tt.attrs))
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got))
		})
	}
}

// The JSON writer must match encoding/json on Map.AsRaw (what contrib sends).
func TestJSONMatchesEncodingJSON(t *testing.T) {
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(map[string]any{
		"s":     "quote\" backslash\\ ctl\x01\x1f\b\f\t\n\r html<>& sep\u2028\u2029 bad\xff",
		"f":     []any{0.0, math.Copysign(0, -1), 1e-7, 1e21, 123456789.125, 1e20, -2.5e-10, 3.0},
		"i":     int64(math.MinInt64),
		"b":     []byte{0, 1, 2, 250},
		"nest":  map[string]any{"z": nil, "a": []any{map[string]any{"x": true}}},
		"émoji": "😀",
	}))
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(m.AsRaw()))
	assert.Equal(t, strings.TrimSuffix(want.String(), "\n"), string(appendJSONObject(nil, m, nil)))
}

func TestBuildBodiesSplitting(t *testing.T) {
	a, b := strings.Repeat("a", 30), strings.Repeat("b", 30)
	huge := strings.Repeat("h", 250)
	ld := newLogs(nil, a, b, a, b, "", huge, "tail")
	var bodies []string
	var counts []int
	buildBodies(ld, 0, TextFormat, 100, func(body []byte, refs []recordRef) {
		bodies = append(bodies, string(body))
		counts = append(counts, len(refs))
	})
	assert.Equal(t, []string{a + "\n" + b + "\n" + a, b, huge, "tail"}, bodies)
	assert.Equal(t, []int{3, 1, 1, 1}, counts)

	// A body may reach the limit exactly but not pass it.
	bodies = nil
	buildBodies(newLogs(nil, a, b, "x"), 0, TextFormat, 61, func(body []byte, _ []recordRef) {
		bodies = append(bodies, string(body))
	})
	assert.Equal(t, []string{a + "\n" + b, "x"}, bodies)
}

func TestSubsetKeepsResourceAndScope(t *testing.T) {
	ld := newLogs(map[string]any{"r": "1"}, "a", "b")
	appendResource(ld, map[string]any{"r": "2"}, "c")
	ld.ResourceLogs().At(1).ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("d")
	out := subset(ld, []recordRef{{0, 0, 1}, {1, 0, 0}, {1, 1, 0}})
	assert.Equal(t, []string{"b", "c", "d"}, bodiesOf(out))
	require.Equal(t, 2, out.ResourceLogs().Len())
	v, _ := out.ResourceLogs().At(1).Resource().Attributes().Get("r")
	assert.Equal(t, "2", v.Str())
	assert.Equal(t, 2, out.ResourceLogs().At(1).ScopeLogs().Len())
	assert.Equal(t, "test", out.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())
}

// FuzzBuildBody feeds arbitrary strings, maps and numbers through the
// text/json body builder: it must not panic, every body must hold exactly one
// line per record, JSON lines must be valid, and a body may pass the size
// limit only when it holds a single record.
func FuzzBuildBody(f *testing.F) {
	f.Add("channel", "Security", "line\nbreak", 3.5, int64(7), 64)
	f.Add("", "\x00\xff\u2028", "\r", math.Inf(1), int64(-1), 1)
	f.Add("log", `{"a":1}`, "<html>&", math.NaN(), int64(0), 1024)
	f.Fuzz(func(t *testing.T, key, val, str string, num float64, n int64, maxSize int) {
		maxSize = 1 + abs(maxSize)%4096
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		bodyMap := sl.LogRecords().AppendEmpty()
		m := bodyMap.Body().SetEmptyMap()
		m.PutStr(key, val)
		m.PutDouble("num", num)
		nested := m.PutEmptyMap("nested")
		nested.PutStr(val, str)
		nested.PutEmptySlice("list").AppendEmpty().SetInt(n)
		bodyMap.Attributes().PutStr(key, str)
		sl.LogRecords().AppendEmpty().Body().SetStr(str)
		sl.LogRecords().AppendEmpty().Body().SetStr(val)
		sl.LogRecords().AppendEmpty().Body().SetDouble(num)
		sl.LogRecords().AppendEmpty().Attributes().PutStr(val, key)

		for _, format := range []LogFormat{TextFormat, JSONFormat} {
			records, first := 0, true
			buildBodies(ld, 0, format, maxSize, func(body []byte, refs []recordRef) {
				records += len(refs)
				lines := bytes.Split(body, []byte("\n"))
				if len(lines) != len(refs) {
					t.Fatalf("%s: %d lines for %d records: %q", format, len(lines), len(refs), body)
				}
				if len(body) > maxSize && len(refs) > 1 {
					t.Fatalf("%s: %d-byte body with %d records over limit %d", format, len(body), len(refs), maxSize)
				}
				if bytes.ContainsRune(body, '\r') || !utf8.Valid(body) {
					t.Fatalf("%s: CR or invalid UTF-8 in %q", format, body)
				}
				for _, line := range lines {
					if len(line) == 0 {
						t.Fatalf("%s: empty line in %q", format, body)
					}
					// In text, only the map body (the first record) is JSON.
					if (format == JSONFormat || first) && !json.Valid(line) {
						t.Fatalf("%s: invalid JSON line %q", format, line)
					}
					first = false
				}
			})
			if format == JSONFormat && records != 5 {
				t.Fatalf("json: %d of 5 records sent", records)
			}
		}
	})
}

func abs(i int) int {
	if i < 0 {
		return -(i + 1)
	}
	return i
}
