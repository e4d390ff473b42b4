package sumologicexporter

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter/internal/metadata"
)

var sourceAttrs = map[string]any{
	"_sourceCategory": "security/windows/dcom",
	"_sourceName":     "Security",
	"_sourceHost":     "HOST1",
	"host.name":       "HOST1",
	"os.type":         "windows",
}

func TestTextFormatOverHTTP(t *testing.T) {
	srv := newSumoServer(t, nil)
	e := startExporter(t, testConfig(srv.endpoint(), TextFormat), nopSettings())

	require.NoError(t, e.pushLogs(context.Background(), newLogs(sourceAttrs, windowsBody(), "second\nline", nil, int64(7))))

	reqs := srv.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, windowsLine+"\n"+`second\nline`+"\n7", string(r.Body)) //nolint:testifylint // encoded-compare: a byte-exact text body of three lines, not one JSON document
	assert.Equal(t, "/receiver/v1/http/"+secretCode, r.Path, "text goes to the endpoint as-is")
	assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	assert.Equal(t, "otelcol", r.Header.Get("X-Sumo-Client"))
	assert.Equal(t, "security/windows/dcom", r.Header.Get("X-Sumo-Category"))
	assert.Equal(t, "Security", r.Header.Get("X-Sumo-Name"))
	assert.Equal(t, "HOST1", r.Header.Get("X-Sumo-Host"))
	assert.Equal(t, "host.name=HOST1, os.type=windows", r.Header.Get("X-Sumo-Fields"))
	assert.Equal(t, "gzip", r.Header.Get("Content-Encoding"), "gzip is the default")
}

func TestJSONFormatOverHTTP(t *testing.T) {
	srv := newSumoServer(t, nil)
	cfg := testConfig(srv.endpoint(), JSONFormat)
	cfg.Client = "dcom"
	cfg.ClientConfig.Headers = configopaque.MapList{{Name: "x-sumo-token", Value: "tok"}}
	e := startExporter(t, cfg, nopSettings())
	ld := newLogs(nil, map[string]any{"k": "v"}, "msg")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().PutStr("dcom.rule", "mmc20")

	require.NoError(t, e.pushLogs(context.Background(), ld))

	reqs := srv.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, `{"log":{"k":"v"}}`+"\n"+`{"dcom.rule":"mmc20","log":"msg"}`, string(reqs[0].Body)) //nolint:testifylint // encoded-compare: NDJSON, byte-exact (key order and newlines matter); JSONEq takes one document and ignores both
	assert.Equal(t, "dcom", reqs[0].Header.Get("X-Sumo-Client"))
	assert.Equal(t, "tok", reqs[0].Header.Get("X-Sumo-Token"), "confighttp headers are sent")
	assert.Empty(t, reqs[0].Header.Get("X-Sumo-Fields"))
	assert.Empty(t, reqs[0].Header.Get("X-Sumo-Category"))
}

func TestOTLPFormatOverHTTP(t *testing.T) {
	srv := newSumoServer(t, nil)
	e := startExporter(t, testConfig(srv.endpoint(), OTLPLogFormat), nopSettings())
	ld := newLogs(sourceAttrs, windowsBody(), "b")
	appendResource(ld, map[string]any{"_sourceCategory": "other"}, "c")

	require.NoError(t, e.pushLogs(context.Background(), ld))

	reqs := srv.requests()
	require.Len(t, reqs, 1, "otlp sends the whole batch in one request")
	r := reqs[0]
	assert.Equal(t, "/receiver/v1/http/"+secretCode+"/v1/logs", r.Path)
	assert.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
	assert.Equal(t, "otelcol", r.Header.Get("X-Sumo-Client"))
	assert.Empty(t, r.Header.Get("X-Sumo-Category"), "resource attributes travel inside OTLP")
	assert.Empty(t, r.Header.Get("X-Sumo-Fields"))
	got := plogotlp.NewExportRequest()
	require.NoError(t, got.UnmarshalProto(r.Body))
	want, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	gotBytes, err := got.MarshalProto()
	require.NoError(t, err)
	assert.Equal(t, want, gotBytes)
}

func TestOTLPEndpointAlreadyEndingInV1Logs(t *testing.T) {
	srv := newSumoServer(t, nil)
	e := startExporter(t, testConfig(srv.URL+"/receiver/v1/otlp/"+secretCode+"/v1/logs", OTLPLogFormat), nopSettings())
	require.NoError(t, e.pushLogs(context.Background(), newLogs(nil, "a")))
	assert.Equal(t, "/receiver/v1/otlp/"+secretCode+"/v1/logs", srv.requests()[0].Path)
}

