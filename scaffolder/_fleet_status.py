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
from ._git import GitCommandError, is_inside_git_worktree, run_git
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


@dataclass(frozen=True)
class FleetEntry:
    """A repository found under the PATHs, or a PATH that holds none (`problem` says why)."""

    path: Path
    name: str
    problem: str | None = None


def _path_problem(raw: str | os.PathLike[str], path: Path) -> str | None:
    if not path.exists():
        return "no such folder"
    if not path.is_dir():
        return str(FleetPathNotAFolderError(path=os.fspath(raw)))
    return None


def find_projects(paths: Sequence[str | os.PathLike[str]]) -> list[FleetEntry]:
    """Each PATH that is a generated project, and the generated projects one level below it.

    A PATH that is missing, not a folder or holds no generated project is an entry of its own
    with the `problem`, named as given: one bad PATH never stops the others.
    """
    if not paths:
        raise FleetPathsMissingError()
    found: dict[Path, FleetEntry] = {}
    for raw in paths:
        path = Path(os.path.abspath(Path(raw).expanduser()))
        problem = _path_problem(raw, path)
        if problem is None and (path / ANSWERS_FILE).is_file():
            candidates = [path]
        elif problem is None:
            candidates = sorted(
                child
                for child in path.iterdir()
                if child.is_dir() and (child / ANSWERS_FILE).is_file()
            )
            if not candidates:
                problem = str(FleetPathWithoutProjectsError(path=os.fspath(raw)))
        if problem is not None:
            found.setdefault(path, FleetEntry(path, os.fspath(raw), problem))
            continue
        for candidate in candidates:
            found.setdefault(candidate, FleetEntry(candidate, candidate.name))
    return list(found.values())


def not_a_repository(project: Path) -> str | None:
    """Why `project` cannot be read or updated as a git repository, or None when it can."""
    if not is_inside_git_worktree(project):
        return (
            "not in a git repository (fleet commands read and update git repositories: "
            "`git init` and commit it first)"
        )
    return None


def _drift_of(project: Path) -> tuple[list[str] | None, str | None]:
    """The drifted files of `project`, or why they could not be computed."""
    try:
        return [drift.file for drift in diff_service(project).files], None
    except ScaffoldError as error:
        return None, str(error)


def _status_of(project: Path, *, drift: bool) -> RepoStatus:
    name = project.name
    problem = not_a_repository(project)
    if problem is not None:
        return RepoStatus(project, name, error=problem)
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
    once; read-only. A PATH that is missing or holds no generated repository is a row with
    its `error`, as is a repository that cannot be read.
    """
    entries = find_projects(paths)
    with each_source_fetched_once():
        return [
            RepoStatus(entry.path, entry.name, error=entry.problem)
            if entry.problem is not None
            else _status_of(entry.path, drift=drift)
            for entry in entries
        ]
