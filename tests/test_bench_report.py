"""`python -m bench.report --quick`: every harness behind a published figure still runs and
produces numbers, and the document embeds its charts and states how each figure was measured.
No speed is asserted: a quick run proves the commands work, not how fast anything is."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import _http_attribution
from bench.report._external import HARNESSES
from bench.report._http_attribution import CATEGORIES, PAIRS
from bench.report._render import ORDER
from bench.report._results import Section
from bench.report._verdict import MIN_ROUNDS, judge_all
from bench.report.cli import RUNNERS

from .conftest import IN_CI, REPO_ROOT, go_env, need

pytestmark = [pytest.mark.go, pytest.mark.bench]

MEASURED_HERE = ("http", "ingest", "pool", "client", "pgo", "cli")


# The report's sections in two groups, run as two `python -m bench.report --quick --only ...`
# processes at once (each with its own work folder, both writing their sections' results into
# one output folder); `python -m bench.report --render` then writes the document from every
# section's saved results, as the single `python -m bench.report --quick` does at its end. A
# quick run judges no speed, and one section alone keeps CI's 2 CPUs only about half busy
# (fixed-length load runs, sleeps, fsyncs): together they finish in about 170 s instead of
# about 290 s. The groups are about equally long; every section is in exactly one of them.
GROUPS = (("http", "pool", "client", "pgo"), ("store", "ingest", "cli", "observability"))


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    for tool in ("go", "git", "make", "bash"):
        need(tool)
    if IN_CI:
        need("wrk")  # the load generator the published HTTP figures use (else: loadgen)
        need("taskset")
    assert sorted(key for group in GROUPS for key in group) == sorted(RUNNERS)
    root = tmp_path_factory.mktemp("report")
    out = root / "docs"
    command = [sys.executable, "-m", "bench.report"]
    runs: list[tuple[list[str], subprocess.Popen[bytes], Path]] = []
    for index, group in enumerate(GROUPS):
        argv = [*command, "--quick", "--only", *group, "--out", str(out)]
        argv += ["--work", str(root / f"work-{index}")]
        log = root / f"group-{index}"
        with log.with_suffix(".out").open("w") as out_log, log.with_suffix(".err").open("w") as err:
            proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=go_env(), stdout=out_log, stderr=err)
        runs.append((argv, proc, log))
    codes = []
    try:
        for _, proc, _ in runs:
            codes.append(proc.wait(timeout=3600))
    finally:
        for _, proc, _ in runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stdout = "".join(log.with_suffix(".out").read_text() for _, _, log in runs)
    stderr = "".join(log.with_suffix(".err").read_text() for _, _, log in runs)
    render = subprocess.run(
        [*command, "--render", "--out", str(out)],
        cwd=REPO_ROOT,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    codes.append(render.returncode)
    completed = subprocess.CompletedProcess(
        args=[" ".join(a) for a, _, _ in runs] + [" ".join(render.args)],
        returncode=next((code for code in codes if code), 0),
        stdout=stdout + render.stdout,
        stderr=stderr + render.stderr,
    )
    return out, completed


def section(out: Path, key: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "benchmarks" / f"{key}.json").read_text())
    return data


def test_the_quick_report_runs_every_section(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, completed = report
    assert completed.returncode == 0, completed.stderr[-8000:]
    for key in ORDER:
        assert (out / "benchmarks" / f"{key}.json").is_file(), key
        # Progress is visible while it runs: every section announces itself and its end.
        assert f"] {key}: starting (load average" in completed.stderr
        assert (
            f"] {key}: ran in " in completed.stderr or f"] {key}: skipped in " in completed.stderr
        )


@pytest.mark.parametrize("key", MEASURED_HERE)
def test_each_harness_produced_numbers(
    key: str, report: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, _ = report
    data = section(out, key)
    assert data["status"] == "ran", data.get("notes")
    numbers = data["numbers"]
    assert isinstance(numbers, dict)
    assert numbers, f"{key} produced no figures"
    assert all(math.isfinite(v) for v in numbers.values()), numbers
    # Counts, rates and ratios are never negative; a difference (extra allocations) may be.
    assert all(v >= 0 for k, v in numbers.items() if "extra" not in k), numbers
    assert data["tables"], f"{key} has no table"
    assert data["commands"], f"{key} does not state its commands"


@pytest.mark.parametrize("key", sorted(HARNESSES))
def test_external_harnesses_run_when_present_and_say_so_when_absent(
    key: str, report: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, _ = report
    data = section(out, key)
    present = any((REPO_ROOT / script).is_file() for script in HARNESSES[key].scripts)
    if present:
        assert data["status"] == "ran", data.get("notes")
        assert data["numbers"], f"{key}'s harness printed no figures"
    else:
        assert data["status"] == "skipped"
        assert "Not available in this checkout" in (out / "benchmarks.md").read_text()


def test_the_headline_figures_are_there(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = report
    http = section(out, "http")["numbers"]
    assert isinstance(http, dict)
    for name in ("livez_vs_fair", "livez_vs_bare", "generated_livez_allocs", "fair_livez_allocs"):
        assert name in http, name
    for name in ("generated_livez_rps", "fair_livez_rps", "bare_readyz_rps"):
        assert http[name] > 0, name
    # The attribution: every side-by-side pair measured, every part of the profile reported
    # (that the parts account for all of pprof's samples is checked as the report parses them:
    # tests/test_bench_http_attribution.py).
    for key, *_ in PAIRS:
        assert http[f"side_by_side_cpu_ratio_{key}"] > 0, key
    assert all(f"profile_share_{key}" in http for key, _ in CATEGORIES)
    assert http["profile_share_syscalls"] > 0  # a request reads and writes its socket
    client = section(out, "client")["numbers"]
    assert isinstance(client, dict)
    assert {"tuned_vs_idle64", "tuned_vs_standard"} <= client.keys()
    assert "pgo_time_geomean_ratio" in section(out, "pgo")["numbers"]  # type: ignore[operator]


def test_the_document_embeds_its_charts_and_states_the_conditions(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = report
    doc = (out / "benchmarks.md").read_text()
    assert doc.startswith("# Benchmarks\n")
    assert "## Summary" in doc
    for number, key in enumerate(ORDER, start=1):
        assert f'<a id="{key}"></a>\n\n## {number}. ' in doc, key
    for key in MEASURED_HERE:
        data = section(out, key)
        charts = data["charts"]
        assert isinstance(charts, list)
        assert charts, f"{key} has no chart (is matplotlib installed? pip install -e '.[test]')"
        for chart in charts:
            assert f"]({chart['file']})" in doc
            assert (out / chart["file"]).read_text().lstrip().startswith("<?xml")
    # Every section that measured states where and under which load (the external harnesses'
    # sections too, once they exist).
    assert doc.count("**Load average (1 min) before → after**") >= len(MEASURED_HERE)
    assert doc.count("**Machine**: ") >= len(MEASURED_HERE)
    assert "Quick mode" in doc
    assert "go tool benchstat -col /impl" in doc
    assert "p=" in doc


# A Go benchmark line: name, iterations, then value-unit pairs.
LINE = re.compile(r"^(Benchmark\S+)\s+(\d+)\s+(.*)$")


def benchmark_lines(path: Path) -> dict[str, dict[str, float]]:
    """The metrics of each benchmark in a results file, by name without the -N suffix."""
    out: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        assert m, f"not a benchmark line in {path.name}: {line!r}"
        fields = m.group(3).split()
        pairs = zip(fields[::2], fields[1::2], strict=True)
        out[re.sub(r"-\d+$", "", m.group(1))] = {unit: float(value) for value, unit in pairs}
    return out


def test_the_store_harness_produced_every_figure(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """bench/store/run.sh (docs/benchmarks-store.md) in its quick mode, run by the report:
    every writer count and mode in-process, every client count and build end to end, on SQLite
    and (in CI, or with TEST_POSTGRES_URL) PostgreSQL. Numbers produced, never judged."""
    out, _ = report
    raw = out / "benchmarks" / "raw" / "store"
    databases = ["sqlite"]
    if IN_CI or os.environ.get("TEST_POSTGRES_URL"):
        databases.append("postgres")
    for db in databases:
        inproc = benchmark_lines(raw / f"inproc-{db}.txt")
        for writers in (1, 8, 64, 256):
            for mode in ("pertx", "batched", "linger"):
                metrics = inproc[f"BenchmarkInsert/writers={writers}/mode={mode}"]
                assert metrics["rows/s"] > 0
                if mode != "pertx":
                    assert metrics["rows/commit"] >= 1
        e2e = benchmark_lines(raw / f"e2e-{db}.txt")
        for clients in (1, 64):
            for build in ("pertx", "batched"):
                metrics = e2e[f"BenchmarkE2E/db={db}/clients={clients}/build={build}"]
                assert metrics["events/s"] > 0
                assert 0 < metrics["p50-ns"] <= metrics["p99-ns"]
    assert "load average" in (raw / "load.txt").read_text()
    environment = (raw / "environment.txt").read_text()
    assert "filesystem of the SQLite files" in environment
    assert "synchronous=FULL" in environment
    if "postgres" in databases:
        assert "synchronous_commit=" in environment
    assert "rows/s" in (raw / "summary.txt").read_text()
    # The headline ratios reach the report's summary table (bench/report/harness_summary.py).
    numbers = section(out, "store")["numbers"]
    assert isinstance(numbers, dict)
    for db in databases:
        for writers in (1, 8, 64, 256):
            assert numbers[f"{db}_batched_vs_pertx_{writers}_writers"] > 0
        for clients in (1, 64):
            assert numbers[f"{db}_http_batched_vs_pertx_{clients}_clients"] > 0


def test_the_observability_harness_produced_every_number(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """scripts/bench_observability.py (docs/benchmarks-observability.md) in its quick mode, run
    by the report: every variant and endpoint under load, and the handler benchmarks'
    allocations per request. Numbers produced, never judged."""
    out, _ = report
    results = json.loads(
        (out / "benchmarks" / "raw" / "observability" / "results.json").read_text()
    )
    variants = set(results["variants"])
    assert {"off", "metrics", "metrics+log", "defaults", "defaults+otel"} <= variants
    runs = results["runs"]
    for variant in variants:
        for endpoint in ("livez", "events"):
            mine = [r for r in runs if r["variant"] == variant and r["endpoint"] == endpoint]
            assert len(mine) == 1, (variant, endpoint)
            assert mine[0]["rps"] > 0, mine
            assert mine[0]["p99_ms"] > 0, mine
            assert mine[0]["cpu_us"] > 0, mine
            assert mine[0]["errors"] == 0, mine
    handler = results["handler"]
    for name in (
        "BenchmarkMiddleware/bare",
        "BenchmarkMiddleware/metrics",
        "BenchmarkHandler/otel",
    ):
        assert handler[name]["ns_per_op"] > 0, handler
        assert handler[name]["allocs_per_op"] >= 0, handler
    assert results["uptime"]
    assert "load average" in results["uptime"][0]
    # The markdown summary names every variant with its ratio to the baseline.
    markdown = (out / "benchmarks.md").read_text()
    for variant in variants:
        assert f"| {variant} |" in markdown
    numbers = section(out, "observability")["numbers"]
    assert isinstance(numbers, dict)
    for variant in variants - {"off"}:
        for endpoint in ("livez", "events"):
            assert numbers[f"{endpoint}_cpu_per_request_{variant}_vs_off"] > 0


def test_every_verdict_comes_from_the_rule_and_a_quick_run_gives_none(
    report: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Every target of the summary table is judged by bench/report/_verdict.py from the rounds
    (or benchstat comparison) its section recorded, never from a bare median: the quick run
    prints no verdict, and its few rounds could not resolve a round-based target anyway."""
    out, _ = report
    doc = (out / "benchmarks.md").read_text()
    summary = doc.split("## Summary", 1)[1].split('<a id="http"></a>', 1)[0]
    assert not re.search(r": (met|missed) ", summary), summary
    judged = 0
    for key in ORDER:
        for row in Section.load(out / "benchmarks" / f"{key}.json").headlines:
            if row.goal is None:
                continue
            judged += 1
            shown = f"| {row.comparison} | {row.measured} | {row.goal.text()} (quick run: no "
            assert shown in summary, (key, row.comparison)
            assert row.evidence, (key, row.comparison)
            for evidence in row.evidence:
                assert evidence.n > 0, (key, row.comparison, evidence)
                if evidence.method == "side by side":
                    assert evidence.n == _http_attribution.QUICK.rounds, evidence
            if all(e.method != "benchstat" and e.n < MIN_ROUNDS for e in row.evidence):
                assert judge_all(row.goal, row.evidence).state == "not resolved", row
    # http 4, store 3 per database, pool 1, client 1, cli 2, observability 3
    assert judged >= 14, judged