func TestOTLPSplitting(t *testing.T) {
	srv := newSumoServer(t, nil)
	cfg := testConfig(srv.endpoint(), OTLPLogFormat)
	cfg.MaxRequestBodySize = 1000
	e := startExporter(t, cfg, nopSettings())
	var want []any
	for i := range 10 {
		want = append(want, fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 200)))
	}
	want = append(want, strings.Repeat("h", 5000)) // over the limit by itself
	ld := newLogs(sourceAttrs, want...)

	require.NoError(t, e.pushLogs(context.Background(), ld))

	var got []string
	for _, r := range srv.requests() {
		req := plogotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(r.Body))
		if n := req.Logs().LogRecordCount(); n > 1 {
			assert.LessOrEqual(t, len(r.Body), 1000)
		}
		got = append(got, bodiesOf(req.Logs())...)
		cat, _ := req.Logs().ResourceLogs().At(0).Resource().Attributes().Get("_sourceCategory")
		assert.Equal(t, "security/windows/dcom", cat.Str(), "each part keeps its resource")
	}
	assert.Greater(t, len(srv.requests()), 3)
	assert.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "all records, in order, none split or repeated")
}

func TestSplittingOverHTTP(t *testing.T) {
	srv := newSumoServer(t, nil)
	cfg := testConfig(srv.endpoint(), TextFormat)
	cfg.MaxRequestBodySize = 100
	e := startExporter(t, cfg, nopSettings())
	a, huge := strings.Repeat("a", 45), strings.Repeat("h", 300)

	require.NoError(t, e.pushLogs(context.Background(), newLogs(sourceAttrs, a, a, a, huge, a)))

	assert.Equal(t, []string{a + "\n" + a, a, huge, a}, srv.bodies())
	for _, r := range srv.requests() {
		assert.Equal(t, "security/windows/dcom", r.Header.Get("X-Sumo-Category"), "every part carries the headers")
	}
}

func TestCompression(t *testing.T) {
	for _, c := range []configcompression.Type{"gzip", "deflate", "none", ""} {
		t.Run(string(c), func(t *testing.T) {
			srv := newSumoServer(t, nil)
			cfg := testConfig(srv.endpoint(), TextFormat)
			cfg.ClientConfig.Compression = c
			e := startExporter(t, cfg, nopSettings())
			body := strings.Repeat("compressible ", 100)

			require.NoError(t, e.pushLogs(context.Background(), newLogs(nil, body, body)))

			r := srv.requests()[0]
			assert.Equal(t, body+"\n"+body, string(r.Body))
			if c.IsCompressed() {
				assert.Equal(t, string(c), r.Header.Get("Content-Encoding"))
				assert.Less(t, len(r.Raw), len(r.Body))
			} else {
				assert.Empty(t, r.Header.Get("Content-Encoding"))
				assert.Equal(t, r.Body, r.Raw)
			}
		})
	}
}

