"""Unified diffs of two versions of a file, in the form `patch` and `git apply` read."""

from __future__ import annotations

import difflib

DEV_NULL = "/dev/null"
_NO_NEWLINE = "\\ No newline at end of file\n"


def is_text(data: bytes) -> bool:
    """True for content a line diff can show: UTF-8 without NUL bytes."""
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _lines(data: bytes | None) -> list[str]:
    return data.decode("utf-8").splitlines(keepends=True) if data else []


def unified(old: bytes | None, new: bytes | None, old_label: str, new_label: str) -> str:
    """The unified diff from `old` to `new` (None: no file), 3 lines of context.

    Binary content gets git's one-line notice instead of hunks.
    """
    if old == new:
        return ""
    if not all(is_text(data) for data in (old, new) if data is not None):
        return f"Binary files {old_label} and {new_label} differ\n"
    out: list[str] = []
    for line in difflib.unified_diff(
        _lines(old), _lines(new), fromfile=old_label, tofile=new_label, lineterm="\n"
    ):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + _NO_NEWLINE)
    return "".join(out)


def changed_lines(old: bytes | None, new: bytes | None) -> tuple[int, int] | None:
    """Lines added and removed from `old` to `new`; None when either is binary."""
    if not all(is_text(data) for data in (old, new) if data is not None):
        return None
    added = removed = 0
    in_hunks = False  # the two header lines come first
    for line in difflib.unified_diff(_lines(old), _lines(new), n=0):
        in_hunks = in_hunks or line.startswith("@@")
        if in_hunks and line.startswith("+"):
            added += 1
        elif in_hunks and line.startswith("-"):
            removed += 1
    return added, removed
