"""project_name from a destination folder's name: the rule copier.yml's default applies."""

from __future__ import annotations

import re

from .errors import FolderNameNotAProjectNameError

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")


def derive_project_name(folder_name: str) -> str:
    """The project_name a folder name gives: lower-case, runs of other characters become '-',
    no '-' at either end (copier.yml's `project_name` default says the same in Jinja).

    Raises FolderNameNotAProjectNameError (an InvalidAnswerError), naming what was typed, when
    that is not a valid name.
    """
    derived = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", folder_name.lower())).strip("-")
    if not _SLUG.match(derived) or len(derived) > 63:
        raise FolderNameNotAProjectNameError(folder_name=folder_name, derived=derived)
    return derived
