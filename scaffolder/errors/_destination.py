"""Failures of the folder `new` renders into: its name, its existence, its permissions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._base import DestinationError, InvalidAnswerError


class FolderNameNotAProjectNameError(InvalidAnswerError):
    """No valid project_name can be derived from the destination folder's name."""

    def __init__(self, *, folder_name: str, derived: str) -> None:
        self.folder_name = folder_name
        self.derived = derived
        super().__init__(
            f"cannot make a project name of the folder name '{folder_name}' (got '{derived}'; a "
            "name starts with a letter and has only a-z, 0-9 and '-', at most 63 characters): "
            "pass --data project_name=NAME, or choose another folder name"
        )


class FolderNameNotAsciiError(InvalidAnswerError):
    """The destination folder's name has characters outside ASCII, which a project name cannot
    hold; `suggestion` is the name its ASCII spelling gives ('' when none)."""

    def __init__(self, *, folder_name: str, suggestion: str) -> None:
        self.folder_name = folder_name
        self.suggestion = suggestion
        example = f" (such as {suggestion})" if suggestion else ""
        super().__init__(
            f"the folder name '{folder_name}' has non-ASCII characters, which a project name "
            f"cannot hold: pass --data project_name=NAME{example}, or choose another folder name"
        )


class DestinationNameEmptyError(DestinationError):
    """DEST is empty or blank."""

    def __init__(self) -> None:
        super().__init__("DEST is empty: name the folder to create")


class DestinationNotAFolderError(DestinationError):
    """DEST exists and is a file (or another non-folder)."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"destination '{path}' exists and is not a folder")


class DestinationNotEmptyError(DestinationError):
    """DEST has files and `--force` was not given."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(
            f"destination '{path}' exists and is not empty (use --force to render into it)"
        )


class DestinationNotWritableError(DestinationError):
    """DEST exists and the user cannot write to it."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"destination '{path}' is not writable")


class DestinationParentMissingError(DestinationError):
    """DEST's parent folder does not exist (`new` creates one level only)."""

    def __init__(self, *, path: Path, parent: Path) -> None:
        self.path = path
        self.parent = parent
        super().__init__(f"cannot create '{path}': parent folder '{parent}' does not exist")


class DestinationParentNotWritableError(DestinationError):
    """DEST does not exist and its parent folder is not writable."""

    def __init__(self, *, path: Path, parent: Path) -> None:
        self.path = path
        self.parent = parent
        super().__init__(f"cannot create '{path}': parent folder '{parent}' is not writable")


class OverwriteRefusedError(DestinationError):
    """`new --force` would replace existing files and the user did not confirm it."""

    shown_files = 10  # how many of `files` the message names

    def __init__(self, *, path: Path, files: Sequence[str]) -> None:
        self.path = path
        self.files = tuple(files)
        shown = ", ".join(self.files[: self.shown_files])
        if len(self.files) > self.shown_files:
            shown += " …"
        super().__init__(
            f"refusing to overwrite {len(self.files)} existing file(s) in '{path}': "
            f"{shown} (pass --yes with --force to overwrite them)"
        )
