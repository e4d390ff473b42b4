package bench

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
)

// BatchSize is the number of records in a batch.
const BatchSize = 1000

// Source holds a few distinct batches of one shape and mix, serialized as
// OTLP protobuf, the way a receiver gets them off the wire.
type Source struct {
	Shape   Shape
	Mix     Mix
	protos  [][]byte
	Matches int // detections per batch
}

// NewSource generates `distinct` different batches.
func NewSource(t *Templates, shape Shape, mix Mix, distinct int, seed uint64) (*Source, error) {
	g := NewGenerator(t, seed)
	s := &Source{Shape: shape, Mix: mix}
	var m plog.ProtoMarshaler
	for i := 0; i < distinct; i++ {
		events := g.Events(mix, BatchSize)
		matches := 0
		for _, ev := range events {
			if ev.Match != "" {
				matches++
			}
		}
		if i == 0 {
			s.Matches = matches
		} else if matches != s.Matches {
			return nil, fmt.Errorf("batch %d has %d detections, batch 0 %d", i, matches, s.Matches)
		}
		b, err := m.MarshalLogs(g.Logs(events, shape))
		if err != nil {
			return nil, err
		}
		s.protos = append(s.protos, b)
	}
	return s, nil
}

// Pool decodes n batches, cycling over the distinct ones. Every batch is a
// fresh decode, so every record lives in its own memory, as records fresh
// from a receiver do; n batches of 1,000 records are much larger than the
// last-level cache, so a batch is cold when a benchmark reaches it.
func (s *Source) Pool(n int) ([]plog.Logs, error) {
	var u plog.ProtoUnmarshaler
	pool := make([]plog.Logs, n)
	for i := range pool {
		ld, err := u.UnmarshalLogs(s.protos[i%len(s.protos)])
		if err != nil {
			return nil, err
		}
		pool[i] = ld
	}
	return pool, nil
}

// Batch decodes one batch (the i-th distinct one).
func (s *Source) Batch(i int) plog.Logs {
	var u plog.ProtoUnmarshaler
	ld, err := u.UnmarshalLogs(s.protos[i%len(s.protos)])
	if err != nil {
		panic(err)
	}
	return ld
}

// Proto returns the serialized i-th distinct batch.
func (s *Source) Proto(i int) []byte { return s.protos[i%len(s.protos)] }

// Distinct is the number of distinct batches.
func (s *Source) Distinct() int { return len(s.protos) }
