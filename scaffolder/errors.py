"""The one error hierarchy of goperf-scaffold, and the exit code each error maps to.

Every error a user can cause is a `ScaffoldError` whose message fits on one line. The CLI prints
`goperf-scaffold: error: <message>` and exits with the error's `exit_code`; no traceback ever
reaches a user. Exit codes are stable (scripts and CI depend on them); `EXIT_CODE_MEANINGS`
says what each means, and `--help` and the README's table are generated from it.

The base classes below (one per exit code) take a ready message. Each failure has its own
subclass that takes its inputs as keyword arguments, keeps them as attributes a caller can read
(`error.path`, `error.key`, ...) and builds the message itself, so a raise site names the failure
and its inputs, never the wording. An error that wraps a tool's output (Copier, git) keeps that
output as `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Literal

from packaging.version import Version

from ._constants import ANSWERS_FILE, PACKAGE_NAME, TEMPLATE_URL_LABEL

__all__ = [
    "EXIT_CODE_MEANINGS",
    "REPOINT_HINT",
    "AdoptMergeError",
    "AlreadyAdoptedError",
    "AnswerRefusedError",
    "AnswersFileUnreadableError",
    "AnswersWithoutSourceError",
    "AnswersWithoutVersionError",
    "BadOrgConfigValueError",
    "BranchExistsError",
    "BranchNotCreatedError",
    "CarriedTemplateMissingError",
    "CommandLineError",
    "CopierDowngradeError",
    "CopierNotUpdatableError",
    "DestinationError",
    "DestinationNameEmptyError",
    "DestinationNotAFolderError",
    "DestinationNotEmptyError",
    "DestinationNotWritableError",
    "DestinationParentMissingError",
    "DestinationParentNotWritableError",
    "DowngradeError",
    "DowngradeRefusedError",
    "ExitCode",
    "FleetIncompleteError",
    "FleetPathNotAFolderError",
    "FleetPathWithoutProjectsError",
    "FleetPathsMissingError",
    "FleetUnreadableError",
    "FolderNameNotAProjectNameError",
    "GitNotInstalledError",
    "HealAnswersFileError",
    "HealDerivedFileError",
    "HealFolderError",
    "HealNeedsFilesError",
    "HealNotGeneratedError",
    "HealOptionsError",
    "HealOutsideProjectError",
    "HealTeamOwnedFileError",
    "InterruptedByUserError",
    "InvalidAnswerError",
    "JobsOutOfRangeError",
    "LegacyMirrorMissingError",
    "MalformedDataError",
    "MergeFileFailedError",
    "ModulePrefixWithSchemeError",
    "NoAnswersFileError",
    "NoSourceLineToRepointError",
    "NoTemplateUrlError",
    "NotAChoiceError",
    "NotAWordError",
    "NotInteractiveError",
    "NotTrueOrFalseError",
    "OrgConfigError",
    "OrgConfigFileValueError",
    "OrgConfigNotAMappingError",
    "OrgConfigNotYamlError",
    "OrgConfigUnreadableError",
    "OrgConfigUnwritableError",
    "OverwriteRefusedError",
    "PackageVersionNotPep440Error",
    "ProjectNotAFolderError",
    "ProjectNotInGitError",
    "ProjectNotUpdatableError",
    "RecordedSourceMissingError",
    "RevisionUnknownToCopierError",
    "ScaffoldError",
    "SourceNotGitRootError",
    "SourceOffersNoVersionError",
    "SourceUnreachableError",
    "SourceWithoutCopierYmlError",
    "SourceWithoutDefaultBranchError",
    "SourceWithoutVersionHistoryError",
    "SourceWithoutVersionTagsError",
    "StepFailedError",
    "TargetNotAVersionError",
    "TemplateCacheRefreshError",
    "TemplateGitError",
    "TemplateNotTrustedError",
    "TemplateProblemError",
    "TemplateRenderingError",
    "TemplateSourceError",
    "UncommittedChangesError",
    "UnexpectedError",
    "UnhealableFileError",
    "UnknownDataKeysError",
    "UnknownOrgConfigKeyError",
    "UnknownRevisionError",
    "UnknownTemplateSourceError",
    "UntaggedSharedSourceError",
    "UsageError",
    "VersionNotCarriedError",
    "VersionNotOfferedError",
    "YesWithoutForceError",
]


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


# What `goperf-scaffold update --template` re-points to, named wherever a source is out of reach.
REPOINT_HINT = "re-point it: goperf-scaffold update --template SRC (a git URL your team can reach)"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


# --- UsageError: the command line ------------------------------------------------------------


class CommandLineError(UsageError):
    """argparse refused the command line; `problem` is its complaint."""

    def __init__(self, *, problem: str, prog: str) -> None:
        self.problem = problem
        self.prog = prog
        super().__init__(f"{problem} (see `{prog} --help`)")


class YesWithoutForceError(UsageError):
    """`new --yes` without `--force`: there is nothing for --yes to confirm."""

    def __init__(self) -> None:
        super().__init__("--yes only confirms --force: pass both to overwrite existing files")


class MalformedDataError(UsageError):
    """A `--data` item is not `KEY=VALUE` (`key` is None), or its KEY is not a question name."""

    def __init__(self, *, item: str, key: str | None = None) -> None:
        self.item = item
        self.key = key
        if key is None:
            super().__init__(f"malformed --data '{item}': expected KEY=VALUE")
        else:
            super().__init__(f"malformed --data '{item}': '{key}' is not a question name")


class UnknownDataKeysError(UsageError):
    """`--data` answers questions the template does not ask."""

    def __init__(self, *, keys: Sequence[str], questions: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.questions = tuple(questions)  # the questions a user answers
        super().__init__(
            f"unknown --data key(s) {', '.join(self.keys)}; questions: {', '.join(self.questions)}"
        )


class NotInteractiveError(UsageError):
    """Copier has questions to ask, and stdin is not a terminal."""

    def __init__(self) -> None:
        super().__init__(
            "questions need an interactive terminal: pass --defaults and/or --data KEY=VALUE"
        )


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


# --- InvalidAnswerError ----------------------------------------------------------------------


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


class AnswerRefusedError(InvalidAnswerError):
    """Copier's validator or choice check refused an answer; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


