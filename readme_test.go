package dcomdetectionprocessor

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
