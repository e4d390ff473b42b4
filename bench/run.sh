#!/usr/bin/env bash
# Runs the benchmarks of bench/ and writes bench/results.md.
#
#   bench/run.sh                 # tests, benchmarks, load test if bin/otelcol-dcom exists
#   BENCH_RUNS=10 bench/run.sh   # more runs (default 8)
#   BENCH_LOADTEST=0 bench/run.sh        # no load test
#   BENCH_LOADTEST_ROUNDS=7 bench/run.sh # load-test rounds (default 5; medians over them)
#   BENCH_LOADTEST=reuse bench/run.sh    # keep the load test of the previous run (_out/loadtest.md)
#   BENCH_BEFORE=<rev> bench/run.sh      # also the benchmarks of commit <rev>, interleaved with
#                                        # this tree's run by run, and a before/after comparison
#
# Steps:
#  1. go test: the OTTL rendering flags what profile seed flags, the generated
#     batches hold exactly the injected detections, non-matching records
#     allocate nothing.
#  2. BenchmarkDetect, BENCH_RUNS times, each run a separate process so that
#     noise from other work on the machine spreads over every contender
#     instead of hitting the runs of one. Every run does BENCH_POOL iterations
#     per contender, one per pre-decoded batch (see bench_test.go).
#  3. benchstat (golang.org/x/perf, pinned) and cmd/benchtable: medians and ratios.
#  4. The load test against the built distribution (bench/loadtest), unless
#     BENCH_LOADTEST=0 or ../bin/otelcol-dcom is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
runs="${BENCH_RUNS:-8}"
pool="${BENCH_POOL:-100}"
out="$here/_out"
benchstat="golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
mkdir -p "$out"
: >"$out/bench.txt"

# The load test runs the built distribution: refuse a binary older than the
# processor's sources rather than measure code that is not this tree's.
if [[ "${BENCH_LOADTEST:-1}" != 0 && "${BENCH_LOADTEST:-1}" != reuse && -x ../bin/otelcol-dcom ]] &&
	[[ -n "$(find .. -name '*.go' -newer ../bin/otelcol-dcom -not -path '../bench/*' -not -path '../_build/*' -not -path '../e2e/*' -not -name '*_test.go' | head -1)" ]]; then
	echo "bin/otelcol-dcom is older than the processor's sources: run make build first (or BENCH_LOADTEST=0)" >&2
	exit 1
fi

echo "== tests" >&2
go test -count=1 -run . -v . >"$out/tests.txt" 2>&1 || { cat "$out/tests.txt" >&2; exit 1; }
grep -E '^(--- |ok|PASS|FAIL)' "$out/tests.txt" >&2

before="${BENCH_BEFORE:-}"
if [[ -n "$before" ]]; then
	# The commit to compare with, built from a worktree of its own; its runs
	# alternate with this tree's, so that drift on the machine hits both.
	beforetree="$out/before-tree"
	rm -rf "$beforetree"
	git -C "$here" worktree prune
	git -C "$here" worktree add -f --detach "$beforetree" "$before" >&2
	(cd "$beforetree/bench" && go test -c -o "$out/bench-before.test" .)
	: >"$out/bench-before.txt"
fi

echo "== benchmarks: $runs runs, $pool batches of 1,000 records per contender and run" >&2
go test -c -o "$out/bench.test" .
for i in $(seq "$runs"); do
	echo "   run $i/$runs" >&2
	if [[ -n "$before" ]]; then
		(cd "$beforetree/bench" && BENCH_POOL="$pool" "$out/bench-before.test" -test.run '^$' -test.bench '^BenchmarkDetect$' \
			-test.benchtime="${pool}x" -test.count=1 -test.benchmem >>"$out/bench-before.txt")
	fi
	BENCH_POOL="$pool" "$out/bench.test" -test.run '^$' -test.bench '^BenchmarkDetect$' \
		-test.benchtime="${pool}x" -test.count=1 -test.benchmem >>"$out/bench.txt"
done

# Where the time goes: the stages of TestStageCosts, per shape and mix, and
# the CPU profile's top entries of extended on the process-creation-heavy mix
# (with BENCH_BEFORE, the same profile of that commit beside it).
echo "== stages and profiles" >&2
: >"$out/stages.md"
for shape in map xml; do
	for mix in process realistic; do
		BENCH_STAGES="$out/stages.md" BENCH_STAGES_SHAPE=$shape BENCH_STAGES_MIX=$mix \
			"$out/bench.test" -test.run '^TestStageCosts$' >/dev/null
	done
done
profile() { # profile <test binary> <dir to run in> <output>
	(cd "$2" && BENCH_POOL=400 "$1" -test.run '^$' -test.bench '^BenchmarkDetect/shape=map/mix=process/contender=extended$' \
		-test.benchtime=4000x -test.cpuprofile "$3.prof" >/dev/null)
	local total
	total=$(go tool pprof -top -cum -focus 'processLogs' "$1" "$3.prof" 2>/dev/null |
		awk '/detectionProcessor\)\.processLogs$/ {print $4; exit}')
	{
		echo "processLogs: ${total} of CPU for 4,000 batches of 1,000 records ($(awk -v t="${total%s}" 'BEGIN {printf "%.2f", t * 1e6 / 4e6}') µs per record); the top entries by their own time:"
		echo
		go tool pprof -top -nodecount=25 -focus 'processLogs' "$1" "$3.prof" 2>/dev/null | sed -n '/flat%/,$p'
	} >"$3.txt"
}
profile "$out/bench.test" "$here" "$out/profile-after"
if [[ -n "$before" ]]; then
	profile "$out/bench-before.test" "$beforetree/bench" "$out/profile-before"
	git -C "$here" worktree remove --force "$beforetree"
