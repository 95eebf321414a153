"""bench/store/run.sh, the harness behind docs/benchmarks-store.md, runs in its quick mode and
produces every figure the document publishes. It asserts that numbers were produced, never how
large they are: speed is measured there, not tested here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import IN_CI, REPO_ROOT, go_env, need

pytestmark = [pytest.mark.go, pytest.mark.e2e]

RUN_SH = REPO_ROOT / "bench" / "store" / "run.sh"
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


def test_store_benchmark_quick_mode_produces_every_figure(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    need("go")
    env = go_env(COPIER=str(Path(sys.executable).parent / "copier"))
    databases = ["sqlite"]
    if IN_CI or os.environ.get("TEST_POSTGRES_URL"):
        env["TEST_POSTGRES_URL"] = request.getfixturevalue("postgres_url")
        need("psql")
        databases.append("postgres")
    out = tmp_path / "results"
    proc = subprocess.run(
        ["bash", str(RUN_SH), "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"

    for db in databases:
        inproc = benchmark_lines(out / f"inproc-{db}.txt")
        for writers in (1, 8, 64, 256):
            for mode in ("pertx", "batched", "linger"):
                metrics = inproc[f"BenchmarkInsert/writers={writers}/mode={mode}"]
                assert metrics["rows/s"] > 0
                if mode != "pertx":
                    assert metrics["rows/commit"] >= 1
        e2e = benchmark_lines(out / f"e2e-{db}.txt")
        for clients in (1, 64):
            for build in ("pertx", "batched"):
                metrics = e2e[f"BenchmarkE2E/db={db}/clients={clients}/build={build}"]
                assert metrics["events/s"] > 0
                assert 0 < metrics["p50-ns"] <= metrics["p99-ns"]

    assert "load average" in (out / "load.txt").read_text()
    environment = (out / "environment.txt").read_text()
    assert "filesystem of the SQLite files" in environment
    assert "synchronous=FULL" in environment
    if "postgres" in databases:
        assert "synchronous_commit=" in environment
    summary = (out / "summary.txt").read_text()
    assert "rows/s" in summary
    assert "events/s" in summary
