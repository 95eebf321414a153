"""Which template source a command uses, made available offline, and what a project records.

Projects record a shared source: by default this package's canonical template URL
(`[project.urls] Template`), or the organisation's (`config set template URL`), or a
`--template` URL. Each source has a cache per installation (`_cache.py`): the package's own
URL is filled from the installed package (no network), any other source is fetched first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from ._cache import cache_path, cached_tags
from ._carried import refresh_package_cache
from ._fetch import FetchOutcome, fetch_one_version, once, refresh_from_source
from ._git import GitCommandError, is_git_worktree_root, run_git
from ._legacy import legacy_source
from ._org_config import read_org_config
from ._package import canonical_template_url, installed_version
from ._urls import git_location, is_url, recordable
from ._versions import releases
from .errors import (
    LegacyMirrorMissingError,
    RecordedSourceMissingError,
    SourceNotGitRootError,
    SourceWithoutCopierYmlError,
    UnknownRevisionError,
    UnknownTemplateSourceError,
    VersionNotCarriedError,
    VersionNotOfferedError,
)


@dataclass(frozen=True)
class TemplateSource:
    """A template source ready for Copier: what gets recorded, where git reads it from."""

    recorded: str  # the `_src_path` value
    cache: Path
    trusted: bool  # run its migrations without --trust (this package's or the org's template)
    is_package: bool = False  # this installation's own template URL (filled from the package)
    notes: tuple[str, ...] = field(default=())
    replaces: str | None = None  # the recorded source this one re-points from, if any
    carried: str | None = None  # the package's source: the tag of the template it carries

    @property
    def location(self) -> str:
        """What git is handed for this source (Copier strips `git+`, expands `gh:`)."""
        return git_location(self.recorded)

    def versions(self) -> dict[Version, str]:
        """The versions the source offers on this machine (its cache), keyed by version."""
        return cached_tags(self.cache)

    def newest(self) -> str | None:
        """The newest release (what `update` goes to), as its tag name; None if none."""
        tags = self.versions()
        newest = max(releases(tags), default=None)
        return tags[newest] if newest is not None else None

    def default_ref(self) -> str | None:
        """What `new` renders: the package's carried template, else the newest release (or,
        with pre-releases only, the newest of those, as Copier falls back to HEAD)."""
        tags = self.versions()
        return self.carried or self.newest() or (tags[max(tags)] if tags else None)


def _same_source(left: str, right: str) -> bool:
    return git_location(left).rstrip("/") == git_location(right).rstrip("/")


def recorded_form(source: str) -> str:
    """What a project records for a source given on the command line or in the org config."""
    if is_url(source):
        return recordable(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise UnknownTemplateSourceError(source=source)
    path = path.resolve()
    if is_git_worktree_root(path):
        if not any((path / name).is_file() for name in ("copier.yml", "copier.yaml")):
            raise SourceWithoutCopierYmlError(source=source)
        return str(path)
    if _is_bare_repository(path):
        return str(path) if path.name.endswith(".git") else recordable(path.as_uri())
    raise SourceNotGitRootError(source=source)


def _is_bare_repository(path: Path) -> bool:
    try:
        return run_git("rev-parse", "--is-bare-repository", cwd=path).strip() == "true"
    except (GitCommandError, OSError):
        return False


def _org_template() -> str | None:
    configured = read_org_config().get("template")
    return recorded_form(str(configured)) if configured else None


def _local_path_note(recorded: str) -> tuple[str, ...]:
    if is_url(recorded):
        return ()
    return (
        f"note: the project records {recorded}, a folder on this machine: teammates and CI "
        "cannot update from it; host the template in git and record its URL "
        "(goperf-scaffold update --template URL)",
    )


def prepare(
    recorded: str,
    *,
    org: str | None,
    replaces: str | None = None,
    cached_version: str | None = None,
) -> TemplateSource:
    """Make `recorded` available in its cache (package files, or a fetch) and describe it.

    With `cached_version`, a source whose cache already holds that version is not reached
    (read-only commands that need one version only, such as `diff`, stay offline).
    """
    canonical = recordable(canonical_template_url())
    if _same_source(recorded, canonical):
        cache = cache_path(git_location(canonical))
        carried = once(f"carry {cache}", lambda: refresh_package_cache(cache))
        return TemplateSource(
            recorded, cache, trusted=True, is_package=True, replaces=replaces, carried=carried
        )
    location = git_location(recorded)
    if not is_url(recorded) and not Path(location).exists():
        raise RecordedSourceMissingError(recorded=recorded)
    cache = cache_path(location)
    if cached_version is not None and cached_version in cached_tags(cache).values():
        outcome = FetchOutcome(derived_versions=False)
    else:
        outcome = refresh_from_source(location, cache)
    notes = list(_local_path_note(recorded))
    if outcome.offline_note:
        notes.append(outcome.offline_note)
    if outcome.derived_versions:
        notes.append(
            f"warning: {recorded} has no version tags; its versions come from its "
            "pyproject.toml history, which plain `copier update` cannot see: tag its releases"
        )
    trusted = org is not None and _same_source(recorded, org)
    return TemplateSource(recorded, cache, trusted, notes=tuple(notes), replaces=replaces)


def source_for_new(template: str | None) -> TemplateSource:
    """The source `new` (and `adopt`) renders: --template, else the org's, else the package's."""
    org = _org_template()
    chosen = recorded_form(template) if template else org or recordable(canonical_template_url())
    return prepare(chosen, org=org)


def source_for_project(
    recorded: str,
    *,
    commit: str | None = None,
    template: str | None = None,
    offline_if_cached: bool = False,
) -> TemplateSource:
    """The source of an existing project: its recorded one, or where it must now point.

    `template` re-points explicitly. A 0.1.0 per-user mirror path is re-pointed to the
    organisation's template URL (or this package's), or to the checkout it mirrored. With
    `offline_if_cached`, a source whose cache already holds `commit` is not fetched.
    """
    org = _org_template()
    if template is not None:
        chosen = recorded_form(template)
        return prepare(chosen, org=org, replaces=None if chosen == recorded else recorded)
    legacy = legacy_source(recorded)
    if legacy is None:
        return prepare(recorded, org=org, cached_version=commit if offline_if_cached else None)
    if legacy.kind == "package mirror":
        target = org or recordable(canonical_template_url())
        source = prepare(target, org=org, replaces=recorded)
        if commit is not None:
            _take_version_from_legacy_mirror(source, Path(recorded).expanduser(), commit)
        return source
    if legacy.origin is not None and Path(legacy.origin).is_dir():
        target = recorded_form(legacy.origin)
    else:
        raise LegacyMirrorMissingError(recorded=recorded)
    return prepare(target, org=org, replaces=recorded)


def _take_version_from_legacy_mirror(source: TemplateSource, mirror: Path, commit: str) -> None:
    """Copy the one version a project records from a 0.1.0 mirror still on this machine.

    A 0.1.0 development install tagged its edited template `<version>+dev.<n>` in the
    per-user mirror; that content exists nowhere else, and the update needs it as its base.
    """
    if commit in {str(version) for version in source.versions()} or not (mirror / ".git").is_dir():
        return
    fetch_one_version(str(mirror), source.cache, commit)  # else require_version explains


def _offered(source: TemplateSource) -> list[str]:
    """The versions `source` offers, oldest first, for a message."""
    return [str(version) for version in sorted(source.versions())]


def require_revision(source: TemplateSource, ref: str) -> None:
    """Refuse a --vcs-ref that the source does not have, naming the versions it offers."""
    try:
        run_git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                cwd=source.cache)  # fmt: skip
    except (GitCommandError, OSError):
        raise UnknownRevisionError(
            ref=ref, source=source.recorded, offered=_offered(source)
        ) from None


def require_version(source: TemplateSource, commit: str, version: Version) -> None:
    """Refuse early when the source lacks the version a project records (Copier needs it).

    This package's template offers what the installation carries; an older release it does
    not carry (a wheel carries one version) is fetched from the template URL when reachable.
    """
    if version in source.versions():
        return
    fetched = source.is_package and fetch_one_version(source.location, source.cache, commit)
    if fetched and version in source.versions():
        return
    if source.is_package:
        raise VersionNotCarriedError(
            commit=commit,
            installed=installed_version(),
            offered=_offered(source),
            location=source.location,
        )
    raise VersionNotOfferedError(commit=commit, source=source.recorded, offered=_offered(source))
