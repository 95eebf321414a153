"""Template source addresses: URL or path, what Copier records, and what git is handed.

Copier (9.x) treats a source as git only when it ends in `.git` or starts with `git@`,
`git://`, `git+`, `https://github.com/`, `https://gitlab.com/` (or is `gh:`/`gl:`); any other
URL — `file:///srv/git/template`, `https://git.example.com/platform/template` — is taken for a
local folder and plain `copier update` fails with a traceback. So such a URL is recorded with
the `git+` prefix, which Copier strips before calling git.
"""

from __future__ import annotations

import re
from pathlib import Path

_URL_PREFIXES = ("gh:", "gl:", "git@", "git+", "http://", "https://", "ssh://", "git://", "file://")
_COPIER_GIT_PREFIXES = ("git@", "git://", "git+", "https://github.com/", "https://gitlab.com/")
_ALIASES = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def is_url(source: str) -> bool:
    """Tell whether a template source names a git URL rather than a path on this machine."""
    return source.startswith(_URL_PREFIXES) or bool(_SCP_LIKE.match(source))


def git_location(source: str) -> str:
    """What git is handed for a recorded source: the same rewriting Copier applies."""
    for alias, base in _ALIASES.items():
        if source.startswith(alias):
            rest = source[len(alias) :].lstrip("/")
            return base + (rest if rest.endswith(".git") else f"{rest}.git")
    if source.startswith("git+"):
        return source[len("git+") :]
    if source.startswith("https://") and source.startswith(_COPIER_GIT_PREFIXES):
        return source if source.endswith(".git") else f"{source}.git"
    if is_url(source):
        return source
    return str(Path(source).expanduser())


def copier_reads_as_git(source: str) -> bool:
    """Tell whether Copier treats this URL as a git repository (not as a local folder)."""
    return (
        source.endswith(".git")
        or source.startswith(_COPIER_GIT_PREFIXES)
        or source.startswith(tuple(_ALIASES))
    )


def recordable(url: str) -> str:
    """The form of a git URL to record in `_src_path` so that plain Copier reads it as git."""
    return url if copier_reads_as_git(url) else f"git+{url}"
