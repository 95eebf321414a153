"""Answer combinations that generate a working project with a known weakness are not refused
(Copier re-validates recorded answers, so a refusal would also block every update of a project
that has them) but named: `new` and `check` print one warning line with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scaffolder._answer_warnings import answer_warnings
from scaffolder._carried import refresh_package_cache
from scaffolder._package import canonical_template_url
from scaffolder._urls import recordable
from scaffolder.errors import ExitCode

from ._helpers_env import isolate_user_dirs, run_cli


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


@pytest.mark.parametrize(
    ("answers", "named"),
    [
        ({"go_version": "1.24", "database": "postgres", "tracing": "none"}, "database=postgres"),
        ({"go_version": "1.24", "database": "sqlite", "tracing": "otel"}, "tracing=otel"),
        (
            {"go_version": "1.24", "database": "postgres", "tracing": "otel"},
            "database=postgres and tracing=otel",
        ),
    ],
)
def test_go_1_24_with_the_vulnerable_pins_is_named_with_the_fix(
    answers: dict[str, str], named: str
) -> None:
    (warning,) = answer_warnings(answers)
    assert warning.startswith(f"warning: go_version=1.24 with {named} pins dependency releases")
    assert "goperf-scaffold update --data go_version=1.26" in warning


@pytest.mark.parametrize(
    "answers",
    [
        {"go_version": "1.24", "database": "sqlite", "tracing": "none"},
        {"go_version": "1.24", "database": "none", "tracing": "none"},
        {"go_version": "1.25", "database": "postgres", "tracing": "otel"},
        {"go_version": "1.26", "database": "postgres", "tracing": "otel"},
        {},
    ],
)
def test_other_answers_get_no_warning(answers: dict[str, str]) -> None:
    assert answer_warnings(answers) == []


def test_check_prints_the_warning_for_a_recorded_project(tmp_path: Path) -> None:
    project = tmp_path / "svc"
    project.mkdir()
    answers = {
        "_commit": refresh_package_cache(),
        "_src_path": recordable(canonical_template_url()),
        "project_name": "svc",
        "go_version": "1.24",
        "database": "postgres",
        "tracing": "none",
    }
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))

    completed = run_cli(["check", "--json", str(project)], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stdout + completed.stderr
    assert "warning: go_version=1.24 with database=postgres" in completed.stderr
    assert json.loads(completed.stdout)["notes"] == answer_warnings(answers)
