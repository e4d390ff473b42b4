package reliability

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// badConfigCase is one invalid setting of one of the distribution's own
// components. want are fragments the message must contain: the component,
// then the key.
type badConfigCase struct {
	name     string
	settings string // the component's settings, indented by 4
	want     []string
}

const (
	dcomPrefix = "processors::dcomdetection: "
	sumoPrefix = "exporters::sumologic: "
	winPrefix  = "receivers::windowseventlog: "
)

// TestBadConfigValidate runs `otelcol-dcom validate` on configs with one
// invalid setting each: it must exit non-zero with a message naming the
// component and the key.
func TestBadConfigValidate(t *testing.T) {
	t.Parallel()
	input := collectortest.WriteFile(t, "in.log", "")
	pipeline := func(receiver, processor, exporter, settings string) string {
		recv := "  file_log:\n    include: [" + collectortest.YAMLPath(input) + "]\n"
		proc := "  dcomdetection:\n"
		exp := "  debug:\n"
		switch {
		case strings.HasPrefix(receiver, "windowseventlog"):
			recv = "  windowseventlog:\n" + settings
		case strings.HasPrefix(exporter, "sumologic"):
			exp = "  sumologic:\n" + settings
		default:
			proc += settings
		}
		return fmt.Sprintf(`receivers:
%sprocessors:
%sexporters:
%sservice:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [%s]
      processors: [%s]
      exporters: [%s]
`, recv, proc, exp, receiver, processor, exporter)
	}
	const endpoint = "    endpoint: http://127.0.0.1:1/receiver/v1/http/x\n"
	groups := []struct {
		component                     string
		receiver, processor, exporter string
		cases                         []badConfigCase
	}{
		{"dcomdetection", "file_log", "dcomdetection", "debug", []badConfigCase{
			{"unknown profile", "    profile: bogus\n", []string{dcomPrefix, `profile: unknown profile "bogus"`}},
			{"unknown pattern name", "    patterns:\n      NoSuchPattern:\n        enabled: false\n", []string{dcomPrefix, "patterns::NoSuchPattern: unknown pattern"}},
			{"unknown severity", "    patterns:\n      COM_SuspiciousChild:\n        severity: urgent\n", []string{dcomPrefix, "patterns::COM_SuspiciousChild::severity: unknown severity"}},
			{"exclusion without a field", "    exclusions:\n      - name: empty\n", []string{dcomPrefix, "exclusions::0 (empty): no field to match"}},
			{"exclusion without a name", "    exclusions:\n      - image: 'C:\\x\\tool.exe'\n", []string{dcomPrefix, "exclusions::0 (): name is required"}},
			{"exclusion with an unknown pattern", "    exclusions:\n      - name: x\n        patterns: [Nope]\n        image: tool.exe\n", []string{dcomPrefix, "exclusions::0 (x): patterns: unknown pattern"}},
			{"wildcard matching everything", "    exclusions:\n      - name: all\n        image: '**'\n", []string{dcomPrefix, "exclusions::0 (all): image: pattern \"**\" matches everything"}},
			{"single-star wildcard", "    exclusions:\n      - name: x\n        image: tool.exe\n        command_line: '*'\n", []string{dcomPrefix, "exclusions::0 (x): command_line: pattern \"*\" matches everything"}},
			{"duplicate exclusion name", "    exclusions:\n      - name: x\n        image: a.exe\n      - name: x\n        image: b.exe\n", []string{dcomPrefix, "exclusions::1::name: duplicate exclusion name"}},
			{"unknown list", "    lists:\n      no_such_list:\n        add: [tool.exe]\n", []string{dcomPrefix, "lists::no_such_list: unknown list"}},
			{"list entry with a path", "    lists:\n      com_servers:\n        add: ['C:\\x\\tool.exe']\n", []string{dcomPrefix, "lists::com_servers::add: "}},
			{"list edit on the seed profile", "    profile: seed\n    lists:\n      com_servers:\n        add: [tool.exe]\n", []string{dcomPrefix, "lists: the seed profile"}},
			{"verdict nowhere", "    record_attributes: false\n", []string{dcomPrefix, "record_attributes: false needs body_key"}},
			{"body_key with spaces", "    body_key: ' dcom '\n", []string{dcomPrefix, "body_key: "}},
			{"correlation max_hosts", "    correlation:\n      max_hosts: 0\n", []string{dcomPrefix, "correlation::max_hosts: must be positive"}},
			{"unknown key", "    prof1le: seed\n", []string{"dcomdetection", "prof1le"}},
		}},
		{"sumologic", "file_log", "dcomdetection", "sumologic", []badConfigCase{
			{"unknown log_format", endpoint + "    log_format: csv\n", []string{sumoPrefix, `"log_format" "csv" is not supported`}},
			{"endpoint missing", "    log_format: text\n", []string{sumoPrefix, `"endpoint" is required`}},
			{"endpoint not a URL", "    endpoint: not a url\n", []string{sumoPrefix, `"endpoint" must be an absolute http:// or https:// URL`}},
			{"endpoint unparsable", "    endpoint: 'http://127.0.0.1:1/receiver/%zz'\n", []string{sumoPrefix, `"endpoint" is not a valid URL`}},
			{"endpoint not http", "    endpoint: ftp://127.0.0.1/receiver/v1/http/x\n", []string{sumoPrefix, `"endpoint" must be an absolute http:// or https:// URL`}},
			{"contrib-only metric_format", endpoint + "    metric_format: prometheus\n", []string{sumoPrefix, `"metric_format" is not supported by this exporter (logs only)`}},
			{"contrib-only compress_encoding", endpoint + "    compress_encoding: gzip\n", []string{sumoPrefix, `"compress_encoding" is not supported`}},
			{"compression zstd", endpoint + "    compression: zstd\n", []string{sumoPrefix, `"compression" "zstd" is not supported`}},
			{"timeout above 55s", endpoint + "    timeout: 60s\n", []string{sumoPrefix, `"timeout" must be greater than 0s and at most 55s`}},
			{"timeout zero", endpoint + "    timeout: 0s\n", []string{sumoPrefix, `"timeout" must be greater than 0s`}},
			{"sticky sessions", endpoint + "    sticky_session_enabled: true\n", []string{sumoPrefix, `"sticky_session_enabled: true" is not supported`}},
			{"max_request_body_size zero", endpoint + "    max_request_body_size: 0\n", []string{sumoPrefix, `"max_request_body_size" must be positive`}},
			{"queue_size without sizer", endpoint + "    sending_queue:\n      queue_size: 5000\n", []string{sumoPrefix, `"sending_queue::queue_size" needs "sending_queue::sizer" beside it`}},
			{"sizer requests without queue_size", endpoint + "    sending_queue:\n      sizer: requests\n", []string{sumoPrefix, `"sending_queue::sizer: requests" needs "sending_queue::queue_size" beside it`}},
			{"unknown key", endpoint + "    log_fromat: text\n", []string{"sumologic", "log_fromat"}},
		}},
		{"windowseventlog", "windowseventlog", "dcomdetection", "debug", []badConfigCase{
			{"no channel, query or path", "    start_at: end\n", []string{winPrefix, "one of `channel`, `query` or `path` must be set"}},
			{"bad start_at", "    channel: Security\n    start_at: middle\n", []string{winPrefix, "`start_at` must be `beginning` or `end`"}},
			{"channel and query", "    channel: Security\n    query: '<QueryList/>'\n", []string{winPrefix, "`channel` and `query` cannot both be set"}},
			{"path and channel", "    channel: Security\n    path: 'C:\\x.evtx'\n", []string{winPrefix, "`path` cannot be combined"}},
			{"max_reads zero", "    channel: Security\n    max_reads: 0\n", []string{winPrefix, "`max_reads` must be at least 1"}},
			{"bad event_data_format", "    channel: Security\n    event_data_format: list\n", []string{winPrefix, "`event_data_format` must be `map` or `array`"}},
			{"resolve_sids", "    channel: Security\n    resolve_sids:\n      enabled: true\n", []string{winPrefix, "resolve_sids"}},
			{"unknown key", "    channel: Security\n    chanel: System\n", []string{"windowseventlog", "chanel"}},
		}},
	}
	for _, g := range groups {
		for _, tc := range g.cases {
			t.Run(g.component+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				cfg := collectortest.WriteFile(t, "bad.yaml", pipeline(g.receiver, g.processor, g.exporter, tc.settings))
				code, out := collectortest.RunBinary(t, nil, "validate", "--config", cfg)
				require.NotEqual(t, 0, code, "validate accepted an invalid config:\n%s", out)
				for _, w := range tc.want {
					assert.Contains(t, out, w)
				}
			})
		}
	}
}
