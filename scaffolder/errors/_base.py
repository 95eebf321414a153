"""ExitCode, what each code means, ScaffoldError and the classes that carry an exit code."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `goperf-scaffold` command (meanings: EXIT_CODE_MEANINGS)."""

    OK = 0
    UNEXPECTED = 1
    FILES_DIFFER = 1  # `diff` found drift (diff(1)); an alias: `diff` exits DIFF_FAILED on a bug
    USAGE = 2
    INVALID_ANSWER = 3
    DESTINATION = 4
    TEMPLATE_SOURCE = 5
    STEP_FAILED = 6
    NOT_UPDATABLE = 7
    DOWNGRADE = 8
    CONFLICTS = 9
    UPDATE_AVAILABLE = 10
    ORG_CONFIG = 11
    FLEET_INCOMPLETE = 12
    DIFF_FAILED = 13  # what `diff` exits with instead of 1, which there means "files differ"
    INTERRUPTED = 130


# What each exit code means, in the words `--help` and the README use.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success; `check`: up to date",
    ExitCode.UNEXPECTED: "unexpected internal error (a bug: please report it); "
    "`diff`: files differ (as diff(1))",
    ExitCode.USAGE: "usage error: bad command line, malformed or unknown `--data`",
    ExitCode.INVALID_ANSWER: "an answer was refused by the template (copier.yml)",
    ExitCode.DESTINATION: "destination problem: not empty, would overwrite files, unwritable",
    ExitCode.TEMPLATE_SOURCE: "template source problem: unknown source or revision, broken",
    ExitCode.STEP_FAILED: "a post-generation/update step failed (the project is kept)",
    ExitCode.NOT_UPDATABLE: "not updatable: no answers file, not in git, uncommitted changes",
    ExitCode.DOWNGRADE: "downgrade refused",
    ExitCode.CONFLICTS: "update or adopt done, but conflicts remain to resolve",
    ExitCode.UPDATE_AVAILABLE: "`check`, `fleet status`: an update is available",
    ExitCode.ORG_CONFIG: "organisation config problem: unknown key, bad value, unreadable",
    ExitCode.FLEET_INCOMPLETE: "`fleet`: some repositories were not updated or not read",
    ExitCode.DIFF_FAILED: "`diff`: an unexpected internal error (1 means files differ there)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


class ScaffoldError(Exception):
    """Root of all goperf-scaffold errors; `str(error)` is a one-line message for the user."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str) -> None:
        # Users see exactly one line: fold whatever a tool gave us into it.
        self.message = " ".join(message.split())
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class UnexpectedError(ScaffoldError):
    """Something failed that we did not foresee; wraps the original exception."""

    exit_code = ExitCode.UNEXPECTED


class UsageError(ScaffoldError):
    """The command line or a `--data KEY=VALUE` item is malformed."""

    exit_code = ExitCode.USAGE


class InvalidAnswerError(ScaffoldError):
    """The template (copier.yml) refused an answer: validator or choice."""

    exit_code = ExitCode.INVALID_ANSWER


class DestinationError(ScaffoldError):
    """The destination folder cannot receive a new project."""

    exit_code = ExitCode.DESTINATION


class TemplateSourceError(ScaffoldError):
    """The template source or revision cannot be found or read."""

    exit_code = ExitCode.TEMPLATE_SOURCE


class StepFailedError(ScaffoldError):
    """A post-generation or post-update step (git, go mod tidy, go build, ...) failed."""

    exit_code = ExitCode.STEP_FAILED

    def __init__(
        self,
        *,
        step: str,
        detail: str,
        failure_context: str,
        not_run: Sequence[str] = (),
        output: str = "",
    ) -> None:
        self.step = step
        self.detail = detail  # the step's own one-line account of the failure
        self.failure_context = failure_context  # what was kept, and what to do next
        self.not_run = tuple(not_run)  # labels of the later steps, which were not run
        self.output = output  # the tail of the failing command's output
        suffix = f"; not run: {', '.join(self.not_run)}" if self.not_run else ""
        super().__init__(f"{detail}; {failure_context}{suffix}")


class ProjectNotUpdatableError(ScaffoldError):
    """The folder is not a clean, git-tracked project with a Copier answers file."""

    exit_code = ExitCode.NOT_UPDATABLE


class DowngradeError(ScaffoldError):
    """The requested template version is older than the one the project is on."""

    exit_code = ExitCode.DOWNGRADE


class OrgConfigError(ScaffoldError):
    """The organisation defaults file has an unknown key, a bad value or cannot be read."""

    exit_code = ExitCode.ORG_CONFIG


class FleetIncompleteError(ScaffoldError):
    """A fleet command finished, but some repositories need attention (listed in the report)."""

    exit_code = ExitCode.FLEET_INCOMPLETE


class InterruptedByUserError(ScaffoldError):
    """The user interrupted (Ctrl-C) a prompt or a step."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted; nothing was written") -> None:
        super().__init__(message)
