"""Where the template comes from: the per-user git mirror of the carried template, or --template.

Copier can only update a project whose answers file records a git source (`_src_path`) and a
revision (`_commit`) that stay valid. The installed package carries the template as plain files
(wheel: `scaffolder/_template/`; source checkout: the repository root), so we keep a per-user
git repository under the user data directory (`GOPERF_SCAFFOLD_DATA_DIR` overrides it) with one
commit per package version, tagged with that PEP 440 version. If the tag exists but the carried
files differ (an editable install whose template was edited), a new commit is tagged
`<version>+dev.<n>` (a PEP 440 local version that sorts after `<version>`), so every distinct
content gets its own immutable tag and nothing is ever re-tagged.

A `--template` path that is a git checkout without version tags (e.g. a clone of this
repository) gets a derived mirror: a local clone whose tags are computed from committed data,
the history of the `version` field in pyproject.toml (version X = the commit that set it).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
from packaging.version import InvalidVersion, Version

from ._git import GitCommandError, is_git_worktree_root, run_git
from .errors import TemplateSourceError

PACKAGE_NAME = "goperf-scaffold"
DATA_DIR_ENV = "GOPERF_SCAFFOLD_DATA_DIR"
# What the template consists of, relative to its root (see pyproject's wheel force-include).
TEMPLATE_ENTRIES = ("copier.yml", "template", "includes")
_MIRROR_DIRNAME = "template"
_DERIVED_DIRNAME = "sources"
_DESCRIBE_PATTERN = re.compile(r"^(?P<base>.+)-(?P<count>\d+)-(?P<hash>g[0-9a-f]+)$")
_URL_PREFIXES = ("gh:", "gl:", "git@", "git+", "http://", "https://", "ssh://", "git://", "file://")


@dataclass(frozen=True)
class ResolvedSource:
    """A template source ready for Copier: what to render and what gets recorded."""

    src_path: str
    vcs_ref: str | None
    trusted: bool
    notes: tuple[str, ...] = field(default=())


def data_dir() -> Path:
    """The per-user data folder (mirrors live here); `GOPERF_SCAFFOLD_DATA_DIR` overrides it."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return platformdirs.user_data_path(PACKAGE_NAME).resolve()


def package_mirror_path() -> Path:
    """The per-user git repository that holds every installed version of the template."""
    return data_dir() / _MIRROR_DIRNAME


def carried_template_root() -> Path:
    """Find the template files the installed package carries (wheel or source checkout)."""
    package_dir = Path(__file__).resolve().parent
    wheel_root = package_dir / "_template"
    if (wheel_root / "copier.yml").is_file():
        return wheel_root
    # Editable install or source checkout: the repository root that holds copier.yml and a
    # pyproject.toml naming this package, found by walking up from the package folder.
    for candidate in package_dir.parents:
        if (candidate / "copier.yml").is_file() and _names_this_package(candidate):
            return candidate
    raise TemplateSourceError(
        f"cannot find the template carried by {PACKAGE_NAME} (looked in {wheel_root} and the "
        "parents of the package); reinstall the package"
    )


def _names_this_package(root: Path) -> bool:
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return bool(project.get("project", {}).get("name") == PACKAGE_NAME)


def installed_version() -> str:
    """The installed package version (PEP 440); the template version equals it."""
    try:
        return importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def parse_recorded_version(commit: str | None) -> Version | None:
    """Read a version from an answers file's `_commit` the way Copier does, or None."""
    if not commit:
        return None
    with contextlib.suppress(InvalidVersion):
        return Version(commit)
    match = _DESCRIBE_PATTERN.match(commit)
    if match:
        with contextlib.suppress(InvalidVersion):
            return Version(f"{match['base']}.post{match['count']}+{match['hash']}")
    return None


