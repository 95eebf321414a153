"""`check`: is a generated project behind the newest version its template source offers?"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from ._answer_warnings import answer_warnings
from ._package import installed_version
from ._project import RecordedProject, read_recorded_project
from ._source import TemplateSource, source_for_project
from ._versions import releases
from .errors import ProjectNewerThanInstallationError, VersionNotOfferedError


@dataclass(frozen=True)
class CheckResult:
    """The project's template version against the newest one available."""

    path: Path
    template_source: str
    current_version: str
    latest_version: str | None
    update_available: bool
    behind_by: int = 0  # releases between the project's version and the newest
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (used by `check --json`)."""
        return {
            "path": str(self.path),
            "template_source": self.template_source,
            "current_version": self.current_version,
            "latest_version": self.latest_version,
            "update_available": self.update_available,
            "behind_by": self.behind_by,
            "notes": list(self.notes),
        }


def _refuse_a_newer_project(source: TemplateSource, recorded: RecordedProject) -> None:
    """Refuse a project on a version newer than every one the source offers, which `update`
    and `diff` refuse too (they need that version): not "up to date" but version skew — an
    older installation (a stale CI image) than the one that last generated or updated it.
    """
    offered = source.versions()
    if not offered or recorded.version in offered or recorded.version < max(offered):
        return
    if source.is_package:
        raise ProjectNewerThanInstallationError(
            commit=recorded.commit, installed=installed_version(), location=source.location
        )
    raise VersionNotOfferedError(
        commit=recorded.commit,
        source=source.recorded,
        offered=[str(version) for version in sorted(offered)],
    )


def check_service(path: str | os.PathLike[str] = ".") -> CheckResult:
    """Tell whether the project at PATH is behind its template.

    The versions come from the recorded source, read through this installation's cache:
    the package's own template URL offers what this installation carries (upgrading the
    package brings new versions); any other source is fetched first (offline: the cache
    answers, with a note). Pre-releases are ignored, as Copier does. Read-only: a source
    recorded by 0.1.0 is checked against where `update` will re-point it. A project on a
    version newer than every one the source offers is refused (TemplateSourceError): with the
    package's own source, this installation is older than the one that made the project.
    """
    recorded = read_recorded_project(path)
    source = source_for_project(recorded.src_path, commit=recorded.commit)
    notes = list(source.notes)
    if source.replaces is not None:
        notes.append(
            f"note: the answers file records {source.replaces}; `goperf-scaffold update` "
            f"re-points it to {source.recorded}"
        )
    _refuse_a_newer_project(source, recorded)
    notes += answer_warnings(recorded.answers)
    available = releases(source.versions())
    latest: Version | None = max(available, default=None)
    return CheckResult(
        path=recorded.path,
        template_source=source.recorded,
        current_version=recorded.commit,
        latest_version=source.versions()[latest] if latest is not None else None,
        update_available=latest is not None and latest > recorded.version,
        behind_by=sum(1 for version in available if version > recorded.version),
        notes=tuple(notes),
    )
