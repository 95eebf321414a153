"""Proof that generated projects follow the template: N -> N+1 and N -> N+2 with user edits kept.

Uses a tiny throwaway Go template (tests/_helpers_tiny_template.py) in a real git repository,
real Copier and real git; tests marked `go` build and race-test the updated project.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scaffolder import SilentProgress, check_service, new_service, update_service
from scaffolder._carried import package_cache_path, refresh_package_cache
from scaffolder._package import canonical_template_url
from scaffolder.errors import (
    DowngradeError,
    ExitCode,
    ProjectNotUpdatableError,
    TemplateSourceError,
)

from ._helpers_env import assert_one_line_error, isolate_user_dirs, require_go, run_cli
from ._helpers_template_repo import TemplateRepo, commit_all, git
from ._helpers_tiny_template import build_tiny_template, make_user_edits, release_tiny_version
from .conftest import REPO_ROOT


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    if request.node.get_closest_marker("go"):
        require_go()


@pytest.fixture
def tiny_template(tmp_path: Path) -> TemplateRepo:
    return build_tiny_template(tmp_path / "tiny-template", up_to="1.0.0")


@pytest.fixture
def edited_project(tmp_path: Path, tiny_template: TemplateRepo) -> Path:
    """A project generated from the tiny template 1.0.0, with the team's edits committed."""
    result = new_service(
        tmp_path / "demo",
        template=str(tiny_template.root),
        defaults=True,
        tidy=False,
        verify=False,
        progress=SilentProgress(),
    )
    make_user_edits(result.path)
    return result.path


