package e2e

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// dummyEnv holds values for every ${env:...} of the shipped configs.
var dummyEnv = []string{
	"SUMO_HTTP_SOURCE_URL=https://endpoint.collection.example.invalid/receiver/v1/http/ZHVtbXktc2VjcmV0",
	"OTLP_HTTP_ENDPOINT=http://127.0.0.1:4318",
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
	for _, want := range []string{"demo.yaml", "gateway.yaml", "windows-edge.yaml"} {
		assert.Contains(t, names, want)
	}
	// Pipelines that read with windowseventlog, per config.
	windowsPipelines := map[string][]string{"windows-edge.yaml": {"logs"}}

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
