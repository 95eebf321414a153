"""The one error hierarchy of goperf-scaffold, and the exit code each error maps to.

Every error a user can cause is a `ScaffoldError` whose message fits on one line. The CLI prints
`goperf-scaffold: error: <message>` and exits with the error's `exit_code`; no traceback ever
reaches a user. Exit codes are stable (scripts and CI depend on them); `EXIT_CODE_MEANINGS`
says what each means, and `--help` and the README's table are generated from it.

The base classes (one per exit code, in `_base`) take a ready message. Each failure has its own
subclass that takes its inputs as keyword arguments, keeps them as attributes a caller can read
(`error.path`, `error.key`, ...) and builds the message itself, so a raise site names the failure
and its inputs, never the wording. An error that wraps a tool's output (Copier, git) keeps that
output as `detail`.

The failures live in one module per family, and this package re-exports them all: import them
from `scaffolder.errors`, never from a module below it.

    _base              ExitCode, EXIT_CODE_MEANINGS, ScaffoldError, the exit-code classes
    _usage             the command line, `--data` answers, a prompt without a terminal
    _heal              `update --heal`: options and files it refuses, git merge-file
    _fleet             the `fleet` commands: their paths and options, repositories unread
    _destination       the folder `new` renders into, and the project name taken from it
    _template_source   finding a template source and a version in it
    _shared_source     a shared (git URL) source: unreachable or untagged
    _installation      the template this installation carries in its package
    _copier            Copier's refusals, translated (scaffolder/_copier_errors.py)
    _updatable         a project that cannot be updated or adopted as asked, a downgrade
    _org_config        the organisation defaults file, its keys and their values

The modules import only each other and `scaffolder._constants`, so any module may import this
package without a cycle.
"""

from __future__ import annotations

from ._base import (
    EXIT_CODE_MEANINGS,
    DestinationError,
    DowngradeError,
    ExitCode,
    FleetIncompleteError,
    InterruptedByUserError,
    InvalidAnswerError,
    OrgConfigError,
    ProjectNotUpdatableError,
    ScaffoldError,
    StepFailedError,
    TemplateSourceError,
    UnexpectedError,
    UsageError,
)
from ._copier import (
    AnswerRefusedError,
    CopierDowngradeError,
    CopierNotUpdatableError,
    RevisionUnknownToCopierError,
    TemplateGitError,
    TemplateNotTrustedError,
    TemplateProblemError,
    TemplateRenderingError,
)
from ._destination import (
    DestinationNameEmptyError,
    DestinationNotAFolderError,
    DestinationNotEmptyError,
    DestinationNotWritableError,
    DestinationParentMissingError,
    DestinationParentNotWritableError,
    FolderNameNotAProjectNameError,
    FolderNameNotAsciiError,
    OverwriteRefusedError,
)
from ._fleet import (
    FleetPathNotAFolderError,
    FleetPathsMissingError,
    FleetPathWithoutProjectsError,
    FleetUnreadableError,
    JobsOutOfRangeError,
    TargetNotAVersionError,
)
from ._heal import (
    HealAnswersFileError,
    HealDerivedFileError,
    HealFolderError,
    HealNeedsFilesError,
    HealNotGeneratedError,
    HealOptionsError,
    HealOutsideProjectError,
    HealTeamOwnedFileError,
    MergeFileFailedError,
    UnhealableFileError,
)
from ._installation import (
    CarriedTemplateMissingError,
    NoTemplateUrlError,
    PackageVersionNotPep440Error,
    ProjectNewerThanInstallationError,
    TemplateCacheRefreshError,
)
from ._org_config import (
    BadOrgConfigValueError,
    ModulePrefixWithSchemeError,
    NotAChoiceError,
    NotAWordError,
    NotTrueOrFalseError,
    OrgConfigFileValueError,
    OrgConfigNotAMappingError,
    OrgConfigNotYamlError,
    OrgConfigUnreadableError,
    OrgConfigUnwritableError,
    UnknownOrgConfigKeyError,
)
from ._shared_source import (
    SourceUnreachableError,
    SourceWithoutDefaultBranchError,
    SourceWithoutVersionHistoryError,
    UntaggedSharedSourceError,
)
from ._template_source import (
    REPOINT_HINT,
    LegacyMirrorMissingError,
    RecordedSourceMissingError,
    SourceNotGitRootError,
    SourceOffersNoVersionError,
    SourceWithoutCopierYmlError,
    SourceWithoutVersionTagsError,
    UnknownRevisionError,
    UnknownTemplateSourceError,
    VersionNotCarriedError,
    VersionNotOfferedError,
)
from ._updatable import (
    AdoptMergeError,
    AlreadyAdoptedError,
    AnswersFileUnreadableError,
    AnswersWithoutSourceError,
    AnswersWithoutVersionError,
    BranchExistsError,
    BranchNotCreatedError,
    DowngradeRefusedError,
    GitNotInstalledError,
    NoAnswersFileError,
    NoSourceLineToRepointError,
    ProjectNotAFolderError,
    ProjectNotInGitError,
    UncommittedChangesError,
)
from ._usage import (
    AnswerNotAskedError,
    CommandLineError,
    MalformedDataError,
    NotABooleanAnswerError,
    NotInteractiveError,
    UnknownDataKeysError,
    YesWithoutForceError,
)

__all__ = [
    "EXIT_CODE_MEANINGS",
    "REPOINT_HINT",
    "AdoptMergeError",
    "AlreadyAdoptedError",
    "AnswerNotAskedError",
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
    "FolderNameNotAsciiError",
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
    "NotABooleanAnswerError",
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
    "ProjectNewerThanInstallationError",
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
