package sumologicexporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
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

	// stopping is closed when Shutdown begins, after deadline is set: from
	// then on every request still gets its own try, and retries go on
	// until deadline. stopCtx is cancelled at deadline (or when the
	// shutdown's ctx ends) to abort in-flight and later requests; see
	// logsExporter.Shutdown.
	stopping   chan struct{}
	stopOnce   sync.Once
	deadline   time.Time
	abortTimer *time.Timer
	stopCtx    context.Context
	abort      context.CancelFunc
}

func newSumoExporter(set exporter.Settings, cfg *Config) (*sumoExporter, error) {
	tel, err := newTelemetry(set.MeterProvider)
	if err != nil {
		return nil, err
	}
	e := &sumoExporter{
		cfg: cfg, logger: set.Logger, telSettings: set.TelemetrySettings, tel: tel,
		clientHeader: headerSafe(cfg.Client), stopping: make(chan struct{}),
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
	e.stopOnce.Do(func() { close(e.stopping) }) // when Shutdown did not come through logsExporter
	if e.abortTimer != nil {
		e.abortTimer.Stop()
	}
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

// beginShutdown sets the time until which queued requests are still sent:
// the exporter's timeout from now, or the shutdown ctx's deadline if that
// comes first. At that time every request still in flight is cancelled.
func (e *sumoExporter) beginShutdown(ctx context.Context) {
	e.stopOnce.Do(func() {
		e.deadline = time.Now().Add(e.cfg.ClientConfig.Timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(e.deadline) {
			e.deadline = d
		}
		e.abortTimer = time.AfterFunc(time.Until(e.deadline), e.abort)
		close(e.stopping) // publishes deadline to the readers of stopping
	})
}

// isStopping tells whether Shutdown has begun; once it returns true,
// e.deadline may be read.
func (e *sumoExporter) isStopping() bool {
	select {
	case <-e.stopping:
		return true
	default:
		return false
	}
}

// pushLogsRetrying is what exporterhelper calls. It sends ld and retries
// what failed retryably, with retry_on_failure's backoff and a Retry-After
// answer as the least wait. Retrying here rather than in exporterhelper
// keeps the shutdown lossless: a request waiting to be retried when
// Shutdown begins is tried again at once, and every queued request gets its
// own try, then retries, until the shutdown deadline. A request still failing
// then is returned as retryable: exporterhelper's retry (configured never to
// give up by itself) turns that into its shutdown error, which a persistent
// queue keeps for the next start.
func (e *sumoExporter) pushLogsRetrying(ctx context.Context, ld plog.Logs) error {
	triedStopping := e.isStopping() // whether the latest try began after Shutdown did
	err := e.pushLogs(ctx, ld)
	if err == nil || consumererror.IsPermanent(err) || !e.cfg.BackOffConfig.Enabled {
		return err
	}
	b := newBackoff(e.cfg.BackOffConfig)
	start := time.Now()
	for {
		if failed, ok := errors.AsType[consumererror.Logs](err); ok {
			ld = failed.Data() // only what failed is sent again
		}
		delay := b.next()
		if ra, ok := errors.AsType[retryAfterError](err); ok {
			delay = max(delay, ra.delay)
		}
		stopping := e.isStopping()
		if stopping && !triedStopping {
			// Shutdown began during the try: as for a request already
			// waiting when it begins, the next try is now.
			delay = 0
		}
		switch {
		case stopping && time.Now().Add(delay).After(e.deadline):
			return err
		case !stopping && e.cfg.BackOffConfig.MaxElapsedTime > 0 &&
			time.Since(start)+delay > e.cfg.BackOffConfig.MaxElapsedTime:
			return consumererror.NewPermanent(fmt.Errorf("no more retries left after %s: %w",
				time.Since(start).Round(time.Millisecond), err))
		}
		e.logger.Info("Sending to Sumo Logic failed; retrying after the interval",
			zap.Error(err), zap.Duration("interval", delay), zap.Int("records", ld.LogRecordCount()))
		if !e.waitToRetry(ctx, delay, stopping) {
			return err
		}
		triedStopping = e.isStopping()
		err = e.pushLogs(ctx, ld)
		if err == nil || consumererror.IsPermanent(err) {
			return err
		}
	}
}

// waitToRetry waits delay; a shutdown beginning meanwhile ends the wait
// early (the request gets its try now). It returns false when ctx ends or
// the shutdown deadline has passed.
func (e *sumoExporter) waitToRetry(ctx context.Context, delay time.Duration, stopping bool) bool {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	begins := e.stopping
	if stopping {
		begins = nil // already begun: wait the whole delay
	}
	select {
	case <-timer.C:
		return true
	case <-begins:
		return e.stopCtx.Err() == nil
	case <-ctx.Done():
		return false
	case <-e.stopCtx.Done():
		return false
	}
}

// backoff is retry_on_failure's exponential backoff: initial_interval,
// multiplied by multiplier up to max_interval, each wait randomized by
// randomization_factor.
type backoff struct {
	cfg      configretry.BackOffConfig
	interval time.Duration
}

func newBackoff(cfg configretry.BackOffConfig) *backoff {
	return &backoff{cfg: cfg, interval: cfg.InitialInterval}
}

func (b *backoff) next() time.Duration {
	d := b.interval
	if f := b.cfg.RandomizationFactor; f > 0 {
		d = time.Duration(float64(d) * (1 - f + 2*f*rand.Float64()))
	}
	if b.cfg.MaxInterval > 0 {
		b.interval = min(time.Duration(float64(b.interval)*max(b.cfg.Multiplier, 1)), b.cfg.MaxInterval)
	}
	return d
}

// pushLogs sends one batch once. text/json send one request series per
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

// logsExporter bounds Shutdown. exporterhelper drains its queue without
// looking at ctx; against an endpoint that hangs that would be one client
// timeout per queued request. Here the queue is sent until the shutdown
// deadline (the exporter's timeout, or ctx's deadline if earlier), each
// request with its own try and retries; at the deadline, or when ctx ends,
// the rest is aborted.
type logsExporter struct {
	exporter.Logs
	exp *sumoExporter
}

func (l *logsExporter) Shutdown(ctx context.Context) error {
	l.exp.beginShutdown(ctx)
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
