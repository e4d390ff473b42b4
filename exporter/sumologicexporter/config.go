package sumologicexporter

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// LogFormat is the value of `log_format`.
type LogFormat string

const (
	// OTLPLogFormat posts the batch as an OTLP/HTTP protobuf request to endpoint + /v1/logs.
	OTLPLogFormat LogFormat = "otlp"
	// JSONFormat posts one JSON object per record: its attributes plus the body under "log".
	JSONFormat LogFormat = "json"
	// TextFormat posts the body of each record as one line.
	TextFormat LogFormat = "text"
)

// Defaults and limits, as in contrib's sumologicexporter.
const (
	defaultTimeout            = 30 * time.Second
	maxTimeout                = 55 * time.Second // Sumo answers 408 after 30 s; contrib allows up to 55 s
	defaultMaxRequestBodySize = 1024 * 1024      // Sumo: at most 1 MB of uncompressed data per request
	defaultClient             = "otelcol"
	defaultQueueBytes         = 256 << 20 // sending_queue: 256 MiB of requests (OTLP size)
)

// contribOnlyKeys are keys contrib's exporter accepts but this one does not
// implement. They are accepted by Unmarshal so that Validate can name them,
// instead of the collector's generic "invalid keys" error.
var contribOnlyKeys = map[string]string{
	"metric_format":             "is not supported by this exporter (logs only)",
	"decompose_otlp_histograms": "is not supported by this exporter (logs only)",
	"decompose_otlp_summaries":  "is not supported by this exporter (logs only)",
	"compress_encoding":         `is not supported by this exporter (contrib removed it as well); use "compression"`,
}

// Config is the configuration of the sumologic exporter.
type Config struct {
	// ClientConfig holds the HTTP client settings (timeout, compression,
	// headers, tls, proxy_url, auth ...). Its plain-string `endpoint` is always
	// emptied by Unmarshal; Endpoint below is the one that is used.
	ClientConfig confighttp.ClientConfig `mapstructure:",squash"`
	// Endpoint is the HTTP Source URL. Its path contains the source's secret
	// code, so it is opaque: printed configs show [REDACTED].
	Endpoint      configopaque.String                                      `mapstructure:"endpoint"`
	QueueSettings configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// MaxRequestBodySize caps the uncompressed size of a text/json/otlp request.
	MaxRequestBodySize int `mapstructure:"max_request_body_size"`
	// LogFormat is one of otlp (default), json or text.
	LogFormat LogFormat `mapstructure:"log_format"`
	// Client is sent as X-Sumo-Client.
	Client string `mapstructure:"client"`
	// StickySessionEnabled exists for contrib compatibility; only false is accepted.
	StickySessionEnabled bool `mapstructure:"sticky_session_enabled"`

	unsupported []string // contrib-only keys seen by Unmarshal, reported by Validate
	// queueUnit is set by Unmarshal when only one of sending_queue's sizer
	// and queue_size is given; Validate reports it.
	queueUnit string
	_         struct{}
}

var (
	_ component.Config    = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

// Unmarshal moves the endpoint into the opaque field and sets aside the
// contrib-only keys so that Validate can reject them by name. It deletes those
// keys from conf, which the collector creates afresh for each component.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	for key := range contribOnlyKeys {
		if conf.IsSet(key) {
			cfg.unsupported = append(cfg.unsupported, key)
			conf.Delete(key)
		}
	}
	slices.Sort(cfg.unsupported) // map order is random; keep messages stable
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	cfg.queueUnit = checkQueueUnit(conf)
	if cfg.Endpoint == "" {
		cfg.Endpoint = configopaque.String(cfg.ClientConfig.Endpoint)
	}
	cfg.ClientConfig.Endpoint = ""
	return nil
}

// checkQueueUnit asks for sending_queue's sizer and queue_size together.
// This exporter's default sizer is bytes, contrib's is requests: a contrib
// config's `queue_size: 5000` would silently become 5,000 bytes, and a
// `sizer: requests` alone would bound the queue at 268 million requests.
func checkQueueUnit(conf *confmap.Conf) string {
	if !conf.IsSet("sending_queue") || conf.Get("sending_queue") == nil {
		return ""
	}
	size, sizer := conf.IsSet("sending_queue::queue_size"), conf.IsSet("sending_queue::sizer")
	switch {
	case size && !sizer:
		return `"sending_queue::queue_size" needs "sending_queue::sizer" beside it (bytes, items or requests): ` +
			`this exporter's default sizer is bytes, contrib's is requests`
	case sizer && !size && fmt.Sprint(conf.Get("sending_queue::sizer")) != exporterhelper.RequestSizerTypeBytes.String():
		return fmt.Sprintf(`"sending_queue::sizer: %v" needs "sending_queue::queue_size" beside it: `+
			`the default queue_size, %d, is in bytes`, conf.Get("sending_queue::sizer"), defaultQueueBytes)
	default:
		return ""
	}
}

// Validate checks the exporter-specific settings; confmap.Validate also runs
// the nested Validate methods (HTTP client, queue, retry).
func (cfg *Config) Validate() error {
	var errs []error
	for _, key := range cfg.unsupported {
		errs = append(errs, fmt.Errorf("%q %s", key, contribOnlyKeys[key]))
	}
	if cfg.queueUnit != "" {
		errs = append(errs, errors.New(cfg.queueUnit))
	}
	if cfg.StickySessionEnabled {
		errs = append(errs, errors.New(`"sticky_session_enabled: true" is not supported by this exporter`))
	}
	errs = append(errs, cfg.validateEndpoint())
	if t := cfg.ClientConfig.Timeout; t <= 0 || t > maxTimeout {
		errs = append(errs, fmt.Errorf(`"timeout" must be greater than 0s and at most %s, got %s`, maxTimeout, t))
	}
	switch cfg.ClientConfig.Compression {
	case configcompression.TypeGzip, configcompression.TypeDeflate, "", "none":
	default:
		errs = append(errs, fmt.Errorf(`"compression" %q is not supported by this exporter; use gzip, deflate or none`,
			cfg.ClientConfig.Compression))
	}
	switch cfg.LogFormat {
	case OTLPLogFormat, JSONFormat, TextFormat:
	default:
		errs = append(errs, fmt.Errorf(`"log_format" %q is not supported; use otlp, json or text`, cfg.LogFormat))
	}
	if cfg.MaxRequestBodySize <= 0 {
		errs = append(errs, fmt.Errorf(`"max_request_body_size" must be positive, got %d`, cfg.MaxRequestBodySize))
	}
	return errors.Join(errs...)
}

// validateEndpoint never includes the endpoint in its messages: url.Parse
// errors quote the whole URL, so only their cause is kept.
func (cfg *Config) validateEndpoint() error {
	ep := cfg.endpoint()
	if ep == "" {
		if cfg.ClientConfig.Auth.HasValue() {
			return errors.New(`"auth" without "endpoint" is not supported by this exporter ` +
				`(it needs contrib's sumologic extension); set "endpoint" to the HTTP Source URL`)
		}
		return errors.New(`"endpoint" is required (the HTTP Logs Source URL)`)
	}
	u, err := url.Parse(ep)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf(`"endpoint" is not a valid URL: %w`, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New(`"endpoint" must be an absolute http:// or https:// URL`)
	}
	return nil
}

// endpoint also honours ClientConfig.Endpoint for configs built in code.
func (cfg *Config) endpoint() string {
	if cfg.Endpoint != "" {
		return string(cfg.Endpoint)
	}
	return cfg.ClientConfig.Endpoint
}
