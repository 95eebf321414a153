"""Sections measured by a harness of their own: the store's batched vs per-call-transaction
writes, and the observability overhead.

The report calls the first script of HARNESSES[key] that exists in this checkout as
`bash SCRIPT [--quick]` from the repository root, with BENCH_REPORT_OUT set to a folder for raw
files. The script prints Markdown (tables, benchstat output) that is embedded as it is; it may
also write `summary.json` into BENCH_REPORT_OUT (bench/report/harness_summary.py), whose
figures become the section's numbers and whose headlines (with the rounds they are judged
from) reach the summary table. When no script exists the section says so instead of failing, so
a checkout without the harness still gets a complete report.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass

from bench.report._context import Context
from bench.report._env import go_env
from bench.report._results import Block, Headline, Section


@dataclass(frozen=True)
class Harness:
    key: str
    title: str
    scripts: tuple[str, ...]  # candidates, relative to the repository root
    what: str


HARNESSES = {
    "store": Harness(
        key="store",
        title="Batched (group commit) vs one transaction per call",
        scripts=("bench/store/run.sh",),
        what=(
            "writes per second across writer counts, SQLite and PostgreSQL, against one "
            "transaction per call"
        ),
    ),
    "observability": Harness(
        key="observability",
        title="Observability overhead (metrics, access log, flight recorder, tracing)",
        scripts=("bench/observability/run.sh", "bench/obs/run.sh"),
        what=(
            "the cost per request of the metrics middleware, the access log, the flight "
            "recorder and OpenTelemetry"
        ),
    ),
}

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")


def run(ctx: Context, key: str) -> Section:
    harness = HARNESSES[key]
    section = Section(key=key, title=harness.title)
    script = next((ctx.repo / s for s in harness.scripts if (ctx.repo / s).is_file()), None)
    if script is None:
        section.status = "skipped"
        section.summary = (
            f"Not available in this checkout: no harness ({' or '.join(harness.scripts)}) "
            f"measures {harness.what}."
        )
        return section
    out_dir = ctx.raw / key
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    argv = ["bash", str(script.relative_to(ctx.repo)), *(["--quick"] if ctx.quick else [])]
    output = ctx.progress.run(
        argv, ctx.repo, env=go_env(BENCH_REPORT_OUT=str(out_dir)), timeout=7200
    )
    section.commands = [" ".join(argv)]
    section.conditions["method"] = (
        f"as described by `{script.relative_to(ctx.repo)}` (its output follows)"
    )
    section.blocks.append(Block(f"{script.relative_to(ctx.repo)} output", output.strip("\n")))
    summary = out_dir / "summary.json"
    if summary.is_file():
        loaded = json.loads(summary.read_text())
        for name, value in loaded.get("figures", {}).items():
            if isinstance(value, int | float) and math.isfinite(value):
                section.numbers[str(name)] = float(value)
        section.headlines += [Headline.from_json(row) for row in loaded.get("headlines", [])]
    if not section.numbers:
        # No summary file: the figures are in the output; count them so a run that printed
        # none is visible.
        section.numbers["figures_in_output"] = float(len(_NUMBER.findall(output)))
    section.summary = f"Figures from `{script.relative_to(ctx.repo)}`."
    return section
