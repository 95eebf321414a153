"""Failures of `update --heal`: options and files it refuses, and a failed git merge-file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._base import ScaffoldError, UsageError


class HealOptionsError(UsageError):
    """`update --heal` was combined with options it cannot honour."""

    def __init__(self, *, options: Sequence[str]) -> None:
        self.options = tuple(options)
        super().__init__(
            "--heal works at the project's recorded template version with inline markers; "
            f"drop {', '.join(self.options)} (update first, then heal)"
        )


class HealNeedsFilesError(UsageError):
    """`update --heal` named no file."""

    def __init__(self) -> None:
        super().__init__("--heal needs at least one FILE")


class UnhealableFileError(UsageError):
    """`update --heal NAME` names something heal cannot take from the template."""

    def __init__(self, *, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"--heal {name}: {reason}")


class HealFolderError(UnhealableFileError):
    """`--heal` names a folder (most likely the project, given after --heal)."""

    def __init__(self, *, name: str) -> None:
        super().__init__(
            name=name,
            reason="a folder, not a file; name the project before --heal: "
            "`goperf-scaffold update PATH --heal FILE…`",
        )


class HealOutsideProjectError(UnhealableFileError):
    """`--heal` names a path outside the project."""

    def __init__(self, *, name: str, project: Path) -> None:
        self.project = project
        super().__init__(name=name, reason=f"not inside the project '{project}'")


class HealAnswersFileError(UnhealableFileError):
    """`--heal` names the answers file, which records the project rather than template content."""

    def __init__(self, *, name: str) -> None:
        super().__init__(name=name, reason="the answers file is the record, not template content")


class HealDerivedFileError(UnhealableFileError):
    """`--heal` names a file derived from go.mod (go.sum)."""

    def __init__(self, *, name: str) -> None:
        super().__init__(name=name, reason="it is derived from go.mod; run `go mod tidy` instead")


class HealTeamOwnedFileError(UnhealableFileError):
    """`--heal` names a file the template leaves to the team once generated."""

    def __init__(self, *, name: str) -> None:
        super().__init__(
            name=name,
            reason="the template leaves this file to the team once generated "
            "(_skip_if_exists or _exclude in its copier.yml)",
        )


class HealNotGeneratedError(UnhealableFileError):
    """`--heal` names a file the template does not generate for this project."""

    def __init__(self, *, name: str, version: str) -> None:
        self.version = version  # the project's recorded template version
        super().__init__(
            name=name,
            reason=f"not a file the template generates for this project (template {version}); "
            "`goperf-scaffold diff` lists the ones that differ",
        )


class MergeFileFailedError(ScaffoldError):
    """`git merge-file` itself failed (not a conflict) while healing; `output` is its stderr."""

    def __init__(self, *, output: str) -> None:
        self.output = output
        super().__init__(f"git merge-file failed: {output}")
