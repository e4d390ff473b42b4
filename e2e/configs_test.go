package e2e

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// dummyEnv holds values for every ${env:...} of the shipped configs.
var dummyEnv = []string{
	"SUMO_HTTP_SOURCE_URL=https://endpoint.collection.example.invalid/receiver/v1/http/ZHVtbXktc2VjcmV0",
	"OTLP_HTTP_ENDPOINT=http://127.0.0.1:4318",
	"KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093",
}

// windowsOnlyError is what the windowseventlog receiver answers when it is
// created on another OS; config validation has passed by then.
const windowsOnlyError = "only supported on Windows"

// TestShippedConfigsValidate runs `otelcol-dcom validate` on every file in
// config/. Validation creates the pipeline components, and the
// windowseventlog receiver can only be created on Windows; elsewhere a config
// using it must fail with exactly that error, and must validate once its
// receivers are swapped for a file_log stand-in, so that every other
// component is checked as well.
func TestShippedConfigsValidate(t *testing.T) {
	t.Parallel()
	configs, err := filepath.Glob(collectortest.RepoPath(t, "config", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, configs)
	names := make([]string, 0, len(configs))
	for _, c := range configs {
		names = append(names, filepath.Base(c))
	}
	for _, want := range []string{"demo.yaml", "gateway.yaml", "windows-edge.yaml", "edge-kafka.yaml", "wef-collector.yaml", "gateway-kafka.yaml"} {
		assert.Contains(t, names, want)
	}
	// Pipelines that read with windowseventlog, per config.
	windowsPipelines := map[string][]string{"windows-edge.yaml": {"logs"}, "edge-kafka.yaml": {"logs"}, "wef-collector.yaml": {"logs"}}

	for _, path := range configs {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out := collectortest.RunBinary(t, dummyEnv, "validate", "--config", path)
			pipelines := windowsPipelines[name]
			if len(pipelines) == 0 || runtime.GOOS == "windows" {
				require.Equal(t, 0, code, "validate %s:\n%s", name, out)
				return
			}
			require.NotEqual(t, 0, code, "validate %s passed, but windowseventlog cannot be created on %s", name, runtime.GOOS)
			require.Contains(t, out, windowsOnlyError, "validate %s failed for another reason:\n%s", name, out)
			require.NotContains(t, out, "invalid configuration", out)

			standIn := collectortest.WriteFile(t, "stand-in.xml", "")
			args := []string{
				"validate", "--config", path,
				"--config", "yaml:receivers::file_log/stand_in::include: [" + collectortest.YAMLPath(standIn) + "]",
			}
			for _, p := range pipelines {
				args = append(args, "--config", fmt.Sprintf("yaml:service::pipelines::%s::receivers: [file_log/stand_in]", p))
			}
			code, out = collectortest.RunBinary(t, dummyEnv, args...)
			require.Equal(t, 0, code, "validate %s with file_log in place of windowseventlog:\n%s", name, out)
		})
	}
}

// TestDeprecatedAliases checks that configs written with the pre-v0.165
// component names (filelog, otlphttp, otlp exporter) still load.
func TestDeprecatedAliases(t *testing.T) {
	t.Parallel()
	input := collectortest.WriteFile(t, "in.log", "")
	cfg := collectortest.WriteFile(t, "aliases.yaml", `receivers:
  filelog:
    include: [`+collectortest.YAMLPath(input)+`]
processors:
  dcomdetection:
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:4318
  otlp:
    endpoint: 127.0.0.1:4317
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [filelog]
      processors: [dcomdetection]
      exporters: [otlphttp, otlp]
`)
	code, out := collectortest.RunBinary(t, nil, "validate", "--config", cfg)
	require.Equal(t, 0, code, out)
}

