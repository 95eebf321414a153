"""The benchmark-regression gate of generated projects (`make bench-gate`, cmd/benchgate): it
passes when nothing changed, fails when a zero-allocation path starts to allocate, prints only the
significant changes, and CI runs it on pull requests. Its sensitivity to a 15% slowdown and its
false-alarm rate are measured on synthetic samples by the project's own Go test
(cmd/benchgate/gate_test.go), which the generated projects' test suites run: a real 15%
slowdown cannot be resolved reliably on the suite's busy 2-core machine, an allocation can."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import PROFILES, Rendered, go_env, need, run

pytestmark = pytest.mark.go

# The gate compares only this benchmark here, with the shipped runs, run time and threshold.
QUICK_GATE = ["GATE_PKGS=./internal/server", "GATE_BENCH=^BenchmarkLivez$"]

# GET /livez's handler, zero-allocation: its first statement becomes an allocation.
_LIVEZ_BODY = re.compile(
    r"(func handleLivez\(\) http\.Handler \{\n(?:\t[^\n]*\n)*?"
    r"\treturn http\.HandlerFunc\(func\([^)]*\) \{\n)"
)


def gate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("make"), "--no-print-directory", "bench-gate", *args],
        cwd=project,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )


@pytest.fixture
def committed(rendered_profiles: dict[str, Rendered], tmp_path: Path) -> Path:
    """A private git copy of the minimal profile, everything committed."""
    git = need("git")
    need("bash")
    project = tmp_path / "svc"
    shutil.copytree(
        rendered_profiles["minimal"].path, project, ignore=shutil.ignore_patterns(".git")
    )
    ident = ["-c", "user.name=gate", "-c", "user.email=gate@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "generated"]):
        run([git, *args], project)
    return project


def test_gate_passes_without_a_change_and_fails_when_a_zero_allocation_path_allocates(
    committed: Path,
) -> None:
    # Nothing changed: the same code on both sides passes at the shipped threshold (10%).
    unchanged = gate(committed, "BASE=HEAD", *QUICK_GATE)
    output = unchanged.stdout + unchanged.stderr
    assert unchanged.returncode == 0, output
    verdict = [line for line in unchanged.stdout.splitlines() if "bench-gate: PASS" in line]
    assert len(verdict) == 1, output
    assert "in 3 comparisons of sec/op, B/op, allocs/op" in verdict[0], "one line sums it up"
    # Only significant changes are listed, one a line: none, or a time within the threshold.
    listed = [line for line in unchanged.stdout.splitlines() if line.startswith("  ")]
    assert all(line.startswith(("  worse ", "  better ")) for line in listed), output
    results = committed / "bench-results" / "gate"
    assert "BenchmarkLivez" in (results / "base.txt").read_text()
    assert "BenchmarkLivez" in (results / "head.txt").read_text()
    assert re.search(r"Livez-\d+\s+\S+ ± ", (results / "benchstat.txt").read_text()), (
        "benchstat's full comparison is saved"
    )
    worktrees = run(["git", "worktree", "list"], committed).stdout.strip().splitlines()
    assert len(worktrees) == 1, f"the base worktree is removed afterwards: {worktrees}"

    # GET /livez starts to allocate: 0 -> 1 allocs/op, 0 -> 16 B/op. benchstat cannot put a
    # change from 0 in percent (it writes "?"); the gate fails it whatever the threshold.
    handlers = committed / "internal" / "server" / "handlers_health.go"
    source = handlers.read_text()
    allocating, count = _LIVEZ_BODY.subn(r'\1\t\tw.Header()["X-Gate"] = []string{"on"}\n', source)
    assert count == 1, f"handleLivez changed shape; update this test:\n{source}"
    handlers.write_text(allocating)

    regressed = gate(committed, "BASE=HEAD", *QUICK_GATE)
    output = regressed.stdout + regressed.stderr
    assert regressed.returncode != 0, output
    assert re.search(r"^bench-gate: FAIL: [23] regression", regressed.stdout, re.M), output
    for unit, grown in (("allocs/op", "0 -> 1"), ("B/op", "0B -> 16B")):
        assert re.search(
            rf"^  REGRESSION \S+/internal/server Livez-\d+ {unit}: {grown} \(from 0, p=",
            regressed.stdout,
            re.M,
        ), output


def test_gate_needs_a_base_it_can_find(committed: Path) -> None:
    missing = gate(committed, "BASE=no-such-branch", *QUICK_GATE)
    assert missing.returncode != 0
    assert "-base no-such-branch is not a commit here" in missing.stderr


CI_PROFILES = [
    name for name, answers in PROFILES.items() if answers.get("ci", "github") == "github"
]


@pytest.mark.parametrize("name", CI_PROFILES)
def test_ci_runs_the_gate_on_pull_requests(
    name: str, rendered_profiles: dict[str, Rendered]
) -> None:
    project = rendered_profiles[name]
    workflow = yaml.safe_load((project.path / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["bench-gate"]
    assert job["if"] == "github.event_name == 'pull_request'"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "the base branch must be in the clone"
    step = next(s for s in job["steps"] if "make bench-gate" in s.get("run", ""))
    assert step["run"] == 'make bench-gate BASE="origin/$BASE_REF"'
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    makefile = (project.path / "Makefile").read_text()
    assert re.search(r"^bench-gate:.*## ", makefile, flags=re.MULTILINE)
    assert "GATE_THRESHOLD ?= 10" in makefile
