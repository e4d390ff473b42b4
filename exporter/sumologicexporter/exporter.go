package sumologicexporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	nooptrace "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter/internal/metadata"
)

var errShuttingDown = errors.New("the sumologic exporter is shutting down")

type sumoExporter struct {
	cfg          *Config
	logger       *zap.Logger
	telSettings  component.TelemetrySettings
	tel          telemetry
	client       *http.Client
	clientHeader string
	url          string   // where requests go; a credential, never logged or returned
	secrets      []string // the URL and its parts, scrubbed from errors and logged text

	// stopCtx is cancelled to abort in-flight and later requests during
	// shutdown; see logsExporter.Shutdown.
	stopCtx  context.Context
	abort    context.CancelFunc
	stopping atomic.Bool
}

func newSumoExporter(set exporter.Settings, cfg *Config) (*sumoExporter, error) {
	tel, err := newTelemetry(set.MeterProvider)
	if err != nil {
		return nil, err
	}
	e := &sumoExporter{
		cfg: cfg, logger: set.Logger, telSettings: set.TelemetrySettings, tel: tel,
		clientHeader: headerSafe(cfg.Client),
	}
	e.stopCtx, e.abort = context.WithCancel(context.Background())
	return e, nil
}

// secretsOf lists the forms in which the endpoint's secret can appear in a
// message, longest first so that a full URL is replaced before its parts.
func secretsOf(urls ...string) []string {
	var s []string
	for _, raw := range urls {
		s = append(s, raw)
		if u, err := url.Parse(raw); err == nil {
			p := strings.TrimSuffix(u.Path, "/")
			code := p[strings.LastIndexByte(p, '/')+1:] // the HTTP Source's code
			s = append(s, u.Redacted(), u.EscapedPath(), u.Path, u.RawQuery, code)
		}
	}
	s = slices.DeleteFunc(s, func(x string) bool { return len(x) < 8 }) // "/" or "v1" are not secrets
	slices.SortFunc(s, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	return slices.Compact(s)
}

func (e *sumoExporter) start(ctx context.Context, host component.Host) error {
	u, err := url.Parse(e.cfg.endpoint())
	if err != nil || u.Host == "" {
		return errors.New(`"endpoint" is not a valid URL`) // never quote it
	}
	if e.cfg.LogFormat == OTLPLogFormat && !strings.HasSuffix(u.Path, "/v1/logs") {
		u.Path, u.RawPath = path.Join("/", u.Path, "v1/logs"), ""
	}
	e.url = u.String()
	e.secrets = secretsOf(e.cfg.endpoint(), e.url)

	ts := e.telSettings
	// confighttp wraps the client in otelhttp, whose client spans carry url.full:
	// the credential would end up in the collector's own traces.
	ts.TracerProvider = nooptrace.NewTracerProvider()
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), ts)
	if err != nil {
		return fmt.Errorf("creating the HTTP client: %w", e.redact(err))
	}
	// Never follow redirects: a 301/302 would turn the POST into a body-less
	// GET whose 200 looks like success; the 3xx is reported as permanent instead.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = client
	return nil
}

func (e *sumoExporter) shutdown(context.Context) error {
	e.abort()
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

// pushLogs sends one batch. text/json send one request series per
// ResourceLogs (the X-Sumo-* headers are per request); otlp sends the batch.
func (e *sumoExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	if e.stopCtx.Err() != nil {
		return consumererror.NewLogs(errShuttingDown, ld)
	}
	if e.client == nil { // exporterhelper starts us first; guard anyway
		return consumererror.NewLogs(errors.New("the sumologic exporter is not started"), ld)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(e.stopCtx, cancel)() //nolint:contextcheck // merges the exporter's stop signal into ctx

	var o outcome
	if e.cfg.LogFormat == OTLPLogFormat {
		e.sendOTLP(ctx, ld, &o)
	} else {
		for i := range ld.ResourceLogs().Len() {
			e.sendResource(ctx, ld, i, &o)
		}
	}
	return o.err()
}

// logsExporter bounds Shutdown. exporterhelper stops retrying and then drains
// its queue without looking at ctx, trying each queued request once; against
// an endpoint that hangs that is one client timeout per request. Here the
// first retryable failure during shutdown, or ctx expiring, aborts the rest.
type logsExporter struct {
	exporter.Logs
	exp *sumoExporter
}

func (l *logsExporter) Shutdown(ctx context.Context) error {
	l.exp.stopping.Store(true)
	defer context.AfterFunc(ctx, l.exp.abort)()
	return l.Logs.Shutdown(ctx)
}

// ExporterHelperBatchingEnabled keeps the collector's "batch processor plus
// exporter batching" check working through the wrapper.
func (l *logsExporter) ExporterHelperBatchingEnabled() bool {
	b, ok := l.Logs.(interface{ ExporterHelperBatchingEnabled() bool })
	return ok && b.ExporterHelperBatchingEnabled()
}

const (
	outcomeSuccess   = "success"
	outcomePermanent = "permanent_failure"
	outcomeRetryable = "retryable_failure"
)

// telemetry counts what reached Sumo (or failed to) per HTTP request; bytes
// are uncompressed body bytes, which is what Sumo bills.
type telemetry struct {
	requests, records, bytes metric.Int64Counter
	attrs                    map[string]metric.MeasurementOption
}

func newTelemetry(mp metric.MeterProvider) (telemetry, error) {
	m := mp.Meter(metadata.ScopeName)
	var t telemetry
	var errs [3]error
	t.requests, errs[0] = m.Int64Counter("otelcol_exporter_sumologic_requests",
		metric.WithDescription("HTTP requests sent to Sumo Logic, by outcome."), metric.WithUnit("{request}"))
	t.records, errs[1] = m.Int64Counter("otelcol_exporter_sumologic_records",
		metric.WithDescription("Log records in requests sent to Sumo Logic, by outcome."), metric.WithUnit("{record}"))
	t.bytes, errs[2] = m.Int64Counter("otelcol_exporter_sumologic_bytes",
		metric.WithDescription("Uncompressed request body bytes sent to Sumo Logic, by outcome."), metric.WithUnit("By"))
	t.attrs = map[string]metric.MeasurementOption{}
	for _, o := range []string{outcomeSuccess, outcomePermanent, outcomeRetryable} {
		t.attrs[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))
	}
	if err := errors.Join(errs[:]...); err != nil {
		return t, fmt.Errorf("creating the exporter's metrics: %w", err)
	}
	// Every outcome's series exists from the start, at 0, so that an alert on
	// failures sees a value before the first one.
	for _, o := range []string{outcomeSuccess, outcomePermanent, outcomeRetryable} {
		t.add(context.Background(), o, 0, 0, 0)
	}
	return t, nil
}

func (t telemetry) record(ctx context.Context, outcome string, records, bytes int) {
	t.add(ctx, outcome, 1, records, bytes)
}

func (t telemetry) add(ctx context.Context, outcome string, requests, records, bytes int) {
	a := t.attrs[outcome]
	t.requests.Add(ctx, int64(requests), a)
	t.records.Add(ctx, int64(records), a)
	t.bytes.Add(ctx, int64(bytes), a)
}
