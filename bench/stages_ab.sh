#!/usr/bin/env bash
# Compares the stage costs (TestStageCosts) of a commit with this tree's,
# alternating the two builds run by run (and which goes first), on the same
# machine in one sitting: the instrument for deciding whether a change helps
# (whole-run medians of BenchmarkDetect move by 10-35 % between processes on
# a shared machine; these within-run percentiles held to a few per cent).
#
#   bench/stages_ab.sh <rev> [runs=6] [shape=map] [mix=process]
#
# Prints, per stage, the median over the runs of each run's 25th percentile
# (ns per record, wall time) before and after, and their ratio. A stage the
# change does not touch (the floors) shows what the noise is.
set -euo pipefail
rev=$1
runs=${2:-6}
shape=${3:-map}
mix=${4:-process}
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/_out"
tree="$out/stages-before-tree"
mkdir -p "$out"
git -C "$here" worktree remove --force "$tree" 2>/dev/null || true
git -C "$here" worktree add -f --detach "$tree" "$rev" >/dev/null
trap 'git -C "$here" worktree remove --force "$tree"' EXIT
(cd "$tree/bench" && go test -c -o "$out/stages-before.test" .)
(cd "$here" && go test -c -o "$out/stages-after.test" .)
: >"$out/stages-before.md"
: >"$out/stages-after.md"
run() { # run <before|after> <dir>
	(cd "$2" && BENCH_STAGES="$out/stages-$1.md" BENCH_STAGES_SHAPE="$shape" BENCH_STAGES_MIX="$mix" \
		"$out/stages-$1.test" -test.run '^TestStageCosts$' >/dev/null)
}
for i in $(seq "$runs"); do
	if ((i % 2)); then
		run before "$tree/bench"
		run after "$here"
	else
		run after "$here"
		run before "$tree/bench"
	fi
done
awk -F'|' '
	FNR == 1 { file++ }
	NF >= 7 { gsub(/^ +| +$/, "", $4); v[file, $4] = v[file, $4] " " $5; if (file == 1) order[++n] = $4 }
	function median(s,   a, k, i, j, t) {
		k = split(s, a, " ")
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		printf "%-45s %10s %10s %7s\n", "stage (p25 ns/record, median of runs)", "before", "after", "ratio"
		for (i = 1; i <= n; i++) {
			if (seen[order[i]]++) continue
			b = median(v[1, order[i]]); a = median(v[2, order[i]])
			printf "%-45s %10.0f %10.0f %7.3f\n", order[i], b, a, a / b
		}
	}' "$out/stages-before.md" "$out/stages-after.md"
