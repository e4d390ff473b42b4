package sumologicexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-dcom/dcomdetectionprocessor/exporter/sumologicexporter/internal/metadata"
)

const testEndpoint = "https://endpoint6.collection.us2.sumologic.com/receiver/v1/http/c2VjcmV0LWNvZGUtMTIz"

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return cfg, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	assert.Equal(t, 30*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	assert.Equal(t, OTLPLogFormat, cfg.LogFormat)
	assert.Equal(t, 1048576, cfg.MaxRequestBodySize)
	assert.Equal(t, "otelcol", cfg.Client)
	assert.False(t, cfg.StickySessionEnabled)
	assert.False(t, cfg.QueueSettings.HasValue(), "the queue is off unless sending_queue is set, as in contrib")
	q := cfg.QueueSettings.GetOrInsertDefault()
	assert.Equal(t, exporterhelper.RequestSizerTypeBytes, q.Sizer)
	assert.Equal(t, int64(256<<20), q.QueueSize, "256 MiB, not contrib's 1,024,000 requests")
	assert.False(t, q.Batch.HasValue())
	b := q.Batch.GetOrInsertDefault()
	assert.Equal(t, time.Second, b.FlushTimeout)
	assert.Equal(t, [2]int64{1024, 2048}, [2]int64{b.MinSize, b.MaxSize})
	assert.True(t, cfg.BackOffConfig.Enabled)
	assert.Equal(t, 5*time.Second, cfg.BackOffConfig.InitialInterval)
	assert.InDelta(t, 1.2, cfg.BackOffConfig.Multiplier, 1e-9)
	assert.Equal(t, 5*time.Minute, cfg.BackOffConfig.MaxInterval)
	assert.Equal(t, time.Hour, cfg.BackOffConfig.MaxElapsedTime)
	assert.Error(t, confmap.Validate(NewFactory().CreateDefaultConfig()), "endpoint is required")
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, configopaque.String(testEndpoint), cfg.Endpoint)
	assert.Empty(t, cfg.ClientConfig.Endpoint, "the plain-string copy is cleared")

	cfg, err = loadConfig(t, "full")
	require.NoError(t, err)
	assert.Equal(t, TextFormat, cfg.LogFormat)
	assert.Equal(t, configcompression.TypeDeflate, cfg.ClientConfig.Compression)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, 524288, cfg.MaxRequestBodySize)
	assert.Equal(t, "dcom-collector", cfg.Client)
	tok, ok := cfg.ClientConfig.Headers.Get("x-sumo-token")
	assert.True(t, ok)
	assert.Equal(t, configopaque.String("not-a-real-token"), tok)
	require.True(t, cfg.QueueSettings.HasValue())
	q := cfg.QueueSettings.Get()
	assert.Equal(t, int64(5000), q.QueueSize)
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, q.Sizer)
	assert.Equal(t, 2, q.NumConsumers)
	require.NotNil(t, q.StorageID)
	assert.Equal(t, "file_storage/sumo", q.StorageID.String())
	require.True(t, q.Batch.HasValue())
	assert.Equal(t, 2*time.Second, q.Batch.Get().FlushTimeout)
	assert.Equal(t, int64(1024), q.Batch.Get().MinSize, "contrib's batch defaults fill the rest")
	assert.Equal(t, time.Second, cfg.BackOffConfig.InitialInterval)
	assert.Equal(t, 10*time.Minute, cfg.BackOffConfig.MaxElapsedTime)
	assert.InDelta(t, 1.2, cfg.BackOffConfig.Multiplier, 1e-9)

	cfg, err = loadConfig(t, "readme")
	require.NoError(t, err)
	require.True(t, cfg.QueueSettings.HasValue())
	require.True(t, cfg.QueueSettings.Get().Batch.HasValue(), "batch: {} turns batching on")
	assert.Equal(t, int64(2048), cfg.QueueSettings.Get().Batch.Get().MaxSize)
	assert.Equal(t, exporterhelper.RequestSizerTypeItems, cfg.QueueSettings.Get().Sizer)

	cfg, err = loadConfig(t, "bytes_sizer_alone")
	require.NoError(t, err)
	assert.Equal(t, int64(256<<20), cfg.QueueSettings.Get().QueueSize)

	cfg, err = loadConfig(t, "no_compression")
	require.NoError(t, err)
	assert.Equal(t, JSONFormat, cfg.LogFormat)
	assert.False(t, cfg.ClientConfig.Compression.IsCompressed())
}