# --- DestinationError ------------------------------------------------------------------------


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


# --- TemplateSourceError ---------------------------------------------------------------------


class UnknownTemplateSourceError(TemplateSourceError):
    """`--template` (or the org config) names neither a folder nor a git URL."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"unknown template source '{source}': no such folder, and not a git URL")


class SourceWithoutCopierYmlError(TemplateSourceError):
    """A template folder has no copier.yml."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source '{source}' has no copier.yml")


class SourceNotGitRootError(TemplateSourceError):
    """A template folder is not the root of a git repository, so it has no versions."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(
            f"template source '{source}' is not the root of a git repository; projects "
            "generated from it could never be updated (commit it to git, or pass a git URL)"
        )


class RecordedSourceMissingError(TemplateSourceError):
    """The local template source a project records is not on this machine."""

    def __init__(self, *, recorded: str) -> None:
        self.recorded = recorded
        super().__init__(
            f"the template source recorded in {ANSWERS_FILE}, '{recorded}', does not "
            f"exist on this machine; {REPOINT_HINT}"
        )


class LegacyMirrorMissingError(TemplateSourceError):
    """A project records a 0.1.0 mirror of a template checkout that is not on this machine."""

    def __init__(self, *, recorded: str) -> None:
        self.recorded = recorded
        super().__init__(
            f"the answers file records '{recorded}', a {PACKAGE_NAME} 0.1.0 mirror of a "
            f"template checkout that is not on this machine; {REPOINT_HINT}"
        )


class UnknownRevisionError(TemplateSourceError):
    """`--vcs-ref` (or `--to`) names a revision the source does not have."""

    def __init__(self, *, ref: str, source: str, offered: Sequence[str]) -> None:
        self.ref = ref
        self.source = source
        self.offered = tuple(offered)  # the versions the source offers, oldest first
        super().__init__(
            f"unknown template revision (--vcs-ref) '{ref}' in {source}; "
            f"versions: {_listed(self.offered)}"
        )


class VersionNotCarriedError(TemplateSourceError):
    """The project's version is neither carried by this installation nor reachable online."""

    def __init__(
        self, *, commit: str, installed: str, offered: Sequence[str], location: str
    ) -> None:
        self.commit = commit  # the version the project records
        self.installed = installed  # this installation's package version
        self.offered = tuple(offered)
        self.location = location
        super().__init__(
            f"the project is on template {commit}, which this installation of {PACKAGE_NAME} "
            f"({installed}) does not carry (it knows {_listed(self.offered)}) and "
            f"{location} cannot provide; install {PACKAGE_NAME} from a checkout of "
            "its repository (which carries every release), or one at or after that version"
        )


