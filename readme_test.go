package dcomdetectionprocessor

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/correlate"
)

// TestReadmeSideBySide keeps the README's catalogue table true: each row must
// say what expected.json (which the catalogue tests assert) says.
func TestReadmeSideBySide(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	expected := expectedOutcomes(t)
	rows := 0
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) != 5 || len(cells[0]) != 5 || !strings.HasPrefix(cells[0], "| ") {
			continue
		}
		id := strings.TrimPrefix(cells[0], "| ")
		want, ok := expected[id]
		if !ok {
			continue
		}
		rows++
		assert.Equal(t, want[ProfileSeed], cells[3], id)
		assert.Equal(t, want[ProfileExtended], strings.TrimSuffix(strings.TrimSuffix(cells[4], " |"), " ✱"), id)
	}
	assert.Equal(t, 78, rows)
}

// TestDocsStateTheWorstCase keeps the correlation's worst case in bytes, as
// the documentation states it, equal to what correlate.Config.WorstCase
// computes for the defaults (footprint_test.go checks that figure against
// the heap measured at the caps).
func TestDocsStateTheWorstCase(t *testing.T) {
	cc := defaultCorrelationConfig()
	wc := correlate.Config{
		MaxHosts: cc.MaxHosts, MaxEntriesPerHost: cc.MaxEntriesPerHost, MaxEntries: cc.MaxEntries,
		MaxOriginalBytes: cc.LateRecordsMaxBytes,
	}.WorstCase()
	docs, err := os.ReadFile("docs/correlation.md")
	require.NoError(t, err)
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, n := range []int64{wc.Entry, wc.Host, wc.PerHost, wc.Total, wc.Copies, wc.Spares} {
		assert.Contains(t, string(docs), thousands(n), "docs/correlation.md states %d", n)
	}
	for _, n := range []int64{wc.Entry, wc.Host} {
		assert.Contains(t, string(readme), thousands(n), "README.md states %d", n)
	}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