def answers_of(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def go(*args: str, cwd: Path) -> None:
    completed = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def assert_user_edits_kept(project: Path) -> None:
    assert "handle is the team's own handler" in (project / "handler.go").read_text()
    assert (project / "docs" / "notes.md").read_text() == "# Team notes\n"
    readme = (project / "README.md").read_text()
    assert "is the team's favourite service." in readme
    assert "Run `make test` (race detector on)." in readme


def assert_at_1_1_0(project: Path) -> None:
    answers = answers_of(project)
    assert answers["_commit"] == "1.1.0"
    assert answers["greeting_word"] == "hello"  # the new question got its default
    assert_user_edits_kept(project)
    # The rename migration ran: the user's edit of greeting.go lives on in hello.go.
    assert not (project / "greeting.go").exists()
    assert '"bye, team"' in (project / "hello.go").read_text()
    assert 'return "hello"' in (project / "config.go").read_text()
    # Makefile: the team and the template changed the same line -> inline conflict markers.
    makefile = (project / "Makefile").read_text()
    assert "<<<<<<< before updating" in makefile
    assert "go build -v ./..." in makefile
    assert "go build -trimpath ./..." in makefile
    assert "go test -race ./..." in makefile  # the non-conflicting template change landed


def assert_go_green(project: Path) -> None:
    go("build", "./...", cwd=project)
    go("vet", "./...", cwd=project)
    go("test", "-race", "-count=1", "./...", cwd=project)


@pytest.mark.go
def test_goperf_update_to_next_version_keeps_edits_and_reports_conflicts(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")

    completed = run_cli(["update", "--trust", str(edited_project)], cwd=tmp_path)

    assert completed.returncode == ExitCode.CONFLICTS, completed.stderr
    error = assert_one_line_error(completed.stderr)
    assert "conflicts remain in Makefile" in error
    assert "C Makefile" in completed.stdout
    assert "from template 1.0.0 to 1.1.0" in completed.stdout
    assert_at_1_1_0(edited_project)
    assert_go_green(edited_project)


@pytest.mark.go
def test_plain_copier_update_gives_the_same_result(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    copier_cli = Path(sys.executable).parent / "copier"

    completed = subprocess.run(
        [str(copier_cli), "update", "--defaults", "--trust"],
        cwd=edited_project,
        capture_output=True,
        text=True,
        check=False,
        input="",
    )

    assert completed.returncode == 0, completed.stderr
    assert_at_1_1_0(edited_project)
    assert_go_green(edited_project)


@pytest.mark.go
def test_update_across_two_versions_at_once(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    release_tiny_version(tiny_template, "1.2.0")

    result = update_service(edited_project, trust=True, progress=SilentProgress())

    assert (result.from_version, result.to_version) == ("1.0.0", "1.2.0")
    assert result.conflicted_files == ["Makefile"]
    assert_user_edits_kept(edited_project)
    hello = (edited_project / "hello.go").read_text()
    assert "// greeting says hello." in hello  # 1.2.0's change to the renamed file
    assert '"bye, team"' in hello  # merged with the user's edit of the old file
    assert "## Run" in (edited_project / "README.md").read_text()
    assert answers_of(edited_project)["_commit"] == "1.2.0"
    assert_go_green(edited_project)


@pytest.mark.go
def test_successive_updates_after_resolving_conflicts(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    update_service(edited_project, trust=True, progress=SilentProgress())
    makefile = edited_project / "Makefile"
    makefile.write_text(
        ".PHONY: build test\n\nbuild:\n\tgo build -v -trimpath ./...\n\n"
        "test:\n\tgo test -race ./...\n"
    )
    commit_all(edited_project, "update to 1.1.0")
    release_tiny_version(tiny_template, "1.2.0")

    result = update_service(edited_project, progress=SilentProgress())  # no migration crossed

    assert not result.has_conflicts
    assert "go build -v -trimpath ./..." in makefile.read_text()
    assert "// greeting says hello." in (edited_project / "hello.go").read_text()
    assert '"bye, team"' in (edited_project / "hello.go").read_text()
    assert_go_green(edited_project)


def test_update_refuses_to_run_a_foreign_migration_without_trust(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    completed = run_cli(["update", str(edited_project)], cwd=tmp_path)
    assert completed.returncode == ExitCode.TEMPLATE_SOURCE
    assert "--trust" in assert_one_line_error(completed.stderr)
    assert answers_of(edited_project)["_commit"] == "1.0.0"
    assert not git("status", "--porcelain", cwd=edited_project).strip()


def test_update_without_a_newer_version_changes_nothing(
    tmp_path: Path, edited_project: Path
) -> None:
    completed = run_cli(["update", str(edited_project)], cwd=tmp_path)
    assert completed.returncode == ExitCode.OK, completed.stderr
    assert "already on template 1.0.0" in completed.stdout
    assert not git("status", "--porcelain", cwd=edited_project).strip()


def test_check_reports_pending_update(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    up_to_date = run_cli(["check", str(edited_project)], cwd=tmp_path)
    assert up_to_date.returncode == ExitCode.OK, up_to_date.stderr
    assert "up to date" in up_to_date.stdout

    release_tiny_version(tiny_template, "1.1.0")
    behind = run_cli(["check", "--json", str(edited_project)], cwd=tmp_path)

    assert behind.returncode == ExitCode.UPDATE_AVAILABLE, behind.stderr
    report = json.loads(behind.stdout)
    assert report["current_version"] == "1.0.0"
    assert report["latest_version"] == "1.1.0"
    assert report["update_available"] is True


# --- bad input --------------------------------------------------------------------------------


def test_update_refuses_a_dirty_repository(tmp_path: Path, edited_project: Path) -> None:
    (edited_project / "handler.go").write_text("package main\n")
    completed = run_cli(["update", str(edited_project)], cwd=tmp_path)
    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert "uncommitted changes" in assert_one_line_error(completed.stderr)


def test_update_refuses_a_folder_without_answers_file(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    git("init", "--quiet", cwd=folder)
    completed = run_cli(["update", str(folder)], cwd=tmp_path)
    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert "no .copier-answers.yml" in assert_one_line_error(completed.stderr)


def test_update_refuses_a_folder_outside_git(tmp_path: Path, edited_project: Path) -> None:
    copy = tmp_path / "outside" / "demo"
    shutil.copytree(edited_project, copy, ignore=shutil.ignore_patterns(".git"))
    with pytest.raises(ProjectNotUpdatableError, match="not in a git repository"):
        update_service(copy, progress=SilentProgress())


def test_update_refuses_an_unknown_template_source(tmp_path: Path, edited_project: Path) -> None:
    answers_path = edited_project / ".copier-answers.yml"
    answers_path.write_text(
        answers_path.read_text().replace(str(tmp_path / "tiny-template"), "/nonexistent/template")
    )
    commit_all(edited_project, "point at a missing template")
    completed = run_cli(["update", str(edited_project)], cwd=tmp_path)
    assert completed.returncode == ExitCode.TEMPLATE_SOURCE
    assert "does not exist" in assert_one_line_error(completed.stderr)


def test_update_refuses_a_downgrade(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    update_service(edited_project, trust=True, progress=SilentProgress())
    commit_all(edited_project, "take 1.1.0 with conflict markers, for the test")

    completed = run_cli(["update", "--vcs-ref", "1.0.0", str(edited_project)], cwd=tmp_path)

    assert completed.returncode == ExitCode.DOWNGRADE
    assert "downgrade" in assert_one_line_error(completed.stderr)
    with pytest.raises(DowngradeError):
        update_service(edited_project, vcs_ref="1.0.0", progress=SilentProgress())


def test_update_refuses_an_unknown_version(tmp_path: Path, edited_project: Path) -> None:
    with pytest.raises(TemplateSourceError, match="unknown template revision"):
        update_service(edited_project, vcs_ref="9.9.9", progress=SilentProgress())


def test_rej_conflict_mode_leaves_rej_files(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    result = update_service(edited_project, trust=True, conflict="rej", progress=SilentProgress())
    assert "Makefile.rej" in result.conflicted_files
    assert result.has_conflicts


def test_rej_conflict_mode_says_which_side_each_file_now_holds(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    """Copier's rej mode keeps the template's side in the file and moves the team's edit to
    `<file>.rej`; the summary says so for each file, with what to do, and it is true."""
    release_tiny_version(tiny_template, "1.1.0")

    completed = run_cli(
        ["update", "--conflict", "rej", "--trust", "--no-tidy", str(edited_project)],
        cwd=tmp_path,
    )

    assert completed.returncode == ExitCode.CONFLICTS, completed.stderr
    # What the notes claim, checked on disk: the template's line kept, the team's in the .rej.
    makefile = (edited_project / "Makefile").read_text()
    assert "go build -trimpath ./..." in makefile
    assert "go build -v ./..." not in makefile
    assert "+\tgo build -v ./..." in (edited_project / "Makefile.rej").read_text()
    assert (
        "Makefile now holds the template's version where the team's edits conflicted with it; "
        "those edits are in Makefile.rej (edits that did not conflict stay in Makefile): "
        "review Makefile.rej, re-apply the edits you still want to Makefile, "
        "then delete Makefile.rej"
    ) in completed.stderr
    # 1.1.0 renamed greeting.go: the file is gone, the team's edit of it is in the .rej.
    assert not (edited_project / "greeting.go").exists()
    assert '+\treturn "bye, team"' in (edited_project / "greeting.go.rej").read_text()
    assert (
        "greeting.go is gone: the new template version no longer has it (removed or renamed); "
        "the team's edits to it are in greeting.go.rej: review greeting.go.rej, re-apply the "
        "edits you still want where that code lives now, then delete greeting.go.rej"
    ) in completed.stderr
    # The closing line agrees with the notes (no "resolve the markers": there are none).
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("goperf-scaffold: error: conflicts remain in "), last
    assert "its .rej holds your conflicting edits" in last, last
    assert "marker" not in last, last
    assert "Traceback" not in completed.stderr


# --- the per-user mirror of goperf-scaffold's own template -------------------------------------


def test_update_through_the_package_mirror_needs_no_trust(tmp_path: Path) -> None:
    """A project made from the installed package follows a newer mirrored version."""
    project = new_service(
        tmp_path / "svc",
        defaults=True,
        tidy=False,
        verify=False,
        progress=SilentProgress(),
    ).path
    current = str(answers_of(project)["_commit"])
    assert check_service(project).update_available is False

    # A newer package version would carry a changed template; mirror one by hand.
    newer = TemplateRepo.from_directory(REPO_ROOT, tmp_path / "newer-template")
    (newer.root / "template" / "CHANGELOG-goperf.md").write_text("# from the newer template\n")
    refresh_package_cache(template_root=newer.root, version="99.0.0")

    assert check_service(project).latest_version == "99.0.0"
    result = update_service(project, defaults=True, tidy=False, progress=SilentProgress())

    assert (result.from_version, result.to_version) == (current, "99.0.0")
    assert (project / "CHANGELOG-goperf.md").is_file()
    assert answers_of(project)["_src_path"] == canonical_template_url()


def test_update_only_asks_new_questions_and_takes_data(
    tmp_path: Path, tiny_template: TemplateRepo, edited_project: Path
) -> None:
    release_tiny_version(tiny_template, "1.1.0")
    update_service(
        edited_project, trust=True, data={"greeting_word": "howdy"}, progress=SilentProgress()
    )
    assert answers_of(edited_project)["greeting_word"] == "howdy"
    assert 'return "howdy"' in (edited_project / "config.go").read_text()


def test_env_of_this_process_is_not_leaked_into_user_git_config(tmp_path: Path) -> None:
    """Cache commits use an identity passed per process, never a written git config."""
    refresh_package_cache()
    config = (package_cache_path() / "config").read_text()
    assert "goperf-scaffold@localhost" not in config
    assert os.environ.get("GIT_AUTHOR_NAME") != "goperf-scaffold"
