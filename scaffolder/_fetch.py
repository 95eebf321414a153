"""Fill a source's cache from the source itself: its version tags, else versions from history.

Every command that needs a source (not the package's own URL) fetches it first, so a new tag
on the organisation's git server is seen at once; when the source cannot be reached, the cache
answers (offline use) and the command says so. A fleet run fetches each source once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ._cache import (
    cache_lock,
    cached_tags,
    ensure_cache,
    last_fetch_note,
    point_head_at_newest,
    set_tags,
)
from ._git import GitCommandError, run_git
from ._urls import is_url
from ._versions import version_names, versions_from_pyproject_history
from .errors import (
    SourceUnreachableError,
    SourceWithoutDefaultBranchError,
    SourceWithoutVersionHistoryError,
    UntaggedSharedSourceError,
)


@dataclass(frozen=True)
class FetchOutcome:
    """How a cache was refreshed: from the source, or offline; real or derived versions."""

    derived_versions: bool
    offline_note: str | None = None


T = TypeVar("T")
_memo_lock = threading.Lock()
_memo: dict[str, object] | None = None


@contextlib.contextmanager
def each_source_fetched_once() -> Iterator[None]:
    """Within the block, fetch every source at most once (a fleet run over many projects)."""
    global _memo  # noqa: PLW0603 - one memo for the duration of a fleet run, guarded by a lock
    with _memo_lock:
        outer, _memo = _memo, (_memo if _memo is not None else {})
    try:
        yield
    finally:
        with _memo_lock:
            _memo = outer


def once(key: str, make: Callable[[], T]) -> T:
    """`make()`, or inside `each_source_fetched_once` the value it gave for `key` before."""
    with _memo_lock:
        if _memo is not None and key in _memo:
            return _memo[key]  # type: ignore[return-value]
    value = make()
    with _memo_lock:
        if _memo is not None:
            _memo[key] = value
    return value


def refresh_from_source(location: str, cache: Path) -> FetchOutcome:
    """Fetch the source at `location` (git URL or path) into `cache`; return how it went."""

    def fetch() -> FetchOutcome:
        with cache_lock(cache):
            return _refresh_locked(location, cache)

    return once(f"fetch {location}", fetch)


def _refresh_locked(location: str, cache: Path) -> FetchOutcome:
    ensure_cache(cache)
    try:
        run_git(
            "fetch", "--quiet", "--force", "--prune", "--no-tags", "--", location,
            "+refs/tags/*:refs/source-tags/*",
            cwd=cache, tool_owned=True,
        )  # fmt: skip
    except GitCommandError as error:
        reason = error.first_output_line or str(error)
        if cached_tags(cache):
            return FetchOutcome(
                derived_versions=False,
                offline_note=(
                    f"note: cannot reach {location} ({reason}); using the versions "
                    f"{last_fetch_note(cache)}"
                ),
            )
        raise SourceUnreachableError(location=location, reason=reason) from error
    fetched = run_git(
        "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/source-tags", cwd=cache
    )
    objects = dict(line.split(" ", 1) for line in fetched.splitlines() if line)
    tags = {name: objects[name] for name in version_names(objects).values()}
    derived = not tags
    if derived:
        tags = _derive_from_history(location, cache)
        if is_url(location):
            raise UntaggedSharedSourceError(location=location, derived=tags)
    set_tags(cache, tags)
    point_head_at_newest(cache)
    return FetchOutcome(derived_versions=derived)


def fetch_one_version(location: str, cache: Path, tag: str) -> bool:
    """Fetch one tag from `location` into `cache` (a version this installation lacks)."""
    with cache_lock(cache):
        try:
            run_git(
                "fetch", "--quiet", "--no-tags", "--", location,
                f"+refs/tags/{tag}:refs/tags/{tag}",
                cwd=cache, tool_owned=True,
            )  # fmt: skip
        except GitCommandError:
            return False
    return True


def _derive_from_history(location: str, cache: Path) -> dict[str, str]:
    """Versions of an untagged source, from its pyproject.toml history."""
    try:
        run_git(
            "fetch", "--quiet", "--force", "--no-tags", "--", location, "+HEAD:refs/source/head",
            cwd=cache, tool_owned=True,
        )  # fmt: skip
    except GitCommandError as error:
        raise SourceWithoutDefaultBranchError(
            location=location, git_output=error.first_output_line
        ) from error
    derived = {
        str(version): commit
        for version, commit in versions_from_pyproject_history(cache, "refs/source/head")
    }
    if not derived:
        raise SourceWithoutVersionHistoryError(location=location)
    return derived
