package windowseventlogreceiver // import "github.com/otelcol-dcom/dcomdetectionprocessor/receiver/windowseventlogreceiver"

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver"
)

const (
	// typeStr is the component type name. It is the same as contrib's
	// receiver so existing configs (`receivers: windowseventlog: ...`) work.
	typeStr = "windowseventlog"

	// stability matches contrib's receiver.
	stability = component.StabilityLevelAlpha
)

// Type is the component type of this receiver: `windowseventlog`.
var Type = component.MustNewType(typeStr)

// ErrUnsupportedOS is returned when the receiver is created on an operating
// system other than Windows. The wording is the same as contrib's receiver.
var ErrUnsupportedOS = errors.New("windows eventlog receiver is only supported on Windows")

// NewFactory returns the factory of the `windowseventlog` receiver.
//
// On Windows it is a stanza adapter factory around the
// `windows_eventlog_input` operator. On other operating systems the factory
// exists and its default config loads and validates, but creating the logs
// receiver fails with ErrUnsupportedOS.
func NewFactory() receiver.Factory {
	return newFactory()
}
