package dcomdetectionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "dcomdetection", f.Type().String())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
	assert.NoError(t, f.CreateDefaultConfig().(*Config).Validate(), "the default config is valid")
}

func TestCreateFailsOnBadConfig(t *testing.T) {
	cfg := defaultConfig()
	cfg.Lists = map[string]ListConfig{"com_servers": {Remove: []string{"nope.exe"}}}
	_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "lists::com_servers::remove")
}

// contextCapturingConsumer checks that the processor hands the caller's
// context to the next consumer (the lifecycle test mdatagen v0.165 generates).
type contextCapturingConsumer struct{ captured context.Context }

func (c *contextCapturingConsumer) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	c.captured = ctx
	return nil
}

func (*contextCapturingConsumer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{}
}

type ctxKey struct{}

func TestLifecycleAndContextPropagation(t *testing.T) {
	next := &contextCapturingConsumer{}
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), defaultConfig(), next)
	require.NoError(t, err)
	assert.True(t, p.Capabilities().MutatesData)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	require.NoError(t, p.ConsumeLogs(ctx, ld))
	assert.Equal(t, "v", next.captured.Value(ctxKey{}))
	require.NoError(t, p.Shutdown(context.Background()))
}

// telemetryProcessor starts a processor whose own metrics the test reads:
// sum(name) adds up a counter's data points by their pattern attribute (""
// for a counter without one).
func telemetryProcessor(t *testing.T, cfg *Config, next consumer.Logs) (processor.Logs, func(name string) map[string]int64) {
	t.Helper()
	p, tel := startWithTelemetry(t, cfg, next)
	sum := func(name string) map[string]int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		out := map[string]int64{}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			key := ""
			if v, ok := dp.Attributes.Value("pattern"); ok {
				key = v.AsString()
			}
			out[key] += dp.Value
		}
		return out
	}
	return p, sum
}

// startWithTelemetry starts a processor whose metrics the test reads; it
// is shut down when the test ends.
func startWithTelemetry(t *testing.T, cfg *Config, next consumer.Logs) (processor.Logs, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	require.NoError(t, cfg.Validate())
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, tel
}

func TestTelemetry(t *testing.T) {
	cfg := defaultConfig()
	cfg.Exclusions = []ExclusionConfig{{Name: "helpdesk", Patterns: []string{"COM_SuspiciousChild"}, User: `CORP\svc-helpdesk`}}
	p, sum := telemetryProcessor(t, cfg, consumertest.NewNop())
	ld := catalogueLogs(t, shapes[0])
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.AppendEmpty().Body().SetStr("<Event><System><EventID>1") // truncated XML
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))

	assert.Equal(t, map[string]int64{"": 79}, sum(metricInspected))
	assert.Equal(t, map[string]int64{"": 1}, sum(metricUnreadable))
	excluded := sum(metricExcluded)
	assert.Equal(t, int64(1), excluded["COM_SuspiciousChild"], "D04 is the help-desk account")
	delete(excluded, "COM_SuspiciousChild")
	for pattern, n := range excluded {
		assert.Zero(t, n, "excluded %s", pattern)
	}
	detections := sum(metricDetections)
	assert.Equal(t, int64(23-1), detections["COM_SuspiciousChild"], "23 in the catalogue, D04 excluded")
	assert.Equal(t, int64(7), detections["DCOM_ServerActivation"])
	total := int64(0)
	for _, n := range detections {
		total += n
	}
	assert.Equal(t, int64(47), total)
}

// TestTelemetrySeriesExistAtZero: before any record, every counter has its
// series (each pattern's too) at 0, so that an alert on them sees a value.
func TestTelemetrySeriesExistAtZero(t *testing.T) {
	_, series := telemetryProcessor(t, defaultConfig(), consumertest.NewNop())
	assert.Equal(t, map[string]int64{"": 0}, series(metricInspected))
	assert.Equal(t, map[string]int64{"": 0}, series(metricUnreadable))
	assert.Equal(t, map[string]int64{"": 0}, series(metricStripped))
	want := map[string]int64{}
	for p := rules.COMSuspiciousChild; p <= rules.LastPattern; p++ {
		want[p.String()] = 0
	}
	assert.Len(t, want, 8)
	assert.Equal(t, want, series(metricDetections))
	assert.Equal(t, want, series(metricExcluded))
}