// TestBadProcessorConfig starts the collector with invalid dcomdetection
// settings: it must exit non-zero with a message naming the key.
func TestBadProcessorConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		settings string
		want     []string // the key, as the message names it
	}{
		{"unknown profile", "    profile: bogus", []string{"profile: "}},
		{"exclusion matching everything", "    exclusions:\n      - name: everything\n        image: \"*\"", []string{"exclusions::0 ", "image: "}},
		{"unknown pattern", "    patterns:\n      NoSuchPattern:\n        enabled: false", []string{"patterns::NoSuchPattern: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			input := collectortest.WriteFile(t, "in.log", "")
			cfg := collectortest.WriteFile(t, "bad.yaml", `receivers:
  file_log:
    include: [`+collectortest.YAMLPath(input)+`]
processors:
  dcomdetection:
`+tc.settings+`
exporters:
  debug:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_log]
      processors: [dcomdetection]
      exporters: [debug]
`)
			code, out := collectortest.RunBinary(t, nil, "--config", cfg)
			require.NotEqual(t, 0, code, "collector accepted an invalid config:\n%s", out)
			assert.Contains(t, out, "processors::dcomdetection: "+tc.want[0], out)
			for _, want := range tc.want[1:] {
				assert.Contains(t, out, want, out)
			}
			assert.NotContains(t, out, "Everything is ready", "the collector started")
		})
	}
}

// TestShippedConfigsOperationalDefaults: every shipped config serves the
// collector's metrics on 127.0.0.1:8888 (movable by OTELCOL_METRICS_PORT),
// bounds every network exporter's sending queue in bytes, at most 256 MiB,
// and lets every windowseventlog receiver retry without giving up, so that
// a full queue holds the events back in the event log instead of dropping
// them.
func TestShippedConfigsOperationalDefaults(t *testing.T) {
	t.Parallel()
	configs, err := filepath.Glob(collectortest.RepoPath(t, "config", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, configs)
	networkExporters := map[string]bool{"sumologic": true, "otlp_http": true, "otlphttp": true, "otlp": true, "otlp_grpc": true, "kafka": true}
	for _, path := range configs {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conf, err := confmaptest.LoadConf(path)
			require.NoError(t, err)

			readers, ok := conf.Get("service::telemetry::metrics::readers").([]any)
			require.True(t, ok, "service::telemetry::metrics::readers")
			require.Len(t, readers, 1)
			prom := confmap.NewFromStringMap(readers[0].(map[string]any))
			assert.Equal(t, "127.0.0.1", prom.Get("pull::exporter::prometheus::host"))
			assert.Equal(t, "${env:"+metricsEnv+":-8888}", prom.Get("pull::exporter::prometheus::port"))
			assert.NotEqual(t, "none", conf.Get("service::telemetry::metrics::level"))

			exporters, err := conf.Sub("exporters")
			require.NoError(t, err)
			for id := range exporters.ToStringMap() {
				if !networkExporters[strings.SplitN(id, "/", 2)[0]] {
					continue
				}
				q, subErr := exporters.Sub(id + "::sending_queue")
				require.NoError(t, subErr)
				assert.Equal(t, "bytes", q.Get("sizer"), "%s: sending_queue::sizer", id)
				size, ok := q.Get("queue_size").(int)
				require.True(t, ok, "%s: sending_queue::queue_size is %v", id, q.Get("queue_size"))
				assert.Positive(t, size, id)
				assert.LessOrEqual(t, size, 256<<20, "%s: sending_queue::queue_size", id)
			}

			receivers, err := conf.Sub("receivers")
			require.NoError(t, err)
			for id := range receivers.ToStringMap() {
				if strings.SplitN(id, "/", 2)[0] != "windowseventlog" {
					continue
				}
				assert.Equal(t, true, receivers.Get(id+"::retry_on_failure::enabled"), "%s: retry_on_failure::enabled", id)
				assert.Equal(t, "0s", receivers.Get(id+"::retry_on_failure::max_elapsed_time"), "%s: retry_on_failure::max_elapsed_time", id)
			}
		})
	}
}

