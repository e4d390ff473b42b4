// Command loadtest pushes generated Windows events at the otlp receiver of
// the built distribution (bin/otelcol-dcom) over loopback, once per pipeline
// configuration, and reports events per second, resident memory and CPU
// seconds per million events, with and without the dcomdetection processor.
//
//	go run ./loadtest -collector ../bin/otelcol-dcom -o _out/loadtest.md
//
// Every run is bounded: at most -events events and -duration seconds per
// configuration, to 127.0.0.1 only. The collector is started and stopped by
// this program.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-dcom/dcomdetectionprocessor/bench"
)

// pipeline is one collector configuration under test.
type pipeline struct {
	name       string
	label      string
	processors string // YAML of the processors section body, indented by 2
	list       []string
}

func pipelines() (map[string]pipeline, error) {
	raw, err := os.ReadFile(bench.OTTLSeedConfigFile())
	if err != nil {
		return nil, err
	}
	var ottl map[string]any
	if yerr := yaml.Unmarshal(raw, &ottl); yerr != nil {
		return nil, yerr
	}
	ottlYAML, err := yaml.Marshal(map[string]any{"transform/dcom_seed": ottl})
	if err != nil {
		return nil, err
	}
	return map[string]pipeline{
		"none": {
			name: "none", label: "otlp → batch → debug (no detection)",
			processors: "  batch: {}\n", list: []string{"batch"},
		},
		"extended": {
			name: "extended", label: "otlp → dcomdetection (extended) → batch → debug",
			processors: "  batch: {}\n  dcomdetection:\n    profile: extended\n", list: []string{"dcomdetection", "batch"},
		},
		"seed": {
			name: "seed", label: "otlp → dcomdetection (seed) → batch → debug",
			processors: "  batch: {}\n  dcomdetection:\n    profile: seed\n", list: []string{"dcomdetection", "batch"},
		},
		"ottl": {
			name: "ottl", label: "otlp → transform (OTTL seed, v0.161.0) → batch → debug",
			processors: "  batch: {}\n" + indent(string(ottlYAML), "  "), list: []string{"transform/dcom_seed", "batch"},
		},
	}, nil
}

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

const configTemplate = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
processors:
%sexporters:
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
service:
  extensions: [health_check]
  telemetry:
    logs:
      level: warn
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    logs:
      receivers: [otlp]
      processors: [%s]
      exporters: [debug]
