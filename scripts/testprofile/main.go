// Command testprofile reads `go test -json` output on stdin and prints where
// the time went: elapsed per package, then the slowest top-level tests
// (a subtest's time is already part of its parent's). Used by
// scripts/test-profile.sh.
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
		switch {
		case e.Test == "":
			packages = append(packages, timing{shortPackage(e.Package), e.Elapsed})
		case !strings.Contains(e.Test, "/"):
			tests = append(tests, timing{shortPackage(e.Package) + " " + e.Test, e.Elapsed})
		}
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
