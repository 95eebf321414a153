"""The offline cache: one bare git repository per template source, per installation.

`<data dir>/cache/<installation>/<name>-<hash>.git`, where `<installation>` names this
interpreter prefix + package location (so two installations never see each other's template
versions) and `<hash>` the source's git location. The cache holds version tags only; Copier
reads it through a git redirect (see `_redirect.py`), never through a recorded path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
from packaging.version import Version

from ._constants import PACKAGE_NAME
from ._git import run_git
from ._package import installation_scope
from ._versions import version_names

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DATA_DIR_ENV = "GOPERF_SCAFFOLD_DATA_DIR"
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def data_dir() -> Path:
    """The per-user data folder (caches live here); `GOPERF_SCAFFOLD_DATA_DIR` overrides it."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return platformdirs.user_data_path(PACKAGE_NAME).resolve()


def installation_cache_root() -> Path:
    """This installation's folder of caches."""
    return data_dir() / "cache" / installation_scope()


def cache_path(location: str) -> Path:
    """The cache repository of a template source (its git location, see `git_location`)."""
    stem = location.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "template"
    name = _UNSAFE_NAME_CHARACTERS.sub("-", stem)[:40]
    digest = hashlib.sha256(location.encode()).hexdigest()[:12]
    return installation_cache_root() / f"{name}-{digest}.git"


@contextlib.contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """Serialise changes to one cache between goperf-scaffold processes."""
    lock_path = cache.parent / f".{cache.name}.lock"
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


def ensure_cache(cache: Path) -> None:
    """Create the bare cache repository if it does not exist yet."""
    if (cache / "HEAD").is_file():
        return
    cache.mkdir(parents=True, exist_ok=True)
    run_git("init", "--quiet", "--bare", cache.name, cwd=cache.parent, tool_owned=True)


def cached_tags(cache: Path) -> dict[Version, str]:
    """The version tags of a cache, keyed by version."""
    if not (cache / "HEAD").is_file():
        return {}
    names = run_git("for-each-ref", "--format=%(refname:strip=2)", "refs/tags", cwd=cache)
    return version_names(names.split())


def set_tags(cache: Path, tags: dict[str, str]) -> None:
    """Make the cache's tags exactly `tags` (name -> commit) in one ref transaction."""
    current = run_git("for-each-ref", "--format=%(refname) %(objectname)", "refs/tags", cwd=cache)
    existing = dict(line.split(" ", 1) for line in current.splitlines() if line)
    commands = [f"delete {ref}\n" for ref in existing if ref.removeprefix("refs/tags/") not in tags]
    commands += [
        f"update refs/tags/{name} {commit}\n"
        for name, commit in tags.items()
        if existing.get(f"refs/tags/{name}") != commit
    ]
    if commands:
        run_git("update-ref", "--stdin", cwd=cache, stdin="".join(commands), tool_owned=True)


def point_head_at_newest(cache: Path) -> None:
    """Keep `main` (and HEAD) at the newest version, for anyone who clones the cache."""
    tags = cached_tags(cache)
    if not tags:
        return
    newest = tags[max(tags)]
    commit = run_git("rev-parse", f"refs/tags/{newest}^{{commit}}", cwd=cache).strip()
    run_git("update-ref", "refs/heads/main", commit, cwd=cache, tool_owned=True)
    run_git("symbolic-ref", "HEAD", "refs/heads/main", cwd=cache, tool_owned=True)


def last_fetch_note(cache: Path) -> str:
    """When the cache was last refreshed from its source, for offline notes."""
    marker = cache / "FETCH_HEAD"
    with contextlib.suppress(OSError):
        stamp = datetime.fromtimestamp(marker.stat().st_mtime, tz=UTC)
        return f"cached {stamp:%Y-%m-%d %H:%M} UTC"
    return "cached earlier"
