package dcomdetectionprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
)

// pipelineOf is one pipeline's instance of a component: what the service
// builds for each pipeline that names it.
type pipelineOf struct {
	proc processor.Logs
	sink *consumertest.LogsSink
}

func newPipelineOf(t *testing.T, f processor.Factory, id component.ID, cfg *Config) pipelineOf {
	t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = id
	sink := new(consumertest.LogsSink)
	p, err := f.CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	return pipelineOf{proc: p, sink: sink}
}

// shellWindowsPair is an inbound DCOM connection to explorer.exe (Sysmon 3,
// record 1) and the cmd.exe it starts (Security 4688, record 2): two
// channels of one host, whose join is DCOM_ShellWindows on record 2.
func shellWindowsPair() (conn, child winEvent) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	conn = sysmon3Inbound("ws01", 1, t0.Add(2*time.Second), t0, genExplorer, 0x1100, guidOf("ws01", 0x1100), "10.0.0.9", 50112, "10.0.0.21", 49702)
	child = security4688("WS01", 2, t0.Add(time.Second), `C:\Windows\System32\cmd.exe`, genExplorer, 0x900, 0x1100, "cmd.exe", "0x1f4a2")
	return conn, child
}

// TestTwoPipelinesShareOneState: one dcomdetection component in a Sysmon
// pipeline and a Security pipeline (a common layout: one receiver and one
// pipeline per channel) holds one correlation state, so the cross-channel
// join is found in either order; two components (two ids) keep two states.
func TestTwoPipelinesShareOneState(t *testing.T) {
	conn, child := shellWindowsPair()
	id := component.NewID(metadata.Type)
	for _, shape := range []string{"map", "xml"} {
		for _, connFirst := range []bool{true, false} {
			f := NewFactory()
			cfg := defaultConfig()
			sysmon, security := newPipelineOf(t, f, id, cfg), newPipelineOf(t, f, id, cfg)
			steps := []func(){
				func() { require.NoError(t, sysmon.proc.ConsumeLogs(context.Background(), logsOf(shape, conn))) },
				func() { require.NoError(t, security.proc.ConsumeLogs(context.Background(), logsOf(shape, child))) },
			}
			if !connFirst {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for _, step := range steps {
				step()
			}
			out := append(sysmon.sink.AllLogs(), security.sink.AllLogs()...)
			assert.Equal(t, []string{"DCOM_ShellWindows"}, detectionsOn(t, out, 2), "%s, connection first %v", shape, connFirst)
			if connFirst {
				assert.Equal(t, []string{"DCOM_ShellWindows"}, detectionsOn(t, security.sink.AllLogs(), 2), "%s: on the child's own record", shape)
			} else {
				assert.Equal(t, []string{"DCOM_ShellWindows"}, detectionsOn(t, sysmon.sink.AllLogs(), 2), "%s: a late record, in the pipeline whose record completed the join", shape)
			}
			require.NoError(t, sysmon.proc.Shutdown(context.Background()))
			require.NoError(t, security.proc.Shutdown(context.Background()))
		}
	}

	// Two components: two states, no join across them.
	f := NewFactory()
	a := newPipelineOf(t, f, component.MustNewIDWithName("dcomdetection", "sysmon"), defaultConfig())
	b := newPipelineOf(t, f, component.MustNewIDWithName("dcomdetection", "security"), defaultConfig())
	require.NoError(t, a.proc.ConsumeLogs(context.Background(), logsOf("map", conn)))
	require.NoError(t, b.proc.ConsumeLogs(context.Background(), logsOf("map", child)))
	assert.Empty(t, detectionsOn(t, append(a.sink.AllLogs(), b.sink.AllLogs()...), 2))
	require.NoError(t, a.proc.Shutdown(context.Background()))
	require.NoError(t, b.proc.Shutdown(context.Background()))
}

// TestSharedStateLivesUntilTheLastPipelineStops: the state outlives the
// shutdown of one of its pipelines; after the last one (a reload), the
// component starts from an empty state, and a shutdown repeated on one
// instance releases it once.
func TestSharedStateLivesUntilTheLastPipelineStops(t *testing.T) {
	conn, child := shellWindowsPair()
	id := component.NewID(metadata.Type)
	f := NewFactory()
	cfg := defaultConfig()
	sysmon, security := newPipelineOf(t, f, id, cfg), newPipelineOf(t, f, id, cfg)
	require.NoError(t, sysmon.proc.ConsumeLogs(context.Background(), logsOf("map", conn)))
	require.NoError(t, sysmon.proc.Shutdown(context.Background()))
	require.NoError(t, sysmon.proc.Shutdown(context.Background()), "a repeated shutdown")
	require.NoError(t, security.proc.ConsumeLogs(context.Background(), logsOf("map", child)))
	assert.Equal(t, []string{"DCOM_ShellWindows"}, detectionsOn(t, security.sink.AllLogs(), 2), "the Security pipeline still holds the connection")
	require.NoError(t, security.proc.Shutdown(context.Background()))

	again := newPipelineOf(t, f, id, cfg)
	require.NoError(t, again.proc.ConsumeLogs(context.Background(), logsOf("map", child)))
	assert.Empty(t, detectionsOn(t, again.sink.AllLogs(), 2), "a new state after the last pipeline stopped")
	require.NoError(t, again.proc.Shutdown(context.Background()))
}
