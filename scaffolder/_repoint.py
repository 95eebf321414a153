"""Re-point a project's recorded template source, in a commit of its own.

Copier reads `_src_path` from the committed answers file and refuses a dirty repository, so
the new source must be committed before the update; a separate commit also keeps the
re-pointing visible in the history, apart from the template's changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ._constants import ANSWERS_FILE
from ._git import commit_files
from .errors import NoSourceLineToRepointError

_SRC_PATH_LINE = re.compile(r"^_src_path:.*$", re.MULTILINE)


def repoint_commit_message(old: str, new: str) -> str:
    """The commit message of a re-pointing (names both sources)."""
    return f"Re-point the template source to {new}\n\nIt was {old}.\n"


def record_source(project: Path, old: str, new: str) -> str:
    """Write `new` as `_src_path` in the project's answers file and commit it; return the sha."""
    answers = project / ANSWERS_FILE
    text = answers.read_text(encoding="utf-8")
    line = yaml.safe_dump({"_src_path": new}, default_flow_style=False, width=10_000).strip()
    changed, count = _SRC_PATH_LINE.subn(line.replace("\\", "\\\\"), text, count=1)
    if count != 1:
        raise NoSourceLineToRepointError(path=answers)
    answers.write_text(changed, encoding="utf-8")
    return commit_files(project, [ANSWERS_FILE], repoint_commit_message(old, new))
