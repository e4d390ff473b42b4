// Package metadata holds the component's identity, as mdatagen would generate
// it (mdatagen at the pinned collector version is not obtainable; see README).
package metadata // import "github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"

import "go.opentelemetry.io/collector/component"

var (
	// Type is the component type used in collector configuration.
	Type = component.MustNewType("dcomdetection")
	// ScopeName is the instrumentation scope of the processor's own telemetry.
	ScopeName = "github.com/otelcol-dcom/dcomdetectionprocessor"
)

const (
	// LogsStability is the stability of the logs pipeline support.
	LogsStability = component.StabilityLevelAlpha
)
