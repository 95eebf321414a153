"""Section: PGO vs no PGO on the generated service's handlers, with the project's own profile.

`make profile` runs the generated service (database=none) under its load generator's default
mix and saves a CPU profile of the measured window: the profile `make pgo` would install as
cmd/svc/default.pgo. The handler benchmarks of internal/server (every route, through the
middleware) are compiled twice, with that profile and with -pgo=off, and run in alternating
processes; benchstat compares them. The full report also runs `make pgo-compare` (the service
under load, PGO and no-PGO binaries in turn).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.report import _benchstat, _charts
from bench.report._context import Context, duration, times
from bench.report._env import go_env
from bench.report._projects import generate, make
from bench.report._results import Block, Chart, Headline, Section, Table


@dataclass(frozen=True)
class Params:
    profile_seconds: int
    runs: int
    benchtime: str
    # Packages whose benchmarks are compared. Quick mode keeps to the pool and the fan-out:
    # a PGO build recompiles every dependency with the profile, and the handlers' include
    # net/http and crypto/tls (minutes on 2 cores).
    packages: tuple[str, ...]
    load_compare: bool  # also `make pgo-compare` (the service under load)
    compare_runs: int = 10
    compare_seconds: int = 10


QUICK = Params(
    profile_seconds=3,
    runs=2,
    benchtime="2000x",
    packages=("./internal/workerpool", "./internal/fanout"),
    load_compare=False,
)
FULL = Params(
    profile_seconds=30,
    runs=10,
    benchtime="1s",
    packages=("./internal/server", "./internal/workerpool", "./internal/fanout"),
    load_compare=True,
)
VARIANTS = ("nopgo", "pgo")


def run(ctx: Context) -> Section:
    params = QUICK if ctx.quick else FULL
    section = Section(key="pgo", title="PGO vs no PGO (the project's own profile)")
    # A copy of its own: `make pgo` leaves a default.pgo that later builds would pick up.
    project = generate(ctx.work, "none-pgo", {"database": "none"}, ctx.progress)
    profile = _record_profile(ctx, project, params)
    raws = _compare(ctx, project, profile, params)
    pair = [f"{v}={raws[v]}" for v in VARIANTS]
    text = ctx.progress.run(["go", "tool", "benchstat", *pair], project, env=go_env())
    csv_text = ctx.progress.run(
        ["go", "tool", "benchstat", "-format", "csv", *pair], project, env=go_env()
    )
    blocks = _benchstat.find(_benchstat.parse(csv_text), "sec/op")
    section.commands = _commands(params)
    section.conditions["method"] = (
        f"profile: {params.profile_seconds} s of the load generator's default mix "
        "(`POST /v1/jobs`, `GET /v1/fanout`) against the built service; the benchmarks of "
        f"{', '.join(p.removeprefix('./') for p in params.packages)}, {params.runs} "
        f"alternating runs of each test binary (`-benchtime={params.benchtime}`); benchstat "
        "medians, 95% confidence intervals, p-values."
    )
    section.tables.append(_table(section, blocks))
    section.blocks.append(Block("go tool benchstat nopgo=… pgo=…", text.strip("\n")))
    _chart(ctx, section, blocks)
    if params.load_compare:
        make(project, ctx.progress, "pgo", f"PROFILE={profile}")
        runs = [f"PGO_RUNS={params.compare_runs}", f"PGO_RUN_SECONDS={params.compare_seconds}"]
        out = make(project, ctx.progress, "pgo-compare", *runs)
        section.commands.append(
            f"make pgo PROFILE=profiles/cpu-<commit>.pprof && make pgo-compare {' '.join(runs)}"
        )
        section.blocks.append(
            Block("make pgo-compare (the service under load; benchstat)", _tail_benchstat(out))
        )
    else:
        section.notes.append(
            "Quick mode compares the pool and fan-out benchmarks only; the handler benchmarks "
            "and `make pgo-compare` (the service under load) run in the full report."
        )
    return section


def _record_profile(ctx: Context, project: Path, params: Params) -> Path:
    """`make profile`: the service under its default load; the profile `make pgo` installs."""
    profiles = project / "profiles"
    shutil.rmtree(profiles, ignore_errors=True)
    seconds = f"PROFILE_SECONDS={params.profile_seconds}"
    make(project, ctx.progress, "profile", seconds, "PROFILE_WARMUP=1s")
    (profile,) = sorted(profiles.glob("cpu-*.pprof"))
    ctx.raw.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(profile, ctx.raw / "pgo-profile.pprof")
    return profile


def _compare(ctx: Context, project: Path, profile: Path, params: Params) -> dict[str, Path]:
    """Build each package's test binary with and without the profile, run them in alternating
    rounds, and return the results file of each variant."""
    bins = ctx.work / "bin" / "pgo"
    bins.mkdir(parents=True, exist_ok=True)
    flags = {"nopgo": "-pgo=off", "pgo": f"-pgo={profile}"}
    binaries: dict[tuple[str, str], Path] = {}
    for index, package in enumerate(params.packages):
        for variant in VARIANTS:
            binary = bins / f"{index}-{variant}.test"
            shown = flags[variant].replace(str(profile), "profiles/cpu-….pprof")
            ctx.progress.run(
                ["go", "test", "-c", flags[variant], "-o", str(binary), package],
                project,
                env=go_env(),
                label=f"go test -c {shown} {package}",
            )
            binaries[package, variant] = binary
    args = ["-test.run=^$", "-test.bench=.", "-test.benchmem", "-test.count=1"]
    args.append(f"-test.benchtime={params.benchtime}")
    outputs: dict[str, list[str]] = {v: [] for v in VARIANTS}
    for index in range(params.runs):
        order = VARIANTS if index % 2 == 0 else VARIANTS[::-1]
        for package in params.packages:
            for variant in order:
                outputs[variant].append(
                    ctx.progress.run(
                        [str(binaries[package, variant]), *args],
                        project / package,
                        label=f"run {index + 1}/{params.runs}: {package} {variant}",
                    )
                )
    raws = {}
    for variant, chunks in outputs.items():
        raws[variant] = ctx.raw / f"pgo-{variant}.txt"
        raws[variant].write_text("".join(chunks))
    return raws


def _commands(params: Params) -> list[str]:
    run_args = (
        f"-test.run='^$' -test.bench=. -test.benchmem -test.count=1 "
        f"-test.benchtime={params.benchtime}"
    )
    return [
        "# in the generated service (database=none)",
        f"make profile PROFILE_SECONDS={params.profile_seconds} PROFILE_WARMUP=1s"
        "   # what `make pgo` records",
        f"# for each of {' '.join(params.packages)}:",
        "go test -c -pgo=off                         -o nopgo.test PACKAGE",
        "go test -c -pgo=profiles/cpu-<commit>.pprof -o pgo.test   PACKAGE",
        f"# {params.runs} rounds, alternating which variant goes first, in the package folder:",
        f"./nopgo.test {run_args} >> nopgo.txt",
        f"./pgo.test   {run_args} >> pgo.txt",
        "go tool benchstat nopgo=nopgo.txt pgo=pgo.txt",
    ]


def _table(section: Section, blocks: list[_benchstat.Block]) -> Table:
    rows = []
    ratios = []
    significant = 0
    for block in blocks:
        for bench, cells in block.rows.items():
            off, on = cells.get("nopgo"), cells.get("pgo")
            if not off or not on:
                continue
            ratios.append(on.median / off.median)
            significant += on.delta not in ("~", "?", "") and on.p < 0.05
            pkg = block.pkg.rsplit("/", 1)[-1]
            rows.append(
                [
                    f"{pkg}: {bench}",
                    f"{duration(off.median)} ±{off.ci}",
                    f"{duration(on.median)} ±{on.ci}",
                    _benchstat.p_text(on),
                ]
            )
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        section.numbers["pgo_time_geomean_ratio"] = geomean
        section.numbers["pgo_significant_changes"] = float(significant)
        section.headlines.append(
            Headline(
                "PGO with the project's own profile (time per op, geomean of the benchmarks)",
                f"{times(geomean)} of no-PGO; {significant} of {len(ratios)} changes significant",
                "recorded: a gain counts only where benchstat calls it significant",
            )
        )
        if significant:
            section.summary = (
                f"With a profile of its own load, benchstat calls {significant} of "
                f"{len(ratios)} differences significant (see the table for which, and which "
                f"way); the geomean of all medians is {times(geomean)} of the no-PGO build."
            )
        else:
            section.summary = (
                f"With a profile of its own load, no benchmark changed significantly: the "
                f"geomean of the medians, {times(geomean)} of the no-PGO build, is noise by "
                "benchstat's test."
            )
    return Table(
        caption="Time per op (benchstat medians ± 95% CI)",
        headers=["benchmark", "-pgo=off", "-pgo=profile", "change (p-value)"],
        rows=rows,
    )


def _chart(ctx: Context, section: Section, blocks: list[_benchstat.Block]) -> None:
    names, off_bars, on_bars = [], [], []
    for block in blocks:
        for bench, cells in block.rows.items():
            if "nopgo" in cells and "pgo" in cells:
                names.append(bench.rsplit("-", 1)[0])
                base, on = cells["nopgo"].median, cells["pgo"]
                spread = _pct(on.ci) * on.median
                off_bars.append(_charts.Bar(1.0, 1.0, 1.0))
                on_bars.append(
                    _charts.Bar(
                        on.median / base, (on.median - spread) / base, (on.median + spread) / base
                    )
                )
    chart = ctx.assets / "pgo.svg"
    panel = _charts.Panel(
        "time per op relative to -pgo=off",
        "× no-PGO",
        names,
        {"-pgo=off": off_bars, "PGO": on_bars},
    )
    if _charts.bars(chart, "PGO vs no PGO (median, 95% CI)", [panel]):
        section.charts.append(Chart(ctx.rel(chart), "PGO time per op relative to no PGO"))
    else:
        section.notes.append(_charts.MISSING_NOTE)


def _pct(ci: str) -> float:
    try:
        return float(ci.rstrip("%")) / 100
    except ValueError:
        return 0.0


def _tail_benchstat(out: str) -> str:
    lines = out.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("goos:"):
            return "\n".join(lines[index:]).strip()
    return "\n".join(lines[-30:]).strip()
