package windowseventlogreceiver // import "github.com/otelcol-dcom/dcomdetectionprocessor/receiver/windowseventlogreceiver"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/input/windows"
)

// Defaults of the retry_on_failure block. They are the values of contrib's
// internal/coreinternal/consumerretry.NewDefaultConfig(), which cannot be
// imported from outside contrib.
const (
	defaultRetryInitialInterval = 1 * time.Second
	defaultRetryMaxInterval     = 30 * time.Second
	defaultRetryMaxElapsedTime  = 5 * time.Minute
)

// Config is the configuration of the `windowseventlog` receiver. It has the
// same shape and keys as contrib's WindowsLogConfig (v0.165).
type Config struct {
	// InputConfig holds the windows_eventlog_input operator keys: channel,
	// query, path, start_at, max_reads, poll_interval, raw, event_data_format,
	// remote, attributes, resource, ...
	InputConfig windows.Config `mapstructure:",squash"`

	// BaseConfig holds the stanza adapter keys: operators, storage,
	// retry_on_failure.
	adapter.BaseConfig `mapstructure:",squash"`

	// ResolveSIDs is accepted for config compatibility with contrib, but SID
	// resolution is not implemented by this build: `resolve_sids.enabled:
	// true` fails validation.
	ResolveSIDs ResolveSIDsConfig `mapstructure:"resolve_sids"`

	// DiscoverDomainControllers is accepted for config compatibility with
	// contrib, but domain-controller discovery is not implemented by this
	// build: `discover_domain_controllers: true` fails validation.
	DiscoverDomainControllers bool `mapstructure:"discover_domain_controllers"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// WindowsLogConfig is the name contrib uses for the configuration type.
type WindowsLogConfig = Config

// ResolveSIDsConfig mirrors contrib's resolve_sids block. Only the disabled
// state is supported by this build.
type ResolveSIDsConfig struct {
	// Enabled turns SID-to-name resolution on. Not supported by this build.
	Enabled bool `mapstructure:"enabled"`
	// CacheSize is the maximum number of cached SIDs (contrib: 10000 when 0).
	CacheSize uint `mapstructure:"cache_size"`
	// CacheTTL is how long a cached SID stays valid (contrib: 15m when 0).
	CacheTTL time.Duration `mapstructure:"cache_ttl"`
}

var (
	_ component.Config  = (*Config)(nil)
	_ confmap.Validator = (*Config)(nil)
)

// createDefaultConfig returns the defaults of contrib's receiver:
// start_at end, max_reads 100, poll_interval 1s, wait_timeout 5s,
// event_data_format map, no operators, no storage, retry_on_failure disabled
// with 1s / 30s / 5m.
func createDefaultConfig() component.Config {
	cfg := &Config{
		InputConfig: *windows.NewConfig(),
		BaseConfig: adapter.BaseConfig{
			Operators: []operator.Config{},
		},
	}
	cfg.RetryOnFailure.Enabled = false
	cfg.RetryOnFailure.InitialInterval = defaultRetryInitialInterval
	cfg.RetryOnFailure.MaxInterval = defaultRetryMaxInterval
	cfg.RetryOnFailure.MaxElapsedTime = defaultRetryMaxElapsedTime
	return cfg
}

// Validate checks, on every OS, everything the windows_eventlog_input
// operator would reject when it is built on Windows, so a bad config is
// reported by `otelcol validate` (and at start-up) with the offending key
// named, instead of at receiver creation. It also rejects the contrib
// features this build does not implement. All problems are reported at once.
func (cfg *Config) Validate() error {
	var errs []error
	in := &cfg.InputConfig

	switch {
	case in.Channel == "" && in.Query == nil && in.Path == nil:
		errs = append(errs, errors.New("one of `channel`, `query` or `path` must be set"))
	case in.Path != nil && (in.Channel != "" || in.Query != nil):
		errs = append(errs, errors.New("`path` cannot be combined with `channel` or `query`: set only `path` to read an exported .evtx file"))
	case in.Channel != "" && in.Query != nil:
		errs = append(errs, errors.New("`channel` and `query` cannot both be set: use `channel` for one channel, or `query` (a structured XML query) for several"))
	}

	if in.MaxReads < 1 {
		errs = append(errs, fmt.Errorf("`max_reads` must be at least 1, got %d", in.MaxReads))
	}

	if in.StartAt != "beginning" && in.StartAt != "end" {
		errs = append(errs, fmt.Errorf("`start_at` must be `beginning` or `end`, got %q", in.StartAt))
	}

	if in.EventDataFormat != windows.EventDataFormatMap && in.EventDataFormat != windows.EventDataFormatArray {
		errs = append(errs, fmt.Errorf("`event_data_format` must be `map` or `array`, got %q", string(in.EventDataFormat)))
	}

	if err := validateRemote(in.Remote); err != nil {
		errs = append(errs, err)
	}

	if cfg.ResolveSIDs.Enabled {
		errs = append(errs, errors.New("`resolve_sids.enabled: true` is not supported by this build of the windowseventlog receiver (SID resolution exists only in contrib's windowseventlogreceiver); remove `resolve_sids` or set `enabled: false`"))
	}
	if cfg.ResolveSIDs.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("`resolve_sids.cache_ttl` must not be negative, got %s", cfg.ResolveSIDs.CacheTTL))
	}

	if cfg.DiscoverDomainControllers {
		errs = append(errs, errors.New("`discover_domain_controllers: true` is not supported by this build of the windowseventlog receiver (domain-controller discovery exists only in contrib's windowseventlogreceiver); remove it or set it to false"))
	}

	return errors.Join(errs...)
}

// validateRemote mirrors the operator's rule: if any of remote.server,
// remote.username or remote.password is set, all three must be set.
// remote.domain is optional.
func validateRemote(r windows.RemoteConfig) error {
	if r.Server == "" && r.Username == "" && r.Password == "" {
		return nil
	}
	var missing []string
	if r.Server == "" {
		missing = append(missing, "`remote.server`")
	}
	if r.Username == "" {
		missing = append(missing, "`remote.username`")
	}
	if r.Password == "" {
		missing = append(missing, "`remote.password`")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("`remote` is incomplete: `remote.server`, `remote.username` and `remote.password` must all be set when any of them is; missing %s", strings.Join(missing, ", "))
}
