#!/usr/bin/env bash
# The observability section of `python -m bench.report`: what metrics, the access log, the
# flight recorder and OpenTelemetry tracing cost a generated service, measured by
# scripts/bench_observability.py (its docstring describes the method).
#
#   bench/observability/run.sh [--quick]
#
# Prints the harness's markdown tables; with BENCH_REPORT_OUT set, the raw results go to
# $BENCH_REPORT_OUT/results.json.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"
args=("$@")
if [[ -n "${BENCH_REPORT_OUT:-}" ]]; then
  args+=(--out "$BENCH_REPORT_OUT/results.json")
fi
"$python" "$repo/scripts/bench_observability.py" "${args[@]}"
if [[ -n "${BENCH_REPORT_OUT:-}" ]]; then
  # Headline ratios (CPU per request against everything off) for the report's summary table.
  (cd "$repo" && "$python" -m bench.report.harness_summary observability "$BENCH_REPORT_OUT/results.json")
fi