`

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type result struct {
	p           pipeline
	events      int64
	detections  int64
	elapsed     time.Duration
	cpu         float64 // collector CPU seconds during the timed window
	rssIdle     int64   // kB before the load
	rssMax      int64   // kB, sampled
	hwm         int64   // kB, VmHWM at the end
	procSeconds float64 // otelcol_processor_internal_duration sum of the detection processor
	procCount   float64
	httpErrors  int64
}

func main() {
	collector := flag.String("collector", "../bin/otelcol-dcom", "the built distribution")
	maxEvents := flag.Int64("events", 2_000_000, "events per configuration, at most")
	maxDuration := flag.Duration("duration", 120*time.Second, "time per configuration, at most")
	warmup := flag.Int64("warmup", 100_000, "events sent before the timed window")
	senders := flag.Int("senders", 2, "concurrent HTTP senders")
	which := flag.String("configs", "none,extended,ottl", "configurations to run, in order, every round")
	rounds := flag.Int("rounds", 3, "rounds over the configurations; the report gives medians")
	shape := flag.String("shape", "map", "body shape: map, array or xml")
	out := flag.String("o", "", "Markdown output (default stdout)")
	flag.Parse()

	if *maxEvents > 2_000_000 || *maxDuration > 120*time.Second {
		fail(errors.New("the load test is bounded at 2,000,000 events and 120 s per configuration"))
	}
	all, err := pipelines()
	if err != nil {
		fail(err)
	}
	requests, perRequest, matches, err := buildRequests(bench.Shape(*shape))
	if err != nil {
		fail(err)
	}
	var results [][]result // [round][config]
	names := strings.Split(*which, ",")
	for round := 0; round < *rounds; round++ {
		var row []result
		for _, name := range names {
			p, ok := all[name]
			if !ok {
				fail(fmt.Errorf("unknown configuration %q", name))
			}
			fmt.Fprintf(os.Stderr, "loadtest: round %d/%d: %s\n", round+1, *rounds, p.label)
			r, rerr := run(*collector, p, requests, perRequest, *warmup, *maxEvents, *maxDuration, *senders)
			if rerr != nil {
				fail(fmt.Errorf("%s: %w", name, rerr))
			}
			r.detections = r.events / int64(perRequest) * int64(matches)
			row = append(row, r)
			fmt.Fprintf(os.Stderr, "loadtest:   %d events in %.1fs: %.0f events/s, %.2f CPU-s per million events, RSS max %d MiB\n",
				r.events, r.elapsed.Seconds(), float64(r.events)/r.elapsed.Seconds(), r.cpu/float64(r.events)*1e6, r.rssMax/1024)
		}
		results = append(results, row)
	}
	w := os.Stdout
	if *out != "" {
		if w, err = os.Create(*out); err != nil {
			fail(err)
		}
		defer w.Close()
	}
	report(w, results, *shape, *senders, perRequest, *maxEvents)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	os.Exit(1)
}

// buildRequests serializes a few distinct realistic batches as OTLP/HTTP
// protobuf requests.
func buildRequests(shape bench.Shape) ([][]byte, int, int, error) {
	t, err := bench.LoadTemplates(bench.DetectionFilter())
	if err != nil {
		return nil, 0, 0, err
	}
	src, err := bench.NewSource(t, shape, bench.Realistic, 16, 7)
	if err != nil {
		return nil, 0, 0, err
	}
	var reqs [][]byte
	for i := 0; i < src.Distinct(); i++ {
		b, err := plogotlp.NewExportRequestFromLogs(src.Batch(i)).MarshalProto()
		if err != nil {
			return nil, 0, 0, err
		}
		reqs = append(reqs, b)
	}
	return reqs, bench.BatchSize, src.Matches, nil
}

func run(collector string, p pipeline, requests [][]byte, perRequest int, warmup, maxEvents int64, maxDuration time.Duration, senders int) (result, error) {
	r := result{p: p}
	ports := make([]int, 3)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return r, err
		}
		ports[i] = port
	}
	otlpPort, healthPort, metricsPort := ports[0], ports[1], ports[2]
	dir, err := os.MkdirTemp("", "otelcol-dcom-loadtest-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(configTemplate, otlpPort, p.processors, healthPort, metricsPort, strings.Join(p.list, ", "))
	if werr := os.WriteFile(cfgPath, []byte(cfg), 0o600); werr != nil {
		return r, werr
	}
	logFile, err := os.Create(filepath.Join(dir, "collector.log")) //nolint:gosec // a file in our own temporary directory
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	cmd := exec.Command(collector, "--config", cfgPath) //nolint:gosec // the collector binary under test, from the command line
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if serr := cmd.Start(); serr != nil {
		return r, serr
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	if herr := waitHealthy(healthPort, 30*time.Second); herr != nil {
		logText, _ := os.ReadFile(logFile.Name())
		return r, fmt.Errorf("%w; collector log:\n%s", herr, logText)
	}
	time.Sleep(500 * time.Millisecond)
	r.rssIdle, _ = procStatus(pid, "VmRSS")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/logs", otlpPort)
	if _, werr := send(client, url, requests, perRequest, warmup, time.Minute, senders); werr != nil {
		return r, fmt.Errorf("warm-up: %w", werr)
	}
	before, err := metrics(metricsPort)
	if err != nil {
		return r, err
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return r, err
	}
	var rssMax atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, perr := procStatus(pid, "VmRSS"); perr == nil && v > rssMax.Load() {
				rssMax.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	st, err := send(client, url, requests, perRequest, maxEvents, maxDuration, senders)
	r.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return r, err
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return r, err
	}
	after, err := metrics(metricsPort)
	if err != nil {
		return r, err
	}
	r.events, r.httpErrors = st.events, st.errors
	r.cpu = cpu1 - cpu0
	r.rssMax = rssMax.Load()
	r.hwm, _ = procStatus(pid, "VmHWM")
	proc := strings.SplitN(p.list[0], "/", 2)[0]
	if proc != "batch" {
		r.procSeconds = after.sum(proc) - before.sum(proc)
		r.procCount = after.count(proc) - before.count(proc)
	}
	return r, nil
}

func waitHealthy(port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the collector did not become healthy")
}

type sendStats struct{ events, errors int64 }

// send posts requests round-robin from `senders` goroutines until maxEvents
// events were accepted or maxDuration passed.
func send(client *http.Client, url string, requests [][]byte, perRequest int, maxEvents int64, maxDuration time.Duration, senders int) (sendStats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxDuration)
	defer cancel()
	var next, events, errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i*int64(perRequest) >= maxEvents {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(requests[i%int64(len(requests))]))
				req.Header.Set("Content-Type", "application/x-protobuf")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						once.Do(func() { firstErr = err })
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					once.Do(func() { firstErr = fmt.Errorf("HTTP %d", resp.StatusCode) })
					continue
				}
				events.Add(int64(perRequest))
			}
		}()
	}
	wg.Wait()
	st := sendStats{events: events.Load(), errors: errs.Load()}
	if st.events == 0 && firstErr != nil {
		return st, firstErr
	}
	return st, nil
}

// cpuSeconds is utime+stime of a process, from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ is 100 on Linux
}

// procStatus reads a kB field of /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not found", field)
}

type promSamples map[string]float64

// The Prometheus name has no unit suffix in v0.165.0; accept both forms.
var promLine = regexp.MustCompile(`^otelcol_processor_internal_duration(?:_seconds)?_(sum|count)\{([^}]*)\} ([0-9.eE+-]+)$`)

func metrics(port int) (promSamples, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := promSamples{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := promLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		out[m[1]+"{"+m[2]+"}"] += v
	}
	return out, sc.Err()
}

func (p promSamples) get(suffix, processor string) float64 {
	total := 0.0
	for k, v := range p {
		if strings.HasPrefix(k, suffix+"{") &&
			strings.Contains(k, `processor="`+processor) {
			total += v
		}
	}
	return total
}