class VersionNotOfferedError(TemplateSourceError):
    """The project's source does not offer the version the project records."""

    def __init__(self, *, commit: str, source: str, offered: Sequence[str]) -> None:
        self.commit = commit  # the version the project records
        self.source = source
        self.offered = tuple(offered)
        super().__init__(
            f"the project is on template {commit}, which {source} does not offer "
            f"(it offers {_listed(self.offered)}); {REPOINT_HINT}"
        )


class SourceOffersNoVersionError(TemplateSourceError):
    """The template source has no version to render or update to."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source {source} offers no version")


class SourceWithoutVersionTagsError(TemplateSourceError):
    """The template source has no version tag to update to."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source '{source}' offers no version tags")


class PackageVersionNotPep440Error(TemplateSourceError):
    """This installation's package version cannot order the versions it carries."""

    def __init__(self, *, version: str) -> None:
        self.version = version
        super().__init__(f"package version '{version}' is not PEP 440")


class TemplateCacheRefreshError(TemplateSourceError):
    """The per-installation template cache could not be filled from the package."""

    def __init__(self, *, cache: Path, detail: str) -> None:
        self.cache = cache
        self.detail = detail
        super().__init__(f"cannot refresh the template cache {cache}: {detail}")


class CarriedTemplateMissingError(TemplateSourceError):
    """The installed package carries no template files (a broken install)."""

    def __init__(self, *, looked_in: Path) -> None:
        self.looked_in = looked_in  # the wheel's template folder; the package's parents too
        super().__init__(
            f"cannot find the template carried by {PACKAGE_NAME} (looked in {looked_in} and the "
            "parents of the package); reinstall the package"
        )


class NoTemplateUrlError(TemplateSourceError):
    """The installed package declares no template URL in its metadata."""

    def __init__(self) -> None:
        super().__init__(
            f"{PACKAGE_NAME} declares no template URL ([project.urls] {TEMPLATE_URL_LABEL}); "
            "reinstall the package or set one: goperf-scaffold config set template URL"
        )


class SourceUnreachableError(TemplateSourceError):
    """The template source cannot be fetched and nothing of it is cached."""

    def __init__(self, *, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason  # git's first line of output, or its error
        super().__init__(
            f"cannot reach the template source {location} ({reason}) and nothing is cached "
            "for it on this machine; check the URL and your access, or re-point the project: "
            "goperf-scaffold update --template SRC"
        )


class UntaggedSharedSourceError(TemplateSourceError):
    """A shared (URL) source has no version tags; the message gives the tags that would fix it."""

    def __init__(self, *, location: str, derived: Mapping[str, str]) -> None:
        self.location = location
        self.derived = dict(derived)  # version -> commit, from its pyproject.toml history
        newest = sorted(self.derived.items(), key=lambda item: Version(item[0]))[-3:]
        commands = " && ".join(f"git tag {name} {commit[:12]}" for name, commit in newest)
        super().__init__(
            f"template source {location} has no version tags, so plain `copier update` could "
            f"never update projects made from it; tag its releases ({commands} && git push --tags)"
        )


class SourceWithoutDefaultBranchError(TemplateSourceError):
    """An untagged source has no default branch whose history could give versions."""

    def __init__(self, *, location: str, git_output: str) -> None:
        self.location = location
        self.git_output = git_output  # the first line git printed
        super().__init__(
            f"template source {location} has no version tags and no default branch to derive "
            f"versions from ({git_output})"
        )


class SourceWithoutVersionHistoryError(TemplateSourceError):
    """An untagged source has no `version` history in its pyproject.toml either."""

    def __init__(self, *, location: str) -> None:
        self.location = location
        super().__init__(
            f"template source {location} has no version tags and no `version` history in "
            "pyproject.toml: projects made from it could never be updated; tag a release "
            "(git tag 1.0.0 && git push --tags)"
        )


class TemplateNotTrustedError(TemplateSourceError):
    """Copier refused a template's tasks or extensions as unsafe; `trust_hint` says how to allow."""

    def __init__(self, *, detail: str, trust_hint: str) -> None:
        self.detail = detail
        self.trust_hint = trust_hint
        super().__init__(f"{detail} {trust_hint}".strip())


class RevisionUnknownToCopierError(TemplateSourceError):
    """Copier could not find the revision; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"unknown template revision (--vcs-ref): {detail}")


class TemplateProblemError(TemplateSourceError):
    """Copier refused the template; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"template problem: {detail}")


