package dcomdetectionprocessor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRaceDetectorSeesEveryGoroutine keeps `make test` honest. Outside e2e/
// (which runs whole under -race), the root module's tests run in two passes:
// tests with "Concurrent" in their name run with the race detector, all others
// without it (two to ten times faster, and what the allocation tests
// measure). A goroutine started anywhere else in a test file would never be
// checked for races, so this test fails on it.
func TestRaceDetectorSeesEveryGoroutine(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch path {
			case "e2e", "_build", "bin", "bench", "exporter", "receiver":
				return filepath.SkipDir // whole under -race, generated, or modules of their own
			}
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			inRacePass := strings.HasPrefix(fn.Name.Name, "Test") && strings.Contains(fn.Name.Name, "Concurrent")
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if g, ok := n.(*ast.GoStmt); ok && !inRacePass {
					t.Errorf("%s: %s starts a goroutine but runs without the race detector; "+
						"put it in a test whose name contains Concurrent (make test runs those with -race)",
						fset.Position(g.Pos()), fn.Name.Name)
				}
				return true
			})
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 10, "test files found")
}
