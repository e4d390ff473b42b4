//go:build !windows

package windowseventlogreceiver // import "github.com/otelcol-dcom/dcomdetectionprocessor/receiver/windowseventlogreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

func newFactory() receiver.Factory {
	return receiver.NewFactory(
		Type,
		createDefaultConfig,
		receiver.WithLogs(createLogsReceiver, stability),
	)
}

func createLogsReceiver(
	context.Context,
	receiver.Settings,
	component.Config,
	consumer.Logs,
) (receiver.Logs, error) {
	return nil, ErrUnsupportedOS
}
