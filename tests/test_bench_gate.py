"""The benchmark-regression gate of generated projects (`make bench-gate`, cmd/benchgate): it
passes when nothing changed, fails when a function got slower, and CI runs it on pull requests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import PROFILES, Rendered, go_env, need, run

pytestmark = pytest.mark.go

# The gate compares only this benchmark here, briefly: the machine's time goes to the compare.
QUICK_GATE = [
    "GATE_PKGS=./internal/server",
    "GATE_BENCH=^BenchmarkLivez$",
    "GATE_COUNT=5",
    "GATE_TIME=5000x",
]

# GET /livez's handler, to be slowed: its first statement becomes a 200 µs sleep.
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


def test_gate_passes_without_a_change_and_fails_on_a_slowed_function(committed: Path) -> None:
    # Nothing changed: the same code on both sides must pass. The threshold is raised to 25%
    # for this run only because the suite shares its machine with other builds; the slowed
    # run below is judged by the default threshold (10%).
    unchanged = gate(committed, "BASE=HEAD", "GATE_THRESHOLD=25", *QUICK_GATE)
    output = unchanged.stdout + unchanged.stderr
    assert unchanged.returncode == 0, output
    assert "bench-gate: PASS" in output
    assert re.search(r"Livez-\d+\s+\S+ ± ", output), "benchstat's comparison is printed"
    results = committed / "bench-results" / "gate"
    assert "BenchmarkLivez" in (results / "base.txt").read_text()
    assert "BenchmarkLivez" in (results / "head.txt").read_text()
    worktrees = run(["git", "worktree", "list"], committed).stdout.strip().splitlines()
    assert len(worktrees) == 1, f"the base worktree is removed afterwards: {worktrees}"

    handlers = committed / "internal" / "server" / "handlers_health.go"
    source = handlers.read_text()
    slowed, count = _LIVEZ_BODY.subn(r"\1\t\ttime.Sleep(200 * time.Microsecond)\n", source)
    assert count == 1, f"handleLivez changed shape; update this test:\n{source}"
    slowed = slowed.replace('\t"net/http"\n', '\t"net/http"\n\t"time"\n', 1)
    handlers.write_text(slowed)

    regressed = gate(committed, "BASE=HEAD", *QUICK_GATE)
    output = regressed.stdout + regressed.stderr
    assert regressed.returncode != 0, output
    assert "bench-gate: FAIL" in output
    assert re.search(r"internal/server Livez-\d+ sec/op: .*\(\+\d", output), output


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