func TestLoadConfigRejectsContribOnlyKeys(t *testing.T) {
	tests := map[string][]string{
		"metric_format":     {`"metric_format" is not supported by this exporter (logs only)`},
		"decompose":         {`"decompose_otlp_histograms" is not supported by this exporter (logs only)`, `"decompose_otlp_summaries" is not supported by this exporter (logs only)`},
		"compress_encoding": {`"compress_encoding" is not supported by this exporter (contrib removed it as well); use "compression"`},
		"sticky":            {`"sticky_session_enabled: true" is not supported by this exporter`},
		"auth_only":         {`"auth" without "endpoint" is not supported by this exporter`},
		"unknown_key":       {"source_category"}, // the collector's own unknown-key error
		"queue_size_alone":  {`"sending_queue::queue_size" needs "sending_queue::sizer" beside it`},
		"sizer_alone":       {`"sending_queue::sizer: requests" needs "sending_queue::queue_size" beside it: the default queue_size, 268435456, is in bytes`},
	}
	for name, msgs := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, m := range msgs {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"endpoint in the plain confighttp field", func(c *Config) { c.Endpoint, c.ClientConfig.Endpoint = "", testEndpoint }, ""},
		{"endpoint missing", func(c *Config) { c.Endpoint = "" }, `"endpoint" is required`},
		{"endpoint not a URL", func(c *Config) { c.Endpoint = "https://host/receiver/%zz" }, `"endpoint" is not a valid URL: invalid URL escape "%zz"`},
		{"endpoint relative", func(c *Config) { c.Endpoint = "receiver/v1/http/abc" }, `"endpoint" must be an absolute http:// or https:// URL`},
		{"endpoint other scheme", func(c *Config) { c.Endpoint = "ftp://host/abc" }, `"endpoint" must be an absolute http:// or https:// URL`},
		{"auth without endpoint", func(c *Config) {
			c.Endpoint = ""
			c.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: component.MustNewID("sumologic")})
		}, `"auth" without "endpoint" is not supported`},
		{"bad log_format", func(c *Config) { c.LogFormat = "prometheus" }, `"log_format" "prometheus" is not supported; use otlp, json or text`},
		{"bad compression", func(c *Config) { c.ClientConfig.Compression = configcompression.TypeZstd }, `"compression" "zstd" is not supported by this exporter; use gzip, deflate or none`},
		{"compression none", func(c *Config) { c.ClientConfig.Compression = "none" }, ""},
		{"compression empty", func(c *Config) { c.ClientConfig.Compression = "" }, ""},
		{"timeout zero", func(c *Config) { c.ClientConfig.Timeout = 0 }, `"timeout" must be greater than 0s and at most 55s, got 0s`},
		{"timeout too long", func(c *Config) { c.ClientConfig.Timeout = 56 * time.Second }, `"timeout" must be greater than 0s and at most 55s, got 56s`},
		{"timeout at the limit", func(c *Config) { c.ClientConfig.Timeout = 55 * time.Second }, ""},
		{"max_request_body_size", func(c *Config) { c.MaxRequestBodySize = 0 }, `"max_request_body_size" must be positive, got 0`},
		{"sticky sessions", func(c *Config) { c.StickySessionEnabled = true }, `"sticky_session_enabled: true" is not supported`},
		{"queue is validated too", func(c *Config) {
			q := exporterhelper.NewDefaultQueueConfig()
			q.NumConsumers = 0
			c.QueueSettings = configoptional.Some(q)
		}, "`num_consumers` must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig().(*Config)
			cfg.Endpoint = testEndpoint
			tt.modify(cfg)
			err := confmap.Validate(cfg)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "c2VjcmV0LWNvZGUtMTIz")
		})
	}
}

// Printing the effective configuration must not reveal the endpoint.
func TestMarshalRedactsEndpoint(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	require.NoError(t, err)
	conf := confmap.New()
	require.NoError(t, conf.Marshal(cfg))
	assert.Equal(t, "[REDACTED]", conf.Get("endpoint"))
	assert.NotContains(t, conf.ToStringMap(), "metric_format")
}
