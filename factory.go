package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

// NewFactory returns the factory of the dcomdetection logs processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogsProcessor, metadata.LogsStability))
}

func createLogsProcessor(
	ctx context.Context,
	set processor.Settings,
	cfg component.Config,
	next consumer.Logs,
) (processor.Logs, error) {
	proc, err := newDetectionProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, fmt.Errorf("error creating the dcomdetection processor: %w", err)
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, proc.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(proc.corr.shutdown))
}
