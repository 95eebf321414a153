"""The generated services the report measures: made through the library API, in the work folder,
from this checkout's template (the package mirror is refreshed from the working tree)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.report._env import Progress, go_env

# Hermetic user folders: the report never touches the user's template mirror or org config.
DATA_DIR_ENV = "GOPERF_SCAFFOLD_DATA_DIR"
CONFIG_ENV = "GOPERF_SCAFFOLD_CONFIG"


def isolate_user_dirs(work: Path) -> dict[str, str]:
    """Point goperf-scaffold's data dir and org config into work (for this process and its
    children); returns the variables set."""
    env = {
        DATA_DIR_ENV: str(work / "user-data"),
        CONFIG_ENV: str(work / "user-config" / "config.yml"),
    }
    os.environ.update(env)
    return env


def generate(work: Path, name: str, answers: dict[str, Any], progress: Progress) -> Path:
    """Generate (once per work folder) a service with these answers; a git repository with its
    first commit, as `goperf-scaffold new` leaves it, without the verification build."""
    from scaffolder import SilentProgress, new_service  # noqa: PLC0415 - heavy import, once needed

    project = work / "projects" / name / "svc"
    if (project / ".copier-answers.yml").is_file():
        return project
    project.parent.mkdir(parents=True, exist_ok=True)
    shown = " ".join(f"{k}={v}" for k, v in answers.items())
    progress.say(f"generating a service ({shown}) in {project}")
    new_service(
        project,
        data={"project_name": "svc", **answers},
        defaults=True,
        git_init=True,
        tidy=False,  # go.mod and go.sum ship complete
        verify=False,  # the report builds what it measures
        progress=SilentProgress(),
    )
    return project


def make(project: Path, progress: Progress, *targets: str, label: str | None = None) -> str:
    """Run make targets of a generated project."""
    return progress.run(
        ["make", "--no-print-directory", *targets], project, env=go_env(), label=label
    )
