"""project_name from a destination folder's name: the rule copier.yml's default applies."""

from __future__ import annotations

import re

from .errors import InvalidAnswerError

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")


def derive_project_name(folder_name: str) -> str:
    """The project_name a folder name gives: lower-case, runs of other characters become '-',
    no '-' at either end (copier.yml's `project_name` default says the same in Jinja).

    Raises InvalidAnswerError, naming what was typed, when that is not a valid name.
    """
    derived = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", folder_name.lower())).strip("-")
    if not _SLUG.match(derived) or len(derived) > 63:
        raise InvalidAnswerError(
            f"cannot make a project name of the folder name '{folder_name}' (got '{derived}'; a "
            "name starts with a letter and has only a-z, 0-9 and '-', at most 63 characters): "
            "pass --data project_name=NAME, or choose another folder name"
        )
    return derived
