package windowseventlogreceiver

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/input/windows"
)

func ptr[T any](v T) *T { return &v }

func TestCreateDefaultConfig(t *testing.T) {
	cfg, ok := NewFactory().CreateDefaultConfig().(*Config)
	require.True(t, ok)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))

	in := cfg.InputConfig
	assert.Equal(t, "windows_eventlog_input", in.ID())
	assert.Equal(t, "windows_eventlog_input", in.Type())
	assert.Empty(t, in.Channel)
	assert.Nil(t, in.Query)
	assert.Nil(t, in.Path)
	assert.Equal(t, "end", in.StartAt)
	assert.Equal(t, 100, in.MaxReads)
	assert.Equal(t, time.Second, in.PollInterval)
	assert.Equal(t, 5*time.Second, in.WaitTimeout)
	assert.Zero(t, in.MaxEventsPerPoll)
	assert.False(t, in.EventDrivenScraping)
	assert.False(t, in.Raw)
	assert.Equal(t, windows.EventDataFormatMap, in.EventDataFormat)
	assert.False(t, in.IncludeLogRecordOriginal)
	assert.False(t, in.SuppressRenderingInfo)
	assert.False(t, in.IgnoreChannelErrors)
	assert.Empty(t, in.ExcludeProviders)
	assert.Equal(t, windows.RemoteConfig{}, in.Remote)
	assert.Empty(t, in.Attributes)
	assert.Empty(t, in.Resource)

	assert.NotNil(t, cfg.Operators)
	assert.Empty(t, cfg.Operators)
	assert.Nil(t, cfg.StorageID)
	assert.False(t, cfg.RetryOnFailure.Enabled)
	assert.Equal(t, time.Second, cfg.RetryOnFailure.InitialInterval)
	assert.Equal(t, 30*time.Second, cfg.RetryOnFailure.MaxInterval)
	assert.Equal(t, 5*time.Minute, cfg.RetryOnFailure.MaxElapsedTime)

	assert.Equal(t, ResolveSIDsConfig{}, cfg.ResolveSIDs)
	assert.False(t, cfg.DiscoverDomainControllers)

	// The defaults alone are not a usable config: a source must be chosen.
	assert.EqualError(t, confmap.Validate(cfg), "one of `channel`, `query` or `path` must be set")
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaults := func() *Config { return createDefaultConfig().(*Config) }

	tests := []struct {
		name    string
		want    func() *Config
		wantErr []string // substrings of the Validate error; nil means valid
		check   func(t *testing.T, cfg *Config)
	}{
		{
			name:    "",
			want:    defaults,
			wantErr: []string{"one of `channel`, `query` or `path` must be set"},
		},
		{
			name: "defaults",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "application"
				return c
			},
		},
		{
			name: "channel",
			want: func() *Config {
				c := defaults()
				in := &c.InputConfig
				in.Channel = "Microsoft-Windows-Sysmon/Operational"
				in.StartAt = "beginning"
				in.MaxReads = 250
				in.PollInterval = 2 * time.Second
				in.MaxEventsPerPoll = 1000
				in.WaitTimeout = 10 * time.Second
				in.EventDrivenScraping = true
				in.Raw = true
				in.EventDataFormat = windows.EventDataFormatArray
				in.IncludeLogRecordOriginal = true
				in.SuppressRenderingInfo = true
				in.IgnoreChannelErrors = true
				in.ExcludeProviders = []string{"Microsoft-Windows-Security-SPP", "VSS"}
				in.Attributes = map[string]helper.ExprStringConfig{"log.source": "sysmon"}
				in.Resource = map[string]helper.ExprStringConfig{"host.role": "workstation"}
				c.StorageID = ptr(component.MustNewIDWithName("file_storage", "wel"))
				c.RetryOnFailure.Enabled = true
				c.RetryOnFailure.InitialInterval = 2 * time.Second
				c.RetryOnFailure.MaxInterval = time.Minute
				c.RetryOnFailure.MaxElapsedTime = 10 * time.Minute
				return c
			},
			check: func(t *testing.T, cfg *Config) {
				require.Len(t, cfg.Operators, 1)
				assert.Equal(t, "add", cfg.Operators[0].Type())
			},
		},
		{
			name: "query",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Query = ptr(`<QueryList>
  <Query Id="0">
    <Select Path="Security">*[System[(EventID=4624 or EventID=4688)]]</Select>
    <Select Path="Microsoft-Windows-Sysmon/Operational">*[System[(EventID=1 or EventID=3)]]</Select>
  </Query>
</QueryList>
`)
				return c
			},
		},
		{
			name: "remote",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.InputConfig.Remote = windows.RemoteConfig{
					Server:   "dc01.corp.example",
					Username: "svc-otel",
					Password: "s3cret",
					Domain:   "CORP",
				}
				return c
			},
		},
		{
			name: "path",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Path = ptr(`C:\logs\export.evtx`)
				c.InputConfig.StartAt = "beginning"
				return c
			},
		},
		{
			name: "contrib_keys_disabled",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.ResolveSIDs = ResolveSIDsConfig{Enabled: false, CacheSize: 5000, CacheTTL: 30 * time.Minute}
				return c
			},
		},
		{
			name: "resolve_sids",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.ResolveSIDs.Enabled = true
				return c
			},
			wantErr: []string{"`resolve_sids.enabled: true` is not supported by this build"},
		},
		{
			name: "discover_dcs",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.DiscoverDomainControllers = true
				return c
			},
			wantErr: []string{"`discover_domain_controllers: true` is not supported by this build"},
		},
		{
			name: "sysmon",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Microsoft-Windows-Sysmon/Operational"
				c.StorageID = ptr(component.MustNewID("file_storage"))
				c.RetryOnFailure.Enabled = true
				return c
			},
		},
		{
			name: "security",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.StorageID = ptr(component.MustNewID("file_storage"))
				c.RetryOnFailure.Enabled = true
				return c
			},
		},
		{
			name: "invalid",
			want: func() *Config {
				c := defaults()
				c.InputConfig.Channel = "Security"
				c.InputConfig.Query = ptr("<QueryList/>")
				c.InputConfig.MaxReads = 0
				c.InputConfig.StartAt = "middle"
				c.InputConfig.EventDataFormat = "list"
				c.InputConfig.Remote.Server = "dc01.corp.example"
				return c
			},
			wantErr: []string{
				"`channel` and `query` cannot both be set",
				"`max_reads` must be at least 1, got 0",
				"`start_at` must be `beginning` or `end`, got \"middle\"",
				"`event_data_format` must be `map` or `array`, got \"list\"",
				"missing `remote.username`, `remote.password`",
			},
		},
	}

	for _, tt := range tests {
		id := component.NewIDWithName(Type, tt.name)
		t.Run(id.String(), func(t *testing.T) {
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)

			cfg := NewFactory().CreateDefaultConfig()
			require.NoError(t, sub.Unmarshal(cfg))

			got := cfg.(*Config)
			if tt.check != nil {
				tt.check(t, got)
				got.Operators = nil
			}
			want := tt.want()
			if tt.check != nil {
				want.Operators = nil
			}
			assert.Equal(t, want, got)

			err = confmap.Validate(cfg)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, msg := range tt.wantErr {
				assert.ErrorContains(t, err, msg)
			}
		})
	}
}

