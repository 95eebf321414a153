"""`check`: is a generated project behind the newest version its template source offers?"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._project import read_recorded_project
from ._template_source import available_versions, refresh_recorded_source


@dataclass(frozen=True)
class CheckResult:
    """The project's template version against the newest one available."""

    path: Path
    template_source: str
    current_version: str
    latest_version: str | None
    update_available: bool

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (used by `check --json`)."""
        return {
            "path": str(self.path),
            "template_source": self.template_source,
            "current_version": self.current_version,
            "latest_version": self.latest_version,
            "update_available": self.update_available,
        }


def check_service(path: str | os.PathLike[str] = ".") -> CheckResult:
    """Tell whether the project at PATH is behind its template.

    Refreshes the per-user mirror from the installed package first, so a newer installed
    goperf-scaffold counts as an available update. Pre-releases are ignored, as Copier does.
    """
    recorded = read_recorded_project(path)
    refresh_recorded_source(recorded.src_path)
    releases = [v for v in available_versions(recorded.src_path) if not v.is_prerelease]
    latest = max(releases) if releases else None
    return CheckResult(
        path=recorded.path,
        template_source=recorded.src_path,
        current_version=recorded.commit,
        latest_version=str(latest) if latest else None,
        update_available=latest is not None and latest > recorded.version,
    )
