// Package metadata holds the component's identity. It is hand-written in the
// shape mdatagen would generate, because no mdatagen that matches collector
// v0.165.0 can be built here.
package metadata

import "go.opentelemetry.io/collector/component"

var (
	// Type is the component type; it matches contrib's exporter so that
	// existing configurations keep working.
	Type = component.MustNewType("sumologic")
	// ScopeName is the instrumentation scope of the exporter's own telemetry.
	ScopeName = "github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter"
)

// LogsStability is the stability level of the logs signal.
const LogsStability = component.StabilityLevelAlpha
