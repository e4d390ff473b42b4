#!/usr/bin/env bash
# Compares the stage costs (TestStageCosts) of a commit with this tree's,
# alternating the two builds run by run (and which goes first), on the same
# machine in one sitting. A whole run moves by up to 35 % against the next
# on this shared machine, all its stages together, so the comparison is of
# each stage's cost relative to the floor of its own run; a stage the change
# does not touch shows what the noise is. Two runs of the same code differed
# by up to 11 % in those ratios (and 34 % in raw times): use six runs or more.
#
#   bench/stages_ab.sh <rev> [runs=6] [shape=map] [mix=process]
#
# Prints, per stage, the medians over the runs of each run's 25th percentile
# (ns per record, wall time) and of its ratio to that run's floor, before and
# after, and after / before of the latter.
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
	NF >= 7 {
		gsub(/^ +| +$/, "", $4); r = $7; gsub(/[ x]/, "", r)
		p25[file, $4] = p25[file, $4] " " $5; ratio[file, $4] = ratio[file, $4] " " r
		if (file == 1 && !seen[$4]++) order[++n] = $4
	}
	function median(s,   a, k, i, j, t) {
		k = split(s, a, " ")
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		printf "%-42s %9s %9s %9s %9s %7s\n", "stage (medians over the runs)", "p25 ns", "p25 ns", "/ floor", "/ floor", ""
		printf "%-42s %9s %9s %9s %9s %7s\n", "", "before", "after", "before", "after", "ratio"
		for (i = 1; i <= n; i++) {
			s = order[i]; b = median(ratio[1, s]); a = median(ratio[2, s])
			printf "%-42s %9.0f %9.0f %9.2f %9.2f %7.3f\n", s, median(p25[1, s]), median(p25[2, s]), b, a, a / b
		}
	}' "$out/stages-before.md" "$out/stages-after.md"
