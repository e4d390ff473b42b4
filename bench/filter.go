package bench

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// DetectionFilter reports whether either profile flags an event; the
// generator leaves such templates out of the background.
func DetectionFilter() func(Event) bool {
	seed, err := rules.New(rules.Options{Profile: rules.Seed})
	if err != nil {
		panic(err)
	}
	ext, err := rules.New(rules.Options{Profile: rules.Extended})
	if err != nil {
		panic(err)
	}
	g := NewGenerator(&Templates{}, 1)
	return func(e Event) bool {
		body := pcommon.NewValueMap()
		g.renderMap(&e, false, body.Map())
		var ev winevent.Event
		if winevent.Read(body, pcommon.NewMap(), &ev) != winevent.Filled {
			return false
		}
		return seed.Evaluate(&ev).Detected() || ext.Evaluate(&ev).Detected()
	}
}
