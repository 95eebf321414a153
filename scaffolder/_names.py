"""project_name from a destination folder's name: the rule copier.yml's default applies."""

from __future__ import annotations

import re
import unicodedata

from .errors import FolderNameNotAProjectNameError, FolderNameNotAsciiError

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_MAX_LENGTH = 63  # a Kubernetes name


def _slug(text: str) -> str:
    """Lower-case; runs of characters other than a-z, 0-9 and '-' become one '-'; no '-' at
    either end."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", text.lower())).strip("-")


def _is_project_name(name: str) -> bool:
    return bool(_SLUG.match(name)) and len(name) <= _MAX_LENGTH


def ascii_spelling(text: str) -> str:
    """`text` with accents dropped (`café` → `cafe`) and other non-ASCII characters left out."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def derive_project_name(folder_name: str) -> str:
    """The project_name a folder name gives: lower-case, runs of other characters become '-',
    no '-' at either end (copier.yml's `project_name` default says the same in Jinja).

    A name with non-ASCII characters is refused, never silently shortened (`café` would give
    `caf`): FolderNameNotAsciiError suggests its ASCII spelling (`cafe`) when that is a valid
    name. Raises FolderNameNotAProjectNameError (an InvalidAnswerError), naming what was
    typed, when the name gives no valid project name.
    """
    if not folder_name.isascii():
        suggestion = _slug(ascii_spelling(folder_name))
        raise FolderNameNotAsciiError(
            folder_name=folder_name, suggestion=suggestion if _is_project_name(suggestion) else ""
        )
    derived = _slug(folder_name)
    if not _is_project_name(derived):
        raise FolderNameNotAProjectNameError(folder_name=folder_name, derived=derived)
    return derived
