package original

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
)

// BenchmarkAppendRecord measures the copy of the recorded ShellWindows
// child (Sysmon 1 cmd.exe, 12 KiB with the Empire stager's command lines)
// and of a typical explorer child, per body shape: what a record that
// becomes a pending child costs on top of entering the correlation state.
func BenchmarkAppendRecord(b *testing.B) {
	streams, err := streamtest.Load("../../testdata/streams")
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range streams {
		if s.Short() != "empire_dcom_shellwindows_stager" {
			continue
		}
		for _, rec := range []struct {
			name string
			line int
		}{{"typical", 68}, {"stager", 290}} {
			for _, shape := range []string{"receiver map", "raw xml"} {
				lr := plog.NewLogRecord()
				if err := s.Record(shape, rec.line-1, lr); err != nil {
					b.Fatal(err)
				}
				b.Run(rec.name+"/"+shape, func(b *testing.B) {
					b.ReportAllocs()
					var buf []byte
					n := 0
					for b.Loop() {
						buf, _ = AppendRecord(buf[:0], lr, 0)
						n = len(buf)
					}
					b.ReportMetric(float64(n), "bytes")
				})
			}
		}
		res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
		res.Attributes().PutStr("_sourceCategory", "security/windows/dcom")
		res.Attributes().PutStr("host.name", "ws01.corp.example")
		scope.SetName("github.com/open-telemetry/opentelemetry-collector-contrib/receiver/windowseventlogreceiver")
		b.Run("origin", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = AppendOrigin(buf[:0], res, "", scope, "", 0)
			}
			b.ReportMetric(float64(len(buf)), "bytes")
		})
	}
}
