"""Every Makefile target of every answer profile: declared phony, expands without error, and the
cheap ones that need nothing but Go run for real and leave the project as generated.

The expensive targets (build, test, race, lint, bench, pgo, load) run for real in
tests/test_perf_loop.py, tests/test_generated_build.py and tests/test_bench_gate.py; here every
profile proves that each target at least expands (`make -n`), which is where a template
conditional that eats a newline shows up (0.2.1: `go mod download.PHONY: clean` in every sqlite
and database-free project)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import PROFILES, Rendered, need, run

pytestmark = pytest.mark.go

# Targets run for real in every profile: quick, offline once the module cache is warm, and each
# must leave the generated project exactly as it was (a tidy that rewrites go.sum or a fmt that
# reformats a file is a template defect).
RUN_FOR_REAL = ("help", "tidy", "fmt", "clean")

TARGET_LINE = re.compile(r"^([a-z][a-z0-9-]*):(?!=).*##", re.MULTILINE)


def documented_targets(makefile: str) -> list[str]:
    """The targets `make help` lists: every `name: ... ## help` line."""
    return TARGET_LINE.findall(makefile)


def snapshot(project: Path) -> dict[str, bytes]:
    """The bytes of go.mod, go.sum and every .go file, by relative path."""
    files = [project / "go.mod", project / "go.sum", *project.rglob("*.go")]
    return {str(f.relative_to(project)): f.read_bytes() for f in files if f.is_file()}


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_makefile_target_expands_and_the_cheap_ones_run(
    profile: str, rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    make = need("make")
    need("go")
    rendered = rendered_profiles[profile]
    project = tmp_path / "project"
    shutil.copytree(rendered.path, project)
    makefile = (project / "Makefile").read_text()
    targets = documented_targets(makefile)
    assert {"help", "build", "test", "tidy", "clean"} <= set(targets), targets

    phony = set(re.findall(r"^\.PHONY:\s*(.+)$", makefile, re.MULTILINE))
    declared = {name for line in phony for name in line.split()}
    assert not set(targets) - declared, f"targets not declared .PHONY: {set(targets) - declared}"

    env = rendered.go_env()
    for target in targets:
        dry = run([make, "--no-print-directory", "-n", target], project, env=env)
        assert "{%" not in dry.stdout, (target, dry.stdout)
        assert "{{" not in dry.stdout, (target, dry.stdout)
        # A recipe line glued to the next rule (a lost newline) shows up as ".PHONY" in a
        # command.
        assert ".PHONY" not in dry.stdout, (target, dry.stdout)

    before = snapshot(project)
    for target in RUN_FOR_REAL:
        run([make, "--no-print-directory", target], project, env=env)
    after = snapshot(project)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"make {' '.join(RUN_FOR_REAL)} changed the generated project: {changed}"