def is_url(source: str) -> bool:
    """Tell whether a template source names a remote git repository rather than a path."""
    return source.startswith(_URL_PREFIXES)


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Serialise mirror refreshes between concurrent goperf-scaffold processes."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        if fcntl is None:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _tree_of_template_files(mirror: Path, template_root: Path) -> str:
    """Hash the carried template files into a git tree in `mirror` without touching a worktree."""
    entries = [name for name in TEMPLATE_ENTRIES if (template_root / name).exists()]
    index_file = mirror / ".git" / "goperf-scaffold-carried.index"
    index_file.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(index_file)}
    git_dir = f"--git-dir={mirror / '.git'}"
    work_tree = f"--work-tree={template_root}"
    try:
        # --force: template files such as template/.gitignore must not hide other template files.
        run_git(
            git_dir,
            work_tree,
            "add",
            "--all",
            "--force",
            "--",
            *entries,
            ":(exclude,glob)**/__pycache__/**",
            ":(exclude,glob)**/*.pyc",
            cwd=template_root,
            extra_env=env,
            tool_owned=True,
        )
        return run_git(git_dir, "write-tree", cwd=template_root, extra_env=env).strip()
    finally:
        index_file.unlink(missing_ok=True)


def _tag_tree(mirror: Path, tag: str) -> str:
    return run_git("rev-parse", f"refs/tags/{tag}^{{tree}}", cwd=mirror).strip()


def _tags_of_version(mirror: Path, version: str) -> list[str]:
    """Tags holding `version` itself and its `+dev.N` variants, oldest first."""
    names = run_git("tag", "--list", cwd=mirror).split()
    prefix = f"{version}{'.' if '+' in version else '+'}dev."
    own = [name for name in names if name == version or name.startswith(prefix)]
    return sorted(own, key=Version)


def _next_dev_tag(version: str, existing: list[str]) -> str:
    separator = "." if "+" in version else "+"
    numbers = [int(tag.rsplit(".", 1)[1]) for tag in existing if tag != version]
    return f"{version}{separator}dev.{max(numbers, default=0) + 1}"


def refresh_package_mirror(
    *,
    template_root: Path | None = None,
    version: str | None = None,
    mirror: Path | None = None,
) -> str:
    """Make the mirror hold the carried template as a tagged commit; return that tag.

    Idempotent and cheap when nothing changed (one `git add` into a scratch index). The
    defaults are the installed package's template and version and the per-user mirror.
    """
    template_root = template_root or carried_template_root()
    version = version or installed_version()
    mirror = mirror or package_mirror_path()
    try:
        Version(version)
    except InvalidVersion as error:
        raise TemplateSourceError(f"package version '{version}' is not PEP 440") from error
    try:
        with _exclusive_lock(mirror.parent / f".{mirror.name}.lock"):
            return _refresh_package_mirror_locked(template_root, version, mirror)
    except (GitCommandError, OSError) as error:
        raise TemplateSourceError(
            f"cannot refresh the template mirror {mirror}: {error}"
        ) from error


def _refresh_package_mirror_locked(template_root: Path, version: str, mirror: Path) -> str:
    if not (mirror / ".git").is_dir():
        mirror.mkdir(parents=True, exist_ok=True)
        run_git("init", "--quiet", cwd=mirror, tool_owned=True)
    tree = _tree_of_template_files(mirror, template_root)
    existing = _tags_of_version(mirror, version)
    created = False
    if existing and _tag_tree(mirror, existing[-1]) == tree:
        tag = existing[-1]
    else:
        created = True
        tag = version if not existing else _next_dev_tag(version, existing)
        try:
            parent = ["-p", run_git("rev-parse", "--verify", "HEAD", cwd=mirror).strip()]
        except GitCommandError:
            parent = []  # first commit of the mirror
        commit = run_git(
            "commit-tree",
            tree,
            *parent,
            "-m",
            f"goperf-scaffold template {tag}",
            cwd=mirror,
            tool_owned=True,
        ).strip()
        run_git("update-ref", "refs/heads/main", commit, cwd=mirror, tool_owned=True)
        run_git("symbolic-ref", "HEAD", "refs/heads/main", cwd=mirror, tool_owned=True)
        run_git("tag", tag, commit, cwd=mirror, tool_owned=True)
    # Keep the worktree clean and at the newest commit: Copier treats a dirty local source
    # rendered at HEAD as "draft changes", and plain `copier` users may look at it.
    if created or run_git("status", "--porcelain", "--untracked-files=all", cwd=mirror).strip():
        run_git("reset", "--quiet", "--hard", "HEAD", cwd=mirror, tool_owned=True)
        run_git("clean", "--quiet", "-fdx", cwd=mirror, tool_owned=True)
    return tag