func TestResponseClasses(t *testing.T) {
	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat) // whole seconds
	tests := []struct {
		status    int
		header    map[string]string
		body      string
		permanent bool
		throttle  string // pattern of the Retry-After suffix
		detail    string
	}{
		{status: 200},
		{status: 204},
		{status: 200, body: `{"id":"X1","code":"ingest.budget","message":"budget exceeded"}`},
		{status: 400, body: `{"id":"A1","code":"bad.request","message":"malformed"}`, permanent: true, detail: "code: bad.request, message: malformed, id: A1"},
		{status: 401, body: `{"message":"unauthorized"}`, detail: "message: unauthorized"},
		{status: 403, permanent: true},
		{status: 404, body: "<html>not found</html>", permanent: true},
		{status: 302, header: map[string]string{"Location": "/elsewhere"}, permanent: true},
		{status: 408},
		{status: 413, permanent: true},
		{status: 429, header: map[string]string{"Retry-After": "2"}, throttle: `\(retry after 2s\)$`},
		{status: 429, header: map[string]string{"Retry-After": date}, throttle: `\(retry after (2[89]\.\d+s|30s)\)$`},
		{status: 500},
		{status: 503, header: map[string]string{"Retry-After": "1"}, throttle: `\(retry after 1s\)$`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d%s", tt.status, tt.body), func(t *testing.T) {
			srv := newSumoServer(t, func(int, sumoRequest) reply { return reply{tt.status, tt.header, tt.body} })
			core, logs := observer.New(zapcore.DebugLevel)
			set := nopSettings()
			set.Logger = zap.New(core)
			e := startExporter(t, testConfig(srv.endpoint(), TextFormat), set)

			err := e.pushLogs(context.Background(), newLogs(nil, "a", "b"))
			assert.Len(t, srv.requests(), 1, "no redirect is followed")

			if tt.status < 300 {
				require.NoError(t, err)
				if tt.body != "" {
					require.Equal(t, 1, logs.FilterLevelExact(zapcore.WarnLevel).Len())
					assert.Contains(t, logs.All()[0].ContextMap()["detail"], "budget exceeded")
				}
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("HTTP %d %s from Sumo Logic for 2 log records", tt.status, http.StatusText(tt.status)))
			assert.Contains(t, err.Error(), tt.detail)
			assert.NotContains(t, err.Error(), "<html>", "non-JSON bodies are not echoed")
			assert.Equal(t, tt.permanent, consumererror.IsPermanent(err))
			if tt.permanent {
				errLogs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
				require.Len(t, errLogs, 1)
				fields := errLogs[0].ContextMap()
				assert.Equal(t, int64(tt.status), fields["status"])
				assert.Equal(t, int64(2), fields["records"])
				assert.Equal(t, tt.detail, fields["detail"])
				return
			}
			var le consumererror.Logs
			require.ErrorAs(t, err, &le)
			assert.Equal(t, []string{"a", "b"}, bodiesOf(le.Data()))
			if tt.throttle != "" {
				assert.Regexp(t, tt.throttle, err.Error())
			} else {
				assert.NotContains(t, err.Error(), "retry after")
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	e := startExporter(t, testConfig("http://"+addr+"/receiver/v1/http/"+secretCode, TextFormat), nopSettings())

	err = e.pushLogs(context.Background(), newLogs(nil, "a"))

	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "sending 1 log records to Sumo Logic: Post request:")
	assert.Contains(t, err.Error(), "connection refused")
	var le consumererror.Logs
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1, le.Data().LogRecordCount())
}

func TestOnlyFailedPartIsRetried(t *testing.T) {
	srv := newSumoServer(t, func(_ int, r sumoRequest) reply {
		switch r.Header.Get("X-Sumo-Category") {
		case "retry":
			return reply{status: 503}
		case "reject":
			return reply{status: 400}
		}
		return reply{status: 200}
	})
	e := startExporter(t, testConfig(srv.endpoint(), TextFormat), nopSettings())
	ld := newLogs(map[string]any{"_sourceCategory": "ok"}, "ok1", "ok2")
	appendResource(ld, map[string]any{"_sourceCategory": "retry", "host.name": "H2"}, "r1", "r2")

	err := e.pushLogs(context.Background(), ld)

	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var le consumererror.Logs
	require.ErrorAs(t, err, &le)
	assert.Equal(t, []string{"r1", "r2"}, bodiesOf(le.Data()))
	host, _ := le.Data().ResourceLogs().At(0).Resource().Attributes().Get("host.name")
	assert.Equal(t, "H2", host.Str(), "the retried part keeps its resource")

	// A permanent failure next to a retryable one must not make the whole error permanent.
	appendResource(ld, map[string]any{"_sourceCategory": "reject"}, "x1")
	err = e.pushLogs(context.Background(), ld)
	require.ErrorAs(t, err, &le)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Equal(t, []string{"r1", "r2"}, bodiesOf(le.Data()))

	// Only permanent failures: permanent.
	err = e.pushLogs(context.Background(), newLogs(map[string]any{"_sourceCategory": "reject"}, "x"))
	assert.True(t, consumererror.IsPermanent(err))
}

func TestOnlyFailedChunkIsRetried(t *testing.T) {
	srv := newSumoServer(t, func(_ int, r sumoRequest) reply {
		if strings.HasPrefix(string(r.Body), "b") {
			return reply{status: 500}
		}
		return reply{status: 200}
	})
	cfg := testConfig(srv.endpoint(), TextFormat)
	cfg.MaxRequestBodySize = 2 // one record per request
	e := startExporter(t, cfg, nopSettings())
	err := e.pushLogs(context.Background(), newLogs(nil, "a", "b", "c", "b2"))
	var le consumererror.Logs
	require.ErrorAs(t, err, &le)
	assert.Equal(t, []string{"b", "b2"}, bodiesOf(le.Data()))
}

