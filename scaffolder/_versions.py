"""Template versions: `_commit` values read as PEP 440, and releases derived from history.

A template repository without version tags (a fresh clone of this repository, say) still knows
its releases from committed data: version X is released by the last commit that wrote its
`## X` section of CHANGELOG.md while pyproject.toml said X (the release commit writes the
changelog), or, for a version the changelog does not list, by the commit that set
`version = "X"` in pyproject.toml. Only first-parent history is read, oldest first.
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
_CHANGELOG_HEADING = re.compile(r"^##\s+\[?(?P<version>[^\]\s]+)\]?(\s|$)", re.MULTILINE)


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


def _first_parent_commits(repo: Path, rev: str, path: str) -> list[str]:
    log = run_git("log", "--first-parent", "--reverse", "--format=%H", rev, "--", path, cwd=repo)
    return log.split()


def _file_at(repo: Path, commit: str, path: str) -> str | None:
    try:
        return run_git("show", f"{commit}:{path}", cwd=repo)
    except GitCommandError:
        return None


def _versions_set_in_pyproject(repo: Path, rev: str) -> list[tuple[Version, str]]:
    """Each version of pyproject.toml's history and the first commit that set it."""
    found: list[tuple[Version, str]] = []
    seen: set[Version] = set()
    for commit in _first_parent_commits(repo, rev, "pyproject.toml"):
        text = _file_at(repo, commit, "pyproject.toml")
        try:
            raw = tomllib.loads(text or "").get("project", {}).get("version")
        except tomllib.TOMLDecodeError:
            continue
        if not isinstance(raw, str):
            continue
        with contextlib.suppress(InvalidVersion):
            parsed = Version(raw)
            if parsed not in seen:
                seen.add(parsed)
                found.append((parsed, commit))
    return found


def _changelog_sections(text: str) -> dict[Version, str]:
    """The text of each `## X` section of a changelog, keyed by version."""
    matches = list(_CHANGELOG_HEADING.finditer(text))
    sections: dict[Version, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        with contextlib.suppress(InvalidVersion):
            sections.setdefault(Version(match["version"]), text[match.start() : end])
    return sections


def _changelog_writes(repo: Path, rev: str) -> dict[Version, list[str]]:
    """For each version, the commits that wrote (created or changed) its changelog section."""
    writes: dict[Version, list[str]] = {}
    previous: dict[Version, str] = {}
    for commit in _first_parent_commits(repo, rev, "CHANGELOG.md"):
        sections = _changelog_sections(_file_at(repo, commit, "CHANGELOG.md") or "")
        for version, section in sections.items():
            if previous.get(version) != section:
                writes.setdefault(version, []).append(commit)
        previous = sections
    return writes


def release_commits(repo: Path, rev: str = "HEAD") -> list[tuple[Version, str]]:
    """Map each version of the repository's history to the commit that released it.

    The last write of the version's changelog section wins over the version bump (0.1.0 was
    the version from the first commit on, and was released by "Changelog for 0.1.0"), but
    only a write made before the next version was set: a later fix of an old section never
    moves a release.
    """
    set_at = _versions_set_in_pyproject(repo, rev)
    if not set_at:
        return []
    writes = _changelog_writes(repo, rev)
    history = run_git("rev-list", "--first-parent", "--reverse", rev, cwd=repo).split()
    order = {commit: index for index, commit in enumerate(history)}
    result: list[tuple[Version, str]] = []
    for index, (version, commit) in enumerate(set_at):
        start = order.get(commit, 0)
        end = order[set_at[index + 1][1]] if index + 1 < len(set_at) else len(history)
        inside = [write for write in writes.get(version, []) if start <= order.get(write, -1) < end]
        result.append((version, inside[-1] if inside else commit))
    return result
