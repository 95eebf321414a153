"""The generated CI's scheduled `template-drift` job: its shell steps, run here as GitHub would
run them, fail (or, with TEMPLATE_DRIFT=warn, warn) while the project is behind its template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffolder import SilentProgress, new_service, update_service

from ._helpers_env import isolate_user_dirs
from ._helpers_template_repo import TemplateRepo, commit_all
from ._helpers_tiny_template import build_tiny_template, release_tiny_version
from .conftest import Rendered

HOST = "https://git.example.com/platform"


def workflow(rendered: Rendered) -> dict[Any, Any]:
    loaded = yaml.safe_load((rendered.path / ".github" / "workflows" / "ci.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def step_script(rendered: Rendered, name: str) -> str:
    steps = workflow(rendered)["jobs"]["template-drift"]["steps"]
    return str(next(step["run"] for step in steps if step.get("name") == name))


def run_step(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a step's script the way GitHub Actions runs `run:` (bash -e), goperf-scaffold on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd, env={**os.environ, "PATH": path, **env}, input="",
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_drift_runs_weekly_and_the_tests_run_on_pushes(
    rendered_profiles: dict[str, Rendered],
) -> None:
    loaded = workflow(rendered_profiles["default"])
    triggers = loaded.get("on", loaded.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["schedule"] == [{"cron": "23 6 * * 1"}]
    assert "workflow_dispatch" in triggers
    jobs = loaded["jobs"]
    assert jobs["test"]["if"] == "github.event_name != 'schedule'"
    assert "schedule" in jobs["template-drift"]["if"]
    # With Renovate (the default) a newer template arrives as its pull request: the job warns.
    assert jobs["template-drift"]["env"]["TEMPLATE_DRIFT"] == "${{ vars.TEMPLATE_DRIFT || 'warn' }}"
    readme = (rendered_profiles["default"].path / "README.md").read_text()
    assert "`template-drift` runs `goperf-scaffold check` every Monday" in readme
    assert "TEMPLATE_DRIFT" not in (rendered_profiles["no-extras"].path / "README.md").read_text()


@pytest.mark.parametrize(
    ("recorded", "override", "expected"),
    [
        (f"{HOST}/goperf-scaffold.git", "", f"git+{HOST}/goperf-scaffold.git"),
        (f"git+{HOST}/template", "", f"git+{HOST}/template"),
        ("'git+file:///srv/git/template'", "", "git+file:///srv/git/template"),
        (f"{HOST}/goperf-scaffold.git", "goperf-scaffold==0.2.0", "goperf-scaffold==0.2.0"),
    ],
)  # fmt: skip
def test_install_step_installs_goperf_scaffold_from_the_template_repository(
    tmp_path: Path,
    rendered_profiles: dict[str, Rendered],
    recorded: str,
    override: str,
    expected: str,
) -> None:
    (tmp_path / ".copier-answers.yml").write_text(f"_commit: 1.0.0\n_src_path: {recorded}\n")
    script = step_script(rendered_profiles["default"], "install goperf-scaffold")
    assert "python -m pip install --quiet " in script
    echoed = run_step(
        script.replace("python -m pip install --quiet ", "echo "),
        tmp_path,
        GOPERF_SCAFFOLD_PACKAGE=override,
    )
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout.strip() == expected


@pytest.fixture
def behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TemplateRepo, Path]:
    """A project on template 1.0.0 while 1.1.0 is released."""
    isolate_user_dirs(monkeypatch, tmp_path)
    template = build_tiny_template(tmp_path / "tiny-template", up_to="1.0.0")
    project = new_service(
        tmp_path / "svc",
        template=str(template.root),
        defaults=True,
        tidy=False,
        verify=False,
        progress=SilentProgress(),
    ).path
    release_tiny_version(template, "1.1.0")
    return template, project


def test_check_step_fails_or_warns_while_behind_and_passes_when_current(
    behind: tuple[TemplateRepo, Path], rendered_profiles: dict[str, Rendered]
) -> None:
    _, project = behind
    script = step_script(rendered_profiles["default"], "goperf-scaffold check")
    message = (
        "template 1.1.0 is available (this repository is on 1.0.0): run goperf-scaffold update"
    )

    failed = run_step(script, project, TEMPLATE_DRIFT="fail")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"::error title=Template drift::{message}" in failed.stdout

    warned = run_step(script, project, TEMPLATE_DRIFT="warn")
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert f"::warning title=Template drift::{message}" in warned.stdout

    update_service(project, trust=True, progress=SilentProgress())
    commit_all(project, "template 1.1.0")
    current = run_step(script, project, TEMPLATE_DRIFT="fail")
    assert current.returncode == 0, current.stdout + current.stderr
    assert "Up to date with template 1.1.0." in current.stdout


def test_check_step_fails_with_the_error_when_the_source_is_gone(
    behind: tuple[TemplateRepo, Path], rendered_profiles: dict[str, Rendered]
) -> None:
    template, project = behind
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(template.root), "/gone/template"))
    commit_all(project, "template moved")
    script = step_script(rendered_profiles["default"], "goperf-scaffold check")

    failed = run_step(script, project, TEMPLATE_DRIFT="warn")

    assert failed.returncode == 5, failed.stdout + failed.stderr
    assert "::error title=Template check failed::the template source recorded" in failed.stdout
    assert "goperf-scaffold update --template SRC" in failed.stdout