fi

echo "== benchstat" >&2
if ! go run "$benchstat" -col /contender -row /shape,/mix "$out/bench.txt" >"$out/benchstat.txt" 2>"$out/benchstat.err"; then
	echo "benchstat unavailable: $(tail -1 "$out/benchstat.err")" >"$out/benchstat.txt"
fi

go run ./cmd/benchtable -in "$out/bench.txt" -o "$out/table.md"
if [[ -n "$before" ]]; then
	go run ./cmd/benchtable -in "$out/bench-before.txt" -o "$out/table-before.md"
	sed 's,^BenchmarkDetect/,BenchmarkDetect/version=before/,' "$out/bench-before.txt" >"$out/compare.txt"
	sed 's,^BenchmarkDetect/,BenchmarkDetect/version=after/,' "$out/bench.txt" >>"$out/compare.txt"
	if ! go run "$benchstat" -col /version -row /shape,/mix,/contender -filter '.unit:cpu-ns/record OR .unit:allocs/op' \
		"$out/compare.txt" >"$out/compare-benchstat.txt" 2>"$out/benchstat.err"; then
		echo "benchstat unavailable: $(tail -1 "$out/benchstat.err")" >"$out/compare-benchstat.txt"
	fi
fi

loadtest=""
if [[ "${BENCH_LOADTEST:-1}" == reuse && -f "$out/loadtest.md" ]]; then
	loadtest="$out/loadtest.md"
elif [[ "${BENCH_LOADTEST:-1}" != 0 && "${BENCH_LOADTEST:-1}" != reuse && -x ../bin/otelcol-dcom ]]; then
	echo "== load test" >&2
	go run ./loadtest -collector ../bin/otelcol-dcom -rounds "${BENCH_LOADTEST_ROUNDS:-5}" -o "$out/loadtest.md" >&2
	loadtest="$out/loadtest.md"
fi

{
	echo "# Benchmark results"
	echo
	echo "Generated by \`bench/run.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) (/proc/cpuinfo: cpu family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs), model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | xargs)), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB;"
	echo "L2 $(lscpu | awk -F: '/L2 cache/{gsub(/^ +/,"",$2);print $2}'), L3 $(lscpu | awk -F: '/L3 cache/{gsub(/^ +/,"",$2);print $2}'); $(go version | cut -d' ' -f3-4);"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Each contender ran $runs times on the same $pool distinct-in-memory batches of 1,000 records"
	echo "(decoded from OTLP protobuf before the timer starts, about $((pool)) x 3-4 MB, far beyond L3, so every"
	echo "batch is cold when it is reached; no batch is seen twice within a run)."
	echo
	echo "## Per record"
	echo
	cat "$out/table.md"
	if [[ -n "$before" ]]; then
		echo
		echo "## Before: commit $(git -C "$here" rev-parse --short "$before"), in the same run"
		echo
		echo "Its runs alternated with the runs above, one by one, on the same batches."
		echo
		cat "$out/table-before.md"
		echo
		echo "### benchstat, before against after (CPU ns per record; allocations per batch of 1,000)"
		echo
		echo '```'
		cat "$out/compare-benchstat.txt"
		echo '```'
	fi
	echo
	echo "## Where the time goes"
	echo
	echo "TestStageCosts: each stage on cold batches, the stages taking turns batch by batch in one process"
	echo "(140 batches, 5 rounds); wall ns per record, the 25th percentile and the median of the per-batch"
	echo "times, and the 25th percentile against the floor's. The read stages use a reader with the extended"
	echo "rules' plan alone; the processor's own plan adds what the annotation and the correlation read."
	echo
	echo "| shape | mix | stage | p25 ns/record | median ns/record | p25 / floor |"
	echo "|---|---|---|---:|---:|---:|"
	cat "$out/stages.md"
	echo
	echo "### CPU profile: \`extended\`, receiver map, process-creation-heavy mix"
	echo
	echo "\`go tool pprof -top -focus processLogs\` of 4,000 batches (400 cold batches, 10 times over; the decode"
	echo "of the batches is outside the focus), the processor's share of the samples:"
	echo
	if [[ -n "$before" ]]; then
		echo "Before (commit $(git -C "$here" rev-parse --short "$before")):"
		echo
		echo '```'
		cat "$out/profile-before.txt"
		echo '```'
		echo
		echo "After:"
		echo
	fi
	echo '```'
	cat "$out/profile-after.txt"
	echo '```'
	echo
	echo "## Allocations (go test -run 'TestNonMatchingRecordsDoNotAllocate|TestEnteringCorrelationStateAllocatesNothing')"
	echo
	echo '```'
	grep -E 'allocs_test.go|--- (PASS|FAIL): Test(NonMatching|EnteringCorrelation)' "$out/tests.txt" | sed 's/^ *//'
	echo '```'
	echo
	echo "## Equivalence of the OTTL rendering"
	echo
	echo '```'
	grep -E -- '--- (PASS|FAIL): Test' "$out/tests.txt"
	echo '```'
	if [[ -n "$loadtest" ]]; then
		echo
		cat "$loadtest"
	fi
	echo
	echo "## benchstat (per batch of 1,000 records; columns by contender, ratios against the floor)"
	echo
	echo '```'
	cat "$out/benchstat.txt"
	echo '```'
} >"$here/results.md"
echo "wrote $here/results.md" >&2