def versions_from_pyproject_history(repo: Path, rev: str = "HEAD") -> list[tuple[Version, str]]:
    """Map each version in pyproject.toml's history to the commit that released it.

    A release is the state just before the version changes: version X maps to the last
    first-parent commit of `rev` whose `[project] version` is X (the newest version maps to
    `rev` itself). So the repository's convention is that the first commit after a release
    moves the version on (to the next `.devN`), and a release's content never changes after
    the fact. Uses committed data only, so it works in clones that lack tags. Oldest first.
    """
    log = run_git(
        "log", "--first-parent", "--reverse", "--format=%H", rev, "--", "pyproject.toml", cwd=repo
    )
    releases: dict[Version, str] = {}
    current: Version | None = None
    for commit in log.split():
        version = _pyproject_version_at(repo, commit)
        if version == current:
            continue
        if current is not None:
            releases[current] = run_git("rev-parse", f"{commit}^1", cwd=repo).strip()
        current = version
    if current is not None:
        releases[current] = run_git("rev-parse", rev, cwd=repo).strip()
    return sorted(releases.items())


def _pyproject_version_at(repo: Path, commit: str) -> Version | None:
    try:
        text = run_git("show", f"{commit}:pyproject.toml", cwd=repo)
        raw = tomllib.loads(text).get("project", {}).get("version")
    except (GitCommandError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(raw, str):
        return None
    with contextlib.suppress(InvalidVersion):
        return Version(raw)
    return None


def _version_tags_in_repo(repo: Path) -> list[Version]:
    versions = []
    for name in run_git("tag", "--list", cwd=repo).split():
        with contextlib.suppress(InvalidVersion):
            versions.append(Version(name))
    return versions


def derived_mirror_path(source: Path) -> Path:
    """Where the tagged clone of a tag-less local template checkout lives."""
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    return data_dir() / _DERIVED_DIRNAME / f"{source.resolve().name}-{digest}"


def refresh_derived_mirror(source: Path) -> Path:
    """Clone/fetch a tag-less checkout and tag it with versions from pyproject.toml history."""
    mirror = derived_mirror_path(source)
    try:
        with _exclusive_lock(mirror.parent / f".{mirror.name}.lock"):
            if not (mirror / ".git").is_dir():
                mirror.parent.mkdir(parents=True, exist_ok=True)
                run_git(
                    "clone", "--quiet", "--no-checkout", str(source.resolve()), str(mirror),
                    cwd=mirror.parent, tool_owned=True,
                )  # fmt: skip
            run_git(
                "fetch", "--quiet", "--force", "--no-tags", "origin",
                "+HEAD:refs/remotes/origin/source-head",
                cwd=mirror, tool_owned=True,
            )  # fmt: skip
            derived = versions_from_pyproject_history(mirror, "refs/remotes/origin/source-head")
            wanted = {str(version): commit for version, commit in derived}
            for name in run_git("tag", "--list", cwd=mirror).split():
                if name not in wanted:
                    run_git("tag", "--delete", name, cwd=mirror, tool_owned=True)
            for name, commit in wanted.items():
                run_git("tag", "--force", name, commit, cwd=mirror, tool_owned=True)
            newest = max(derived)[0] if derived else None
            target = str(newest) if newest else "refs/remotes/origin/source-head"
            run_git(
                "checkout", "--quiet", "--force", "--detach", target, cwd=mirror, tool_owned=True
            )
    except (GitCommandError, OSError) as error:
        raise TemplateSourceError(f"cannot mirror template source {source}: {error}") from error
    return mirror


def resolve_template_for_new(template: str | None, vcs_ref: str | None) -> ResolvedSource:
    """Decide which git source and revision `new` renders, refreshing mirrors as needed."""
    if template is None:
        tag = refresh_package_mirror()
        return ResolvedSource(str(package_mirror_path()), vcs_ref or tag, trusted=True)
    if is_url(template):
        return ResolvedSource(template, vcs_ref, trusted=False)
    path = Path(template).expanduser()
    if not path.exists():
        raise TemplateSourceError(
            f"unknown template source '{template}': no such folder, and not a git URL"
        )
    if not path.is_dir() or not is_git_worktree_root(path):
        raise TemplateSourceError(
            f"template source '{template}' is not the root of a git repository; projects "
            "generated from it could never be updated (commit it to git, or pass a git URL)"
        )
    if not any((path / name).is_file() for name in ("copier.yml", "copier.yaml")):
        raise TemplateSourceError(f"template source '{template}' has no copier.yml")
    path = path.resolve()
    if _version_tags_in_repo(path):
        return ResolvedSource(str(path), vcs_ref, trusted=False)
    if (path / "pyproject.toml").is_file() and versions_from_pyproject_history(path):
        mirror = refresh_derived_mirror(path)
        return ResolvedSource(
            str(mirror),
            vcs_ref,
            trusted=False,
            notes=(f"{template} has no version tags: using versions from pyproject.toml history",),
        )
    return ResolvedSource(
        str(path),
        vcs_ref,
        trusted=False,
        notes=(
            f"warning: {template} has no version tags and no pyproject.toml version history; "
            "`update` will not be able to tell versions apart",
        ),
    )


def refresh_recorded_source(src_path: str) -> ResolvedSource:
    """Before `update`/`check`: refresh the mirror a project records, if it is one of ours."""
    if is_url(src_path):
        return ResolvedSource(src_path, None, trusted=False)
    recorded = Path(src_path).expanduser()
    if _same_path(recorded, package_mirror_path()):
        refresh_package_mirror()
        return ResolvedSource(src_path, None, trusted=True)
    if _is_within(recorded, data_dir() / _DERIVED_DIRNAME) and (recorded / ".git").is_dir():
        origin = run_git("config", "--get", "remote.origin.url", cwd=recorded).strip()
        if origin and Path(origin).is_dir():
            refresh_derived_mirror(Path(origin))
            return ResolvedSource(src_path, None, trusted=False)
        return ResolvedSource(
            src_path, None, trusted=False, notes=(f"note: {origin} is gone; using its mirror",)
        )
    if not recorded.exists():
        raise TemplateSourceError(
            f"the template source recorded in the answers file, '{src_path}', does not exist"
        )
    return ResolvedSource(src_path, None, trusted=False)


def available_versions(src_path: str) -> list[Version]:
    """PEP 440 version tags offered by a git source (local path or URL), newest last."""
    location = src_path if is_url(src_path) else str(Path(src_path).expanduser().resolve())
    try:
        listing = run_git("ls-remote", "--tags", "--refs", "--", location, cwd=Path(os.sep))
    except (GitCommandError, OSError) as error:
        raise TemplateSourceError(f"cannot list versions of '{src_path}': {error}") from error
    versions = []
    for line in listing.splitlines():
        name = line.partition("\t")[2].removeprefix("refs/tags/")
        with contextlib.suppress(InvalidVersion):
            versions.append(Version(name))
    return sorted(versions)


def _same_path(left: Path, right: Path) -> bool:
    with contextlib.suppress(OSError):
        return left.resolve() == right.resolve()
    return False


def _is_within(path: Path, folder: Path) -> bool:
    with contextlib.suppress(OSError):
        return path.resolve().is_relative_to(folder.resolve())
    return False
