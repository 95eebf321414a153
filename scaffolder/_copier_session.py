"""Run Copier against a template source's cache: git redirected for this process only.

The project records the shared source (a URL); git is told to fetch from the cache instead with
`url.<cache>.insteadOf=<source>`, passed through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
`GIT_CONFIG_VALUE_n` in the environment of the git processes Copier starts. That environment
is set with `plumbum.local.env` (plumbum snapshots `os.environ` when it is imported, so a later
`os.environ` change is not seen); no git config file is ever written. Copier's own mirror cache
(`COPIER_CACHE_DIR`) is pointed inside this installation's cache folder, so it never mixes two
installations' versions of one URL. Copier changes process-wide state (plumbum's environment
and working directory), so only one Copier call runs at a time; fleet threads queue here.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from plumbum import local

from ._cache import installation_cache_root

COPIER_CACHE_ENV = "COPIER_CACHE_DIR"
_copier_lock = threading.Lock()


def git_redirect_env(location: str, cache: Path, base: Mapping[str, str]) -> dict[str, str]:
    """Environment entries that make git fetch `location` from `cache` (after `base`'s own)."""
    try:
        count = int(base.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": f"url.{cache}.insteadOf",
        f"GIT_CONFIG_VALUE_{count}": location,
    }


@contextlib.contextmanager
def _copier_cache_dir(path: Path) -> Iterator[None]:
    previous = os.environ.get(COPIER_CACHE_ENV)
    os.environ[COPIER_CACHE_ENV] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(COPIER_CACHE_ENV, None)
        else:
            os.environ[COPIER_CACHE_ENV] = previous


@contextlib.contextmanager
def copier_reading_cache(location: str, cache: Path) -> Iterator[None]:
    """Within the block, Copier's git reads the template at `location` from `cache`."""
    with _copier_lock:
        redirect = git_redirect_env(location, cache, dict(local.env))
        with local.env(**redirect), _copier_cache_dir(installation_cache_root() / "copier"):
            yield
