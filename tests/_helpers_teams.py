"""Shared template remotes, users with their own homes and installations, git state snapshots.

A "remote" is a bare git repository served as a `file://` URL or by `git daemon` on
127.0.0.1. A "user" is a HOME folder with nothing configured (no data dir or config
overrides), running goperf-scaffold from a given installation (a package copy on PYTHONPATH,
or this checkout).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._helpers_template_repo import TemplateRepo, git

# Environment that would make a run use the test process's folders instead of the user's own.
_USER_SPECIFIC_ENV = (
    "GOPERF_SCAFFOLD_DATA_DIR",
    "GOPERF_SCAFFOLD_CONFIG",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "COPIER_CACHE_DIR",
    "PYTHONPATH",
    "GIT_CONFIG_COUNT",
)


@functools.cache
def go_caches() -> dict[str, str]:
    """The machine's Go module and build caches: a run with another HOME must share them
    (offline, and no rebuild of every dependency), as every test does."""
    if shutil.which("go") is None:
        return {}
    names = ("GOPATH", "GOMODCACHE", "GOCACHE")
    values = subprocess.run(
        ["go", "env", *names], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    return dict(zip(names, values, strict=False))


def publish(repo: Path, remote: Path) -> None:
    """Push the template repository's main branch and every tag to the bare remote."""
    git("push", "--quiet", "--force", str(remote), "HEAD:refs/heads/main", cwd=repo)
    git("push", "--quiet", "--force", "--tags", str(remote), cwd=repo)


def bare_remote(template: TemplateRepo, remote: Path) -> Path:
    """A bare repository holding the template's history and tags (the team's git server)."""
    remote.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=remote.parent)
    publish(template.root, remote)
    return remote


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """Serve the bare repositories under `base` on 127.0.0.1 only; yield `git://127.0.0.1:PORT`."""
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={base}",
         "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"git daemon did not start: {process.stderr}")
            time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class User:
    """Someone on this machine: their HOME, and the goperf-scaffold installation they run."""

    home: Path
    installation: Path | None = None  # a package copy put on PYTHONPATH; None: this checkout
    extra_env: Mapping[str, str] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _USER_SPECIFIC_ENV}
        env["HOME"] = str(self.home)
        env.update(go_caches())
        # Plain `copier` keeps a mirror cache too: keep it in this user's home.
        env["COPIER_CACHE_DIR"] = str(self.home / ".cache" / "copier")
        if self.installation is not None:
            env["PYTHONPATH"] = str(self.installation)
        env.update(self.extra_env or {})
        return env

    def run(
        self, args: Sequence[str], *, cwd: Path, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`goperf-scaffold ARGS` as this user (no terminal on stdin)."""
        self.home.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [sys.executable, "-m", "scaffolder.cli", *args],
            cwd=cwd, env=self.env(), input="", capture_output=True, text=True, check=False,
            timeout=timeout,
        )  # fmt: skip

    def copier(self, args: Sequence[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Plain `copier ARGS` as this user."""
        self.home.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [str(Path(sys.executable).parent / "copier"), *args],
            cwd=cwd, env=self.env(), input="", capture_output=True, text=True, check=False,
            timeout=600,
        )  # fmt: skip


@dataclass(frozen=True)
class RepoState:
    """What a repository looks like from the outside: branch, HEAD, branches, status."""

    branch: str
    head: str
    branches: tuple[str, ...]
    status: str
    worktrees: int

    @classmethod
    def of(cls, repo: Path) -> RepoState:
        return cls(
            branch=git("rev-parse", "--abbrev-ref", "HEAD", cwd=repo).strip(),
            head=git("rev-parse", "HEAD", cwd=repo).strip(),
            branches=tuple(git("branch", "--format=%(refname:short)", cwd=repo).split()),
            status=git("status", "--porcelain", cwd=repo),
            worktrees=sum(
                line.startswith("worktree ")
                for line in git("worktree", "list", "--porcelain", cwd=repo).splitlines()
            ),
        )


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    return dest
