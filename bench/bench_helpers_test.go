package bench

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
)

var (
	templatesOnce sync.Once
	templates     *Templates
	templatesErr  error
	sourcesMu     sync.Mutex
	sources       = map[string]*Source{}
)

// distinctBatches is how many different batches each shape and mix has; the
// pools cycle over their decodes.
const distinctBatches = 8

func loadTemplates(tb testing.TB) *Templates {
	tb.Helper()
	templatesOnce.Do(func() { templates, templatesErr = LoadTemplates(DetectionFilter()) })
	if templatesErr != nil {
		tb.Fatal(templatesErr)
	}
	return templates
}

func source(tb testing.TB, shape Shape, mix Mix) *Source {
	tb.Helper()
	t := loadTemplates(tb)
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	key := string(shape) + "/" + string(mix)
	if s, ok := sources[key]; ok {
		return s
	}
	s, err := NewSource(t, shape, mix, distinctBatches, 42)
	if err != nil {
		tb.Fatal(err)
	}
	sources[key] = s
	return s
}

func newProcessor(tb testing.TB, build func() (processor.Logs, error)) processor.Logs {
	tb.Helper()
	p, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// detections returns the DetectionPattern of every record, "" when none.
func detections(ld plog.Logs) []string {
	var out []string
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				v, ok := lrs.At(k).Attributes().Get("DetectionPattern")
				if ok {
					out = append(out, v.Str())
				} else {
					out = append(out, "")
				}
			}
		}
	}
	return out
}

// TestTestdataDirFromAnyDirectory: the templates are found from bench/, from
// below it and from the repository root; elsewhere the relative path is
// returned, for the error to name.
func TestTestdataDirFromAnyDirectory(t *testing.T) {
	bench, err := os.Getwd()
	require.NoError(t, err)
	want := filepath.Join(bench, "testdata")
	for _, dir := range []string{bench, filepath.Join(bench, "testdata", "catalogue"), filepath.Dir(bench)} {
		t.Chdir(dir)
		assert.Equal(t, want, TestdataDir(), "from %s", dir)
	}
	t.Chdir(t.TempDir())
	assert.Equal(t, "testdata", TestdataDir())
}
