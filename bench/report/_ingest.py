"""Section: end to end, events acknowledged per second by POST /v1/events (bench/ingest/run.sh):
32 clients each posting one event per request and waiting for its 202, which is sent only after
the event's transaction committed. SQLite always; PostgreSQL when TEST_POSTGRES_URL or
DATABASE_URL names a server the load may write to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from bench.report import _charts
from bench.report._context import Context, Spread, num
from bench.report._env import go_env
from bench.report._projects import generate
from bench.report._results import Chart, Headline, Section, Table


@dataclass(frozen=True)
class Params:
    runs: int
    seconds: int


# Quick mode (CI) proves the harness works (two runs, a fresh service each); its figures are
# never published. Each run also has bench/ingest/run.sh's 2 s warm-up.
QUICK = Params(runs=2, seconds=1)
FULL = Params(runs=5, seconds=10)


def reports(output: str) -> list[dict[str, Any]]:
    """The load generator's JSON reports, one per run, printed one after another."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while True:
        start = output.find("{", index)
        if start < 0:
            return found
        value, index = decoder.raw_decode(output, start)
        if isinstance(value, dict):
            found.append(value)


def run(ctx: Context) -> Section:
    params = QUICK if ctx.quick else FULL
    section = Section(key="ingest", title="End to end: events acknowledged by POST /v1/events")
    script = ctx.repo / "bench" / "ingest" / "run.sh"
    databases: dict[str, tuple[dict[str, str], dict[str, str]]] = {"SQLite": ({}, {})}
    postgres_url = os.environ.get("TEST_POSTGRES_URL") or os.environ.get("DATABASE_URL")
    if postgres_url:
        databases["PostgreSQL"] = ({"database": "postgres"}, {"DATABASE_URL": postgres_url})
    else:
        section.notes.append("PostgreSQL was not measured: set TEST_POSTGRES_URL or DATABASE_URL.")
    rows, bars = [], []
    for name, (answers, env) in databases.items():
        project = generate(ctx.work, name.lower(), answers, ctx.progress)
        argv = ["bash", str(script), str(project), str(params.runs), str(params.seconds)]
        clean = {k: v for k, v in go_env().items() if k != "DATABASE_URL"}
        output = ctx.progress.run(
            argv, ctx.repo, env={**clean, **env}, label=f"bench/ingest/run.sh ({name})"
        )
        raw = ctx.raw / f"ingest-{name.lower()}.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(output)
        runs = reports(output)
        if len(runs) != params.runs:
            raise RuntimeError(
                f"bench/ingest/run.sh printed {len(runs)} reports, want {params.runs}"
            )
        rate = Spread.of([r["throughput_rps"] for r in runs])
        statuses: dict[str, int] = {}
        for r in runs:
            for code, count in r["status"].items():
                statuses[code] = statuses.get(code, 0) + int(count)
        rows.append(
            [
                name,
                rate.text(),
                Spread.of([r["latency_ms"]["p50"] for r in runs]).text(2),
                Spread.of([r["latency_ms"]["p99"] for r in runs]).text(2),
                ", ".join(f"{code}: {num(count)}" for code, count in sorted(statuses.items())),
            ]
        )
        section.numbers[f"{name.lower()}_events_per_s"] = rate.median
        bars.append(_charts.Bar(rate.median, rate.low, rate.high))
        section.headlines.append(
            Headline(
                f"events/s acknowledged by `POST /v1/events`, {name}, 32 clients",
                num(rate.median),
                "recorded (no target)",
            )
        )
    section.tables.append(
        Table(
            caption=(
                "32 clients, one event per request, each waiting for its 202 "
                "(median, min–max over runs)"
            ),
            headers=["database", "events/s", "p50 ms", "p99 ms", "statuses"],
            rows=rows,
        )
    )
    section.commands = [
        "# a service generated with the default answers (and one with database=postgres)",
        f"bench/ingest/run.sh PROJECT {params.runs} {params.seconds}",
        f"DATABASE_URL=postgres://… bench/ingest/run.sh PROJECT {params.runs} {params.seconds}",
    ]
    section.conditions["method"] = (
        f"{params.runs} runs of {params.seconds} s after a 2 s warm-up, a fresh service per run, "
        "default batch settings; the load generator is the project's `cmd/loadgen` on the same "
        "machine (not pinned)."
    )
    section.summary = "Each acknowledged event is durable: the 202 is sent after its commit."
    chart = ctx.assets / "ingest.svg"
    panel = _charts.Panel(
        "POST /v1/events, 32 clients", "events/s", list(databases), {"events/s": bars}
    )
    if _charts.bars(chart, "End-to-end ingest (median, min–max)", [panel]):
        section.charts.append(Chart(ctx.rel(chart), "events per second acknowledged"))
    else:
        section.notes.append(_charts.MISSING_NOTE)
    return section
