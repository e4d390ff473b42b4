package sumologicexporter

import (
	"testing"

	"go.uber.org/goleak"
)

// Every exporter, HTTP client and test server must be gone when the tests end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
