"""Template versions: `_commit` values read as PEP 440, and releases derived from history.

A template repository without version tags (a fresh clone of this repository, say) still knows
its releases from committed data: version X is the last first-parent commit whose
pyproject.toml says X — the state just before the version moves on (the first commit after a
release sets the next `.devN`), so a release's content never changes after the fact.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from packaging.version import InvalidVersion, Version

from ._git import GitCommandError, run_git

_DESCRIBE_PATTERN = re.compile(r"^(?P<base>.+)-(?P<count>\d+)-(?P<hash>g[0-9a-f]+)$")


def parse_recorded_version(commit: str | None) -> Version | None:
    """Read a version from an answers file's `_commit` the way Copier does, or None."""
    if not commit:
        return None
    with contextlib.suppress(InvalidVersion):
        return Version(commit)
    match = _DESCRIBE_PATTERN.match(commit)
    if match:
        with contextlib.suppress(InvalidVersion):
            return Version(f"{match['base']}.post{match['count']}+{match['hash']}")
    return None


def version_names(names: Iterable[str]) -> dict[Version, str]:
    """The names that are PEP 440 versions, keyed by their parsed version."""
    found: dict[Version, str] = {}
    for name in names:
        with contextlib.suppress(InvalidVersion):
            found.setdefault(Version(name), name)
    return found


def releases(versions: Iterable[Version]) -> list[Version]:
    """The versions Copier would update to (no pre-releases), oldest first."""
    return sorted(version for version in versions if not version.is_prerelease)


def _pyproject_version_at(repo: Path, commit: str) -> Version | None:
    try:
        text = run_git("show", f"{commit}:pyproject.toml", cwd=repo)
        raw = tomllib.loads(text).get("project", {}).get("version")
    except (GitCommandError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(raw, str):
        return None
    with contextlib.suppress(InvalidVersion):
        return Version(raw)
    return None


def versions_from_pyproject_history(repo: Path, rev: str = "HEAD") -> list[tuple[Version, str]]:
    """Map each version in pyproject.toml's history to the commit that released it, oldest first.

    Version X maps to the last first-parent commit of `rev` whose `[project] version` is X
    (the newest version maps to `rev` itself). Uses committed data only.
    """
    log = run_git(
        "log", "--first-parent", "--reverse", "--format=%H", rev, "--", "pyproject.toml", cwd=repo
    )
    found: dict[Version, str] = {}
    current: Version | None = None
    for commit in log.split():
        version = _pyproject_version_at(repo, commit)
        if version == current:
            continue
        if current is not None:
            found[current] = run_git("rev-parse", f"{commit}^1", cwd=repo).strip()
        current = version
    if current is not None:
        found[current] = run_git("rev-parse", rev, cwd=repo).strip()
    return sorted(found.items())
