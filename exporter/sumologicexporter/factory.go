// Package sumologicexporter is a logs-only exporter for Sumo Logic HTTP Logs
// Sources. It replaces contrib's sumologicexporter (which needs the
// sumologicextension that cannot be built here) with the same config keys.
package sumologicexporter

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter/internal/metadata"
)

// NewFactory returns the factory of the logs-only `sumologic` exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogsExporter, metadata.LogsStability))
}

// createDefaultConfig mirrors contrib v0.161.0's defaults, except the
// sending queue's bound.
func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = defaultTimeout
	client.Compression = configcompression.TypeGzip

	// The queue is off unless `sending_queue` appears in the config (Default,
	// not Some); `batch: {}` likewise turns batching on.
	batch := exporterhelper.NewDefaultBatchConfig()
	batch.FlushTimeout = time.Second
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.MinSize, batch.MaxSize = 1024, 2048
	// Contrib bounds the queue at 1,024,000 requests, which with a disk queue
	// and endless retry can fill a host's disk during a long outage. Here the
	// bound is in bytes (the requests' OTLP size), which an operator can
	// reason about.
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.Sizer = exporterhelper.RequestSizerTypeBytes
	queue.QueueSize = defaultQueueBytes
	queue.Batch = configoptional.Default(batch)

	retry := configretry.NewDefaultBackOffConfig()
	retry.Multiplier = 1.2
	retry.MaxInterval = 5 * time.Minute
	retry.MaxElapsedTime = time.Hour

	return &Config{
		ClientConfig:       client,
		QueueSettings:      configoptional.Default(queue),
		BackOffConfig:      retry,
		MaxRequestBodySize: defaultMaxRequestBodySize,
		LogFormat:          OTLPLogFormat,
		Client:             defaultClient,
	}
}

func createLogsExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newSumoExporter(set, c)
	if err != nil {
		return nil, fmt.Errorf("creating the sumologic exporter: %w", err)
	}
	// The exporter retries by itself (pushLogsRetrying); exporterhelper's
	// retry only sees what is still failing at the shutdown deadline and,
	// never giving up by itself, turns it into its shutdown error, which a
	// persistent queue keeps.
	retry := c.BackOffConfig
	retry.MaxElapsedTime = 0
	exp, err := exporterhelper.NewLogs(ctx, set, c, e.pushLogsRetrying,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		// As in contrib, only the HTTP client timeout applies to a request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(retry),
		exporterhelper.WithQueue(c.QueueSettings),
	)
	if err != nil {
		return nil, fmt.Errorf("creating the sumologic exporter: %w", err)
	}
	return &logsExporter{Logs: exp, exp: e}, nil
}
