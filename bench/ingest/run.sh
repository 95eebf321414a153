#!/usr/bin/env bash
# End-to-end ingest figure: events/s acknowledged by POST /v1/events, with 32 concurrent
# clients posting one event each, against a generated service built from PROJECT.
#   bench/ingest/run.sh PROJECT [RUNS] [SECONDS]
# For a postgres project, export DATABASE_URL first. Prints one loadgen JSON report per run.
set -euo pipefail
project="$(cd "$1" && pwd)"; runs="${2:-5}"; seconds="${3:-10}"
# The service's command is cmd/<project_name> (cmd/ also holds loadgen and benchgate).
name="$(sed -n 's/^project_name: *//p' "$project/.copier-answers.yml" | tr -d "\"'")"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
(cd "$project" && go build -o "$work/svc" "./cmd/$name" && go build -o "$work/loadgen" ./cmd/loadgen)
mapfile -t addrs < <("$work/loadgen" -free-addrs 3)
public="${addrs[0]}"; debug="${addrs[1]}"; metrics="${addrs[2]}"
for i in $(seq "$runs"); do
  DATABASE_URL="${DATABASE_URL:-file:$work/ingest-$i.db}" HTTP_ADDR="$public" DEBUG_ADDR="$debug" \
    METRICS_ADDR="$metrics" FLIGHT_RECORDER_DIR="$work/flightrecorder" SHUTDOWN_DRAIN_DELAY=0s "$work/svc" > "$work/svc-$i.log" 2>&1 &
  pid=$!
  "$work/loadgen" -url "http://$public" -debug-url "http://$debug" -wait 30s -endpoints events \
    -events-per-request 1 -concurrency 32 -duration "${seconds}s" -warmup 2s -json
  kill -TERM "$pid"; wait "$pid"
done
