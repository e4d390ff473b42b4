//go:build windows

package windowseventlogreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
)

func TestReceiverTypeMethods(t *testing.T) {
	var rt adapter.LogReceiverType = receiverType{}
	cfg := rt.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Channel = "Security"

	assert.Equal(t, Type, rt.Type())
	assert.Equal(t, cfg.BaseConfig, rt.BaseConfig(cfg))
	in := rt.InputConfig(cfg)
	assert.Equal(t, "windows_eventlog_input", in.Type())
	assert.Same(t, &cfg.InputConfig, in.Builder)
}

// Creating the receiver builds the stanza pipeline (it does not touch the
// event log API until Start), so it works on any Windows host.
func TestCreateLogsOnWindows(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Channel = "Security"
	require.NoError(t, cfg.Validate())

	rcv, err := f.CreateLogs(t.Context(), receivertest.NewNopSettings(Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NotNil(t, rcv)
}

func TestCreateLogsOnWindowsRejectsNoSource(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()

	_, err := f.CreateLogs(t.Context(), receivertest.NewNopSettings(Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "either `channel`, `query` or `path` must be set")
}