func (p promSamples) sum(processor string) float64   { return p.get("sum", processor) }
func (p promSamples) count(processor string) float64 { return p.get("count", processor) }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(w io.Writer, results [][]result, shape string, senders, perRequest int, maxEvents int64) {
	fmt.Fprintln(w, "## Load test: the built distribution under OTLP/HTTP load")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "`bench/loadtest`: %d senders POST realistic-mix batches of %d records (%s bodies, OTLP/HTTP protobuf, uncompressed) "+
		"to the otlp receiver of `bin/otelcol-dcom` on 127.0.0.1, after a warm-up, %d events (at most 120 s) per configuration and round, "+
		"%d rounds with the configurations in turn; medians over the rounds. The load generator runs on the same %d-core machine. "+
		"CPU is the collector process's utime+stime (/proc/<pid>/stat) over the timed window; memory is VmRSS sampled every 100 ms "+
		"and VmHWM at the end (maximum over the rounds). Exporter: debug, verbosity basic.\n\n",
		senders, perRequest, shape, maxEvents, len(results), nproc())
	fmt.Fprintln(w, "| pipeline | events/s | collector CPU-s per million events | RSS idle (MiB) | RSS max under load (MiB) | VmHWM (MiB) | processor's internal_duration per million events | HTTP errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	if len(results) == 0 {
		return
	}
	base := -1
	for c := range results[0] {
		var rate, cpu, proc []float64
		var idle, rss, hwm, errs int64
		p := results[0][c].p
		if p.name == "none" {
			base = c
		}
		for _, row := range results {
			r := row[c]
			rate = append(rate, float64(r.events)/r.elapsed.Seconds())
			cpu = append(cpu, r.cpu/float64(r.events)*1e6)
			if r.procCount > 0 {
				proc = append(proc, r.procSeconds/float64(r.events)*1e6)
			}
			idle, rss, hwm = max(idle, r.rssIdle), max(rss, r.rssMax), max(hwm, r.hwm)
			errs += r.httpErrors
		}
		procText := "–"
		if len(proc) > 0 {
			procText = fmt.Sprintf("%.2f s", median(proc))
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.0f | %.0f | %.0f | %s | %d |\n", p.label, median(rate), median(cpu),
			float64(idle)/1024, float64(rss)/1024, float64(hwm)/1024, procText, errs)
	}
	if base < 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Processor's share of the collector's CPU (medians over the rounds; each round compares with the run without detection of the same round):")
	fmt.Fprintln(w)
	for c := range results[0] {
		if c == base {
			continue
		}
		var diff, share, own []float64
		for _, row := range results {
			r, b := row[c], row[base]
			cpu, baseCPU := r.cpu/float64(r.events), b.cpu/float64(b.events)
			diff = append(diff, (cpu-baseCPU)*1e6)
			share = append(share, 100*(cpu-baseCPU)/cpu)
			if r.procCount > 0 {
				own = append(own, 100*r.procSeconds/r.cpu)
			}
		}
		line := fmt.Sprintf("- %s: %+.2f CPU-s per million events against the pipeline without it, %.1f%% of the collector's CPU",
			results[0][c].p.label, median(diff), median(share))
		if len(own) > 0 {
			line += fmt.Sprintf("; by its own otelcol_processor_internal_duration (wall time inside the processor), %.1f%%", median(own))
		}
		fmt.Fprintln(w, line+".")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per round (events/s; CPU-s per million events):")
	fmt.Fprintln(w)
	for i, row := range results {
		var parts []string
		for _, r := range row {
			parts = append(parts, fmt.Sprintf("%s %.0f/s, %.2f", r.p.name, float64(r.events)/r.elapsed.Seconds(), r.cpu/float64(r.events)*1e6))
		}
		fmt.Fprintf(w, "- round %d: %s\n", i+1, strings.Join(parts, "; "))
	}
}

func nproc() int {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(raw), "\nprocessor\t") + 1
}
