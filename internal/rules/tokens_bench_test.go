package rules

import (
	"strings"
	"testing"
)

// BenchmarkTokenFind is the source-token search over command lines without
// an encoded argument: the catalogue's (their encoded ones left out), and
// a PowerShell command line full of dashes and e's that start no encoded
// parameter. What the decoding of -EncodedCommand adds to them is the look
// at each '-' or '/' before an 'e'.
func BenchmarkTokenFind(b *testing.B) {
	events, _ := loadCatalogue(b)
	var lines []string
	for _, ce := range events {
		if cl, ok := ce.Event["CommandLine"].(string); ok && !strings.Contains(strings.ToLower(cl), "-enc") {
			lines = append(lines, cl)
		}
	}
	ts := defaultTokenSet(b)
	b.Run("catalogue", func(b *testing.B) {
		for b.Loop() {
			for _, cl := range lines {
				ts.find(cl, "WORKSTATION5")
			}
		}
	})
	dashes := `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -NonInteractive -Embedding -File "C:\Program Files\Vendor\agent\refresh-endpoint.ps1" -Environment production -Exclude e1,e2`
	b.Run("dashes", func(b *testing.B) {
		for b.Loop() {
			ts.find(dashes, "WORKSTATION5")
		}
	})
}