class TemplateRenderingError(TemplateSourceError):
    """Jinja failed to render the template; `detail` is Jinja's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"template rendering failed: {detail}")


class TemplateGitError(TemplateSourceError):
    """git failed while Copier read the template; `detail` is git's first line or exit status."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"git failed while reading the template: {detail}")


# --- ProjectNotUpdatableError ----------------------------------------------------------------


Verb = Literal["adopt", "update"]


class ProjectNotAFolderError(ProjectNotUpdatableError):
    """The project path is not a folder."""

    def __init__(self, *, project: Path) -> None:
        self.project = project
        super().__init__(f"'{project}' is not a folder")


class NoAnswersFileError(ProjectNotUpdatableError):
    """The folder has no answers file: it was not generated from a template."""

    def __init__(self, *, project: Path) -> None:
        self.project = project
        super().__init__(
            f"no {ANSWERS_FILE} in '{project}': it was not generated by goperf-scaffold or Copier"
        )


class AnswersFileUnreadableError(ProjectNotUpdatableError):
    """The answers file cannot be read or is not YAML."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot read {path}: {detail}")


class AnswersWithoutSourceError(ProjectNotUpdatableError):
    """The answers file records no template source (`_src_path`)."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} records no template source (_src_path)")


class AnswersWithoutVersionError(ProjectNotUpdatableError):
    """The answers file records no template version: an untagged template made the project."""

    def __init__(self, *, path: Path, commit: object) -> None:
        self.path = path
        self.commit = commit  # what `_commit:` holds, if anything
        super().__init__(
            f"{path} records no template version (_commit: {commit!r}); "
            "it was generated from an untagged template and cannot be updated"
        )


class NoSourceLineToRepointError(ProjectNotUpdatableError):
    """The answers file has no `_src_path:` line that re-pointing could change."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} has no `_src_path:` line to re-point")


class GitNotInstalledError(ProjectNotUpdatableError):
    """git is not on PATH; updating needs it."""

    def __init__(self) -> None:
        super().__init__("git is not installed; updating needs git")


class ProjectNotInGitError(ProjectNotUpdatableError):
    """The project is not in a git repository, which `verb` needs."""

    _hints: Mapping[Verb, str] = {
        "adopt": "adopting needs git (git init, commit)",
        "update": "commit the project to git, then update",
    }

    def __init__(self, *, project: Path, verb: Verb) -> None:
        self.project = project
        self.verb = verb
        super().__init__(f"'{project}' is not in a git repository; {self._hints[verb]}")


class UncommittedChangesError(ProjectNotUpdatableError):
    """The project has uncommitted changes, which `verb` could mix with its own."""

    def __init__(self, *, project: Path, verb: Verb) -> None:
        self.project = project
        self.verb = verb
        super().__init__(f"'{project}' has uncommitted changes; commit or stash them, then {verb}")


class AlreadyAdoptedError(ProjectNotUpdatableError):
    """`adopt` was pointed at a project that already records a template."""

    def __init__(self, *, project: Path) -> None:
        self.project = project
        super().__init__(
            f"'{project}' already records a template ({ANSWERS_FILE}); use `goperf-scaffold update`"
        )


class BranchExistsError(ProjectNotUpdatableError):
    """The branch `adopt` would create already exists."""

    def __init__(self, *, branch: str, project: Path) -> None:
        self.branch = branch
        self.project = project
        super().__init__(f"branch {branch} already exists in '{project}'")


class BranchNotCreatedError(ProjectNotUpdatableError):
    """git could not create the branch `adopt` works on; `detail` is git's complaint."""

    def __init__(self, *, branch: str, detail: str) -> None:
        self.branch = branch
        self.detail = detail
        super().__init__(f"cannot create branch {branch}: {detail}")


