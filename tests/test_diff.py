"""`goperf-scaffold diff`: a project's template-managed files against its template, read-only.

Real Copier renders a small template repository (tests/_helpers_drift_template.py) released in
git; the projects are real git repositories. No network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaffolder import SilentProgress, diff_service, fleet_status, update_service
from scaffolder import cli as scaffolder_cli
from scaffolder.errors import ExitCode

from ._helpers_drift_template import (
    build_drift_template,
    new_drift_project,
    release_drift_version,
)
from ._helpers_env import assert_one_line_error, isolate_user_dirs, run_cli
from ._helpers_template_repo import TemplateRepo, commit_all, git, init_repo


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepo:
    return build_drift_template(tmp_path / "drift-template", up_to="1.0.0")


@pytest.fixture
def project(tmp_path: Path, template: TemplateRepo) -> Path:
    return new_drift_project(template, tmp_path / "demo")


def git_state(project: Path) -> tuple[str, str]:
    """What must not change: `git status --porcelain` and the index (`git ls-files --stage`)."""
    return (
        git("status", "--porcelain", "--untracked-files=all", cwd=project),
        git("ls-files", "--stage", cwd=project),
    )


def edit_one_delete_another(project: Path) -> None:
    makefile = project / "Makefile"
    makefile.write_text(makefile.read_text().replace("go vet ./...", "go vet ./... && gofmt -l ."))
    (project / "docs" / "guide.md").unlink()


def test_fresh_project_has_no_drift(tmp_path: Path, project: Path) -> None:
    before = git_state(project)

    completed = run_cli(["diff", str(project)], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stderr
    assert completed.stdout == ""
    assert "no drift" in completed.stderr
    # The team's own profile is listed apart, never as drift.
    assert "the team's own (not compared): cmd/demo/default.pgo" in completed.stderr
    assert git_state(project) == before

    stat = run_cli(["diff", "--stat", str(project)], cwd=tmp_path)
    assert stat.returncode == ExitCode.OK
    assert "no drift" in stat.stdout

    as_json = run_cli(["diff", "--json", str(project)], cwd=tmp_path)
    assert as_json.returncode == ExitCode.OK
    document = json.loads(as_json.stdout)
    assert document["differs"] is False
    assert document["files"] == []
    assert document["template_version"] == "1.0.0"
    assert document["team_owned"] == ["cmd/demo/default.pgo"]


def test_an_edited_and_a_deleted_file_in_all_three_formats(tmp_path: Path, project: Path) -> None:
    edit_one_delete_another(project)
    (project / "cmd" / "demo" / "default.pgo").write_bytes(b"\x00the team's own profile\x00")
    (project / "notes.md").write_text("the team's own file\n")
    before = git_state(project)

    unified = run_cli(["diff", str(project)], cwd=tmp_path)
    stat = run_cli(["diff", "--stat", str(project)], cwd=tmp_path)
    as_json = run_cli(["diff", "--json", str(project)], cwd=tmp_path)

    assert git_state(project) == before  # working tree and index untouched
    for completed in (unified, stat, as_json):
        assert completed.returncode == ExitCode.FILES_DIFFER == 1, completed.stderr
        assert "Traceback" not in completed.stderr

    patch = unified.stdout
    assert [line for line in patch.splitlines() if line.startswith(("--- ", "+++ "))] == [
        "--- a/Makefile",
        "+++ b/Makefile",
        "--- a/docs/guide.md",
        "+++ /dev/null",
    ]
    assert "-\tgo vet ./...\n+\tgo vet ./... && gofmt -l .\n" in patch
    assert "-Run `make build`.\n" in patch
    assert "2 template-managed file(s) differ from template 1.0.0" in unified.stderr

    stat_rows = [line.split() for line in stat.stdout.splitlines() if "|" in line]
    assert stat_rows == [
        ["modified", "Makefile", "|", "2", "+-"],
        ["missing", "docs/guide.md", "|", "5", "-----"],
    ]

    document = json.loads(as_json.stdout)
    assert document["differs"] is True
    assert document["files"] == [
        {"file": "Makefile", "status": "modified", "lines_added": 1, "lines_removed": 1},
        {"file": "docs/guide.md", "status": "missing", "lines_added": 0, "lines_removed": 5},
    ]
    assert document["team_owned"] == ["cmd/demo/default.pgo"]


def test_the_patch_reversed_restores_the_template(tmp_path: Path, project: Path) -> None:
    edit_one_delete_another(project)
    patch = run_cli(["diff", str(project)], cwd=tmp_path).stdout
    (tmp_path / "drift.patch").write_text(patch)

    git("apply", "-R", str(tmp_path / "drift.patch"), cwd=project)

    assert run_cli(["diff", str(project)], cwd=tmp_path).returncode == ExitCode.OK
    assert not git("status", "--porcelain", cwd=project).strip()


def test_diff_follows_the_recorded_version_through_an_update(
    template: TemplateRepo, project: Path
) -> None:
    guide = project / "docs" / "guide.md"
    guide.write_text("<!-- the team's note -->\n" + guide.read_text())
    commit_all(project, "team note in the guide")
    release_drift_version(template, "1.1.0")

    # A newer template version is not drift: the project is compared with what it records.
    at_1_0 = diff_service(project)
    assert at_1_0.template_version == "1.0.0"
    assert [(d.file, d.status) for d in at_1_0.files] == [("docs/guide.md", "modified")]

    update_service(project, tidy=False, progress=SilentProgress())
    commit_all(project, "template 1.1.0")
    at_1_1 = diff_service(project)

    assert at_1_1.template_version == "1.1.0"
    assert [(d.file, d.status) for d in at_1_1.files] == [("docs/guide.md", "modified")]
    drift = at_1_1.files[0]
    assert drift.template is not None
    assert b"## Test" in drift.template  # 1.1.0's guide
    assert drift.project == b"<!-- the team's note -->\n" + drift.template


def test_a_file_the_template_no_longer_generates_is_extra(
    template: TemplateRepo, project: Path
) -> None:
    # The team's copy of 1.0.0's guide stays after 1.1.0 stops generating it (as after a
    # rename that an update could not carry over).
    release_drift_version(template, "1.1.0")
    template.write({"template/docs/guide.md": None})
    template.release("1.2.0")
    update_service(project, tidy=False, progress=SilentProgress())
    (project / "docs").mkdir(exist_ok=True)
    (project / "docs" / "guide.md").write_text("kept by the team\n")
    commit_all(project, "template 1.2.0, the guide kept")

    result = diff_service(project)

    assert [(d.file, d.status) for d in result.files] == [("docs/guide.md", "extra-from-template")]


def test_fleet_status_counts_drifted_files(tmp_path: Path, project: Path) -> None:
    edit_one_delete_another(project)
    commit_all(project, "drift")

    (row,) = fleet_status([project])
    table = run_cli(["fleet", "status", str(project)], cwd=tmp_path)
    quick = run_cli(["fleet", "status", "--no-drift", "--json", str(project)], cwd=tmp_path)

    assert row.drifted_files == ["Makefile", "docs/guide.md"]
    assert table.returncode == ExitCode.OK, table.stderr
    header, line = table.stdout.splitlines()[:2]
    assert header.split()[-1] == "DRIFTED"
    assert line.split()[-1] == "2"
    assert json.loads(quick.stdout)["repositories"][0]["drifted_files"] is None


def test_not_a_generated_project_is_a_one_line_error(tmp_path: Path) -> None:
    plain = init_repo(tmp_path / "plain")
    (plain / "main.go").write_text("package main\n")
    commit_all(plain, "hand-written")
    before = git_state(plain)

    completed = run_cli(["diff", str(plain)], cwd=tmp_path)
    as_json = run_cli(["diff", "--json", str(plain)], cwd=tmp_path)

    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert ".copier-answers.yml" in assert_one_line_error(completed.stderr)
    assert as_json.returncode == ExitCode.NOT_UPDATABLE
    assert json.loads(as_json.stdout)["exit_code"] == ExitCode.NOT_UPDATABLE
    assert git_state(plain) == before


def test_a_missing_folder_and_bad_options_are_usage_errors(tmp_path: Path, project: Path) -> None:
    missing = run_cli(["diff", str(tmp_path / "nowhere")], cwd=tmp_path)
    both = run_cli(["diff", "--stat", "--json", str(project)], cwd=tmp_path)

    assert missing.returncode not in (ExitCode.OK, ExitCode.FILES_DIFFER)
    assert_one_line_error(missing.stderr)
    assert both.returncode == ExitCode.USAGE
    assert_one_line_error(both.stderr)


def test_an_unexpected_error_of_diff_never_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    def broken(_path: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("scaffolder._cli_drift.diff_service", broken)

    code = scaffolder_cli.main(["diff", str(project)])

    assert code == ExitCode.DIFF_FAILED == 13
    assert "unexpected error (RuntimeError: boom)" in assert_one_line_error(capsys.readouterr().err)
