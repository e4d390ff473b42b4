package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
)

// requirements reads the require directives of a go.mod (go mod edit -json):
// module path -> version. A tidy go.mod lists every module its packages build
// from, at the version selected.
func requirements(t *testing.T, path string) map[string]string {
	t.Helper()
	_, err := os.Stat(path)
	require.NoError(t, err, "run make build first: it writes _build/go.mod")
	out, err := exec.Command("go", "mod", "edit", "-json", path).Output()
	require.NoError(t, err, "go mod edit -json %s", path)
	var gomod struct {
		Require []struct{ Path, Version string }
	}
	require.NoError(t, json.Unmarshal(out, &gomod))
	reqs := make(map[string]string, len(gomod.Require))
	for _, r := range gomod.Require {
		reqs[r.Path] = r.Version
	}
	return reqs
}

// TestModulesBuildWithTheDistributionsVersions: every module that make test
// tests requires each dependency at the version the distribution (ocb's
// _build/go.mod) builds with. Then the tests of the plain pass (scripts/test.sh:
// no race detector, CGO_ENABLED=0 and -trimpath, as ocb builds) reuse the
// packages `make build` compiled, which on a cold cache saves compiling the
// collector's dependencies twice.
func TestModulesBuildWithTheDistributionsVersions(t *testing.T) {
	t.Parallel()
	dist := requirements(t, collectortest.RepoPath(t, "_build", "go.mod"))
	require.Greater(t, len(dist), 100, "modules in the distribution's go.mod")

	modules := []string{"go.mod"}
	for _, pattern := range []string{"exporter/*/go.mod", "receiver/*/go.mod", "bench/go.mod"} {
		found, err := filepath.Glob(collectortest.RepoPath(t, pattern))
		require.NoError(t, err)
		for _, f := range found {
			rel, err := filepath.Rel(collectortest.RepoPath(t), f)
			require.NoError(t, err)
			modules = append(modules, rel)
		}
	}
	require.GreaterOrEqual(t, len(modules), 4, "the root, exporter, receiver and bench modules")

	for _, gomod := range modules {
		shared := 0
		var upgrades []string
		for path, version := range requirements(t, collectortest.RepoPath(t, gomod)) {
			want, ok := dist[path]
			if !ok || strings.HasPrefix(path, "github.com/otelcol-dcom/") {
				continue
			}
			shared++
			if version != want {
				upgrades = append(upgrades, path+"@"+want)
			}
		}
		sort.Strings(upgrades)
		assert.Greater(t, shared, 10, "%s shares modules with the distribution", gomod)
		assert.Empty(t, upgrades, "%s requires versions the distribution does not build with; in %s run:\n"+
			"go get %s && go mod tidy", gomod, filepath.Dir(gomod), strings.Join(upgrades, " "))
	}
}
