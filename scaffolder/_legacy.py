"""Recognise the template sources goperf-scaffold 0.1.0 recorded: per-user mirror paths.

0.1.0 recorded `<user data dir>/goperf-scaffold/template` (its mirror of the installed
package's template) or `<user data dir>/goperf-scaffold/sources/<name>-<hash>` (a tagged clone
of a `--template` checkout without tags). Both are paths on the generating machine only; a
teammate's copy of the project names a folder that does not exist. They are recognised by
their shape, or, when the folder exists, by the commits goperf-scaffold made in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._cache import data_dir
from ._constants import PACKAGE_NAME
from ._git import GitCommandError, run_git
from ._urls import is_url

_MIRROR_COMMIT_PREFIX = "goperf-scaffold template "


@dataclass(frozen=True)
class LegacySource:
    """A 0.1.0 mirror path found in an answers file, and what it mirrored (if still known)."""

    kind: Literal["package mirror", "checkout mirror"]
    path: str
    origin: str | None = None  # the checkout a "checkout mirror" was cloned from


def _made_by_goperf_scaffold(folder: Path) -> bool:
    try:
        subject = run_git("log", "-1", "--format=%s", cwd=folder).strip()
    except (GitCommandError, OSError):
        return False
    return subject.startswith(_MIRROR_COMMIT_PREFIX)


def _origin_of(folder: Path) -> str | None:
    try:
        origin = run_git("config", "--get", "remote.origin.url", cwd=folder).strip()
    except (GitCommandError, OSError):
        return None
    return origin or None


def legacy_source(src_path: str) -> LegacySource | None:
    """The 0.1.0 mirror that `src_path` names, or None for any other source."""
    if is_url(src_path):
        return None
    path = Path(src_path).expanduser()
    in_data_dir = path.parent.name == PACKAGE_NAME or path.parent == data_dir()
    if path.name == "template" and (in_data_dir or _made_by_goperf_scaffold(path)):
        return LegacySource("package mirror", src_path)
    checkouts = path.parent
    if checkouts.name == "sources" and (
        checkouts.parent.name == PACKAGE_NAME or checkouts.parent == data_dir()
    ):
        origin = _origin_of(path) if (path / ".git").is_dir() else None
        return LegacySource("checkout mirror", src_path, origin)
    return None
