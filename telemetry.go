package dcomdetectionprocessor // import "github.com/otelcol-dcom/dcomdetectionprocessor"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/metadata"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/rules"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/scriptblock"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// Metric names of the processor's own telemetry.
const (
	metricInspected  = "otelcol_processor_dcomdetection_records_inspected"
	metricDetections = "otelcol_processor_dcomdetection_detections"
	metricExcluded   = "otelcol_processor_dcomdetection_records_excluded"
	metricUnreadable = "otelcol_processor_dcomdetection_records_unreadable"
	metricStripped   = "otelcol_processor_dcomdetection_upstream_verdicts_stripped"
)

// batchStats counts one ConsumeLogs call; the counters are updated once per
// batch, not per record, to keep the per-record path free of metric calls.
type batchStats struct {
	inspected  int64
	unreadable int64
	stripped   int64
	detections [rules.LastPattern + 1]int64
	excluded   [rules.LastPattern + 1]int64
	corr       correlationBatch // late correlation findings (correlation.go)
	// sigmaDetections are records a Sigma rule annotated (no built-in
	// pattern did); sigmaMatches counts matches by rule index, made at
	// the first match; sigmaHits is the matching rules of one record.
	sigmaDetections int64
	sigmaMatches    map[int]int64
	sigmaHits       []int
	// scratch takes the PowerShell texts of raw XML bodies the reads
	// unescape: one buffer per call, not a string per record.
	scratch winevent.Scratch
}

type telemetry struct {
	inspected  metric.Int64Counter
	detections metric.Int64Counter
	excluded   metric.Int64Counter
	unreadable metric.Int64Counter
	stripped   metric.Int64Counter
	// per-pattern attribute sets, built once
	patternAttrs [rules.LastPattern + 1]metric.MeasurementOption
	sigmaAttrs   metric.MeasurementOption
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	t := &telemetry{}
	var errs, err error
	t.inspected, err = meter.Int64Counter(metricInspected,
		metric.WithDescription("Log records inspected by the dcomdetection processor"), metric.WithUnit("{records}"))
	errs = errors.Join(errs, err)
	t.detections, err = meter.Int64Counter(metricDetections,
		metric.WithDescription("Detections written, by pattern"), metric.WithUnit("{records}"))
	errs = errors.Join(errs, err)
	t.excluded, err = meter.Int64Counter(metricExcluded,
		metric.WithDescription("Detections suppressed by an exclusion, by pattern"), metric.WithUnit("{records}"))
	errs = errors.Join(errs, err)
	t.unreadable, err = meter.Int64Counter(metricUnreadable,
		metric.WithDescription("Records that looked like Windows events (XML or JSON text) but could not be parsed; they pass through"), metric.WithUnit("{records}"))
	errs = errors.Join(errs, err)
	t.stripped, err = meter.Int64Counter(metricStripped,
		metric.WithDescription("Records that arrived carrying this processor's verdict, which was removed before they were evaluated (upstream_verdicts: strip)"), metric.WithUnit("{records}"))
	errs = errors.Join(errs, err)
	for p := rules.COMSuspiciousChild; p <= rules.LastPattern; p++ {
		t.patternAttrs[p] = metric.WithAttributeSet(attribute.NewSet(attribute.String("pattern", p.String())))
	}
	t.sigmaAttrs = metric.WithAttributeSet(attribute.NewSet(attribute.String("pattern", sigmaPattern)))
	if errs != nil {
		return nil, errs
	}
	t.publishZeros()
	return t, nil
}

// publishZeros makes every series exist from the start, at 0: an alert on
// "detections of a pattern" or "unreadable records" then sees a value, not a
// missing series, until the first one happens.
func (t *telemetry) publishZeros() {
	ctx := context.Background()
	t.inspected.Add(ctx, 0)
	t.unreadable.Add(ctx, 0)
	t.stripped.Add(ctx, 0)
	for p := rules.COMSuspiciousChild; p <= rules.LastPattern; p++ {
		t.detections.Add(ctx, 0, t.patternAttrs[p])
		t.excluded.Add(ctx, 0, t.patternAttrs[p])
	}
}

func (t *telemetry) record(ctx context.Context, s *batchStats) {
	t.inspected.Add(ctx, s.inspected)
	if s.unreadable > 0 {
		t.unreadable.Add(ctx, s.unreadable)
	}
	if s.stripped > 0 {
		t.stripped.Add(ctx, s.stripped)
	}
	if s.sigmaDetections > 0 {
		t.detections.Add(ctx, s.sigmaDetections, t.sigmaAttrs)
	}
	for p := rules.COMSuspiciousChild; p <= rules.LastPattern; p++ {
		if n := s.detections[p]; n > 0 {
			t.detections.Add(ctx, n, t.patternAttrs[p])
		}
		if n := s.excluded[p]; n > 0 {
			t.excluded.Add(ctx, n, t.patternAttrs[p])
		}
	}
}

// Metric names of the reassembly of multi-part script blocks.
const (
	metricScriptBlocks        = "otelcol_processor_dcomdetection_script_blocks"
	metricScriptBlockBytes    = "otelcol_processor_dcomdetection_script_block_bytes"
	metricScriptBlocksEvicted = "otelcol_processor_dcomdetection_script_blocks_evicted"
)

// registerScriptBlockMetrics reports the reassembly's state when metrics
// are collected: nothing on the per-record path.
func registerScriptBlockMetrics(set component.TelemetrySettings, scripts *scriptblock.Assembler) (metric.Registration, error) {
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var errs, err error
	blocks, err := meter.Int64ObservableGauge(metricScriptBlocks,
		metric.WithDescription("Multi-part PowerShell script blocks waiting for a part"), metric.WithUnit("{blocks}"))
	errs = errors.Join(errs, err)
	bytes, err := meter.Int64ObservableGauge(metricScriptBlockBytes,
		metric.WithDescription("Bytes the waiting script blocks keep (the ends of their parts)"), metric.WithUnit("By"))
	errs = errors.Join(errs, err)
	evicted, err := meter.Int64ObservableCounter(metricScriptBlocksEvicted,
		metric.WithDescription("Script blocks let go before all their parts came (state caps, or 5 minutes of event time without a part)"), metric.WithUnit("{blocks}"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, errs
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := scripts.Stats()
		o.ObserveInt64(blocks, int64(st.Blocks))
		o.ObserveInt64(bytes, int64(st.Bytes))
		o.ObserveInt64(evicted, st.Evicted)
		return nil
	}, blocks, bytes, evicted)
}
