package sumologicexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.uber.org/zap"
)

const (
	contentTypeLogs = "application/x-www-form-urlencoded" // what contrib sends for text/json
	contentTypeOTLP = "application/x-protobuf"
	maxResponseBody = 64 << 10
	maxRetryAfter   = time.Hour // also keeps Retry-After seconds from overflowing a Duration
)

// recordRef locates a record inside a plog.Logs.
type recordRef struct{ rl, sl, lr int }

// outcome collects what one push could not deliver. Retryable parts are
// returned to exporterhelper with consumererror.NewLogs so that only they
// are retried; permanent failures are dropped (and were logged).
type outcome struct {
	failed    []plog.Logs
	retryErrs []error
	permErrs  []error
}

func (o *outcome) fail(err error, part func() plog.Logs) {
	if consumererror.IsPermanent(err) {
		o.permErrs = append(o.permErrs, err)
		return
	}
	o.retryErrs = append(o.retryErrs, err)
	o.failed = append(o.failed, part())
}

func (o *outcome) err() error {
	if len(o.retryErrs) == 0 {
		// errors.Join keeps them permanent for exporterhelper (errors.As).
		return errors.Join(o.permErrs...)
	}
	// The permanent errors are deliberately not joined here: one of them would
	// make exporterhelper treat the whole error as permanent and drop the rest.
	failed := o.failed[0]
	if len(o.failed) > 1 {
		failed = plog.NewLogs()
		for _, part := range o.failed {
			for _, rl := range part.ResourceLogs().All() {
				rl.CopyTo(failed.ResourceLogs().AppendEmpty())
			}
		}
	}
	return consumererror.NewLogs(errors.Join(o.retryErrs...), failed)
}

// sendResource sends the records of one ResourceLogs as text/json lines,
// with the X-Sumo-* headers of that resource.
func (e *sumoExporter) sendResource(ctx context.Context, ld plog.Logs, rli int, o *outcome) {
	hdr := resourceHeaders(ld.ResourceLogs().At(rli).Resource(), e.logger)
	buildBodies(ld, rli, e.cfg.LogFormat, e.cfg.MaxRequestBodySize, func(body []byte, refs []recordRef) {
		if err := e.post(ctx, body, len(refs), hdr, contentTypeLogs); err != nil {
			o.fail(err, func() plog.Logs { return subset(ld, refs) })
		}
	})
}

// buildBodies joins the lines of the records of one ResourceLogs with "\n"
// and hands each request body to emit. A body never grows past maxSize
// (uncompressed) unless it holds a single larger record, which is sent alone
// rather than truncated; a record is never split across bodies.
func buildBodies(ld plog.Logs, rli int, format LogFormat, maxSize int, emit func([]byte, []recordRef)) {
	var body, line []byte
	var refs []recordRef
	flush := func() {
		if len(refs) > 0 {
			emit(body, refs)
		}
		// New buffers: net/http may still read a request body after Do returns.
		body, refs = make([]byte, 0, len(body)), nil
	}
	for sli, sl := range ld.ResourceLogs().At(rli).ScopeLogs().All() {
		for lri, lr := range sl.LogRecords().All() {
			line = appendLine(line[:0], format, lr)
			if len(line) == 0 {
				continue
			}
			if len(body) > 0 && len(body)+1+len(line) > maxSize {
				flush()
			}
			if len(body) > 0 {
				body = append(body, '\n')
			}
			body = append(body, line...)
			refs = append(refs, recordRef{rli, sli, lri})
		}
	}
	flush()
}

// sendOTLP posts ld as one OTLP/HTTP protobuf request, halving it until each
// part fits MaxRequestBodySize (contrib never splits OTLP requests).
func (e *sumoExporter) sendOTLP(ctx context.Context, ld plog.Logs, o *outcome) {
	n := ld.LogRecordCount()
	if n == 0 {
		return
	}
	if n > 1 && (&plog.ProtoMarshaler{}).LogsSize(ld) > e.cfg.MaxRequestBodySize {
		refs := allRefs(ld)
		e.sendOTLP(ctx, subset(ld, refs[:n/2]), o)
		e.sendOTLP(ctx, subset(ld, refs[n/2:]), o)
		return
	}
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		err = consumererror.NewPermanent(fmt.Errorf("marshalling %d log records to OTLP: %w", n, err))
		e.logger.Error("Dropping log records that cannot be encoded", zap.Error(err))
		o.fail(err, nil)
		return
	}
	if err := e.post(ctx, body, n, nil, contentTypeOTLP); err != nil {
		o.fail(err, func() plog.Logs { return ld })
	}
}

