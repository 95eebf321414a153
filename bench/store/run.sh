#!/usr/bin/env bash
# The store's published figures (docs/benchmarks-store.md): closed-loop writers storing one
# row per call and waiting for it, batched (group commit) against one transaction per call,
# in-process and end to end through HTTP, on SQLite and PostgreSQL.
#
#   bench/store/run.sh [--quick] [--rounds N] [--out DIR]
#
# It renders a sqlite and a postgres service from this repository's template (working tree),
# then runs ROUNDS interleaved rounds; each round records `uptime`, then runs
#   - internal/store's BenchmarkInsert for writers 1/8/64/256, each writer count in the three
#     modes back to back (pertx, batched, linger; the order reversed every other round);
#   - the service under cmd/loadgen: 1 and 64 clients posting one event per request, the
#     default build (batch writer) and a -tags pertx build (one transaction per request),
#     in alternating order.
# Results go to OUT (default bench/store/results/<date>): raw Go benchmark lines per file,
# load.txt, environment.txt, and summary.txt (benchstat). --quick is one short round (CI).
# PostgreSQL parts need TEST_POSTGRES_URL (scripts/start-postgres.sh prints one) and psql;
# without it they are skipped with a note, and with CI=true that is an error.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"

quick=0
rounds=6
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; rounds=1; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench/store/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if (( quick )); then
  benchtime=100x; e2e_seconds=1; e2e_warmup=200ms
else
  benchtime=2s; e2e_seconds=5; e2e_warmup=1s
fi
out="${out:-${BENCH_REPORT_OUT:-$repo/bench/store/results/$(date +%Y-%m-%d)}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
schemas=()
cleanup() {
  for s in "${schemas[@]}"; do psql -q "$TEST_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
copier="${COPIER:-$repo/.venv/bin/copier}"
[[ -x "$copier" ]] || copier="$(command -v copier)"

databases=(sqlite)
if [[ -n "${TEST_POSTGRES_URL:-}" ]] && command -v psql >/dev/null; then
  databases+=(postgres)
elif [[ "${CI:-}" == "true" ]]; then
  echo "bench/store/run.sh: CI needs TEST_POSTGRES_URL and psql for the PostgreSQL figures" >&2
  exit 1
else
  echo "note: TEST_POSTGRES_URL or psql missing: PostgreSQL figures skipped" >&2
fi

echo "--- rendering and building (work dir $work)"
for db in "${databases[@]}"; do
  "$copier" copy -q --defaults --data project_name=svc --data "database=$db" "$repo" "$work/$db" >/dev/null 2>&1
  (
    cd "$work/$db"
    go test -c -o "$work/$db-store.test" ./internal/store
    go build -o "$work/$db-batched" ./cmd/svc
    go build -tags pertx -o "$work/$db-pertx" ./cmd/svc
    go build -o "$work/loadgen" ./cmd/loadgen
  )
done

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- template || echo -dirty)"
  echo "go: $(go version)"
  echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -r)"
  echo "benchtime: $benchtime; e2e: ${e2e_seconds}s after ${e2e_warmup} warm-up; rounds: $rounds"
  echo "filesystem of the SQLite files ($work): $(df -T "$work" | awk 'NR==2 {print $1, $2}')"
  echo "SQLite: WAL, synchronous=FULL (the service's pragmas)"
  if [[ " ${databases[*]} " == *" postgres "* ]]; then
    echo "PostgreSQL: $(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW server_version')," \
      "data directory $(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW data_directory')" \
      "($(df -T "$(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW data_directory' 2>/dev/null)" 2>/dev/null | awk 'NR==2 {print $1, $2}' || echo unknown))," \
      "fsync=$(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW fsync')," \
      "synchronous_commit=$(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW synchronous_commit')," \
      "wal_sync_method=$(psql -Atq "$TEST_POSTGRES_URL" -c 'SHOW wal_sync_method')"
  fi
} > "$out/environment.txt"
cat "$out/environment.txt"
: > "$out/load.txt"