// TestKafkaProducersKeyAlike: the two configs that produce to Kafka
// (edge-kafka.yaml on a Windows host, wef-collector.yaml on a Windows Event
// Collector) differ only in their receivers and client id, so the tier's
// end-to-end test, which runs wef-collector.yaml, covers how both key a
// host's events to one partition.
func TestKafkaProducersKeyAlike(t *testing.T) {
	t.Parallel()
	load := func(name string) *confmap.Conf {
		conf, err := confmaptest.LoadConf(collectortest.RepoPath(t, "config", name))
		require.NoError(t, err)
		require.NoError(t, conf.Merge(confmap.NewFromStringMap(map[string]any{"exporters": map[string]any{"kafka": map[string]any{"client_id": ""}}})))
		return conf
	}
	edge, wef := load("edge-kafka.yaml"), load("wef-collector.yaml")
	for _, key := range []string{"processors", "exporters", "extensions", "service::pipelines::logs::processors", "service::pipelines::logs::exporters"} {
		assert.Equal(t, wef.Get(key), edge.Get(key), key)
	}
	assert.Equal(t, []any{"memory_limiter", "transform/host_name", "batch", "groupbyattrs/host_name"}, wef.Get("service::pipelines::logs::processors"))
	assert.Equal(t, true, wef.Get("exporters::kafka::partition_logs_by_resource_attributes"))
	assert.Equal(t, []any{"host.name"}, wef.Get("processors::groupbyattrs/host_name::keys"))
	assert.Equal(t, "${env:KAFKA_TOPIC:-windows-events}", wef.Get("exporters::kafka::logs::topic"))

	gateway, err := confmaptest.LoadConf(collectortest.RepoPath(t, "config", "gateway-kafka.yaml"))
	require.NoError(t, err)
	assert.Equal(t, []any{"${env:KAFKA_TOPIC:-windows-events}"}, gateway.Get("receivers::kafka::logs::topics"))
	assert.Equal(t, "${env:KAFKA_GROUP:-otelcol-dcom-gateway}", gateway.Get("receivers::kafka::group_id"))
	assert.Equal(t, []any{"memory_limiter", "dcomdetection", "batch"}, gateway.Get("service::pipelines::logs::processors"))
	assert.Equal(t, []any{"sumologic", "otlp_http"}, gateway.Get("service::pipelines::logs::exporters"))
}

// TestGatewayOverlayExample: config/examples/gateway-kafka-site.yaml, the
// README's example of a site's second --config over the shipped
// gateway-kafka.yaml, validates, and adds its processor to the pipeline.
func TestGatewayOverlayExample(t *testing.T) {
	t.Parallel()
	gateway := collectortest.RepoPath(t, "config", "gateway-kafka.yaml")
	overlay := collectortest.RepoPath(t, "config", "examples", "gateway-kafka-site.yaml")
	env := append([]string{"KAFKA_USERNAME=dcom", "KAFKA_PASSWORD=secret"}, dummyEnv...)
	code, out := collectortest.RunBinary(t, env, "validate", "--config", gateway, "--config", overlay)
	require.Equal(t, 0, code, out)

	// print-config writes the merged config, and nothing else, on stdout.
	code, out = collectortest.RunBinary(t, env, "print-config", "--config", gateway, "--config", overlay)
	require.Equal(t, 0, code, out)
	retrieved, err := confmap.NewRetrievedFromYAML([]byte(out))
	require.NoError(t, err, out)
	merged, err := retrieved.AsConf()
	require.NoError(t, err)
	assert.Equal(t, []any{"memory_limiter", "dcomdetection", "resource/category", "batch"}, merged.Get("service::pipelines::logs::processors"))
	assert.Equal(t, "SCRAM-SHA-512", merged.Get("receivers::kafka::auth::sasl::mechanism"))
	assert.Equal(t, []any{"127.0.0.1:9092", "127.0.0.1:9093"}, merged.Get("receivers::kafka::brokers"), "KAFKA_BROKERS, comma-separated")
	assert.Equal(t, "[REDACTED]", merged.Get("exporters::sumologic::endpoint"), "the Sumo URL is a credential")
	assert.NotContains(t, out, "ZHVtbXktc2VjcmV0", "the Sumo URL's token")
}
