#!/usr/bin/env bash
# Runs every Fuzz* target of one Go module for a fixed time or execution count
# (called by `make fuzz`; FUZZTIME=30s or FUZZTIME=30000x).
#
#   scripts/fuzz.sh <module dir> [fuzztime]
#
# go test -fuzz takes one target of one package at a time, so the targets are
# listed per package first. A failing input is saved by go test under the
# package's testdata/fuzz/ and makes this script fail.
set -euo pipefail

module=${1:?usage: fuzz.sh <module dir> [fuzztime]}
fuzztime=${2:-30s}
go=${GO:-go}

cd "$module"
found=0
for pkg in $($go list ./...); do
  # -list prints the matching names, then an "ok <pkg>" line.
  targets=$($go test -list '^Fuzz' "$pkg" | grep -E '^Fuzz' || true)
  for target in $targets; do
    found=$((found + 1))
    echo "== fuzz $pkg $target for $fuzztime"
    $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
echo "== $module: $found fuzz target(s) run"