# e2e DB BUILD CLIENTS: one loadgen run against a fresh service; appends one benchmark line.
e2e() {
  local db=$1 build=$2 clients=$3 url addrs pid report
  mapfile -t addrs < <("$work/loadgen" -free-addrs 2)
  if [[ $db == sqlite ]]; then
    url="file:$work/e2e-$build-$clients-$RANDOM.db"
  else
    local schema="bench_store_$$_$RANDOM"
    psql -q "$TEST_POSTGRES_URL" -c "CREATE SCHEMA $schema" >/dev/null
    schemas+=("$schema")
    url="$TEST_POSTGRES_URL"
    if [[ $url == *\?* ]]; then url+="&search_path=$schema"; else url+="?search_path=$schema"; fi
  fi
  DATABASE_URL="$url" HTTP_ADDR="${addrs[0]}" DEBUG_ADDR="${addrs[1]}" SHUTDOWN_DRAIN_DELAY=0s \
    LOG_LEVEL=warn "$work/$db-$build" >"$work/service.log" 2>&1 &
  pid=$!
  report="$("$work/loadgen" -url "http://${addrs[0]}" -wait 30s -endpoints events -events-per-request 1 \
    -concurrency "$clients" -duration "${e2e_seconds}s" -warmup "$e2e_warmup" -timeout 15s -json)" || {
    kill "$pid"; cat "$work/service.log" >&2; return 1; }
  kill -TERM "$pid"
  wait "$pid"
  # One Go benchmark line (events/s = requests/s: one event per request); every answer must be 202.
  python3 - "$db" "$build" "$clients" "$report" >> "$out/e2e-$db.txt" <<'PY'
import json, sys
db, build, clients, report = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if set(report["status"]) != {"202"} or report["errors"]:
    sys.exit(f"e2e {db}/{build}/{clients}: statuses {report['status']}, errors {report['errors']}")
lat = report["latency_ms"]
print(f"BenchmarkE2E/db={db}/clients={clients}/build={build} {report['requests']} "
      f"{report['throughput_rps']:.1f} events/s {lat['p50'] * 1e6:.0f} p50-ns {lat['p99'] * 1e6:.0f} p99-ns")
PY
}

for round in $(seq "$rounds"); do
  echo "round $round/$rounds: $(uptime)" | tee -a "$out/load.txt"
  if (( round % 2 )); then modes=(pertx batched linger); builds=(pertx batched); else modes=(linger batched pertx); builds=(batched pertx); fi
  for db in "${databases[@]}"; do
    for writers in 1 8 64 256; do
      for mode in "${modes[@]}"; do
        (cd "$work" && TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-}" "$work/$db-store.test" -test.run '^$' \
          -test.bench "^BenchmarkInsert/writers=$writers/mode=$mode\$" -test.benchtime "$benchtime" -test.benchmem) \
          | grep '^Benchmark' >> "$out/inproc-$db.txt"
      done
    done
    for clients in 1 64; do
      for build in "${builds[@]}"; do
        e2e "$db" "$build" "$clients"
      done
    done
  done
done
echo "after: $(uptime)" | tee -a "$out/load.txt"

echo "--- summary (benchstat)"
{
  for db in "${databases[@]}"; do
    (cd "$work/${databases[0]}" && go tool benchstat -col /mode -filter '.unit:(rows/s OR rows/commit)' "$out/inproc-$db.txt")
    (cd "$work/${databases[0]}" && go tool benchstat -col /build "$out/e2e-$db.txt")
  done
} | tee "$out/summary.txt"
echo "results in ${out#"$repo"/}"
if [[ -n "${BENCH_REPORT_OUT:-}" ]]; then
  # Headline ratios for python -m bench.report's summary table (medians; spreads above).
  (cd "$repo" && "${PYTHON:-$repo/.venv/bin/python}" -m bench.report.harness_summary store "$out")
fi
