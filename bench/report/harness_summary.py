"""Headline figures of the external harnesses, as `summary.json` for `python -m bench.report`.

    python -m bench.report.harness_summary store DIR          # bench/store/run.sh's results
    python -m bench.report.harness_summary observability FILE  # bench_observability's JSON

Each writes DIR/summary.json (or FILE's folder) with {"figure name": number}: medians over the
rounds, and ratios of medians against the section's baseline (one transaction per call for
the store; everything off for observability). The harness's own tables carry the spreads.
"""

from __future__ import annotations

import json
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


def observability_summary(results_file: Path) -> dict[str, float]:
    results = json.loads(results_file.read_text())
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in results["runs"]:
        cpu[(run["variant"], run["endpoint"])].append(float(run["cpu_us"]))
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
        summary, out = store_summary(target), target / "summary.json"
    else:
        summary, out = observability_summary(target), target.parent / "summary.json"
    out.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
