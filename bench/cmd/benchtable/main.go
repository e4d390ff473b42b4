// Command benchtable turns the output of several `go test -bench
// BenchmarkDetect` runs into the Markdown table of bench/results.md: medians
// per contender, shape and mix, per record, with the ratios to the floor and
// to OTTL (or encoding/xml), and the targets checked.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const batchSize = 1000

type key struct{ shape, mix, contender string }

type samples struct{ cpu, ns, bytes, allocs []float64 }

var line = regexp.MustCompile(`^BenchmarkDetect/shape=(\w+)/mix=(\w+)/contender=(\w+)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (map[key]*samples, string, error) {
	out := map[key]*samples{}
	cpu := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		t := sc.Text()
		if c, ok := strings.CutPrefix(t, "cpu: "); ok {
			cpu = c
		}
		m := line.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		k := key{m[1], m[2], m[3]}
		s := out[k]
		if s == nil {
			s = &samples{}
			out[k] = s
		}
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v/batchSize)
			case "cpu-ns/record":
				s.cpu = append(s.cpu, v)
			case "B/op":
				s.bytes = append(s.bytes, v/batchSize)
			case "allocs/op":
				s.allocs = append(s.allocs, v/batchSize)
			}
		}
	}
	return out, cpu, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the half-width of the middle half of the samples, as a share of the median.
func spread(v []float64) float64 {
	if len(v) < 4 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	q1, q3 := s[len(s)/4], s[(3*len(s))/4]
	return (q3 - q1) / 2 / median(v)
}

var (
	shapes     = []string{"map", "array", "xml"}
	mixes      = []string{"realistic", "process", "allmatch"}
	contenders = []string{"floor", "floor_corr", "extended", "extended_nocorr", "seed", "ottl", "encodingxml"}
	names      = map[string]string{
		"floor": "floor", "floor_corr": "correlation floor", "extended": "dcomdetection `extended`",
		"extended_nocorr": "dcomdetection `extended`, correlation off", "seed": "dcomdetection `seed`",
		"ottl": "transform v0.161.0, OTTL seed", "encodingxml": "encoding/xml decode",
	}
	shapeNames = map[string]string{"map": "receiver map (`event_data` map)", "array": "receiver map (`event_data` array)", "xml": "raw XML string"}
)

// targets are issue #27's: each contender at most most times its base,
// same shape and mix.
var targets = []struct {
	shape, mix, contender, base string
	most                        float64
}{
	{"map", "process", "extended", "floor", 2.5},
	{"map", "realistic", "extended", "floor_corr", 1.5},
	{"map", "process", "extended_nocorr", "floor", 1.5},
	{"map", "realistic", "extended_nocorr", "floor", 1.5},
	{"xml", "process", "extended", "floor", 2},
	{"xml", "realistic", "extended", "floor", 2},
}

func fmtNs(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fmtRatio(v float64) string {
	if v == 0 {
		return "–"
	}
	if v >= 10 {
		return fmt.Sprintf("%.0fx", v)
	}
	return fmt.Sprintf("%.2fx", v)
}

func main() {
	in := flag.String("in", "", "go test -bench output (several runs concatenated)")
	out := flag.String("o", "", "Markdown output (default stdout)")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, cpu, err := parse(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := os.Stdout
	if *out != "" {
		if w, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer w.Close()
	}
	runs := 0
	for _, s := range data {
		runs = max(runs, len(s.cpu))
	}
	fmt.Fprintf(w, "Medians of %d runs, per record (batches of %d records). CPU: %s.\n\n", runs, batchSize, cpu)
	fmt.Fprintln(w, "- **CPU ns/record**: CPU time of the benchmark process (getrusage user+system) over the timed loop, per record. "+
		"The machine is shared, so wall time (**wall ns/record**, what `ns/op` says) also counts the time other work held the CPU; the ratios use CPU time.")
	fmt.Fprintln(w, "- **spread**: half the interquartile range of the runs' CPU ns/record, as a share of the median.")
	fmt.Fprintln(w, "- **vs floor**: CPU time / the floor's CPU time, same shape and mix. **vs corr. floor**: the same against the correlation floor "+
		"(the floor plus what the joins cannot avoid reading: each Sysmon 3's direction and accepting process, each 4624's logon type and, for a network logon, "+
		"its host, logon id, source address, port and account). **OTTL / this**, **encoding/xml / this**: how many times faster than those this contender is.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| shape | mix | contender | CPU ns/record | spread | wall ns/record | allocs/record | B/record | vs floor | vs corr. floor | OTTL / this | encoding/xml / this |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, shape := range shapes {
		for _, mix := range mixes {
			floor := data[key{shape, mix, "floor"}]
			floorCorr := data[key{shape, mix, "floor_corr"}]
			ottl := data[key{shape, mix, "ottl"}]
			exml := data[key{shape, mix, "encodingxml"}]
			for _, c := range contenders {
				s := data[key{shape, mix, c}]
				if s == nil {
					continue
				}
				t := median(s.cpu)
				vsFloor, vsCorr, vsOTTL, vsXML := 0.0, 0.0, 0.0, 0.0
				if floor != nil && c != "floor" {
					vsFloor = t / median(floor.cpu)
				}
				if floorCorr != nil && c == "extended" { // the only contender that correlates
					vsCorr = t / median(floorCorr.cpu)
				}
				if ottl != nil && c != "ottl" {
					vsOTTL = median(ottl.cpu) / t
				}
				if exml != nil && c != "encodingxml" {
					vsXML = median(exml.cpu) / t
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | ±%.0f%% | %s | %.3f | %.1f | %s | %s | %s | %s |\n",
					shapeNames[shape], mix, names[c], fmtNs(t), 100*spread(s.cpu), fmtNs(median(s.ns)),
					median(s.allocs), median(s.bytes), fmtRatio(vsFloor), fmtRatio(vsCorr), fmtRatio(vsOTTL), fmtRatio(vsXML))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (issue #27; CPU time, ratios within this run):")
	fmt.Fprintln(w)
	ratio := func(shape, mix, a, b string) float64 {
		x, y := data[key{shape, mix, a}], data[key{shape, mix, b}]
		if x == nil || y == nil {
			return 0
		}
		return median(x.cpu) / median(y.cpu)
	}
	for _, t := range targets {
		r := ratio(t.shape, t.mix, t.contender, t.base)
		if r == 0 {
			continue
		}
		mark := "met"
		if r > t.most {
			mark = "**missed**"
		}
		fmt.Fprintf(w, "- %s, %s mix, %s / %s: %s (target at most %sx): %s\n",
			shapeNames[t.shape], t.mix, names[t.contender], names[t.base], fmtRatio(r), strconv.FormatFloat(t.most, 'f', -1, 64), mark)
	}
	for _, mix := range mixes {
		if r := ratio("map", mix, "ottl", "extended"); r > 0 {
			fmt.Fprintf(w, "- OTTL / `extended`, map bodies, %s mix: %s (no target; OTTL / floor is %s)\n", mix, fmtRatio(r), fmtRatio(ratio("map", mix, "ottl", "floor")))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What each part costs (realistic mix, CPU time; no target of their own):")
	fmt.Fprintln(w)
	for _, shape := range shapes {
		for _, r := range []struct{ a, b, label string }{
			{"extended_nocorr", "floor", "`extended`, correlation off / floor"},
			{"extended", "floor_corr", "`extended` / correlation floor"},
			{"floor_corr", "floor", "correlation floor / floor"},
			{"ottl", "floor", "OTTL / floor (no implementation can be faster than OTTL by more than this)"},
		} {
			if x := ratio(shape, "realistic", r.a, r.b); x > 0 {
				fmt.Fprintf(w, "- %s, %s: %s\n", shapeNames[shape], r.label, fmtRatio(x))
			}
		}
	}
}
