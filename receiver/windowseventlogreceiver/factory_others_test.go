//go:build !windows

package windowseventlogreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

func TestCreateLogsFailsOffWindows(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.InputConfig.Channel = "Security"
	require.NoError(t, cfg.Validate(), "a valid config must still validate off Windows")

	rcv, err := f.CreateLogs(t.Context(), receivertest.NewNopSettings(Type), cfg, consumertest.NewNop())
	assert.Nil(t, rcv)
	require.ErrorIs(t, err, ErrUnsupportedOS)
	assert.EqualError(t, err, "windows eventlog receiver is only supported on Windows")
}