func TestLoadConfigUnknownKey(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	err := confmap.NewFromStringMap(map[string]any{
		"channel":      "Security",
		"not_a_real_k": true,
	}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not_a_real_k")
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		c := createDefaultConfig().(*Config)
		c.InputConfig.Channel = "Security"
		return c
	}

	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // exact error text; "" means valid
	}{
		{name: "channel only", mutate: func(*Config) {}},
		{
			name:   "query only",
			mutate: func(c *Config) { c.InputConfig.Channel = ""; c.InputConfig.Query = ptr("<QueryList/>") },
		},
		{
			name:   "path only",
			mutate: func(c *Config) { c.InputConfig.Channel = ""; c.InputConfig.Path = ptr(`C:\x.evtx`) },
		},
		{
			name:   "none of channel query path",
			mutate: func(c *Config) { c.InputConfig.Channel = "" },
			want:   "one of `channel`, `query` or `path` must be set",
		},
		{
			name:   "path with channel",
			mutate: func(c *Config) { c.InputConfig.Path = ptr(`C:\x.evtx`) },
			want:   "`path` cannot be combined with `channel` or `query`: set only `path` to read an exported .evtx file",
		},
		{
			name: "path with query",
			mutate: func(c *Config) {
				c.InputConfig.Channel = ""
				c.InputConfig.Path = ptr(`C:\x.evtx`)
				c.InputConfig.Query = ptr("<QueryList/>")
			},
			want: "`path` cannot be combined with `channel` or `query`: set only `path` to read an exported .evtx file",
		},
		{
			name:   "channel with query",
			mutate: func(c *Config) { c.InputConfig.Query = ptr("<QueryList/>") },
			want:   "`channel` and `query` cannot both be set: use `channel` for one channel, or `query` (a structured XML query) for several",
		},
		{
			name:   "max_reads zero",
			mutate: func(c *Config) { c.InputConfig.MaxReads = 0 },
			want:   "`max_reads` must be at least 1, got 0",
		},
		{
			name:   "max_reads negative",
			mutate: func(c *Config) { c.InputConfig.MaxReads = -5 },
			want:   "`max_reads` must be at least 1, got -5",
		},
		{name: "max_reads one", mutate: func(c *Config) { c.InputConfig.MaxReads = 1 }},
		{name: "start_at beginning", mutate: func(c *Config) { c.InputConfig.StartAt = "beginning" }},
		{
			name:   "start_at bad",
			mutate: func(c *Config) { c.InputConfig.StartAt = "Beginning" },
			want:   "`start_at` must be `beginning` or `end`, got \"Beginning\"",
		},
		{
			name:   "start_at empty",
			mutate: func(c *Config) { c.InputConfig.StartAt = "" },
			want:   "`start_at` must be `beginning` or `end`, got \"\"",
		},
		{name: "event_data_format array", mutate: func(c *Config) { c.InputConfig.EventDataFormat = windows.EventDataFormatArray }},
		{
			name:   "event_data_format bad",
			mutate: func(c *Config) { c.InputConfig.EventDataFormat = "xml" },
			want:   "`event_data_format` must be `map` or `array`, got \"xml\"",
		},
		{
			name: "remote complete",
			mutate: func(c *Config) {
				c.InputConfig.Remote = windows.RemoteConfig{Server: "h", Username: "u", Password: "p"}
			},
		},
		{
			name:   "remote domain only is ignored like contrib",
			mutate: func(c *Config) { c.InputConfig.Remote = windows.RemoteConfig{Domain: "CORP"} },
		},
		{
			name:   "remote server only",
			mutate: func(c *Config) { c.InputConfig.Remote = windows.RemoteConfig{Server: "h"} },
			want:   "`remote` is incomplete: `remote.server`, `remote.username` and `remote.password` must all be set when any of them is; missing `remote.username`, `remote.password`",
		},
		{
			name:   "remote no password",
			mutate: func(c *Config) { c.InputConfig.Remote = windows.RemoteConfig{Server: "h", Username: "u", Domain: "D"} },
			want:   "`remote` is incomplete: `remote.server`, `remote.username` and `remote.password` must all be set when any of them is; missing `remote.password`",
		},
		{
			name:   "remote credentials without server",
			mutate: func(c *Config) { c.InputConfig.Remote = windows.RemoteConfig{Username: "u", Password: "p"} },
			want:   "`remote` is incomplete: `remote.server`, `remote.username` and `remote.password` must all be set when any of them is; missing `remote.server`",
		},
		{
			name:   "resolve_sids enabled",
			mutate: func(c *Config) { c.ResolveSIDs.Enabled = true },
			want:   "`resolve_sids.enabled: true` is not supported by this build of the windowseventlog receiver (SID resolution exists only in contrib's windowseventlogreceiver); remove `resolve_sids` or set `enabled: false`",
		},
		{
			name:   "resolve_sids disabled with cache settings",
			mutate: func(c *Config) { c.ResolveSIDs = ResolveSIDsConfig{CacheSize: 10, CacheTTL: time.Minute} },
		},
		{
			name:   "resolve_sids negative ttl",
			mutate: func(c *Config) { c.ResolveSIDs.CacheTTL = -time.Second },
			want:   "`resolve_sids.cache_ttl` must not be negative, got -1s",
		},
		{
			name:   "discover_domain_controllers",
			mutate: func(c *Config) { c.DiscoverDomainControllers = true },
			want:   "`discover_domain_controllers: true` is not supported by this build of the windowseventlog receiver (domain-controller discovery exists only in contrib's windowseventlogreceiver); remove it or set it to false",
		},
		{
			name: "all problems reported together",
			mutate: func(c *Config) {
				c.InputConfig.Channel = ""
				c.InputConfig.MaxReads = 0
				c.InputConfig.StartAt = "x"
				c.InputConfig.EventDataFormat = "y"
				c.InputConfig.Remote.Password = "p"
				c.ResolveSIDs.Enabled = true
				c.DiscoverDomainControllers = true
			},
			want: strings.Join([]string{
				"one of `channel`, `query` or `path` must be set",
				"`max_reads` must be at least 1, got 0",
				"`start_at` must be `beginning` or `end`, got \"x\"",
				"`event_data_format` must be `map` or `array`, got \"y\"",
				"`remote` is incomplete: `remote.server`, `remote.username` and `remote.password` must all be set when any of them is; missing `remote.server`, `remote.username`",
				"`resolve_sids.enabled: true` is not supported by this build of the windowseventlog receiver (SID resolution exists only in contrib's windowseventlogreceiver); remove `resolve_sids` or set `enabled: false`",
				"`discover_domain_controllers: true` is not supported by this build of the windowseventlog receiver (domain-controller discovery exists only in contrib's windowseventlogreceiver); remove it or set it to false",
			}, "\n"),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				assert.NoError(t, confmap.Validate(cfg))
				return
			}
			require.EqualError(t, err, tt.want)
			// The collector validates through confmap.Validate; the message
			// reaches the user unchanged (no path prefix, Config is the root).
			assert.EqualError(t, confmap.Validate(cfg), tt.want)
		})
	}
}
