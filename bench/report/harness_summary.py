"""Headline figures of the external harnesses, as `summary.json` for `python -m bench.report`.

    python -m bench.report.harness_summary store DIR          # bench/store/run.sh's results
    python -m bench.report.harness_summary observability FILE  # bench_observability's JSON

Each writes DIR/summary.json (or FILE's folder) with
{"figures": {"figure name": number}, "headlines": [{"comparison", "measured", "target", "met"}]}:
figures are medians over the rounds and ratios of medians against the section's baseline (one
transaction per call for the store; everything off for observability); headlines are the few
of them the report's summary table shows, in words, with their targets. The harness's own
tables carry the spreads.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

_LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$")


def _metrics(path: Path, unit: str) -> dict[str, list[float]]:
    """Every value of `unit` per benchmark name in a Go benchmark output file."""
    values: dict[str, list[float]] = defaultdict(list)
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        fields = m.group(2).split()
        for value, name in zip(fields[::2], fields[1::2], strict=False):
            if name == unit:
                values[m.group(1)].append(float(value))
    return values


Headline = dict[str, object]

DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# Least batched ÷ per-call-transaction rows/s by writer count (the group-commit targets).
STORE_TARGETS = {
    "sqlite": {1: 0.9, 8: 3.0, 64: 10.0},
    "postgres": {1: 0.9, 8: 2.0, 64: 5.0},
}
# Most CPU per request a piece may add on /livez, as a ratio (the observability targets).
OBSERVABILITY_TARGETS = (
    ("metrics", "off", "metrics on vs off", 1.05),
    ("metrics+log", "metrics", "the default access log (errors) on top of metrics", 1.05),
    ("defaults", "metrics+log", "the flight recorder on top of metrics and access log", 1.03),
)


def headline(comparison: str, value: float, target: str, met: bool | None) -> Headline:
    return {
        "comparison": comparison,
        "measured": "n/a" if math.isnan(value) else f"{value:.2f}×",
        "target": target,
        "met": met,
    }


def store_headlines(figures: dict[str, float]) -> list[Headline]:
    rows: list[Headline] = []
    for db, name in DATABASES.items():
        for writers, least in STORE_TARGETS[db].items():
            value = figures.get(f"{db}_batched_vs_pertx_{writers}_writers")
            if value is None:
                continue
            rows.append(
                headline(
                    f"{name}, {writers} writer{'s' if writers > 1 else ''} (closed loop, one row "
                    "per call): batched ÷ one transaction per call, rows/s",
                    value,
                    f"≥ {least:g}×",
                    value >= least,
                )
            )
        value = figures.get(f"{db}_http_batched_vs_pertx_64_clients")
        if value is not None:
            rows.append(
                headline(
                    f"{name}, `POST /v1/events` from 64 clients: batched ÷ one transaction per "
                    "call, events/s",
                    value,
                    "recorded (no target)",
                    None,
                )
            )
    return rows


def store_summary(results: Path) -> dict[str, float]:
    summary: dict[str, float] = {}
    for db in ("sqlite", "postgres"):
        inproc = _metrics(results / f"inproc-{db}.txt", "rows/s")
        for writers in (1, 8, 64, 256):
            pertx = inproc.get(f"BenchmarkInsert/writers={writers}/mode=pertx")
            batched = inproc.get(f"BenchmarkInsert/writers={writers}/mode=batched")
            if pertx and batched:
                ratio = statistics.median(batched) / statistics.median(pertx)
                summary[f"{db}_batched_vs_pertx_{writers}_writers"] = round(ratio, 2)
        e2e = _metrics(results / f"e2e-{db}.txt", "events/s")
        for clients in (1, 64):
            pertx = e2e.get(f"BenchmarkE2E/db={db}/clients={clients}/build=pertx")
            batched = e2e.get(f"BenchmarkE2E/db={db}/clients={clients}/build=batched")
            if pertx and batched:
                ratio = statistics.median(batched) / statistics.median(pertx)
                summary[f"{db}_http_batched_vs_pertx_{clients}_clients"] = round(ratio, 2)
    return summary


def _observability_cpu(results_file: Path) -> dict[tuple[str, str], list[float]]:
    results = json.loads(results_file.read_text())
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in results["runs"]:
        cpu[(run["variant"], run["endpoint"])].append(float(run["cpu_us"]))
    return cpu


def observability_headlines(results_file: Path) -> list[Headline]:
    cpu = _observability_cpu(results_file)
    rows: list[Headline] = []
    for variant, base, what, most in OBSERVABILITY_TARGETS:
        values, base_values = cpu.get((variant, "livez")), cpu.get((base, "livez"))
        if not values or not base_values:
            continue
        value = statistics.median(values) / statistics.median(base_values)
        rows.append(
            headline(
                f"`/livez` CPU per request, {what}",
                value,
                f"≤ {most:g}×",
                value <= most,
            )
        )
    return rows


def observability_summary(results_file: Path) -> dict[str, float]:
    cpu = _observability_cpu(results_file)
    summary: dict[str, float] = {}
    for (variant, endpoint), values in sorted(cpu.items()):
        base = cpu.get(("off", endpoint))
        if variant == "off" or not base:
            continue
        ratio = statistics.median(values) / statistics.median(base)
        summary[f"{endpoint}_cpu_per_request_{variant}_vs_off"] = round(ratio, 3)
    return summary


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"store", "observability"}:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(argv[1])
    if argv[0] == "store":
        figures, out = store_summary(target), target / "summary.json"
        headlines = store_headlines(figures)
    else:
        figures, out = observability_summary(target), target.parent / "summary.json"
        headlines = observability_headlines(target)
    summary = {"figures": figures, "headlines": headlines}
    out.write_text(json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
