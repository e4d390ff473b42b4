package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

// NewFactory returns the factory of the dcomdetection logs processor.
func NewFactory() processor.Factory {
	f := &factory{shared: map[component.Config]*sharedProcessor{}}
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(f.createLogsProcessor, metadata.LogsStability))
}

// factory keeps one processor per component, as core's memory_limiter does:
// the service builds a processor for every pipeline that names the
// component, and a common layout has one pipeline per channel (Sysmon,
// Security), whose events the correlation must join in one state.
type factory struct {
	mu     sync.Mutex
	shared map[component.Config]*sharedProcessor // by the component's config (one per id)
}

// sharedProcessor is the processor of one component and the number of
// pipelines using it; the last one's shutdown releases it.
type sharedProcessor struct {
	proc *detectionProcessor
	refs int
}

func (f *factory) createLogsProcessor(
	ctx context.Context,
	set processor.Settings,
	cfg component.Config,
	next consumer.Logs,
) (processor.Logs, error) {
	proc, err := f.acquire(set, cfg)
	if err != nil {
		return nil, fmt.Errorf("error creating the dcomdetection processor: %w", err)
	}
	var once sync.Once
	release := func(ctx context.Context) error {
		var releaseErr error
		once.Do(func() { releaseErr = f.release(ctx, cfg) })
		return releaseErr
	}
	lp, err := processorhelper.NewLogs(ctx, set, cfg, next, proc.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(release))
	if err != nil {
		return nil, errors.Join(err, release(ctx))
	}
	return lp, nil
}

// acquire returns the component's processor, building it for its first
// pipeline. Its own telemetry is the component's, not a pipeline's: the
// pipeline and signal attributes the service injects are dropped, so that
// its metrics are one series per component whatever pipeline made the
// first call.
func (f *factory) acquire(set processor.Settings, cfg component.Config) (*detectionProcessor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sp, ok := f.shared[cfg]; ok {
		sp.refs++
		return sp.proc, nil
	}
	set.TelemetrySettings = perComponent(set.TelemetrySettings)
	proc, err := newDetectionProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	f.shared[cfg] = &sharedProcessor{proc: proc, refs: 1}
	return proc, nil
}

// release drops a pipeline's use of the component's processor; the last
// one shuts it down (its metric callbacks), and a new configuration (a
// reload) builds a new one.
func (f *factory) release(ctx context.Context, cfg component.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp, ok := f.shared[cfg]
	if !ok {
		return nil
	}
	sp.refs--
	if sp.refs > 0 {
		return nil
	}
	delete(f.shared, cfg)
	return sp.proc.shutdown(ctx)
}

// Attributes the service adds to a pipeline component's telemetry.
const (
	attrSignal     = "otelcol.signal"
	attrPipelineID = "otelcol.pipeline.id"
)

// perComponent removes the pipeline's attributes from telemetry settings
// (the service's providers implement DropInjectedAttributes, as
// memory_limiter uses it; other providers are returned as they are).
func perComponent(ts component.TelemetrySettings) component.TelemetrySettings {
	type meterDropper interface {
		DropInjectedAttributes(...string) metric.MeterProvider
	}
	type coreDropper interface {
		DropInjectedAttributes(...string) zapcore.Core
	}
	if mp, ok := ts.MeterProvider.(meterDropper); ok {
		ts.MeterProvider = mp.DropInjectedAttributes(attrSignal, attrPipelineID)
	}
	if ts.Logger != nil {
		ts.Logger = ts.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			if cd, ok := c.(coreDropper); ok {
				return cd.DropInjectedAttributes(attrSignal, attrPipelineID)
			}
			return c
		}))
	}
	return ts
}
