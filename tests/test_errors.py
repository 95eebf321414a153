"""Errors carry their inputs as attributes and build their own one-line message from them."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from hooks import (
    GoMissingError,
    StepCommandFailedError,
    StepError,
    StepNotStartedError,
    StepTimedOutError,
)
from scaffolder import errors
from scaffolder.errors import (
    AdoptMergeError,
    AlreadyAdoptedError,
    AnswerNotAskedError,
    AnswerRefusedError,
    AnswersFileUnreadableError,
    AnswersWithoutSourceError,
    AnswersWithoutVersionError,
    BadOrgConfigValueError,
    BranchExistsError,
    BranchNotCreatedError,
    CarriedTemplateMissingError,
    CommandLineError,
    CopierDowngradeError,
    CopierNotUpdatableError,
    DestinationError,
    DestinationNameEmptyError,
    DestinationNotAFolderError,
    DestinationNotEmptyError,
    DestinationNotWritableError,
    DestinationParentMissingError,
    DestinationParentNotWritableError,
    DowngradeError,
    DowngradeRefusedError,
    ExitCode,
    FleetIncompleteError,
    FleetPathNotAFolderError,
    FleetPathsMissingError,
    FleetPathWithoutProjectsError,
    FleetUnreadableError,
    FolderNameNotAProjectNameError,
    FolderNameNotAsciiError,
    GitNotInstalledError,
    HealAnswersFileError,
    HealDerivedFileError,
    HealFolderError,
    HealNeedsFilesError,
    HealNotGeneratedError,
    HealOptionsError,
    HealOutsideProjectError,
    HealTeamOwnedFileError,
    InterruptedByUserError,
    InvalidAnswerError,
    JobsOutOfRangeError,
    LegacyMirrorMissingError,
    MalformedDataError,
    MergeFileFailedError,
    ModulePrefixWithSchemeError,
    NoAnswersFileError,
    NoSourceLineToRepointError,
    NotABooleanAnswerError,
    NotAChoiceError,
    NotAWordError,
    NoTemplateUrlError,
    NotInteractiveError,
    NotTrueOrFalseError,
    OrgConfigError,
    OrgConfigFileValueError,
    OrgConfigNotAMappingError,
    OrgConfigNotYamlError,
    OrgConfigUnreadableError,
    OrgConfigUnwritableError,
    OverwriteRefusedError,
    PackageVersionNotPep440Error,
    ProjectNewerThanInstallationError,
    ProjectNotAFolderError,
    ProjectNotInGitError,
    ProjectNotUpdatableError,
    RecordedSourceMissingError,
    RevisionUnknownToCopierError,
    ScaffoldError,
    SourceNotGitRootError,
    SourceOffersNoVersionError,
    SourceUnreachableError,
    SourceWithoutCopierYmlError,
    SourceWithoutDefaultBranchError,
    SourceWithoutVersionHistoryError,
    SourceWithoutVersionTagsError,
    StepFailedError,
    TargetNotAVersionError,
    TemplateCacheRefreshError,
    TemplateGitError,
    TemplateNotTrustedError,
    TemplateProblemError,
    TemplateRenderingError,
    TemplateSourceError,
    UncommittedChangesError,
    UnhealableFileError,
    UnknownDataKeysError,
    UnknownOrgConfigKeyError,
    UnknownRevisionError,
    UnknownTemplateSourceError,
    UntaggedSharedSourceError,
    UsageError,
    VersionNotCarriedError,
    VersionNotOfferedError,
    YesWithoutForceError,
)

APP = Path("/srv/app")
ANSWERS = APP / ".copier-answers.yml"
ORG = Path("/home/me/.config/goperf-scaffold/config.yml")
HINT = "re-point it: goperf-scaffold update --template SRC (a git URL your team can reach)"
URL = "https://git.example.com/t.git"

# (error, the base class callers catch, its attributes, the exact message users see)
CASES: list[tuple[ScaffoldError, type[ScaffoldError], dict[str, Any], str]] = [
    (
        CommandLineError(problem="unrecognized arguments: --nope", prog="goperf-scaffold new"),
        UsageError,
        {"problem": "unrecognized arguments: --nope", "prog": "goperf-scaffold new"},
        "unrecognized arguments: --nope (see `goperf-scaffold new --help`)",
    ),
    (
        YesWithoutForceError(),
        UsageError,
        {},
        "--yes only confirms --force: pass both to overwrite existing files",
    ),
    (
        MalformedDataError(item="oops"),
        UsageError,
        {"item": "oops", "key": None},
        "malformed --data 'oops': expected KEY=VALUE",
    ),
    (
        MalformedDataError(item="1x=2", key="1x"),
        UsageError,
        {"item": "1x=2", "key": "1x"},
        "malformed --data '1x=2': '1x' is not a question name",
    ),
    (
        UnknownDataKeysError(keys=["colour", "size"], questions=["project_name", "database"]),
        UsageError,
        {"keys": ("colour", "size"), "questions": ("project_name", "database")},
        "unknown --data key(s) colour, size; questions: project_name, database",
    ),
    (
        NotInteractiveError(),
        UsageError,
        {},
        "questions need an interactive terminal: pass --defaults and/or --data KEY=VALUE",
    ),
    (
        HealOptionsError(options=["--vcs-ref", "--data"]),
        UsageError,
        {"options": ("--vcs-ref", "--data")},
        "--heal works at the project's recorded template version with inline markers; "
        "drop --vcs-ref, --data (update first, then heal)",
    ),
    (HealNeedsFilesError(), UsageError, {}, "--heal needs at least one FILE"),
    (
        HealFolderError(name="app"),
        UnhealableFileError,
        {"name": "app"},
        "--heal app: a folder, not a file; name the project before --heal: "
        "`goperf-scaffold update PATH --heal FILE…`",
    ),
    (
        HealOutsideProjectError(name="../x", project=APP),
        UnhealableFileError,
        {"name": "../x", "project": APP},
        "--heal ../x: not inside the project '/srv/app'",
    ),
    (
        HealAnswersFileError(name=".copier-answers.yml"),
        UnhealableFileError,
        {"name": ".copier-answers.yml"},
        "--heal .copier-answers.yml: the answers file is the record, not template content",
    ),
    (
        HealDerivedFileError(name="go.sum"),
        UnhealableFileError,
        {"name": "go.sum"},
        "--heal go.sum: it is derived from go.mod; run `go mod tidy` instead",
    ),
    (
        HealTeamOwnedFileError(name="README.md"),
        UnhealableFileError,
        {"name": "README.md"},
        "--heal README.md: the template leaves this file to the team once generated "
        "(_skip_if_exists or _exclude in its copier.yml)",
    ),
    (
        HealNotGeneratedError(name="x.go", version="0.2.0"),
        UnhealableFileError,
        {"name": "x.go", "version": "0.2.0"},
        "--heal x.go: not a file the template generates for this project (template 0.2.0); "
        "`goperf-scaffold diff` lists the ones that differ",
    ),
    (
        FleetPathsMissingError(),
        UsageError,
        {},
        "name at least one repository or folder of repositories",
    ),
    (
        FleetPathNotAFolderError(path="repos"),
        UsageError,
        {"path": "repos"},
        "'repos' is not a folder",
    ),
    (
        FleetPathWithoutProjectsError(path="repos"),
        UsageError,
        {"path": "repos"},
        "'repos' holds no .copier-answers.yml, and neither does any folder directly in it",
    ),
    (
        TargetNotAVersionError(target="main"),
        UsageError,
        {"target": "main"},
        "--to 'main' is not a version",
    ),
    (JobsOutOfRangeError(jobs=0), UsageError, {"jobs": 0}, "--jobs must be at least 1, got 0"),
    (
        FolderNameNotAProjectNameError(folder_name="123", derived="123"),
        InvalidAnswerError,
        {"folder_name": "123", "derived": "123"},
        "cannot make a project name of the folder name '123' (got '123'; a name starts with a "
        "letter and has only a-z, 0-9 and '-', at most 63 characters): "
        "pass --data project_name=NAME, or choose another folder name",
    ),
    (
        FolderNameNotAsciiError(folder_name="café", suggestion="cafe"),
        InvalidAnswerError,
        {"folder_name": "café", "suggestion": "cafe"},
        "the folder name 'café' has non-ASCII characters, which a project name cannot hold: "
        "pass --data project_name=NAME (such as cafe), or choose another folder name",
    ),
    (
        FolderNameNotAsciiError(folder_name="日本", suggestion=""),
        InvalidAnswerError,
        {"suggestion": ""},
        "the folder name '日本' has non-ASCII characters, which a project name cannot hold: "
        "pass --data project_name=NAME, or choose another folder name",
    ),
    (
        NotABooleanAnswerError(key="examples", value="maybe"),
        InvalidAnswerError,
        {"key": "examples", "value": "maybe"},
        "--data examples=maybe: examples is a yes/no question; answer true or false "
        "(or yes/no, on/off, y/n, 1/0)",
    ),
    (
        AnswerNotAskedError(key="renovate", value="true", condition="ci == 'github'"),
        InvalidAnswerError,
        {"key": "renovate", "value": "true", "condition": "ci == 'github'"},
        "--data renovate=true does not apply: renovate is asked only when ci == 'github'; "
        "leave it out, or change the answers it depends on",
    ),
    (
        AnswerRefusedError(detail="Validation error for question 'port': too big"),
        InvalidAnswerError,
        {"detail": "Validation error for question 'port': too big"},
        "Validation error for question 'port': too big",
    ),
    (
        DestinationNameEmptyError(),
        DestinationError,
        {},
        "DEST is empty: name the folder to create",
    ),
    (
        DestinationNotAFolderError(path=APP),
        DestinationError,
        {"path": APP},
        "destination '/srv/app' exists and is not a folder",
    ),
    (
        DestinationNotEmptyError(path=APP),
        DestinationError,
        {"path": APP},
        "destination '/srv/app' exists and is not empty (use --force to render into it)",
    ),
    (
        DestinationNotWritableError(path=APP),
        DestinationError,
        {"path": APP},
        "destination '/srv/app' is not writable",
    ),
    (
        DestinationParentMissingError(path=APP, parent=APP.parent),
        DestinationError,
        {"path": APP, "parent": Path("/srv")},
        "cannot create '/srv/app': parent folder '/srv' does not exist",
    ),
    (
        DestinationParentNotWritableError(path=APP, parent=APP.parent),
        DestinationError,
        {"path": APP, "parent": Path("/srv")},
        "cannot create '/srv/app': parent folder '/srv' is not writable",
    ),
    (
        OverwriteRefusedError(path=APP, files=["a", "b"]),
        DestinationError,
        {"path": APP, "files": ("a", "b")},
        "refusing to overwrite 2 existing file(s) in '/srv/app': a, b "
        "(pass --yes with --force to overwrite them)",
    ),
    (
        UnknownTemplateSourceError(source="tmpl"),
        TemplateSourceError,
        {"source": "tmpl"},
        "unknown template source 'tmpl': no such folder, and not a git URL",
    ),
    (
        SourceWithoutCopierYmlError(source="tmpl"),
        TemplateSourceError,
        {"source": "tmpl"},
        "template source 'tmpl' has no copier.yml",
    ),
    (
        SourceNotGitRootError(source="tmpl"),
        TemplateSourceError,
        {"source": "tmpl"},
        "template source 'tmpl' is not the root of a git repository; projects generated from "
        "it could never be updated (commit it to git, or pass a git URL)",
    ),
    (
        RecordedSourceMissingError(recorded="/gone"),
        TemplateSourceError,
        {"recorded": "/gone"},
        f"the template source recorded in .copier-answers.yml, '/gone', does not exist on this "
        f"machine; {HINT}",
    ),
    (
        LegacyMirrorMissingError(recorded="/mirror"),
        TemplateSourceError,
        {"recorded": "/mirror"},
        "the answers file records '/mirror', a goperf-scaffold 0.1.0 mirror of a template "
        f"checkout that is not on this machine; {HINT}",
    ),
    (
        UnknownRevisionError(ref="9.9.9", source=URL, offered=["0.1.0", "0.2.0"]),
        TemplateSourceError,
        {"ref": "9.9.9", "source": URL, "offered": ("0.1.0", "0.2.0")},
        f"unknown template revision (--vcs-ref) '9.9.9' in {URL}; versions: 0.1.0, 0.2.0",
    ),
    (
        UnknownRevisionError(ref="9.9.9", source=URL, offered=[]),
        TemplateSourceError,
        {"offered": ()},
        f"unknown template revision (--vcs-ref) '9.9.9' in {URL}; versions: none",
    ),
    (
        VersionNotCarriedError(commit="0.0.9", installed="0.2.0", offered=["0.2.0"], location=URL),
        TemplateSourceError,
        {"commit": "0.0.9", "installed": "0.2.0", "offered": ("0.2.0",), "location": URL},
        "the project is on template 0.0.9, which this installation of goperf-scaffold (0.2.0) "
        f"does not carry (it knows 0.2.0) and {URL} cannot provide; install goperf-scaffold "
        "from a checkout of its repository (which carries every release), or one at or after "
        "that version",
    ),
    (
        VersionNotOfferedError(commit="0.0.9", source=URL, offered=[]),
        TemplateSourceError,
        {"commit": "0.0.9", "source": URL, "offered": ()},
        f"the project is on template 0.0.9, which {URL} does not offer (it offers none); {HINT}",
    ),
    (
        SourceOffersNoVersionError(source=URL),
        TemplateSourceError,
        {"source": URL},
        f"template source {URL} offers no version",
    ),
    (
        SourceWithoutVersionTagsError(source=URL),
        TemplateSourceError,
        {"source": URL},
        f"template source '{URL}' offers no version tags",
    ),
    (
        PackageVersionNotPep440Error(version="dev"),
        TemplateSourceError,
        {"version": "dev"},
        "package version 'dev' is not PEP 440",
    ),
    (
        ProjectNewerThanInstallationError(commit="0.3.1", installed="0.3.0", location=URL),
        TemplateSourceError,
        {"commit": "0.3.1", "installed": "0.3.0", "location": URL},
        "the project is on template 0.3.1, newer than this goperf-scaffold (0.3.0): upgrade "
        f"goperf-scaffold to 0.3.1 or later: pip install --upgrade 'git+{URL}'",
    ),
    (
        TemplateCacheRefreshError(cache=Path("/c"), detail="disk full"),
        TemplateSourceError,
        {"cache": Path("/c"), "detail": "disk full"},
        "cannot refresh the template cache /c: disk full",
    ),
    (
        CarriedTemplateMissingError(looked_in=Path("/pkg/_template")),
        TemplateSourceError,
        {"looked_in": Path("/pkg/_template")},
        "cannot find the template carried by goperf-scaffold (looked in /pkg/_template and the "
        "parents of the package); reinstall the package",
    ),
    (
        NoTemplateUrlError(),
        TemplateSourceError,
        {},
        "goperf-scaffold declares no template URL ([project.urls] Template); reinstall the "
        "package or set one: goperf-scaffold config set template URL",
    ),
    (
        SourceUnreachableError(location=URL, reason="Could not resolve host"),
        TemplateSourceError,
        {"location": URL, "reason": "Could not resolve host"},
        f"cannot reach the template source {URL} (Could not resolve host) and nothing is cached "
        "for it on this machine; check the URL and your access, or re-point the project: "
        "goperf-scaffold update --template SRC",
    ),
    (
        UntaggedSharedSourceError(
            location=URL,
            derived={"0.10.0": "c" * 40, "0.9.0": "b" * 40, "0.2.0": "a" * 40, "0.1.0": "0" * 40},
        ),
        TemplateSourceError,
        {"location": URL},
        f"template source {URL} has no version tags, so plain `copier update` could never "
        "update projects made from it; tag its releases (git tag 0.2.0 aaaaaaaaaaaa && "
        "git tag 0.9.0 bbbbbbbbbbbb && git tag 0.10.0 cccccccccccc && git push --tags)",
    ),
    (
        SourceWithoutDefaultBranchError(location=URL, git_output="fatal: no HEAD"),
        TemplateSourceError,
        {"location": URL, "git_output": "fatal: no HEAD"},
        f"template source {URL} has no version tags and no default branch to derive versions "
        "from (fatal: no HEAD)",
    ),
    (
        SourceWithoutVersionHistoryError(location=URL),
        TemplateSourceError,
        {"location": URL},
        f"template source {URL} has no version tags and no `version` history in pyproject.toml: "
        "projects made from it could never be updated; tag a release "
        "(git tag 1.0.0 && git push --tags)",
    ),
    (
        TemplateNotTrustedError(detail="Template uses potentially unsafe feature", trust_hint=""),
        TemplateSourceError,
        {"detail": "Template uses potentially unsafe feature", "trust_hint": ""},
        "Template uses potentially unsafe feature",
    ),
    (
        RevisionUnknownToCopierError(detail="Unknown revision x"),
        TemplateSourceError,
        {"detail": "Unknown revision x"},
        "unknown template revision (--vcs-ref): Unknown revision x",
    ),
    (
        TemplateProblemError(detail="bad"),
        TemplateSourceError,
        {"detail": "bad"},
        "template problem: bad",
    ),
    (
        TemplateRenderingError(detail="'x' is undefined"),
        TemplateSourceError,
        {"detail": "'x' is undefined"},
        "template rendering failed: 'x' is undefined",
    ),
    (
        TemplateGitError(detail="exit status 128"),
        TemplateSourceError,
        {"detail": "exit status 128"},
        "git failed while reading the template: exit status 128",
    ),
    (
        ProjectNotAFolderError(project=APP),
        ProjectNotUpdatableError,
        {"project": APP},
        "'/srv/app' is not a folder",
    ),
    (
        NoAnswersFileError(project=APP),
        ProjectNotUpdatableError,
        {"project": APP},
        "no .copier-answers.yml in '/srv/app': it was not generated by goperf-scaffold or Copier",
    ),
    (
        AnswersFileUnreadableError(path=ANSWERS, detail="bad YAML"),
        ProjectNotUpdatableError,
        {"path": ANSWERS, "detail": "bad YAML"},
        "cannot read /srv/app/.copier-answers.yml: bad YAML",
    ),
    (
        AnswersWithoutSourceError(path=ANSWERS),
        ProjectNotUpdatableError,
        {"path": ANSWERS},
        "/srv/app/.copier-answers.yml records no template source (_src_path)",
    ),
    (
        AnswersWithoutVersionError(path=ANSWERS, commit="abc123"),
        ProjectNotUpdatableError,
        {"path": ANSWERS, "commit": "abc123"},
        "/srv/app/.copier-answers.yml records no template version (_commit: 'abc123'); "
        "it was generated from an untagged template and cannot be updated",
    ),
    (
        NoSourceLineToRepointError(path=ANSWERS),
        ProjectNotUpdatableError,
        {"path": ANSWERS},
        "/srv/app/.copier-answers.yml has no `_src_path:` line to re-point",
    ),
    (
        GitNotInstalledError(),
        ProjectNotUpdatableError,
        {},
        "git is not installed; updating needs git",
    ),
    (
        ProjectNotInGitError(project=APP, verb="adopt"),
        ProjectNotUpdatableError,
        {"project": APP, "verb": "adopt"},
        "'/srv/app' is not in a git repository; adopting needs git (git init, commit)",
    ),
    (
        ProjectNotInGitError(project=APP, verb="update"),
        ProjectNotUpdatableError,
        {"project": APP, "verb": "update"},
        "'/srv/app' is not in a git repository; commit the project to git, then update",
    ),
    (
        UncommittedChangesError(project=APP, verb="adopt"),
        ProjectNotUpdatableError,
        {"project": APP, "verb": "adopt"},
        "'/srv/app' has uncommitted changes; commit or stash them, then adopt",
    ),
    (
        UncommittedChangesError(project=APP, verb="update"),
        ProjectNotUpdatableError,
        {"project": APP, "verb": "update"},
        "'/srv/app' has uncommitted changes; commit or stash them, then update",
    ),
    (
        AlreadyAdoptedError(project=APP),
        ProjectNotUpdatableError,
        {"project": APP},
        "'/srv/app' already records a template (.copier-answers.yml); use `goperf-scaffold update`",
    ),
    (
        BranchExistsError(branch="template/0.2.0", project=APP),
        ProjectNotUpdatableError,
        {"branch": "template/0.2.0", "project": APP},
        "branch template/0.2.0 already exists in '/srv/app'",
    ),
    (
        BranchNotCreatedError(branch="template/0.2.0", detail="git switch exited 128: fatal"),
        ProjectNotUpdatableError,
        {"branch": "template/0.2.0", "detail": "git switch exited 128: fatal"},
        "cannot create branch template/0.2.0: git switch exited 128: fatal",
    ),
    (
        AdoptMergeError(path="/srv/app/main.go", output="error: cannot read"),
        ProjectNotUpdatableError,
        {"path": "/srv/app/main.go", "output": "error: cannot read"},
        "cannot merge /srv/app/main.go: error: cannot read",
    ),
    (
        CopierNotUpdatableError(detail="Destination repository is dirty; cannot continue."),
        ProjectNotUpdatableError,
        {"detail": "Destination repository is dirty; cannot continue."},
        "Destination repository is dirty; cannot continue.",
    ),
    (
        DowngradeRefusedError(
            project=APP, from_version=Version("0.2.0"), to_version=Version("0.1.0")
        ),
        DowngradeError,
        {"project": APP, "from_version": Version("0.2.0"), "to_version": Version("0.1.0")},
        "refusing to downgrade '/srv/app' from template 0.2.0 to 0.1.0",
    ),
    (
        CopierDowngradeError(detail="Downgrades are not supported."),
        DowngradeError,
        {"detail": "Downgrades are not supported."},
        "Downgrades are not supported.",
    ),
    (
        OrgConfigUnreadableError(path=ORG, detail="Permission denied"),
        OrgConfigError,
        {"path": ORG, "detail": "Permission denied"},
        f"cannot read {ORG}: Permission denied",
    ),
    (
        OrgConfigUnwritableError(path=ORG, detail="Read-only file system"),
        OrgConfigError,
        {"path": ORG, "detail": "Read-only file system"},
        f"cannot write {ORG}: Read-only file system",
    ),
    (
        OrgConfigNotYamlError(path=ORG, problem="found unexpected end of stream"),
        OrgConfigError,
        {"path": ORG, "problem": "found unexpected end of stream"},
        f"{ORG} is not valid YAML: found unexpected end of stream",
    ),
    (
        OrgConfigNotAMappingError(path=ORG),
        OrgConfigError,
        {"path": ORG},
        f"{ORG} must hold a mapping of KEY: VALUE",
    ),
    (
        UnknownOrgConfigKeyError(key="colour", known=["template", "module_prefix"]),
        OrgConfigError,
        {"key": "colour", "known": ("template", "module_prefix")},
        "unknown config key 'colour'; known keys: template, module_prefix",
    ),
    (
        NotTrueOrFalseError(key="docker", value="maybe"),
        OrgConfigError,
        {"key": "docker", "value": "maybe"},
        "bad value 'maybe' for docker: expected true or false",
    ),
    (
        NotAChoiceError(key="database", value="mysql", choices=["none", "postgres"]),
        OrgConfigError,
        {"key": "database", "value": "mysql", "choices": ("none", "postgres")},
        "bad value 'mysql' for database: expected one of none, postgres",
    ),
    (
        NotAWordError(key="template", value="a b"),
        OrgConfigError,
        {"key": "template", "value": "a b"},
        "bad value 'a b' for template: must be non-empty, without spaces",
    ),
    (
        ModulePrefixWithSchemeError(value="https://github.com/acme"),
        OrgConfigError,
        {"key": "module_prefix", "value": "https://github.com/acme"},
        "bad value 'https://github.com/acme' for module_prefix: a Go module prefix has no "
        "scheme (e.g. github.com/acme)",
    ),
    (
        FleetUnreadableError(projects=["a", "b"]),
        FleetIncompleteError,
        {"projects": ("a", "b")},
        "could not read 2: a, b",
    ),
    (
        MergeFileFailedError(output="error: out of memory"),
        ScaffoldError,
        {"output": "error: out of memory"},
        "git merge-file failed: error: out of memory",
    ),
]


def _case_id(case: tuple[ScaffoldError, type[ScaffoldError], dict[str, Any], str]) -> str:
    return type(case[0]).__name__


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_an_error_keeps_its_inputs_and_says_the_same_as_before(
    case: tuple[ScaffoldError, type[ScaffoldError], dict[str, Any], str],
) -> None:
    error, base, attributes, message = case
    assert isinstance(error, base)
    assert error.exit_code == base.exit_code
    for name, value in attributes.items():
        assert getattr(error, name) == value, name
    assert str(error) == message
    assert error.message == message
    assert "\n" not in str(error)


def test_every_failure_class_has_a_case_above() -> None:
    """A new error class gets a case here: its attributes and its exact message."""
    exit_code_bases = {ScaffoldError, *(cls for cls in vars(errors).values() if _is_base(cls))}
    grouping_bases = {UnhealableFileError, BadOrgConfigValueError}
    tested_below = {OrgConfigFileValueError}
    failure_classes = (
        {
            cls
            for cls in vars(errors).values()
            if inspect.isclass(cls) and issubclass(cls, ScaffoldError)
        }
        - exit_code_bases
        - grouping_bases
        - tested_below
    )
    covered = {type(error) for error, *_ in CASES}
    assert sorted(cls.__name__ for cls in failure_classes - covered) == []


def _is_base(cls: object) -> bool:
    """One of the classes that carry an exit code (ScaffoldError's direct subclasses)."""
    return (
        inspect.isclass(cls)
        and cls.__bases__ == (ScaffoldError,)
        and cls is not MergeFileFailedError
    )


def test_a_bad_org_config_entry_names_the_file_and_keeps_the_entrys_error() -> None:
    problem = NotTrueOrFalseError(key="docker", value="maybe")
    error = OrgConfigFileValueError(path=ORG, problem=problem)
    assert error.problem is problem
    assert error.problem.key == "docker"
    assert str(error) == f"{ORG}: bad value 'maybe' for docker: expected true or false"
    assert error.exit_code == ExitCode.ORG_CONFIG


def test_a_failed_step_names_itself_what_was_kept_and_what_did_not_run() -> None:
    error = StepFailedError(
        step="go-build",
        detail="step 'go-build' failed: `go build ./...` exited 1: main.go:3: syntax error",
        failure_context="the project is kept in '/srv/app'",
        not_run=["gofmt check"],
        output="main.go:3: syntax error\nmore",
    )
    assert (error.step, error.not_run, error.output.splitlines()[1]) == (
        "go-build",
        ("gofmt check",),
        "more",
    )
    assert str(error) == (
        "step 'go-build' failed: `go build ./...` exited 1: main.go:3: syntax error; "
        "the project is kept in '/srv/app'; not run: gofmt check"
    )
    last = StepFailedError(step="git", detail="git failed", failure_context="kept")
    assert (str(last), last.not_run, last.output) == ("git failed; kept", (), "")
    assert last.exit_code == ExitCode.STEP_FAILED


def test_interrupted_says_nothing_was_written_unless_told_otherwise() -> None:
    assert str(InterruptedByUserError()) == "interrupted; nothing was written"
    assert str(InterruptedByUserError("interrupted")) == "interrupted"
    assert InterruptedByUserError().exit_code == ExitCode.INTERRUPTED


def test_overwrite_refusal_names_ten_files_at_most() -> None:
    files = [f"f{number}" for number in range(12)]
    error = OverwriteRefusedError(path=APP, files=files)
    assert error.files == tuple(files)
    assert str(error) == (
        "refusing to overwrite 12 existing file(s) in '/srv/app': "
        f"{', '.join(files[:10])} … (pass --yes with --force to overwrite them)"
    )


def test_tool_output_is_folded_into_one_line() -> None:
    error = TemplateRenderingError(detail="line one\n  line two")
    assert error.detail == "line one\n  line two"
    assert str(error) == "template rendering failed: line one line two"


def test_a_step_command_that_fails_keeps_its_command_exit_status_and_output_tail() -> None:
    output = "\n".join(["", "main.go:3: syntax error", *(f"line {n}" for n in range(30))])
    error = StepCommandFailedError(
        step="go-build", command=["go", "build", "./..."], returncode=1, output=output
    )
    assert isinstance(error, StepError)
    assert (error.step, error.command, error.returncode) == (
        "go-build",
        ("go", "build", "./..."),
        1,
    )
    assert error.output.splitlines() == [f"line {n}" for n in range(10, 30)]
    assert (
        str(error) == "step 'go-build' failed: `go build ./...` exited 1: main.go:3: syntax error"
    )
    silent = StepCommandFailedError(
        step="gofmt", command=["gofmt", "-l", "."], returncode=2, output=""
    )
    assert str(silent) == "step 'gofmt' failed: `gofmt -l .` exited 2: no output"


def test_a_step_that_cannot_run_or_times_out_says_which_command() -> None:
    timed_out = StepTimedOutError(step="go-mod-tidy", command=["go", "mod", "tidy"], timeout=900)
    assert (timed_out.step, timed_out.timeout, timed_out.output) == ("go-mod-tidy", 900, "")
    assert str(timed_out) == "step 'go-mod-tidy' timed out after 900s running go mod tidy"
    not_started = StepNotStartedError(
        step="git", command=["git", "init"], detail="Permission denied"
    )
    assert (not_started.command, not_started.detail) == (("git", "init"), "Permission denied")
    assert str(not_started) == "step 'git' could not run git: Permission denied"
    missing = GoMissingError()
    assert (missing.step, str(missing)) == (
        "go",
        "go not found on PATH: cannot build and test the update",
    )
