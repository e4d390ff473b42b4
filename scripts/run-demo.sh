#!/usr/bin/env bash
# Runs the collector on config/demo.yaml (called by `make run`), prints one
# line per detection, and stops the collector by itself once the file exporter
# has written every sample record, or after DEMO_TIMEOUT seconds.
#
# Environment: OTELCOL_DCOM_BIN (default bin/otelcol-dcom), OTELCOL_METRICS_PORT
# (default 8888, or a free port when 8888 is taken), DEMO_OUTPUT
# (default _build/demo-detections.json), DEMO_TIMEOUT (default 60).
set -euo pipefail

cd "$(dirname "$0")/.."

bin=${OTELCOL_DCOM_BIN:-bin/otelcol-dcom}
config=config/demo.yaml
events_dir=testdata/demo
export DEMO_OUTPUT=${DEMO_OUTPUT:-_build/demo-detections.json}
timeout=${DEMO_TIMEOUT:-60}
log=${DEMO_LOG:-_build/demo-collector.log}

if [ ! -x "$bin" ]; then
  echo "run-demo: $bin not found; run 'make build' first" >&2
  exit 1
fi

# One record per non-empty line of the sample files.
expected=$(cat "$events_dir/events.xml" "$events_dir/events.jsonl" | grep -c .)

# Count the log records written so far: every record read by file_log
# carries exactly one observedTimeUnixNano.
count_records() {
  if [ -f "$DEMO_OUTPUT" ]; then
    { grep -o '"observedTimeUnixNano"' "$DEMO_OUTPUT" || true; } | wc -l | tr -d ' '
  else
    echo 0
  fi
}

# The config serves the collector's metrics on 127.0.0.1:8888; if something
# (another collector) already listens there, let the demo take a free port.
metrics="http://127.0.0.1:${OTELCOL_METRICS_PORT:-8888}/metrics while it runs"
if [ -z "${OTELCOL_METRICS_PORT:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/8888) 2>/dev/null; then
  export OTELCOL_METRICS_PORT=0
  metrics="on a random port, as 8888 is taken (set OTELCOL_METRICS_PORT to choose one)"
fi

mkdir -p "$(dirname "$DEMO_OUTPUT")" "$(dirname "$log")"
rm -f "$DEMO_OUTPUT"

cat <<EOF
== otelcol-dcom demo ==
Collector: $bin --config $config
Input:     $expected sample Windows events in $events_dir/ (events.xml: raw XML, events.jsonl: receiver JSON)
Output:    one line per DCOM detection below; every record as OTLP JSON in $DEMO_OUTPUT
           collector log in $log
Metrics:   $metrics
The demo stops by itself once all $expected records are written (at most ${timeout}s); Ctrl-C stops it earlier.

EOF

# stdout carries the debug exporter's lines; drop its per-batch header lines.
"$bin" --config "$config" 2>"$log" \
  > >(grep --line-buffered -v -E '^(Logs[[:space:]]|ResourceLog #|ScopeLog #|[[:space:]]*$)' || true) &
pid=$!

stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT TERM

start=$(date +%s)
status=0
while :; do
  n=$(count_records)
  if [ "$n" -ge "$expected" ]; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || status=$?
    echo "run-demo: the collector exited early (status $status); last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  if [ $(($(date +%s) - start)) -ge "$timeout" ]; then
    echo "run-demo: timed out after ${timeout}s with $n of $expected records written; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    stop
    exit 1
  fi
  sleep 0.5
done

stop
trap - INT TERM
sleep 0.2 # let the output filter print its last lines

detections=$({ grep -o '"key":"DetectionPattern"' "$DEMO_OUTPUT" || true; } | wc -l | tr -d ' ')
echo
echo "Done in $(($(date +%s) - start))s: $n records processed, $detections DCOM detections (annotated records in $DEMO_OUTPUT)."
