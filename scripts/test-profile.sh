#!/usr/bin/env bash
# Where `make test` spends its time: runs scripts/test.sh (both passes) with
# -json and prints the slowest packages and top-level tests
# (scripts/testprofile). Needs bin/otelcol-dcom (`make test-profile` builds it).
#
#   scripts/test-profile.sh [out file]
#
# The raw go test -json stream stays in the out file for further queries.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-/tmp/otelcol-dcom-test-profile.json}
start=$(date +%s)
status=0
TEST_FLAGS="${TEST_FLAGS:--count=1} -json" bash scripts/test.sh >"$out" || status=$?
echo "scripts/test.sh: exit $status in $(( $(date +%s) - start ))s; go test -json output in $out"
grep -v '^{' "$out" || true # the pass headers, their times, build errors
${GO:-go} run ./scripts/testprofile <"$out"
exit $status