// post sends one request and classifies the result. Every error it returns
// has the endpoint removed: the URL is a credential.
func (e *sumoExporter) post(ctx context.Context, body []byte, records int, hdr http.Header, contentType string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil { // only for a malformed URL, which Validate rules out
		err = consumererror.NewPermanent(e.redact(fmt.Errorf("building the request: %w", err)))
		e.tel.record(ctx, outcomePermanent, records, len(body))
		return err
	}
	maps.Copy(req.Header, hdr)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(headerClient, e.clientHeader)

	resp, err := e.client.Do(req)
	if err == nil {
		err = e.handleResponse(resp, records)
		_ = resp.Body.Close()
	} else {
		err = fmt.Errorf("sending %d log records to Sumo Logic: %w", records, e.redact(err))
	}
	switch {
	case err == nil:
		e.tel.record(ctx, outcomeSuccess, records, len(body))
	case consumererror.IsPermanent(err):
		e.tel.record(ctx, outcomePermanent, records, len(body))
	default:
		e.tel.record(ctx, outcomeRetryable, records, len(body))
	}
	return err
}

// retryAfterError is a retryable failure whose answer said when to try
// again (Retry-After): the retry waits at least that long.
type retryAfterError struct {
	err   error
	delay time.Duration
}

func (r retryAfterError) Error() string { return fmt.Sprintf("%v (retry after %s)", r.err, r.delay) }
func (r retryAfterError) Unwrap() error { return r.err }

func (e *sumoExporter) handleResponse(resp *http.Response, records int) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	// Scrub before shortening, so that no partial secret survives a cut.
	detail := shorten(e.scrub(sumoMessage(raw)), 1024)
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		// Sumo answers 200 with a JSON body when it accepted the data but has
		// something to say (contrib logs it as a warning).
		if detail != "" {
			e.logger.Warn("Sumo Logic accepted the request but reported an issue",
				zap.Int("status", code), zap.Int("records", records), zap.String("detail", detail))
		} else if len(bytes.TrimSpace(raw)) > 0 {
			e.logger.Debug("Sumo Logic response", zap.Int("status", code),
				zap.String("body", shorten(e.scrub(string(raw)), 512)))
		}
		return nil
	}
	msg := fmt.Sprintf("HTTP %d %s from Sumo Logic for %d log records", code, http.StatusText(code), records)
	if detail != "" {
		msg += ": " + detail
	}
	err := errors.New(msg)
	if code == http.StatusUnauthorized || code == http.StatusRequestTimeout ||
		code == http.StatusTooManyRequests || code >= 500 {
		// 401 is retried as in contrib: Sumo returns it for a few minutes after a URL is regenerated.
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return retryAfterError{err: err, delay: d}
		}
		return err
	}
	// 400, 403, 404, 413 and the other codes mean the request or the endpoint
	// is wrong; resending the same data cannot succeed.
	e.logger.Error("Sumo Logic rejected the request; dropping the log records",
		zap.Int("status", code), zap.Int("records", records), zap.String("detail", detail))
	return consumererror.NewPermanent(err)
}

// sumoMessage extracts the error details from Sumo's JSON response body, or
// returns "" when the body is not such a JSON object (it is never echoed raw).
func sumoMessage(raw []byte) string {
	var r struct {
		ID      string `json:"id"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &r) != nil {
		return ""
	}
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	add("code", r.Code)
	add("message", r.Message)
	for _, e := range r.Errors {
		add("error", strings.TrimSpace(e.Code+" "+e.Message))
	}
	add("id", r.ID)
	return strings.Join(parts, ", ")
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// redact removes the endpoint from an error. net/http wraps its errors in
// *url.Error, whose message quotes the full URL; the wrapper is dropped and
// any remaining occurrence of the URL or its secret path is replaced.
func (e *sumoExporter) redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = fmt.Errorf("%s request: %w", ue.Op, ue.Err)
	}
	if msg := err.Error(); e.scrub(msg) != msg {
		return errors.New(e.scrub(msg))
	}
	return err
}

func (e *sumoExporter) scrub(s string) string {
	for _, secret := range e.secrets {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	return s
}

func allRefs(ld plog.Logs) []recordRef {
	refs := make([]recordRef, 0, ld.LogRecordCount())
	for rli, rl := range ld.ResourceLogs().All() {
		for sli, sl := range rl.ScopeLogs().All() {
			for lri := range sl.LogRecords().Len() {
				refs = append(refs, recordRef{rli, sli, lri})
			}
		}
	}
	return refs
}

// subset copies the referenced records (in order) with their resource and
// scope. It copies rather than moves: the input may be shared and read-only.
func subset(ld plog.Logs, refs []recordRef) plog.Logs {
	out := plog.NewLogs()
	var rlOut plog.ResourceLogs
	var slOut plog.ScopeLogs
	curRL, curSL := -1, -1
	for _, r := range refs {
		rl := ld.ResourceLogs().At(r.rl)
		if r.rl != curRL {
			rlOut = out.ResourceLogs().AppendEmpty()
			rl.Resource().CopyTo(rlOut.Resource())
			rlOut.SetSchemaUrl(rl.SchemaUrl())
			curRL, curSL = r.rl, -1
		}
		sl := rl.ScopeLogs().At(r.sl)
		if r.sl != curSL {
			slOut = rlOut.ScopeLogs().AppendEmpty()
			sl.Scope().CopyTo(slOut.Scope())
			slOut.SetSchemaUrl(sl.SchemaUrl())
			curSL = r.sl
		}
		sl.LogRecords().At(r.lr).CopyTo(slOut.LogRecords().AppendEmpty())
	}
	return out
}
