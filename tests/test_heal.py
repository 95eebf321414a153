"""`goperf-scaffold update --heal FILE…`: the divergence the trackers describe, and its cure.

A file loses a template change (a merge from an old branch), the template stops changing it,
`update` reports nothing for it and `.copier-answers.yml` says the project is current; `diff`
shows it, `update --heal` brings the template's change back and keeps the team's other edits.
Real Copier, real git, the template of tests/_helpers_drift_template.py; no network.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scaffolder import SilentProgress, diff_service, update_service
from scaffolder.errors import ExitCode

from ._helpers_drift_template import (
    MAKEFILE_1_1,
    build_drift_template,
    new_drift_project,
    release_drift_version,
)
from ._helpers_env import assert_one_line_error, isolate_user_dirs, run_cli
from ._helpers_template_repo import commit_all, git, init_repo

TEAM_LINT = "\tgo vet ./... && gofmt -l ."


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def diverged_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated at 1.0.0, the team's lint edit, updated to 1.1.0 (-race arrives), the -race
    lost in a merge, then updated to 1.2.0 — which does not touch the Makefile. Built once."""
    root = tmp_path_factory.mktemp("diverged")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_user_dirs(monkeypatch, root)
        template = build_drift_template(root / "drift-template", up_to="1.0.0")
        project = new_drift_project(template, root / "demo")
        makefile = project / "Makefile"
        _edit(makefile, "\tgo vet ./...", TEAM_LINT)
        commit_all(project, "lint also checks formatting")
        release_drift_version(template, "1.1.0")
        update_service(project, tidy=False, progress=SilentProgress())
        commit_all(project, "template 1.1.0")
        assert "go test -race ./..." in makefile.read_text()
        _edit(makefile, "go test -race ./...", "go test ./...")
        commit_all(project, "merge an old branch (loses -race)")
        release_drift_version(template, "1.2.0")
        result = update_service(project, tidy=False, progress=SilentProgress())
        assert "Makefile" not in result.changed_files  # the update says nothing about it
        commit_all(project, "template 1.2.0")
    return project


@pytest.fixture
def diverged(tmp_path: Path, diverged_once: Path) -> Path:
    """A copy of the diverged project (with its git history) for one test to change."""
    return Path(shutil.copytree(diverged_once, tmp_path / "demo", symlinks=True))


def test_diff_shows_the_diverged_file_that_update_never_heals(diverged: Path) -> None:
    result = diff_service(diverged)

    assert result.template_version == "1.2.0"
    assert [(d.file, d.status) for d in result.files] == [("Makefile", "modified")]


def test_heal_brings_the_template_change_back_and_keeps_the_team_edit(
    tmp_path: Path, diverged: Path
) -> None:
    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "M Makefile" in completed.stdout
    makefile = (diverged / "Makefile").read_text()
    assert makefile == MAKEFILE_1_1.replace("\tgo vet ./...", TEAM_LINT)
    # A reviewable, uncommitted change of the named file only.
    assert git("status", "--porcelain", cwd=diverged).splitlines() == [" M Makefile"]
    assert "+\tgo test -race ./..." in git("diff", cwd=diverged)
    # What is left of the drift is the team's own edit.
    (drift,) = diff_service(diverged).files
    assert drift.file == "Makefile"


def test_heal_marks_a_conflict_where_the_team_and_the_template_disagree(
    tmp_path: Path, diverged: Path
) -> None:
    _edit(diverged / "Makefile", "go test ./...", "go test -v ./...")
    commit_all(diverged, "verbose tests")

    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    assert completed.returncode == ExitCode.CONFLICTS
    assert "conflicts remain in Makefile" in assert_one_line_error(completed.stderr)
    assert "C Makefile" in completed.stdout
    makefile = (diverged / "Makefile").read_text()
    assert "<<<<<<< before healing\n\tgo test -v ./...\n" in makefile
    assert "\tgo test -race ./...\n>>>>>>> after healing\n" in makefile
    assert TEAM_LINT in makefile  # the team's other edit, outside the conflict, is kept


def test_heal_restores_a_deleted_file(tmp_path: Path, diverged: Path) -> None:
    (diverged / "docs" / "guide.md").unlink()
    commit_all(diverged, "guide removed by mistake")

    completed = run_cli(["update", str(diverged), "--heal", "docs/guide.md"], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "## Test" in (diverged / "docs" / "guide.md").read_text()


def _assert_refused(
    completed: subprocess.CompletedProcess[str], project: Path, before: str, code: ExitCode
) -> str:
    assert completed.returncode == code, completed.stderr
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project) == before
    return assert_one_line_error(completed.stderr)


def test_heal_refuses_a_dirty_project(tmp_path: Path, diverged: Path) -> None:
    (diverged / "main.go").write_text("package main\n")
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", str(diverged), "--heal", "Makefile"], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.NOT_UPDATABLE)
    assert "uncommitted" in error
    assert "go test ./..." in (diverged / "Makefile").read_text()  # not healed


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nowhere.go", "not a file the template generates"),
        ("cmd/demo/default.pgo", "leaves this file to the team"),
        (".copier-answers.yml", "the answers file is the record"),
        ("../outside.txt", "not inside the project"),
    ],
)
def test_heal_refuses_files_it_cannot_heal(
    tmp_path: Path, diverged: Path, name: str, expected: str
) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", str(diverged), "--heal", "Makefile", name], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.USAGE)
    assert expected in error
    assert "go test ./..." in (diverged / "Makefile").read_text()  # nothing written at all


def test_heal_refuses_options_of_a_version_change(tmp_path: Path, diverged: Path) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(
        ["update", str(diverged), "--heal", "Makefile", "--vcs-ref", "1.1.0"], cwd=tmp_path
    )

    assert "--vcs-ref" in _assert_refused(completed, diverged, before, ExitCode.USAGE)


def test_heal_refuses_a_folder_that_is_not_a_generated_project(tmp_path: Path) -> None:
    plain = init_repo(tmp_path / "plain")
    (plain / "Makefile").write_text("all:\n")
    commit_all(plain, "hand-written")

    completed = run_cli(["update", str(plain), "--heal", "Makefile"], cwd=tmp_path)

    _assert_refused(completed, plain, "", ExitCode.NOT_UPDATABLE)


def test_a_project_named_after_heal_files_is_refused_with_the_order_to_use(
    tmp_path: Path, diverged: Path
) -> None:
    before = git("status", "--porcelain", "--untracked-files=all", cwd=diverged)

    completed = run_cli(["update", "--heal", "Makefile", str(diverged)], cwd=tmp_path)

    error = _assert_refused(completed, diverged, before, ExitCode.USAGE)
    assert "update PATH --heal FILE" in error