// newFullExporter goes through the factory and the real exporterhelper.
func newFullExporter(t *testing.T, cfg *Config, set exporter.Settings) exporter.Logs {
	t.Helper()
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	return exp
}

func fastRetry(cfg *Config) {
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 20 * time.Millisecond
	cfg.BackOffConfig.RandomizationFactor = 0
	cfg.BackOffConfig.MaxElapsedTime = 10 * time.Second
}

// An outage (503, then recovery) through the real queue and retry loses and
// duplicates nothing.
func TestOutageThroughQueueAndRetry(t *testing.T) {
	var mu sync.Mutex
	accepted := map[string]int{}
	srv := newSumoServer(t, func(n int, r sumoRequest) reply {
		if n < 6 {
			return reply{status: 503}
		}
		mu.Lock()
		defer mu.Unlock()
		for line := range strings.SplitSeq(string(r.Body), "\n") {
			accepted[line]++
		}
		return reply{status: 200}
	})
	cfg := testConfig(srv.endpoint(), TextFormat)
	fastRetry(cfg)
	cfg.MaxRequestBodySize = 20
	cfg.QueueSettings.GetOrInsertDefault().NumConsumers = 2
	exp := newFullExporter(t, cfg, nopSettings())

	var want []string
	for i := range 10 {
		ld := newLogs(map[string]any{"batch": int64(i)}, fmt.Sprintf("rec-%d-a", i), fmt.Sprintf("rec-%d-b", i), fmt.Sprintf("rec-%d-c", i))
		want = append(want, bodiesOf(ld)...)
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted) == len(want)
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, exp.Shutdown(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	for _, w := range want {
		assert.Equal(t, 1, accepted[w], w)
	}
	assert.Len(t, accepted, len(want))
}

// Shutdown with a full queue and an endpoint that hangs returns within the
// shutdown deadline (the client timeout, or the ctx's deadline if earlier)
// instead of waiting one client timeout per queued request.
func TestShutdownWithFullQueueDoesNotHang(t *testing.T) {
	for _, withDeadline := range []bool{true, false} {
		t.Run(fmt.Sprintf("deadline=%v", withDeadline), func(t *testing.T) {
			release := make(chan struct{})
			srv := newSumoServer(t, func(int, sumoRequest) reply {
				<-release
				return reply{status: 200}
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			cfg := testConfig(srv.endpoint(), TextFormat)
			fastRetry(cfg)
			cfg.ClientConfig.Timeout = 10 * time.Second
			if !withDeadline {
				cfg.ClientConfig.Timeout = time.Second
			}
			cfg.QueueSettings.GetOrInsertDefault().NumConsumers = 1
			exp := newFullExporter(t, cfg, nopSettings())
			for i := range 20 {
				require.NoError(t, exp.ConsumeLogs(context.Background(), newLogs(nil, strconv.Itoa(i))))
			}
			require.Eventually(t, func() bool { return len(srv.requests()) > 0 }, 5*time.Second, 5*time.Millisecond)

			ctx := context.Background()
			if withDeadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			start := time.Now()
			require.NoError(t, exp.Shutdown(ctx))
			assert.Less(t, time.Since(start), 3*time.Second)
			// The request in flight, and at most one more that started before
			// the deadline: not one client timeout for each of the 20.
			assert.LessOrEqual(t, len(srv.requests()), 2, "queued requests tried after the deadline")
		})
	}
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())

	srv := newSumoServer(t, nil)
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Endpoint = configopaque.String(srv.endpoint())
	cfg.QueueSettings.GetOrInsertDefault().Batch.GetOrInsertDefault()
	exp := newFullExporter(t, cfg, nopSettings())
	assert.True(t, exp.(interface{ ExporterHelperBatchingEnabled() bool }).ExporterHelperBatchingEnabled())
	require.NoError(t, exp.ConsumeLogs(context.Background(), newLogs(sourceAttrs, windowsBody())))
	require.NoError(t, exp.Shutdown(context.Background()), "shutdown flushes the batch")
	require.Len(t, srv.requests(), 1)
	assert.Equal(t, "/receiver/v1/http/"+secretCode+"/v1/logs", srv.requests()[0].Path)

	// The default config (no endpoint) can be created; Start reports the problem.
	exp, err := f.CreateLogs(context.Background(), nopSettings(), f.CreateDefaultConfig())
	require.NoError(t, err)
	require.EqualError(t, exp.Start(context.Background(), componenttest.NewNopHost()), `"endpoint" is not a valid URL`)
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestConsumeAfterShutdownFails(t *testing.T) {
	srv := newSumoServer(t, nil)
	e := startExporter(t, testConfig(srv.endpoint(), TextFormat), nopSettings())
	require.NoError(t, e.shutdown(context.Background()))
	err := e.pushLogs(context.Background(), newLogs(nil, "a"))
	require.ErrorIs(t, err, errShuttingDown)
	assert.Empty(t, srv.requests())
}

func TestEmptyInput(t *testing.T) {
	srv := newSumoServer(t, nil)
	for _, f := range []LogFormat{TextFormat, JSONFormat, OTLPLogFormat} {
		e := startExporter(t, testConfig(srv.endpoint(), f), nopSettings())
		require.NoError(t, e.pushLogs(context.Background(), plog.NewLogs()))
		require.NoError(t, e.pushLogs(context.Background(), newLogs(nil)))
	}
	e := startExporter(t, testConfig(srv.endpoint(), TextFormat), nopSettings())
	require.NoError(t, e.pushLogs(context.Background(), newLogs(nil, nil, "")))
	assert.Empty(t, srv.requests(), "empty text bodies are not sent")
}

func TestTelemetry(t *testing.T) {
	srv := newSumoServer(t, func(_ int, r sumoRequest) reply {
		status, _ := map[string]int{"ok": 200, "bad": 400, "busy": 503}[string(r.Body[:strings.IndexByte(string(r.Body)+"\n", '\n')])]
		return reply{status: status}
	})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	e := startExporter(t, testConfig(srv.endpoint(), TextFormat), set)
	_ = e.pushLogs(context.Background(), newLogs(map[string]any{"r": "1"}, "ok", "x"))
	_ = e.pushLogs(context.Background(), newLogs(map[string]any{"r": "2"}, "bad"))
	_ = e.pushLogs(context.Background(), newLogs(map[string]any{"r": "3"}, "busy", "y", "z"))

	want := map[string]map[string]int64{
		"otelcol_exporter_sumologic_requests": {"success": 1, "permanent_failure": 1, "retryable_failure": 1},
		"otelcol_exporter_sumologic_records":  {"success": 2, "permanent_failure": 1, "retryable_failure": 3},
		"otelcol_exporter_sumologic_bytes":    {"success": 4, "permanent_failure": 3, "retryable_failure": 8},
	}
	for name, byOutcome := range want {
		m, err := tel.GetMetric(name)
		require.NoError(t, err)
		got := map[string]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			o, _ := dp.Attributes.Value(attribute.Key("outcome"))
			got[o.AsString()] = dp.Value
		}
		assert.Equal(t, byOutcome, got, name)
	}
}

// TestTelemetrySeriesExistAtZero: before any request, every outcome has its
// series at 0, so that an alert on failures sees a value.
func TestTelemetrySeriesExistAtZero(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	_, err := newSumoExporter(set, testConfig("http://127.0.0.1:1/receiver", TextFormat))
	require.NoError(t, err)
	zero := map[string]int64{"success": 0, "permanent_failure": 0, "retryable_failure": 0}
	for _, name := range []string{"otelcol_exporter_sumologic_requests", "otelcol_exporter_sumologic_records", "otelcol_exporter_sumologic_bytes"} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		got := map[string]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			o, _ := dp.Attributes.Value(attribute.Key("outcome"))
			got[o.AsString()] = dp.Value
		}
		assert.Equal(t, zero, got, name)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"5", 5 * time.Second},
		{" 7 ", 7 * time.Second},
		{"99999999999999999", time.Hour}, // capped
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.True(t, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, in := range []string{"", "-1", "soon", "1.5"} {
		_, ok := parseRetryAfter(in, now)
		assert.False(t, ok, in)
	}
}

func TestSumoMessage(t *testing.T) {
	assert.Empty(t, sumoMessage(nil))
	assert.Empty(t, sumoMessage([]byte("not json")))
	assert.Empty(t, sumoMessage([]byte(`{}`)))
	assert.Equal(t, "code: c, message: m, error: e1 first, id: i",
		sumoMessage([]byte(`{"id":"i","code":"c","message":"m","errors":[{"code":"e1","message":"first"}]}`)))
}
