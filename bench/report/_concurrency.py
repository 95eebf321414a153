"""Sections: the worker pool against pond, ants and a goroutine per task; the tuned HTTP client
against the standard transport with its per-host idle pool raised (the fair baseline) and
untouched (the naive one). Both run bench/concurrency, which compiles the template's own
workerpool and httpclient sources (symlinks), as separate processes in turn, so every
implementation is sampled across the same minutes; benchstat gives medians, confidence
intervals and p-values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.report import _benchstat, _charts
from bench.report._context import Context, duration, num, times
from bench.report._env import go_env
from bench.report._results import Block, Chart, Headline, Section, Table
from bench.report._verdict import Evidence, Target

# Our pool's time per task against the faster of pond and ants, on every workload.
POOL_TARGET = Target("≤", 1.25)
# The tuned client's req/s against the untouched standard transport (the naive baseline).
CLIENT_TARGET = Target("≥", 3.0)


@dataclass(frozen=True)
class Params:
    runs: int  # processes of -test.count=1, in turn
    benchtime: str


# Quick mode proves the harness runs and yields numbers. The pool's io1ms workload sleeps 64 ms
# per op (4096 tasks of 1 ms on 64 workers) in each of its 12 sub-benchmarks, and every
# sub-benchmark runs one op before its timed ones: 3x costs a process about 3 s, 10x about 8 s.
POOL = {True: Params(runs=3, benchtime="3x"), False: Params(runs=10, benchtime="1s")}
CLIENT = {True: Params(runs=3, benchtime="10x"), False: Params(runs=10, benchtime="1s")}


def _module(ctx: Context) -> Path:
    return ctx.repo / "bench" / "concurrency"


def _bench(ctx: Context, name: str, pattern: str, params: Params) -> tuple[Path, str]:
    """Build bench/concurrency's test binary once, run `pattern` in params.runs processes and
    return the raw results file and the command lines."""
    module = _module(ctx)
    binary = ctx.work / "bin" / "concurrency.test"
    binary.parent.mkdir(parents=True, exist_ok=True)
    ctx.progress.run(
        ["go", "test", "./..."],
        module,
        env=go_env(),
        label="go test (bench/concurrency: the symlinks are the template's sources)",
    )
    ctx.progress.run(["go", "test", "-c", "-o", str(binary), "."], module, env=go_env())
    args = ["-test.run=^$", f"-test.bench={pattern}", "-test.benchmem", "-test.count=1"]
    args.append(f"-test.benchtime={params.benchtime}")
    out: list[str] = []
    for index in range(params.runs):
        out.append(
            ctx.progress.run(
                [str(binary), *args],
                module,
                label=f"{name} run {index + 1}/{params.runs}",
                timeout=7200,
            )
        )
    raw = ctx.raw / f"{name}.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text("".join(out))
    command = (
        f"for i in $(seq {params.runs}); do go test -run '^$' -bench '{pattern}' -benchmem "
        f"-count=1 -benchtime={params.benchtime} . ; done > {name}.txt"
    )
    return raw, command


def _stat(ctx: Context, raw: Path, col: str, *extra: str) -> tuple[list[_benchstat.Block], str]:
    module = _module(ctx)
    csv_text = ctx.progress.run(
        ["go", "tool", "benchstat", "-format", "csv", "-col", col, *extra, str(raw)],
        module,
        env=go_env(),
    )
    text = ctx.progress.run(
        ["go", "tool", "benchstat", "-col", col, *extra, str(raw)], module, env=go_env()
    )
    return _benchstat.parse(csv_text), text


def _short(name: str) -> str:
    """Pool/work=cpu/submitters=8-2 -> cpu, 8 submitters."""
    parts = dict(p.split("=", 1) for p in name.rsplit("-", 1)[0].split("/")[1:] if "=" in p)
    if "work" not in parts:
        return name
    count = parts.get("submitters", "?")
    return f"{parts['work']}, {count} submitter{'' if count == '1' else 's'}"


@dataclass
class Worst:
    """Our pool against the faster library of one workload."""

    workload: str
    ratio: float  # our time per task ÷ the faster library's
    library: _benchstat.Cell  # that library's cell (its change is relative to our pool)
    evidence: Evidence  # the ratio with the spread benchstat's intervals allow

    @property
    def significant(self) -> bool:
        return _significant(self.library)


def _significant(cell: _benchstat.Cell) -> bool:
    return cell.delta not in ("~", "?", "") and not math.isnan(cell.p) and cell.p < 0.05


def _pool_rows(
    per_task: _benchstat.Block, allocs: dict[str, dict[str, _benchstat.Cell]]
) -> tuple[list[list[str]], list[Worst]]:
    rows: list[list[str]] = []
    against: list[Worst] = []
    for name, cells in per_task.rows.items():
        row = [_short(name)]
        for impl in per_task.columns:
            cell = cells.get(impl)
            if cell is None:
                row.append("n/a")
            elif impl == "workerpool":
                row.append(f"{duration(cell.median)} ±{cell.ci}")
            else:
                row.append(f"{duration(cell.median)} ±{cell.ci} — {_benchstat.p_text(cell)}")
        libs = [cells[i] for i in ("pond", "ants") if i in cells]
        base = cells.get("workerpool")
        if base and libs:
            fastest = min(libs, key=lambda c: c.median)
            evidence = _benchstat.ratio(base, fastest, fastest, _short(name))
            against.append(Worst(_short(name), evidence.median, fastest, evidence))
        a = allocs.get(name, {})
        row.append(" / ".join(num(a[i].median) if i in a else "n/a" for i in per_task.columns))
        rows.append(row)
    return rows, against


def run_pool(ctx: Context) -> Section:
    params = POOL[ctx.quick]
    section = Section(key="pool", title="Worker pool vs pond, ants and a goroutine per task")
    raw, command = _bench(ctx, "pool", "^BenchmarkPool$", params)
    blocks, text = _stat(ctx, raw, "/impl")
    section.commands = [
        "cd bench/concurrency && go test ./...   # the template's sources, linked",
        command,
        "go tool benchstat -col /impl pool.txt",
    ]
    section.conditions["method"] = (
        f"{params.runs} processes of `-count=1`, each running every implementation in turn "
        f"(`-benchtime={params.benchtime}`); one op is a batch of 4096 tasks; medians with 95% "
        "confidence intervals, p-values from benchstat (Mann-Whitney U), our pool as the base."
    )
    per_task = _benchstat.find(blocks, "sec/task")
    if not per_task:
        raise RuntimeError(f"benchstat found no sec/task figures in {raw}")
    allocs = _benchstat.find(blocks, "allocs/op")
    rows, against = _pool_rows(per_task[0], allocs[0].rows if allocs else {})
    impls = per_task[0].columns
    section.tables.append(
        Table(
            caption=(
                "Time per task (median ± 95% CI; change vs our pool, p-value); "
                "allocations per 4096-task batch"
            ),
            headers=["workload", *impls, f"allocs/op ({' / '.join(impls)})"],
            rows=rows,
        )
    )
    section.blocks.append(Block("benchstat -col /impl (sec/task)", _only_unit(text, "sec/task")))
    worst = max(against, key=lambda w: w.ratio)
    slower = [w for w in against if w.ratio > 1 and w.significant]
    section.numbers["pool_vs_fastest_library_worst"] = worst.ratio
    section.numbers["pool_significantly_slower_workloads"] = float(len(slower))
    section.headlines.append(pool_headline(against))
    section.summary = (
        f"Our pool's time per task is at most {times(worst.ratio)} of the faster of pond and "
        f"ants ({worst.workload}); benchstat finds it significantly slower on {len(slower)} of "
        f"{len(against)} workloads."
    )
    groups = [_short(n) for n in per_task[0].rows]
    series = {impl: [_ci_bar(c.get(impl)) for c in per_task[0].rows.values()] for impl in impls}
    panels = []
    for title, prefix in (("CPU task (~100 ns)", "cpu"), ("1 ms task", "io1ms")):
        idx = [i for i, g in enumerate(groups) if g.startswith(prefix + ",")]
        if idx:
            names = [groups[i].split(", ")[1] for i in idx]
            scaled = {k: [_scale(v[i], 1e9) for i in idx] for k, v in series.items()}
            panels.append(_charts.Panel(title, "ns per task", names, scaled))
    chart = ctx.assets / "pool.svg"
    if _charts.bars(chart, "Worker pools: time per task (median, 95% CI)", panels):
        section.charts.append(Chart(ctx.rel(chart), "time per task of each pool per workload"))
    else:
        section.notes.append(_charts.MISSING_NOTE)
    return section


def pool_headline(against: list[Worst]) -> Headline:
    """The summary row: our pool against the faster library, judged on every workload."""
    worst = max(against, key=lambda w: w.ratio)
    slower = [w for w in against if w.ratio > 1 and w.significant]
    return Headline.judged(
        "worker pool time per task vs the faster of pond and ants, on every workload",
        f"worst {times(worst.ratio)} ({worst.workload}; {_benchstat.p_text(worst.library)} "
        f"for the library); slower with significance on {len(slower)} of {len(against)}",
        POOL_TARGET,
        [w.evidence for w in against],
    )


def client_headlines(
    tuned: _benchstat.Cell, fair: _benchstat.Cell, naive: _benchstat.Cell
) -> list[Headline]:
    """The summary rows: the tuned client against the fair baseline (recorded) and against the
    naive one (judged)."""
    verdict = "no significant difference" if fair.delta in ("~", "?") else f"p={fair.p:.3f}"
    return [
        Headline(
            "tuned client req/s vs the standard transport with `MaxIdleConnsPerHost=64` (fair)",
            f"{times(tuned.median / fair.median)} ({verdict})",
            "recorded (the fair baseline)",
        ),
        Headline.judged(
            "tuned client req/s vs the untouched standard transport (naive)",
            f"{times(tuned.median / naive.median)} ({_benchstat.p_text(naive)} for standard)",
            CLIENT_TARGET,
            [_benchstat.ratio(tuned, naive, naive)],
        ),
    ]


def run_client(ctx: Context) -> Section:
    params = CLIENT[ctx.quick]
    section = Section(key="client", title="Tuned HTTP client vs the standard transport")
    raw, command = _bench(ctx, "httpclient", "^BenchmarkHTTPClient$", params)
    blocks, text = _stat(ctx, raw, "/client")
    section.commands = [
        command,
        "go tool benchstat -col /client httpclient.txt",
    ]
    section.conditions["method"] = (
        f"{params.runs} processes of `-count=1` (`-benchtime={params.benchtime}`); one op is 64 "
        "concurrent GETs to one TLS server (HTTP/1.1, 2 KiB body); `tuned` is the template's "
        "`httpclient.New`, `standard-idle64` a clone of `http.DefaultTransport` with "
        "`MaxIdleConnsPerHost = 64` (the fair baseline), `standard` an untouched clone (the "
        "naive one)."
    )
    r, c, a = (_first_row(blocks, unit) for unit in ("req/s", "conns/op", "allocs/op"))
    rows = []
    tuned = r.get("tuned")
    for client in ("tuned", "standard-idle64", "standard"):
        cell = r.get(client)
        if cell is None:
            continue
        ratio_text = times(tuned.median / cell.median) if tuned and cell.median else "n/a"
        rows.append(
            [
                client,
                f"{num(cell.median)} ±{cell.ci}",
                ratio_text if client != "tuned" else "—",
                _benchstat.p_text(cell) if client != "tuned" else "base",
                num(c[client].median, 1) if client in c else "n/a",
                num(a[client].median) if client in a else "n/a",
            ]
        )
        section.numbers[f"{client}_rps"] = cell.median
    section.tables.append(
        Table(
            caption="64 concurrent requests per op (benchstat medians ± 95% CI)",
            headers=["client", "req/s", "tuned ×", "change vs tuned", "new conns/op", "allocs/op"],
            rows=rows,
        )
    )
    section.blocks.append(Block("benchstat -col /client (req/s)", _only_unit(text, "req/s")))
    fair, naive = r.get("standard-idle64"), r.get("standard")
    if tuned and fair and naive:
        section.numbers["tuned_vs_idle64"] = tuned.median / fair.median
        section.numbers["tuned_vs_standard"] = tuned.median / naive.median
        section.headlines += client_headlines(tuned, fair, naive)
        section.summary = (
            f"The tuned client gets {times(tuned.median / fair.median)} the requests per second "
            "of the standard transport with its per-host idle pool raised to 64 — the one "
            f"setting that matters here — and {times(tuned.median / naive.median)} of the "
            "untouched standard transport, which keeps 2 idle connections per host and so "
            "opens a new TLS connection for almost every request."
        )
        chart = ctx.assets / "client.svg"
        panel = _charts.Panel(
            "64 concurrent requests",
            "req/s",
            ["HTTPClient"],
            {k: [_ci_bar(r.get(k))] for k in ("tuned", "standard-idle64", "standard") if k in r},
        )
        if _charts.bars(chart, "HTTP clients: throughput (median, 95% CI)", [panel]):
            section.charts.append(Chart(ctx.rel(chart), "req/s of the three clients"))
        else:
            section.notes.append(_charts.MISSING_NOTE)
    return section


def _first_row(blocks: list[_benchstat.Block], unit: str) -> dict[str, _benchstat.Cell]:
    """The cells of the first benchmark in the first table of unit ({} when there is none)."""
    found = _benchstat.find(blocks, unit)
    return next(iter(found[0].rows.values())) if found and found[0].rows else {}


def _ci_bar(cell: _benchstat.Cell | None) -> _charts.Bar:
    if cell is None:
        return _charts.Bar(math.nan, math.nan, math.nan)
    try:
        spread = float(cell.ci.rstrip("%")) / 100 * cell.median
    except ValueError:
        spread = 0.0
    return _charts.Bar(cell.median, cell.median - spread, cell.median + spread)


def _scale(bar: _charts.Bar, factor: float) -> _charts.Bar:
    return _charts.Bar(bar.median * factor, bar.low * factor, bar.high * factor)


def _only_unit(text: str, unit: str) -> str:
    """The benchstat text tables whose header rows name unit."""
    chunks = text.strip("\n").split("\n\n")
    keep = [c for c in chunks if any(unit in line for line in c.splitlines()[:6])]
    return "\n\n".join(keep) if keep else text.strip("\n")
