"""Section: wall time of `goperf-scaffold new` and `update`, as a user runs them (the console
script in a subprocess), with warm Go caches; with --cold also the "Try it" from empty Go
caches to the first 200 on /livez."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import _charts
from bench.report._context import Context, Spread
from bench.report._env import go_env
from bench.report._http import free_port, status_of
from bench.report._results import Block, Chart, Headline, Section, Table
from bench.report._verdict import Evidence, Target, judge

# Wall time with warm caches, every run against a fixed limit.
NEW_TARGET = Target("≤", 2.0, unit=" s", null=None)
UPDATE_TARGET = Target("≤", 5.0, unit=" s", null=None)
COLD_TOTAL = "total: new → first 200 on /livez"


@dataclass(frozen=True)
class Params:
    new_runs: int
    update_runs: int


QUICK = Params(new_runs=1, update_runs=1)
FULL = Params(new_runs=9, update_runs=9)


def console_script() -> str:
    candidate = Path(sys.executable).parent / "goperf-scaffold"
    found = str(candidate) if candidate.exists() else shutil.which("goperf-scaffold")
    if not found:
        raise RuntimeError(
            "goperf-scaffold is not installed next to this Python (pip install -e .)"
        )
    return found


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, input=""
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stderr}")
    return seconds


def run(ctx: Context) -> Section:
    params = QUICK if ctx.quick else FULL
    section = Section(key="cli", title="`goperf-scaffold new` and `update` wall time")
    seconds = _time_new(ctx, params)
    runs: dict[str, Evidence] = {}
    rows = []
    for name, values in seconds.items():
        spread = Spread.of(values)
        runs[name] = Evidence.rounds("repeated", values)
        rows.append(
            [
                f"`{name}`",
                str(len(values)),
                spread.text(2, " s"),
                judge(NEW_TARGET, runs[name]).text(NEW_TARGET),
            ]
        )
        section.numbers[name.replace(" --", "_").replace(" ", "_").replace("-", "_")] = (
            spread.median
        )
    update = _update(ctx, params)
    if update is not None:
        values, text = update
        spread = Spread.of(values)
        runs["update"] = Evidence.rounds("repeated", values)
        rows.append(
            [
                "`update` (N → N+1, team edits, a rename migration)",
                str(len(values)),
                spread.text(2, " s"),
                judge(UPDATE_TARGET, runs["update"]).text(UPDATE_TARGET),
            ]
        )
        seconds["update"] = values
        section.numbers["update"] = spread.median
        section.blocks.append(Block("tests/_helpers_bench_update.py", text.strip("\n")))
    section.tables.append(
        Table(
            caption="Wall time, warm Go module and build caches (median, min–max)",
            headers=["command", "runs", "seconds", "target"],
            rows=rows,
        )
    )
    section.commands = [
        "export GOPERF_SCAFFOLD_DATA_DIR=$WORK/user-data"
        " GOPERF_SCAFFOLD_CONFIG=$WORK/user-config/config.yml",
        "goperf-scaffold new $WORK/warm --defaults        # warm-up, not counted",
        f"# {params.new_runs} rounds, alternating the order:",
        "goperf-scaffold new $WORK/svc --defaults && rm -rf $WORK/svc",
        "goperf-scaffold new $WORK/svc --defaults --no-verify && rm -rf $WORK/svc",
        f"python -m tests._helpers_bench_update --runs {params.update_runs}"
        "   # update: GOPROXY=off, a fresh copy per run",
    ]
    new = section.numbers["new_defaults"]
    section.headlines.append(
        Headline.judged(
            "`goperf-scaffold new --defaults` (warm caches)",
            f"{new:.2f} s",
            NEW_TARGET,
            [runs["new --defaults"]],
        )
    )
    if "update" in runs:
        section.headlines.append(
            Headline.judged(
                "`goperf-scaffold update` (N → N+1)",
                f"{section.numbers['update']:.2f} s",
                UPDATE_TARGET,
                [runs["update"]],
            )
        )
    section.summary = (
        f"`new --defaults` takes {new:.2f} s (median) with warm caches, verification build "
        "included; the load average during the run is stated below, and CPU contention "
        "stretches these wall times."
    )
    if ctx.cold:
        _cold(ctx, section)
    else:
        section.notes.append('The cold "Try it" (empty Go caches) is measured only with `--cold`.')
    _chart(ctx, section, seconds)
    return section


def _time_new(ctx: Context, params: Params) -> dict[str, list[float]]:
    """`new` with and without the verification build, in alternating order, after a warm-up."""
    script, env = console_script(), go_env()
    base = ctx.work / "cli"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    ctx.progress.say("warm-up: goperf-scaffold new --defaults (mirror, Go build cache)")
    _timed([script, "new", str(base / "warm"), "--defaults"], base, env)
    variants = {
        "new --defaults": ["--defaults"],
        "new --defaults --no-verify": ["--defaults", "--no-verify"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(params.new_runs):
        for name in list(variants) if index % 2 == 0 else list(reversed(variants)):
            dest = base / "svc"
            value = _timed([script, "new", str(dest), *variants[name]], base, env)
            seconds[name].append(value)
            ctx.progress.say(f"{name} run {index + 1}/{params.new_runs}: {value:.2f} s")
            shutil.rmtree(dest, ignore_errors=True)
    return seconds


def _cold(ctx: Context, section: Section) -> None:
    cold = _cold_try_it(ctx, console_script())
    section.tables.append(
        Table(
            caption='Cold "Try it": empty GOCACHE and GOMODCACHE, modules from the proxy',
            headers=["step", "seconds"],
            rows=[[k, f"{v:.1f}"] for k, v in cold.items()],
        )
    )
    section.numbers["cold_try_it"] = cold[COLD_TOTAL]
    section.commands += [
        "# --cold: empty Go caches; the modules come from the proxy",
        "export GOCACHE=$(mktemp -d) GOMODCACHE=$(mktemp -d) GOFLAGS=-modcacherw",
        "goperf-scaffold new svc --defaults && cd svc && go build -o bin/svc ./cmd/svc",
        "bin/svc &   # then poll GET /livez until 200",
    ]


def _chart(ctx: Context, section: Section, seconds: dict[str, list[float]]) -> None:
    chart = ctx.assets / "cli.svg"
    bars = []
    for values in seconds.values():
        spread = Spread.of(values)
        bars.append(_charts.Bar(spread.median, spread.low, spread.high))
    panel = _charts.Panel("warm caches", "seconds", list(seconds), {"wall time": bars})
    if _charts.bars(chart, "CLI wall time (median, min–max)", [panel]):
        section.charts.append(Chart(ctx.rel(chart), "new and update wall time"))
    else:
        section.notes.append(_charts.MISSING_NOTE)


_MEDIAN = re.compile(r"^runs \(s\)\s*:\s*(.+)$", re.MULTILINE)


def _update(ctx: Context, params: Params) -> tuple[list[float], str] | None:
    helper = ctx.repo / "tests" / "_helpers_bench_update.py"
    if not helper.is_file():
        ctx.progress.say("tests/_helpers_bench_update.py is missing: update not timed")
        return None
    out = ctx.progress.run(
        [sys.executable, "-m", "tests._helpers_bench_update", "--runs", str(params.update_runs)],
        ctx.repo,
        env=go_env(),
        label=f"python -m tests._helpers_bench_update --runs {params.update_runs}",
    )
    match = _MEDIAN.search(out)
    if not match:
        raise RuntimeError(f"unexpected output of {helper.name}:\n{out}")
    values = [float(v) for v in match.group(1).split(",")]
    summary = out[out.index("command   :") :] if "command   :" in out else out
    return values, without_verdict(summary)


def without_verdict(summary: str) -> str:
    """The helper's output without its own `target : ... met/missed` line, which judges the
    median alone: the report's verdict is _verdict's, from every run (the table above)."""
    return "\n".join(line for line in summary.splitlines() if not line.startswith("target "))


def _cold_try_it(ctx: Context, script: str) -> dict[str, float]:
    """new → build → first 200 on /livez with empty Go caches (modules from the proxy)."""
    with tempfile.TemporaryDirectory(prefix="goperf-cold-") as tmp:
        root = Path(tmp)
        env = go_env(
            GOCACHE=str(root / "gocache"),
            GOMODCACHE=str(root / "gomodcache"),
            GOFLAGS="-modcacherw",
        )
        timings: dict[str, float] = {}
        ctx.progress.say("cold: goperf-scaffold new svc --defaults with empty Go caches (minutes)")
        started = time.perf_counter()
        timings["`goperf-scaffold new svc --defaults` (tidy, git, build + vet)"] = _timed(
            [script, "new", str(root / "svc"), "--defaults"], root, env
        )
        step = time.perf_counter()
        subprocess.run(
            ["go", "build", "-o", "bin/svc", "./cmd/svc"],
            cwd=root / "svc",
            env=env,
            check=True,
            capture_output=True,
        )
        timings["`go build -o bin/svc ./cmd/svc`"] = time.perf_counter() - step
        addr = f"127.0.0.1:{free_port()}"
        run_env = {
            **env,
            "HTTP_ADDR": addr,
            "DEBUG_ADDR": f"127.0.0.1:{free_port()}",
            "METRICS_ADDR": f"127.0.0.1:{free_port()}",
            "DATABASE_URL": f"file:{root / 'svc.db'}",
            "SHUTDOWN_DRAIN_DELAY": "0s",
        }
        step = time.perf_counter()
        proc = subprocess.Popen(
            [str(root / "svc" / "bin" / "svc")],
            env=run_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while status_of(addr, "/livez", 0.5) != 200:
                if proc.poll() is not None or time.perf_counter() - step > 60:
                    raise RuntimeError("the cold-built service never answered /livez")
                time.sleep(0.005)
            timings["start → first 200 on /livez"] = time.perf_counter() - step
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        timings[COLD_TOTAL] = time.perf_counter() - started
        os.sync()
        return timings
