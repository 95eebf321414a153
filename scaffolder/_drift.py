"""`diff`: how a project's template-managed files differ from what its template generates.

The template is rendered aside at the version the project records, with its recorded answers
(`_template_render.py`), and compared with the working tree, uncommitted edits included:

- **modified**: the template generates the file and the project's differs;
- **missing**: the template generates it and the project has none;
- **extra-from-template**: the project has a file the template put there when the project was
  generated (the first commit that recorded the answers file), which the template no longer
  generates for the recorded version and answers — a leftover of a removed or renamed template
  file, or of a changed answer.

Not drift, and reported apart: files the template leaves to the team once generated
(`_skip_if_exists`, and unconditional `_exclude` entries such as `/cmd/*/default.pgo`), and
derived files (`go.sum`: `go mod tidy` writes it, and `update` regenerates it rather than
merging it, so its bytes say nothing about the template). The answers file is the record
itself and is not compared. Read-only: the project, its git index and its files are never
touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ._constants import ANSWERS_FILE
from ._git import GitCommandError, run_git
from ._project import RecordedProject, read_recorded_project
from ._source import TemplateSource, require_version, source_for_project
from ._template_render import TemplateRender, rendered_template
from ._text_diff import changed_lines

DriftStatus = Literal["modified", "missing", "extra-from-template"]
# Files a tool derives from others: their bytes follow go.mod, not the template.
DERIVED_FILES = frozenset({"go.sum"})


@dataclass(frozen=True)
class FileDrift:
    """One file that differs from the template: its status and both contents."""

    file: str
    status: DriftStatus
    template: bytes | None = None  # what the template generates (None: it generates none)
    project: bytes | None = None  # what the working tree holds (None: no such file)


@dataclass(frozen=True)
class DiffResult:
    """A project against its template at the recorded version."""

    path: Path
    template_source: str
    template_version: str
    files: list[FileDrift] = field(default_factory=list)
    team_owned: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    notes: tuple[str, ...] = field(default=())

    @property
    def differs(self) -> bool:
        """True when a template-managed file differs (the exit code of `diff` is then 1)."""
        return bool(self.files)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (used by `diff --json`): lines added/removed are null for binaries."""
        files = []
        for drift in self.files:
            counts = changed_lines(drift.template, drift.project)
            files.append(
                {
                    "file": drift.file,
                    "status": drift.status,
                    "lines_added": counts[0] if counts else None,
                    "lines_removed": counts[1] if counts else None,
                }
            )
        return {
            "path": str(self.path),
            "template_source": self.template_source,
            "template_version": self.template_version,
            "differs": self.differs,
            "files": files,
            "team_owned": self.team_owned,
            "derived": self.derived,
            "notes": list(self.notes),
        }


def project_files(project: Path) -> set[str]:
    """The project's files on disk, tracked or not, minus what git ignores (all, outside git)."""
    try:
        listing = run_git(
            "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", ".",
            cwd=project,
        )  # fmt: skip
        names = {name for name in listing.split("\0") if name}
    except (GitCommandError, OSError):
        names = {
            path.relative_to(project).as_posix()
            for path in project.rglob("*")
            if ".git" not in path.relative_to(project).parts
        }
    return {name for name in names if (project / name).is_file()}


def first_answers_commit(project: Path) -> str | None:
    """The commit that first recorded the project's answers file (generation or adoption)."""
    try:
        added = run_git(
            "log", "--reverse", "--diff-filter=A", "--format=%H", "--", ANSWERS_FILE, cwd=project
        ).split()
    except (GitCommandError, OSError):
        return None
    return added[0] if added else None


def generated_files(project: Path) -> set[str]:
    """The files the commit that first recorded the answers file added (the generated ones)."""
    first = first_answers_commit(project)
    if first is None:
        return set()
    try:
        added = run_git(
            "diff-tree", "-r", "--root", "--no-commit-id", "--name-only", "--diff-filter=A",
            "--relative", "-z", first,
            cwd=project,
        )  # fmt: skip
    except (GitCommandError, OSError):
        return set()
    return {name for name in added.split("\0") if name}


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def compare(project: Path, render: TemplateRender) -> tuple[list[FileDrift], list[str], list[str]]:
    """Drifted files, the team's own files and the derived files of `project` against `render`."""
    present = project_files(project)
    drift: list[FileDrift] = []
    team_owned = sorted(name for name in present if render.is_team_owned(name))
    derived = sorted(name for name in render.files & DERIVED_FILES if name not in team_owned)
    skipped = {ANSWERS_FILE, *team_owned, *DERIVED_FILES}
    for name in sorted(render.files - skipped):
        if render.is_team_owned(name):
            continue  # the team's once generated, even where the project has none
        theirs, ours = render.content(name), _read(project / name)
        if ours is None:
            drift.append(FileDrift(name, "missing", template=theirs))
        elif ours != theirs:
            drift.append(FileDrift(name, "modified", template=theirs, project=ours))
    leftovers = (present & generated_files(project)) - render.files - skipped
    drift.extend(
        FileDrift(name, "extra-from-template", project=(project / name).read_bytes())
        for name in sorted(leftovers)
    )
    return sorted(drift, key=lambda item: item.file), team_owned, derived


def project_source(recorded: RecordedProject) -> TemplateSource:
    """The recorded source, offline when its cache holds the recorded version."""
    source = source_for_project(recorded.src_path, commit=recorded.commit, offline_if_cached=True)
    require_version(source, recorded.commit, recorded.version)
    return source


def diff_service(path: str | os.PathLike[str] = ".") -> DiffResult:
    """Show how the template-managed files of the project at PATH differ from its template.

    Renders the template at the version the project records, with its recorded answers, in a
    temporary folder (offline, from this installation's cache) and compares every file it
    generates with the working tree, uncommitted edits included: modified, missing, or
    extra-from-template (a file the template generated once and no longer does). Files the
    template leaves to the team (`_skip_if_exists`, unconditional `_exclude` entries such as a
    committed default.pgo) and derived files (go.sum, regenerated by `go mod tidy`) are listed
    apart, not as drift. Never touches the project or its git index.
    """
    recorded = read_recorded_project(path)
    source = project_source(recorded)
    with rendered_template(
        source, recorded.commit, recorded.answers, name=recorded.path.name
    ) as render:
        files, team_owned, derived = compare(recorded.path, render)
    return DiffResult(
        path=recorded.path,
        template_source=source.recorded,
        template_version=recorded.commit,
        files=files,
        team_owned=team_owned,
        derived=derived,
        notes=source.notes,
    )
