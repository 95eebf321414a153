"""`fleet status`: where many generated repositories stand against their templates."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._check import check_service
from ._conflicts import open_conflicts
from ._constants import ANSWERS_FILE
from ._drift import diff_service
from ._fetch import each_source_fetched_once
from ._git import GitCommandError, run_git
from ._project import read_recorded_project
from .errors import (
    FleetPathNotAFolderError,
    FleetPathsMissingError,
    FleetPathWithoutProjectsError,
    ScaffoldError,
)

# Answers that name a project rather than describe its profile.
IDENTITY_ANSWERS = frozenset({"project_name", "module_path"})


@dataclass(frozen=True)
class RepoStatus:
    """One repository of a fleet: its template version, the newest one, its state."""

    path: Path
    project: str
    answers: dict[str, Any] = field(default_factory=dict)
    template_source: str | None = None
    template_version: str | None = None
    latest_version: str | None = None
    behind_by: int = 0
    dirty: bool = False
    conflicts: list[str] = field(default_factory=list)
    drifted_files: list[str] | None = None  # as `diff` lists them; None: not computed
    drift_error: str | None = None  # why the drift could not be computed
    error: str | None = None

    @property
    def profile(self) -> dict[str, Any]:
        """The answers that describe the project (not the ones that name it)."""
        return {k: v for k, v in self.answers.items() if k not in IDENTITY_ANSWERS}

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (used by `fleet status --json`)."""
        return {
            "path": str(self.path),
            "project": self.project,
            "profile": self.profile,
            "template_source": self.template_source,
            "template_version": self.template_version,
            "latest_version": self.latest_version,
            "behind_by": self.behind_by,
            "dirty": self.dirty,
            "conflicts": self.conflicts,
            "drifted_files": self.drifted_files,
            "drift_error": self.drift_error,
            "error": self.error,
        }


def find_projects(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Each PATH that is a generated project, and the generated projects one level below it."""
    if not paths:
        raise FleetPathsMissingError()
    found: list[Path] = []
    for raw in paths:
        path = Path(os.path.abspath(Path(raw).expanduser()))
        if not path.is_dir():
            raise FleetPathNotAFolderError(path=os.fspath(raw))
        if (path / ANSWERS_FILE).is_file():
            candidates = [path]
        else:
            candidates = sorted(
                child
                for child in path.iterdir()
                if child.is_dir() and (child / ANSWERS_FILE).is_file()
            )
        if not candidates:
            raise FleetPathWithoutProjectsError(path=os.fspath(raw))
        found.extend(candidate for candidate in candidates if candidate not in found)
    return found


def _drift_of(project: Path) -> tuple[list[str] | None, str | None]:
    """The drifted files of `project`, or why they could not be computed."""
    try:
        return [drift.file for drift in diff_service(project).files], None
    except ScaffoldError as error:
        return None, str(error)


def _status_of(project: Path, *, drift: bool) -> RepoStatus:
    name = project.name
    try:
        recorded = read_recorded_project(project)
        name = str(recorded.answers.get("project_name") or name)
        answers = {k: v for k, v in recorded.answers.items() if not k.startswith("_")}
        dirty = bool(run_git("status", "--porcelain", "--", ".", cwd=project).strip())
        conflicts = open_conflicts(project)
        check = check_service(project)
    except ScaffoldError as error:
        return RepoStatus(project, name, error=str(error))
    except GitCommandError as error:
        return RepoStatus(project, name, error=f"not a usable git repository: {error}")
    drifted, drift_error = _drift_of(project) if drift else (None, None)
    return RepoStatus(
        path=project,
        project=name,
        answers=answers,
        template_source=check.template_source,
        template_version=check.current_version,
        latest_version=check.latest_version,
        behind_by=check.behind_by,
        dirty=dirty,
        conflicts=conflicts,
        drifted_files=drifted,
        drift_error=drift_error,
    )


def fleet_status(
    paths: Sequence[str | os.PathLike[str]], *, drift: bool = True
) -> list[RepoStatus]:
    """Report each generated repository under PATHs: template version, newest, state.

    A PATH is a generated repository or a folder whose direct sub-folders are searched for
    them. Per repository: project name, answers, template version, the newest version its
    source offers, how many releases it is behind, uncommitted changes, open conflicts
    (markers or .rej files) and, with `drift`, the template-managed files that differ from the
    template at the recorded version (as `diff_service` finds them). Each source is fetched
    once; read-only.
    """
    projects = find_projects(paths)
    with each_source_fetched_once():
        return [_status_of(project, drift=drift) for project in projects]
