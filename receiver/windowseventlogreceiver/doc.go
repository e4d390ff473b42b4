// Package windowseventlogreceiver is a thin `windowseventlog` receiver: it
// reads the Windows Event Log through the `windows_eventlog_input` operator of
// contrib's pkg/stanza and converts entries with pkg/stanza's adapter.
//
// It mirrors the component type name and the configuration keys of contrib's
// receiver/windowseventlogreceiver (v0.165), so a distribution can swap in
// contrib's receiver by changing one builder-config line. See README.md.
//
// Windows-only in practice: on every other OS the factory exists and configs
// load and validate, but creating the receiver fails.
package windowseventlogreceiver // import "github.com/otelcol-dcom/dcomdetectionprocessor/receiver/windowseventlogreceiver"
