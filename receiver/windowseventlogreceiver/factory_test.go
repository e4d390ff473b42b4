package windowseventlogreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
)

func TestNewFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, component.MustNewType("windowseventlog"), f.Type())
	assert.Equal(t, "windowseventlog", Type.String())
	assert.Equal(t, component.StabilityLevelAlpha, f.LogsStability())
	assert.IsType(t, &Config{}, f.CreateDefaultConfig())
}
