package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// TestKafkaKeyIsTheHost runs the processors of config/wef-collector.yaml as
// shipped (edge-kafka.yaml has the same, TestKafkaProducersKeyAlike) on
// records of every kind a forwarder meets, with an OTLP receiver and an
// otlp_http exporter in the place of windowseventlog and kafka: the host.name
// each record's resource gets is the Kafka key. A Windows event's computer,
// in a map or raw XML body, becomes its lower-case first label (addresses
// whole); a record with no computer gets none; the resource keeps host.name
// only; every record passes.
func TestKafkaKeyIsTheHost(t *testing.T) {
	t.Parallel()
	xmlOf := func(computer string) string {
		return `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>4688</EventID><EventRecordID>7</EventRecordID><Channel>Security</Channel><Computer>` +
			computer + `</Computer></System><EventData><Data Name="NewProcessName">C:\Windows\System32\cmd.exe</Data></EventData></Event>`
	}
	cases := []struct {
		name string
		body func(v pcommon.Value)
		want string // "" for no host.name
	}{
		{"map FQDN", func(v pcommon.Value) { v.SetEmptyMap().PutStr("computer", "WS01.corp.example") }, "ws01"},
		{"map short name", func(v pcommon.Value) { v.SetEmptyMap().PutStr("computer", "WS01") }, "ws01"},
		{"XML FQDN", func(v pcommon.Value) { v.SetStr(xmlOf("Ws02.Lab.Example")) }, "ws02"},
		{"XML short name", func(v pcommon.Value) { v.SetStr(xmlOf("WS02")) }, "ws02"},
		{"map IPv4 address", func(v pcommon.Value) { v.SetEmptyMap().PutStr("computer", "10.0.0.21") }, "10.0.0.21"},
		{"map IPv6 address", func(v pcommon.Value) { v.SetEmptyMap().PutStr("computer", "FE80::1") }, "fe80::1"},
		{"map computer not a string", func(v pcommon.Value) { v.SetEmptyMap().PutInt("computer", 42) }, ""},
		{"map without computer", func(v pcommon.Value) { v.SetEmptyMap().PutStr("channel", "Security") }, ""},
		{"XML with an empty computer", func(v pcommon.Value) { v.SetStr(xmlOf("")) }, ""},
		{"text", func(v pcommon.Value) { v.SetStr("not an event <Computer>") }, ""},
		{"huge text", func(v pcommon.Value) { v.SetStr(strings.Repeat("<Computer>", 100_000)) }, ""},
		{"bytes", func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("<Computer>WS03</Computer>")) }, ""},
		{"empty", func(pcommon.Value) {}, ""},
	}

	// The shipped processors, an otlp_http exporter in the kafka exporter's
	// place.
	sink := newOTLPSink(t)
	exporter := collectortest.WriteFile(t, "exporter.yaml", `exporters:
  otlp_http/stand_in:
    endpoint: `+sink.server.URL+`
service:
  pipelines:
    logs:
      exporters: [otlp_http/stand_in]
`)
	forwarder := startWEFCollector(t, "forwarder", "127.0.0.1:9", exporter)

	// One request, one resource with the forwarding collector's own
	// attributes, as a receiver might set them.
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "wec01")
	rl.Resource().Attributes().PutStr("_sourceCategory", "windows/forwarded")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, tc := range cases {
		lr := lrs.AppendEmpty()
		lr.Attributes().PutInt("case", int64(i))
		tc.body(lr.Body())
	}
	post(t, forwarder.url, ld)
	sink.waitRecords(t, forwarder.col, len(cases), 0)

	got := map[int64]string{}
	for _, out := range sink.batches {
		for _, rl := range out.ResourceLogs().All() {
			attrs := rl.Resource().Attributes()
			host, _ := attrs.Get("host.name")
			assert.LessOrEqual(t, attrs.Len(), 1, "the resource keeps host.name only: %v", attrs.AsRaw())
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					i, ok := lr.Attributes().Get("case")
					require.True(t, ok)
					_, inRecord := lr.Attributes().Get("host.name")
					assert.False(t, inRecord, "host.name moved to the resource")
					got[i.Int()] = host.AsString()
				}
			}
		}
	}
	require.Len(t, got, len(cases), "every record passes")
	for i, tc := range cases {
		want := tc.want
		if want == "" {
			// no computer: the record stays in the resource it came in,
			// which keeps the collector's own host.name
			want = "wec01"
		}
		assert.Equal(t, want, got[int64(i)], tc.name)
	}
}
