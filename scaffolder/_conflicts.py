"""Find the conflicts an update or adopt left: marker lines, .rej files, unmerged entries."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._git import run_git

# Copier's inline markers (`git merge-file -L ...` in its update), adopt's and heal's.
START_MARKERS = (b"<<<<<<< before updating", b"<<<<<<< before adopting", b"<<<<<<< before healing")
END_MARKERS = (b">>>>>>> after updating", b">>>>>>> after adopting", b">>>>>>> after healing")
_MARKERS = START_MARKERS + END_MARKERS


def _has_markers(path: Path) -> bool:
    with path.open("rb") as handle:
        return any(line.rstrip() in _MARKERS for line in handle)


def find_conflicts(project: Path, candidates: Iterable[str]) -> list[str]:
    """Among `candidates` (project-relative), files with markers or .rej; plus unmerged files."""
    conflicted: set[str] = set()
    unmerged = run_git("diff", "--name-only", "--diff-filter=U", "--relative", cwd=project)
    conflicted.update(line.strip() for line in unmerged.splitlines() if line.strip())
    for relative in candidates:
        if relative.endswith(".rej"):
            conflicted.add(relative)
            continue
        path = project / relative
        if path.is_file() and _has_markers(path):
            conflicted.add(relative)
    return sorted(conflicted)


def open_conflicts(project: Path) -> list[str]:
    """Every conflict still open in the project: tracked or not, committed or not."""
    listing = run_git(
        "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", ".", cwd=project
    )
    files = sorted({name for name in listing.split("\0") if name})
    return find_conflicts(project, files)
