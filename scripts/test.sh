#!/usr/bin/env bash
# Every test of the root module (with e2e) and of the modules under exporter/,
# receiver/ and bench/, each run once, in one of two passes (called by `make test`,
# which builds bin/otelcol-dcom first: the e2e tests run it).
#
#  race   with the race detector, where there is concurrency to check: the e2e
#         harness (./e2e/...), the tests of the root module whose name contains
#         "Concurrent" (racepass_test.go fails on a goroutine started in any
#         other test), and the exporter modules (retries, queues, shutdown).
#  plain  without it: every other test. They are single-goroutine and
#         data-driven, run two to ten times faster without the detector, and the
#         allocation tests measure uninstrumented code. This pass builds as ocb
#         builds the distribution (CGO_ENABLED=0, -trimpath) and the modules
#         require the distribution's versions (e2e/modules_test.go), so on a cold
#         cache it reuses the packages `make build` compiled.
#
# TEST_FLAGS (default -count=1) go to every go test; e.g. TEST_FLAGS="-count=1 -cover".
set -euo pipefail
cd "$(dirname "$0")/.."

go=${GO:-go}
read -r -a flags <<<"${TEST_FLAGS:--count=1}"
export OTELCOL_DCOM_BIN=${OTELCOL_DCOM_BIN:-$PWD/bin/otelcol-dcom}

# Every pass runs even if an earlier one failed; the exit status says whether any did.
failed=()
# race|plain <module dir> <go test arguments>
race() { pass "$1" "race" CGO_ENABLED=1 "$go test -race" "${@:2}"; }
plain() { pass "$1" "plain" CGO_ENABLED=0 "$go test -trimpath" "${@:2}"; }
timings=()
pass() {
  local dir=$1 name=$2 cgo=$3 cmd=$4 t0=$SECONDS
  shift 4
  echo "== $name ($dir): go test $*"
  # shellcheck disable=SC2086 # $cmd is the go command and its pass flags
  (cd "$dir" && env "$cgo" $cmd "${flags[@]}" "$@") || failed+=("$name ($dir): $*")
  timings+=("$(printf '%4ds  %-5s %s: %.80s' $((SECONDS - t0)) "$name" "$dir" "$*")")
}

# The root module's packages outside e2e, and those of them with Concurrent tests.
mapfile -t unit < <($go list ./... | grep -v '/e2e')
mapfile -t concurrent < <($go list -f '{{.ImportPath}}{{range .TestGoFiles}} {{$.Dir}}/{{.}}{{end}}{{range .XTestGoFiles}} {{$.Dir}}/{{.}}{{end}}' "${unit[@]}" |
  while read -r pkg files; do
    [ -n "$files" ] && grep -qE '^func Test[A-Za-z0-9_]*Concurrent' $files && echo "$pkg"
  done || true)

# The e2e tests mostly wait on collectors, endpoints and timers: four at a time
# (instead of GOMAXPROCS, two here) cut the reliability package from 58 s to
# 36 s, which is TestBurst's own length (its two runs are sequential on purpose).
race . -parallel 4 ./e2e/...
race . -run Concurrent "${concurrent[@]}"
plain . -skip Concurrent "${unit[@]}"

for mod in $(find exporter receiver bench -name go.mod -not -path '*/testdata/*' | xargs -n1 dirname | sort); do
  case "$mod" in
    exporter/*) race "$mod" ./... ;;
    *) plain "$mod" ./... ;;
  esac
done

echo "== time per pass (building included)"
printf '%s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
