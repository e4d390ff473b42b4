package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// TestOnePipelinePerChannelSharesOneState runs the recorded ShellWindows
// attack through the built binary in the layout of one pipeline per
// channel: the Sysmon log in one, the Security log in the other, both
// through the same dcomdetection component. The joins across the two
// channels must be found as in one pipeline: the Security 4688 copy of the
// cmd.exe joined with the Sysmon connection (through the Sysmon 1 copy's
// parent), and the Sysmon 1 cmd.exe's network logon from the Security 4624.
func TestOnePipelinePerChannelSharesOneState(t *testing.T) {
	t.Parallel()
	sysmonPath, securityPath, records := splitByChannel(t, shellWindowsStream, t.TempDir())

	sink := newOTLPSink(t)
	cfg := collectortest.WriteFile(t, "config.yaml", fmt.Sprintf(`receivers:
  file_log/sysmon:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
  file_log/security:
    include: [%s]
    start_at: beginning
    operators:
      - type: json_parser
        parse_to: body
processors:
  dcomdetection:
exporters:
  otlp_http:
    endpoint: %s
    compression: gzip
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs/sysmon:
      receivers: [file_log/sysmon]
      processors: [dcomdetection]
      exporters: [otlp_http]
    logs/security:
      receivers: [file_log/security]
      processors: [dcomdetection]
      exporters: [otlp_http]
`, collectortest.YAMLPath(sysmonPath), collectortest.YAMLPath(securityPath), sink.server.URL))
	col := startCollector(t, cfg)
	// Every record, then a little longer for the late records.
	sink.waitRecords(t, col, records, 2*time.Second)

	alerts := map[int64]string{}     // record id -> DetectionPattern of its correlation alert
	logonUsers := map[int64]string{} // record id -> user.name of its joined logon
	for _, lr := range sink.all() {
		a := lr.Attributes().AsRaw()
		if _, ok := a["dcom.correlation.kinds"]; !ok {
			continue
		}
		pattern, _ := a["DetectionPattern"].(string)
		if pattern == "" {
			continue
		}
		var id int64
		switch v := lr.Body().Map().AsRaw()["record_id"].(type) {
		case int64:
			id = v
		case float64:
			id = int64(v)
		}
		if _, dup := alerts[id]; dup {
			t.Errorf("two correlation alerts about record %v", id)
		}
		alerts[id] = pattern
		if name, ok := a["user.name"].(string); ok {
			logonUsers[id] = name
		}
	}
	assert.Equal(t, map[int64]string{429412: "DCOM_ShellWindows", 1729868: "DCOM_ShellWindows"}, alerts,
		"the Security 4688 and the Sysmon 1 cmd.exe, each joined with the other channel's events")
	assert.Equal(t, "pgustavo", logonUsers[1729868], "the Sysmon 1 child's network logon, from the Security pipeline")
}
