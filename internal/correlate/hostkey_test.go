package correlate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A host's key: its first DNS label, case-insensitive, without surrounding
// spaces, unless the whole name is asked for; addresses are kept whole; at
// most maxHostKey bytes; no allocation.
func TestHostKey(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct {
		name        string
		short, full string
	}{
		{"WS01", "ws01", "ws01"},
		{"ws01.corp.example", "ws01", "ws01.corp.example"},
		{" WS01.CORP.EXAMPLE ", "ws01", "ws01.corp.example"},
		{"10.0.0.21", "10.0.0.21", "10.0.0.21"},
		{"fe80::1", "fe80::1", "fe80::1"},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1", "::ffff:10.0.0.1"},
		{".hidden", ".hidden", ".hidden"},
		{"", "", ""},
		{long + ".corp", long[:maxHostKey], long[:maxHostKey]},
	} {
		var buf [maxHostKey]byte
		assert.Equal(t, tc.short, string(hostKey(&buf, tc.name, false)), "%q", tc.name)
		assert.Equal(t, tc.full, string(hostKey(&buf, tc.name, true)), "%q full", tc.name)
	}
	var buf [maxHostKey]byte
	assert.Zero(t, testing.AllocsPerRun(100, func() { hostKey(&buf, "WS01.corp.example", false) }))
}
