"""Headline figures of the external harnesses, as `summary.json` for `python -m bench.report`.

    python -m bench.report.harness_summary store DIR          # bench/store/run.sh's results
    python -m bench.report.harness_summary observability FILE  # bench_observability's JSON

Each writes DIR/summary.json (or FILE's folder) with
{"figures": {"figure name": number}, "headlines": [headline, ...]}: figures are ratios of
medians against the section's baseline (one transaction per call for the store; everything off
for observability); headlines are the few comparisons the report's summary table shows, in
words, with their targets and the per-round ratios they are judged from
(bench/report/_results.py's Headline; the verdict itself is bench/report/_verdict.py's). The
store's rounds run the two modes back to back in alternating order, so each round's ratio is
a paired sample; the observability harness runs its variants back to back in a rotating order,
which leaves a pair in the same order in most rounds: its spread is shown, never judged.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.report._results import Headline
from bench.report._verdict import Evidence, Target

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


DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# Least batched ÷ per-call-transaction rows/s by writer count (the group-commit targets).
STORE_TARGETS = {
    "sqlite": {1: 0.9, 8: 3.0, 64: 10.0},
    "postgres": {1: 0.9, 8: 2.0, 64: 5.0},
}
# Most CPU per request a piece may add on /livez, as a ratio (the observability targets).
# The flight recorder's default (auto) records nothing until a slow request or shedding arms it:
# its steady-state cost is the "defaults" row; always on (FLIGHT_RECORDER=on) is recorded, with
# no target, as the price a team pays for the seconds before the first slow request.
OBSERVABILITY_TARGETS: tuple[tuple[str, str, str, float | None], ...] = (
    ("metrics", "off", "metrics on vs off", 1.05),
    ("metrics+log", "metrics", "the default access log (errors) on top of metrics", 1.05),
    (
        "defaults",
        "metrics+log",
        "the flight recorder in its default mode (auto, not recording) on top of metrics and "
        "access log",
        1.03,
    ),
    ("recorder=on", "defaults", "the flight recorder always on (FLIGHT_RECORDER=on)", None),
)


def headline(comparison: str, evidence: Evidence, target: Target | None) -> dict[str, Any]:
    """A summary-table row judged from per-round ratios (or only recorded, without target)."""
    measured = "n/a" if math.isnan(evidence.median) else f"{evidence.median:.2f}×"
    if target is None:
        spread = f"{evidence.low:.2f}–{evidence.high:.2f}×, n={evidence.n} rounds"
        row = Headline(comparison, f"{measured} ({spread})", "recorded (no target)")
    else:
        row = Headline.judged(comparison, measured, target, [evidence])
    return row.to_json()


def _round_ratios(top: list[float], bottom: list[float]) -> list[float]:
    """top ÷ bottom round by round (the i-th value of each was measured in round i)."""
    return [t / b for t, b in zip(top, bottom, strict=False) if b > 0]


def store_headlines(results: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for db, name in DATABASES.items():
        inproc = _metrics(results / f"inproc-{db}.txt", "rows/s")
        for writers, least in STORE_TARGETS[db].items():
            pertx = inproc.get(f"BenchmarkInsert/writers={writers}/mode=pertx")
            batched = inproc.get(f"BenchmarkInsert/writers={writers}/mode=batched")
            if not pertx or not batched:
                continue
            rows.append(
                headline(
                    f"{name}, {writers} writer{'s' if writers > 1 else ''} (closed loop, one row "
                    "per call): batched ÷ one transaction per call, rows/s",
                    Evidence.rounds("alternating", _round_ratios(batched, pertx)),
                    Target("≥", least),
                )
            )
        e2e = _metrics(results / f"e2e-{db}.txt", "events/s")
        pertx = e2e.get(f"BenchmarkE2E/db={db}/clients=64/build=pertx")
        batched = e2e.get(f"BenchmarkE2E/db={db}/clients=64/build=batched")
        if pertx and batched:
            rows.append(
                headline(
                    f"{name}, `POST /v1/events` from 64 clients: batched ÷ one transaction per "
                    "call, events/s",
                    Evidence.rounds("alternating", _round_ratios(batched, pertx)),
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


def _observability_cpu(results_file: Path) -> dict[tuple[str, str], dict[int, float]]:
    """CPU µs per request by (variant, endpoint), by round."""
    results = json.loads(results_file.read_text())
    cpu: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for index, run in enumerate(results["runs"]):
        cpu[(run["variant"], run["endpoint"])][int(run.get("round", index))] = float(run["cpu_us"])
    return cpu


def observability_headlines(results_file: Path) -> list[dict[str, Any]]:
    cpu = _observability_cpu(results_file)
    rows: list[dict[str, Any]] = []
    for variant, base, what, most in OBSERVABILITY_TARGETS:
        values, base_values = cpu.get((variant, "livez")), cpu.get((base, "livez"))
        if not values or not base_values:
            continue
        ratios = [values[r] / base_values[r] for r in sorted(values) if base_values.get(r)]
        rows.append(
            headline(
                f"`/livez` CPU per request, {what}",
                Evidence.rounds("back to back", ratios),
                None if most is None else Target("≤", most),
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
        ratio = statistics.median(values.values()) / statistics.median(base.values())
        summary[f"{endpoint}_cpu_per_request_{variant}_vs_off"] = round(ratio, 3)
    return summary


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"store", "observability"}:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(argv[1])
    if argv[0] == "store":
        figures, out = store_summary(target), target / "summary.json"
        headlines = store_headlines(target)
    else:
        figures, out = observability_summary(target), target.parent / "summary.json"
        headlines = observability_headlines(target)
    summary = {"figures": figures, "headlines": headlines}
    out.write_text(json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
