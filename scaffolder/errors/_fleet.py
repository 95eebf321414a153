"""Failures of the `fleet` commands: paths and options refused (UsageError), repositories unread."""

from __future__ import annotations

from collections.abc import Sequence

from .._constants import ANSWERS_FILE
from ._base import FleetIncompleteError, UsageError


class FleetPathsMissingError(UsageError):
    """A fleet command was given no repository or folder."""

    def __init__(self) -> None:
        super().__init__("name at least one repository or folder of repositories")


class FleetPathNotAFolderError(UsageError):
    """A fleet command was given a path that is not a folder."""

    def __init__(self, *, path: str) -> None:
        self.path = path  # as given on the command line
        super().__init__(f"'{path}' is not a folder")


class FleetPathWithoutProjectsError(UsageError):
    """A fleet command was given a folder with no generated project in or directly under it."""

    def __init__(self, *, path: str) -> None:
        self.path = path  # as given on the command line
        super().__init__(
            f"'{path}' holds no {ANSWERS_FILE}, and neither does any folder directly in it"
        )


class TargetNotAVersionError(UsageError):
    """`fleet update --to` names a revision that is not a version."""

    def __init__(self, *, target: str) -> None:
        self.target = target
        super().__init__(f"--to '{target}' is not a version")


class JobsOutOfRangeError(UsageError):
    """`fleet update --jobs` is below 1."""

    def __init__(self, *, jobs: int) -> None:
        self.jobs = jobs
        super().__init__(f"--jobs must be at least 1, got {jobs}")


class FleetUnreadableError(FleetIncompleteError):
    """`fleet status` could not read some repositories (their rows say why)."""

    def __init__(self, *, projects: Sequence[str]) -> None:
        self.projects = tuple(projects)
        super().__init__(f"could not read {len(self.projects)}: {', '.join(self.projects)}")
