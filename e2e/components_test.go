package e2e

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// parseComponents reads the YAML printed by `otelcol-dcom components` into
// kind -> name -> module ("receivers" -> "file_log" -> "github.com/... v0.165.1").
// Providers are listed by scheme.
func parseComponents(t *testing.T, out string) map[string]map[string]string {
	t.Helper()
	got := map[string]map[string]string{}
	kind, name := "", ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case line != "" && line[0] != ' ' && strings.HasSuffix(line, ":"):
			kind = strings.TrimSuffix(line, ":")
			got[kind] = map[string]string{}
		case strings.HasPrefix(trimmed, "- name: "), strings.HasPrefix(trimmed, "- scheme: "):
			name = strings.TrimSpace(trimmed[strings.Index(trimmed, ":")+1:])
			if got[kind] != nil {
				got[kind][name] = ""
			}
		case strings.HasPrefix(trimmed, "module: ") && name != "" && got[kind] != nil:
			got[kind][name] = strings.TrimPrefix(trimmed, "module: ")
		}
	}
	require.NoError(t, sc.Err())
	return got
}

// TestComponents checks that the binary holds every component of
// builder-config.yaml: ocb ignores unknown keys, so a typo there would build
// a distribution without the component instead of failing.
func TestComponents(t *testing.T) {
	t.Parallel()
	code, out := collectortest.RunBinary(t, nil, "components")
	require.Equal(t, 0, code, out)
	got := parseComponents(t, out)

	const (
		local   = "github.com/otelcol-dcom/dcomdetectionprocessor"
		contrib = "github.com/open-telemetry/opentelemetry-collector-contrib/"
		core    = "go.opentelemetry.io/collector/"
	)
	want := []struct{ kind, name, module string }{
		{"receivers", "windowseventlog", local + "/receiver/windowseventlogreceiver v0.0.0"},
		{"receivers", "file_log", contrib + "receiver/filelogreceiver v0.165.1"},
		{"receivers", "otlp", core + "receiver/otlpreceiver v0.165.0"},
		{"receivers", "kafka", contrib + "receiver/kafkareceiver v0.165.1"},
		{"processors", "dcomdetection", local + " v0.0.0"},
		{"processors", "memory_limiter", core + "processor/memorylimiterprocessor v0.165.0"},
		{"processors", "batch", core + "processor/batchprocessor v0.165.0"},
		{"processors", "resource", contrib + "processor/resourceprocessor v0.165.1"},
		{"processors", "filter", contrib + "processor/filterprocessor v0.161.0"},
		{"processors", "transform", contrib + "processor/transformprocessor v0.161.0"},
		{"processors", "groupbyattrs", contrib + "processor/groupbyattrsprocessor v0.165.1"},
		{"exporters", "sumologic", local + "/exporter/sumologicexporter v0.0.0"},
		{"exporters", "otlp_http", core + "exporter/otlphttpexporter v0.165.0"},
		// The otlp exporter's type is otlp_grpc since v0.165; "otlp" is its
		// deprecated alias (TestDeprecatedAliases).
		{"exporters", "otlp_grpc", core + "exporter/otlpexporter v0.165.0"},
		{"exporters", "debug", core + "exporter/debugexporter v0.165.0"},
		{"exporters", "file", contrib + "exporter/fileexporter v0.161.0"},
		{"exporters", "kafka", contrib + "exporter/kafkaexporter v0.165.1"},
		{"extensions", "file_storage", contrib + "extension/storage/filestorage v0.165.1"},
		{"extensions", "health_check", contrib + "extension/healthcheckextension v0.165.1"},
		{"providers", "env", core + "confmap/provider/envprovider v1.71.0"},
		{"providers", "file", core + "confmap/provider/fileprovider v1.71.0"},
		{"providers", "yaml", core + "confmap/provider/yamlprovider v1.71.0"},
	}
	for _, w := range want {
		t.Run(w.kind+"/"+w.name, func(t *testing.T) {
			module, ok := got[w.kind][w.name]
			if assert.True(t, ok, "%s %q missing from `components`:\n%s", w.kind, w.name, out) {
				assert.Equal(t, w.module, module)
			}
		})
	}
	assert.Contains(t, out, "command: otelcol-dcom")
}
