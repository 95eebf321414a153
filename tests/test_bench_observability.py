"""The observability benchmark harness (scripts/bench_observability.py) runs end to end in its
quick mode and produces numbers: every variant and endpoint under load, and the handler
benchmarks' allocations per request. Speed is never asserted here; the full run's figures are
in docs/benchmarks-observability.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, go_env, need

pytestmark = [pytest.mark.go, pytest.mark.e2e]


def test_quick_mode_produces_every_number(tmp_path: Path) -> None:
    need("go")
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bench_observability.py"), "--quick",
         "--out", str(out)],
        cwd=REPO_ROOT,
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.read_text())
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
    for variant in variants:
        assert f"| {variant} |" in proc.stdout
