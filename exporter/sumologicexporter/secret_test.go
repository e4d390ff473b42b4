package sumologicexporter

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestEndpointNeverLeaks drives success, Sumo warnings, permanent and
// retryable failures, a timeout, a refused connection, start and config
// validation errors through the real exporterhelper (with retries), and
// checks every log entry, returned error, span and metric for the endpoint.
func TestEndpointNeverLeaks(t *testing.T) {
	secretPath := "/receiver/v1/http/" + secretCode
	srv := newSumoServer(t, func(_ int, r sumoRequest) reply {
		echo := "request to " + r.Path // an unfriendly server quoting the URL back
		switch string(r.Body) {
		case "warn":
			return reply{status: 200, body: `{"message":"` + echo + `"}`}
		case "debug": // the 512-byte cut of the logged body falls inside the code
			return reply{status: 200, body: strings.Repeat("x", 473) + echo}
		case "reject":
			return reply{status: 400, body: `{"code":"x","message":"` + echo + `"}`}
		case "html":
			return reply{status: 404, body: "<html>" + echo + "</html>"}
		case "retry":
			return reply{status: 503, body: `{"message":"` + echo + `"}`, header: map[string]string{"Retry-After": "0"}}
		case "slow":
			time.Sleep(400 * time.Millisecond)
		}
		return reply{status: 200}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String() + secretPath
	require.NoError(t, ln.Close())

	core, logs := observer.New(zapcore.DebugLevel)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.Logger = zap.New(core)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	set.Logger = zap.New(core)

	var errs []error
	run := func(endpoint string, format LogFormat, timeout time.Duration, bodies ...string) {
		cfg := testConfig(endpoint, format)
		fastRetry(cfg)
		cfg.BackOffConfig.MaxElapsedTime = 50 * time.Millisecond
		cfg.ClientConfig.Timeout = timeout
		exp := newFullExporter(t, cfg, set)
		for _, b := range bodies {
			errs = append(errs, exp.ConsumeLogs(context.Background(), newLogs(nil, b)))
		}
		errs = append(errs, exp.Shutdown(context.Background()))
	}
	run(srv.endpoint(), TextFormat, time.Second, "ok", "warn", "debug", "reject", "html", "retry")
	run(srv.endpoint(), OTLPLogFormat, time.Second, "ok")
	run(srv.endpoint(), TextFormat, 100*time.Millisecond, "slow") // client timeout
	run(refused, JSONFormat, time.Second, "refused")

	// Start and validation errors.
	for _, bad := range []string{
		srv.URL + secretPath + "%zz", "ftp://host" + secretPath, secretPath, "http://ho st" + secretPath,
		"http://[::1" + secretPath, string([]byte{0x7f}) + secretPath,
	} {
		cfg := testConfig(bad, TextFormat)
		errs = append(errs, confmap.Validate(cfg))
		exp, createErr := NewFactory().CreateLogs(context.Background(), set, cfg)
		errs = append(errs, createErr)
		if createErr == nil {
			errs = append(errs, exp.Start(context.Background(), componenttest.NewNopHost()))
		}
	}
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	printed := confmap.New()
	require.NoError(t, printed.Marshal(cfg))

	// Collect everything that left the exporter.
	var out []string
	for _, e := range errs {
		if e != nil {
			out = append(out, e.Error())
		}
	}
	require.GreaterOrEqual(t, len(out), 10, "the scenarios must actually fail")
	for _, entry := range logs.All() {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range entry.Context {
			f.AddTo(enc)
		}
		out = append(out, entry.Message, fmt.Sprint(enc.Fields))
	}
	for _, s := range tel.SpanRecorder.Ended() {
		out = append(out, s.Name(), fmt.Sprint(s.Attributes()), s.Status().Description)
		for _, ev := range s.Events() {
			out = append(out, ev.Name, fmt.Sprint(ev.Attributes))
		}
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	out = append(out, fmt.Sprintf("%+v", rm), fmt.Sprint(printed.ToStringMap()))

	all := strings.Join(out, "\n")
	assert.Contains(t, all, "<redacted>", "the echoing server was scrubbed")
	assert.Contains(t, all, "HTTP 400 Bad Request from Sumo Logic")
	assert.Contains(t, all, "connection refused")
	assert.Contains(t, all, "deadline exceeded") // the client timeout
	for _, secret := range []string{secretCode, secretCode[:10], url.PathEscape(secretCode), srv.endpoint(), refused, "http/U2Vj"} {
		assert.NotContains(t, all, secret)
	}
	if t.Failed() {
		t.Log(all)
	}
}

func TestSecretsOf(t *testing.T) {
	s := secretsOf("https://h.example/receiver/v1/http/"+secretCode, "https://h.example/receiver/v1/http/"+secretCode+"/v1/logs")
	assert.Contains(t, s, secretCode)
	assert.Contains(t, s, "/receiver/v1/http/"+secretCode)
	assert.NotContains(t, s, "/", "short strings are not scrubbed")
	for i := 1; i < len(s); i++ {
		assert.GreaterOrEqual(t, len(s[i-1]), len(s[i]), "longest first")
	}
}