class AdoptMergeError(ProjectNotUpdatableError):
    """`git merge-file` failed on a file `adopt` lays over; `output` is git's stderr."""

    def __init__(self, *, path: str, output: str) -> None:
        self.path = path
        self.output = output
        super().__init__(f"cannot merge {path}: {output}")


class CopierNotUpdatableError(ProjectNotUpdatableError):
    """Copier refused to update the project; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


# --- DowngradeError --------------------------------------------------------------------------


class DowngradeRefusedError(DowngradeError):
    """The requested version is older than the project's."""

    def __init__(self, *, project: Path, from_version: Version, to_version: Version) -> None:
        self.project = project
        self.from_version = from_version
        self.to_version = to_version
        super().__init__(
            f"refusing to downgrade '{project}' from template {from_version} to {to_version}"
        )


class CopierDowngradeError(DowngradeError):
    """Copier refused a downgrade; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


# --- OrgConfigError --------------------------------------------------------------------------


class OrgConfigUnreadableError(OrgConfigError):
    """The org defaults file exists and cannot be read; `detail` is the OS's reason."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot read {path}: {detail}")


class OrgConfigUnwritableError(OrgConfigError):
    """The org defaults file cannot be written; `detail` is the OS's reason."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot write {path}: {detail}")


class OrgConfigNotYamlError(OrgConfigError):
    """The org defaults file is not valid YAML; `problem` is the parser's."""

    def __init__(self, *, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path} is not valid YAML: {problem}")


class OrgConfigNotAMappingError(OrgConfigError):
    """The org defaults file holds YAML, but not a mapping of KEY: VALUE."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} must hold a mapping of KEY: VALUE")


class UnknownOrgConfigKeyError(OrgConfigError):
    """A key the org defaults do not have."""

    def __init__(self, *, key: str, known: Sequence[str]) -> None:
        self.key = key
        self.known = tuple(known)
        super().__init__(f"unknown config key '{key}'; known keys: {', '.join(self.known)}")


class BadOrgConfigValueError(OrgConfigError):
    """A value the org defaults' KEY does not accept; `reason` says what it needs."""

    def __init__(self, *, key: str, value: str, reason: str) -> None:
        self.key = key
        self.value = value
        super().__init__(f"bad value '{value}' for {key}: {reason}")


class NotTrueOrFalseError(BadOrgConfigValueError):
    """A yes/no key was given something other than true or false."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__(key=key, value=value, reason="expected true or false")


class NotAChoiceError(BadOrgConfigValueError):
    """A key with choices was given none of them."""

    def __init__(self, *, key: str, value: str, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)
        super().__init__(key=key, value=value, reason=f"expected one of {', '.join(self.choices)}")


class NotAWordError(BadOrgConfigValueError):
    """A text key was given an empty value or one with spaces."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__(key=key, value=value, reason="must be non-empty, without spaces")


class ModulePrefixWithSchemeError(BadOrgConfigValueError):
    """`module_prefix` was given a URL (`https://…`) rather than a Go module prefix."""

    def __init__(self, *, value: str) -> None:
        super().__init__(
            key="module_prefix",
            value=value,
            reason="a Go module prefix has no scheme (e.g. github.com/acme)",
        )


class OrgConfigFileValueError(OrgConfigError):
    """The org defaults file holds a bad entry; `problem` is the error about that entry."""

    def __init__(self, *, path: Path, problem: OrgConfigError) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


# --- FleetIncompleteError --------------------------------------------------------------------


class FleetUnreadableError(FleetIncompleteError):
    """`fleet status` could not read some repositories (their rows say why)."""

    def __init__(self, *, projects: Sequence[str]) -> None:
        self.projects = tuple(projects)
        super().__init__(f"could not read {len(self.projects)}: {', '.join(self.projects)}")


# --- ScaffoldError (exit 1) ------------------------------------------------------------------


class MergeFileFailedError(ScaffoldError):
    """`git merge-file` itself failed (not a conflict) while healing; `output` is its stderr."""

    def __init__(self, *, output: str) -> None:
        self.output = output
        super().__init__(f"git merge-file failed: {output}")
