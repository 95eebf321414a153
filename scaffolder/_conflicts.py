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


def rej_notes_after_update(project: Path, conflicted: Iterable[str]) -> list[str]:
    """For each `<file>.rej` an update left (`--conflict rej`), what it holds and what to do.

    Copier renders the new template version over the project, then re-applies the team's
    edits as a patch (`git apply --reject`): hunks that apply land in the file, hunks that
    conflict are written to `<file>.rej`. So the file holds the template's side of each
    conflict and the team's side is in the .rej (the opposite of adopt's .rej files). When
    the new version no longer has the file (removed or renamed), the file is gone and only
    the .rej is left.
    """
    notes = []
    for rej in sorted(name for name in conflicted if name.endswith(".rej")):
        target = rej.removesuffix(".rej")
        todo = f"review {rej}, re-apply the edits you still want"
        if (project / target).exists():
            notes.append(
                f"{target} now holds the template's version where the team's edits conflicted "
                f"with it; those edits are in {rej} (edits that did not conflict stay in "
                f"{target}): {todo} to {target}, then delete {rej}"
            )
        else:
            notes.append(
                f"{target} is gone: the new template version no longer has it (removed or "
                f"renamed); the team's edits to it are in {rej}: {todo} where that code lives "
                f"now, then delete {rej}"
            )
    return notes
