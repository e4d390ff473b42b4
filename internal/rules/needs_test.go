package rules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// TestNeedsCoverWhatEvaluateReads: an engine evaluating events read with
// the plan of its own Needs gives the verdict it gives on events read in
// full, for both profiles and an exclusion on each field, on the 78
// catalogue events in the map, array and XML shapes. A rule or exclusion
// that reads a field Needs does not name fails here.
func TestNeedsCoverWhatEvaluateReads(t *testing.T) {
	cases := map[string]Options{
		"seed":     {Profile: Seed},
		"extended": {Profile: Extended},
	}
	for name, x := range map[string]Exclusion{
		"image":               {Image: `*\cmd.exe`},
		"parent_image":        {ParentImage: `*\mmc.exe`},
		"command_line":        {CommandLine: `*whoami*`},
		"parent_command_line": {ParentCommandLine: `*-Embedding*`},
		"user":                {User: `*adm*`},
		"host":                {Host: `*catalogue*`},
	} {
		x.Name = name
		cases["extended, exclusion on "+name] = Options{Profile: Extended, Exclusions: []Exclusion{x}}
	}
	attrs := pcommon.NewMap()
	for name, o := range cases {
		engine, err := New(o)
		require.NoError(t, err, name)
		reader := winevent.NewReader(engine.Needs()...)
		detected, excluded := 0, 0
		for _, shape := range []struct {
			file     string
			asString bool
		}{{"map.jsonl", false}, {"array.jsonl", false}, {"events.xml", true}} {
			for i, body := range catalogueBodies(t, shape.file, shape.asString) {
				var full, planned winevent.Event
				require.Equal(t, winevent.Filled, winevent.Read(body, attrs, &full))
				require.Equal(t, winevent.Filled, reader.Read(body, attrs, &planned))
				want := engine.Evaluate(&full)
				assert.Equal(t, want, engine.Evaluate(&planned), "%s: %s line %d", name, shape.file, i)
				if want.Pattern != None {
					detected++
				}
				if want.Excluded != "" {
					excluded++
				}
			}
		}
		assert.Positive(t, detected, name)
		if len(o.Exclusions) > 0 {
			assert.Positive(t, excluded, "%s: the exclusion excludes something", name)
		}
	}
}
