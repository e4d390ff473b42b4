//go:build windows

package windowseventlogreceiver // import "github.com/otelcol-dcom/dcomdetectionprocessor/receiver/windowseventlogreceiver"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"

	// Registers the windows_eventlog_input operator (its init() runs on Windows only).
	_ "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/input/windows"
)

func newFactory() receiver.Factory {
	return adapter.NewFactory(receiverType{}, stability)
}

// receiverType implements adapter.LogReceiverType.
type receiverType struct{}

var _ adapter.LogReceiverType = receiverType{}

// Type is the receiver type.
func (receiverType) Type() component.Type {
	return Type
}

// CreateDefaultConfig creates the default configuration.
func (receiverType) CreateDefaultConfig() component.Config {
	return createDefaultConfig()
}

// BaseConfig returns the adapter part of the configuration
// (operators, storage, retry_on_failure).
func (receiverType) BaseConfig(cfg component.Config) adapter.BaseConfig {
	return cfg.(*Config).BaseConfig
}

// InputConfig returns the windows_eventlog_input operator configuration.
func (receiverType) InputConfig(cfg component.Config) operator.Config {
	return operator.NewConfig(&cfg.(*Config).InputConfig)
}
