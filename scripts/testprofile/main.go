// Command testprofile reads `go test -json` output on stdin and prints where
// the time went: elapsed per package, then the slowest top-level tests. A
// test's time is its own elapsed time, which includes its sequential
// subtests, or the sum of its direct subtests' when that is larger (parallel
// subtests run after their parent has reported). A package tested in both
// passes of make test is listed twice. Used by scripts/test-profile.sh.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
}

type timing struct {
	name    string
	elapsed float64
}

func main() {
	packages, tests, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testprofile:", err)
		os.Exit(1)
	}
	total := 0.0
	for _, p := range packages {
		total += p.elapsed
	}
	fmt.Printf("packages (sum %.1fs; go test runs up to GOMAXPROCS of them at once)\n", total)
	printSlowest(packages, 15)
	fmt.Println("\nslowest top-level tests")
	printSlowest(tests, 25)
}

func read(r io.Reader) (packages, tests []timing, err error) {
	own := map[string]float64{}      // "pkg Test" -> elapsed, in order of first report
	children := map[string]float64{} // "pkg Test" -> sum of its direct subtests
	var order []string
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var e event
		if json.Unmarshal(scanner.Bytes(), &e) != nil {
			continue // a build error line or other non-JSON output
		}
		if e.Action != "pass" && e.Action != "fail" {
			continue
		}
		parent, sub, isSub := strings.Cut(e.Test, "/")
		name := shortPackage(e.Package) + " " + parent
		switch {
		case e.Test == "":
			packages = append(packages, timing{shortPackage(e.Package), e.Elapsed})
		case !isSub:
			if _, seen := own[name]; !seen {
				order = append(order, name)
			}
			own[name] += e.Elapsed
		case !strings.Contains(sub, "/"):
			children[name] += e.Elapsed
		}
	}
	for _, name := range order {
		tests = append(tests, timing{name, max(own[name], children[name])})
	}
	return packages, tests, scanner.Err()
}

// shortPackage drops the module path: "./internal/correlate".
func shortPackage(p string) string {
	const module = "github.com/otelcol-dcom/dcomdetectionprocessor"
	return "." + strings.TrimPrefix(p, module)
}

func printSlowest(timings []timing, n int) {
	sort.Slice(timings, func(i, j int) bool { return timings[i].elapsed > timings[j].elapsed })
	for i, t := range timings {
		if i == n {
			break
		}
		fmt.Printf("%8.1fs  %s\n", t.elapsed, t.name)
	}
}
