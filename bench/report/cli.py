"""`python -m bench.report`: run the benchmark sections and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.report import _cli_times, _concurrency, _external, _http, _ingest, _pgo, _render
from bench.report._context import Context
from bench.report._env import REPO_ROOT, Progress, load_average, machine
from bench.report._projects import isolate_user_dirs
from bench.report._results import Section

RUNNERS: dict[str, Callable[[Context], Section]] = {
    "http": _http.run,
    "store": lambda ctx: _external.run(ctx, "store"),
    "ingest": _ingest.run,
    "pool": _concurrency.run_pool,
    "client": _concurrency.run_client,
    "pgo": _pgo.run,
    "cli": _cli_times.run,
    "observability": lambda ctx: _external.run(ctx, "observability"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report",
        description="Run every benchmark comparison side by side and write docs/benchmarks.md.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs that prove every harness works (minutes; CI)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(RUNNERS),
        metavar="SECTION",
        help=f"run only these sections ({', '.join(RUNNERS)}); the others keep their saved results",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "docs",
        help="folder of benchmarks.md (default: docs)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="work folder for generated services and builds (default: a temporary one)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rebuild benchmarks.md from the saved results (benchmarks/*.json)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help='also time the cold "Try it" with empty Go caches (minutes)',
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.render:
        write_document(out)
        return 0
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="goperf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    isolate_user_dirs(work)
    progress = Progress()
    ctx = Context(
        repo=REPO_ROOT,
        work=work,
        out=out,
        quick=args.quick,
        cold=args.cold,
        progress=progress,
        machine=machine(work),
    )
    keys = args.only or list(RUNNERS)
    progress.say(
        f"{'quick' if args.quick else 'full'} report of {', '.join(keys)}; work folder {work}"
    )
    progress.say(f"machine: {ctx.machine.describe()}")
    failed = []
    try:
        for key in keys:
            section = run_section(ctx, key)
            section.save(ctx.assets)
            if section.status == "failed":
                failed.append(key)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    write_document(out)
    progress.section = "report"
    progress.say(f"wrote {out / 'benchmarks.md'}")
    if failed:
        progress.say(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def write_document(out: Path) -> None:
    """benchmarks.md from every section's saved results."""
    sections = {}
    for path in sorted((out / "benchmarks").glob("*.json")):
        section = Section.load(path)
        sections[section.key] = section
    _render.write(out / "benchmarks.md", sections)


def run_section(ctx: Context, key: str) -> Section:
    ctx.progress.section = key
    before = load_average()
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ctx.progress.say(f"starting (load average {before:.2f})")
    try:
        section = RUNNERS[key](ctx)
    except Exception as error:  # a failed section is reported; the others still run
        traceback.print_exc(file=sys.stderr)
        section = Section(
            key=key, title=_render.TITLES[key], status="failed", summary=str(error).splitlines()[0]
        )
        section.notes.append(f"`{type(error).__name__}`: " + str(error).replace("\n", " ")[:2000])
    after = load_average()
    took = time.monotonic() - started
    section.conditions.update(
        {
            "machine": ctx.machine.describe(),
            "load": f"{before:.2f} → {after:.2f} on {ctx.machine.cpus} CPUs",
            "when": f"{when}, {took / 60:.1f} minutes, {'quick' if ctx.quick else 'full'} mode",
            "mode": "quick" if ctx.quick else "full",
        }
    )
    ctx.progress.say(f"{section.status} in {took:.0f} s (load average {before:.2f} → {after:.2f})")
    return section
