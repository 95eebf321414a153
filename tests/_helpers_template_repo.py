"""Build throwaway Copier template repositories at successive versions, and drive git in tests.

Reusable for any template: `TemplateRepo.create(path)`, then for each version `write({...})`
(a value of None deletes the file) and `release("1.2.0")` (commit + tag). To start from the
real template, `TemplateRepo.from_directory(src, path)` copies copier.yml, template/ and
includes/ first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

GIT_TEST_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Run git with a test identity and no user/system config influence on commits."""
    env = {**os.environ, **GIT_TEST_IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    completed = subprocess.run(
        ["git", "-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr}{completed.stdout}")
    return completed.stdout


def commit_all(repo: Path, message: str) -> str:
    """Stage everything in `repo` and commit; return the new commit hash."""
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--no-verify", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def init_repo(path: Path) -> Path:
    """Create a git repository with branch `main` at `path`."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--initial-branch=main", cwd=path)
    return path


@dataclass
class TemplateRepo:
    """A git repository holding a Copier template, released version by version."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> TemplateRepo:
        return cls(init_repo(root))

    @classmethod
    def from_directory(
        cls,
        source: Path,
        root: Path,
        entries: Iterable[str] = ("copier.yml", "template", "includes"),
    ) -> TemplateRepo:
        """Start from an existing template folder (e.g. this repository's root)."""
        repo = cls.create(root)
        for name in entries:
            origin = source / name
            if origin.is_dir():
                shutil.copytree(origin, root / name)
            elif origin.is_file():
                shutil.copy2(origin, root / name)
        return repo

    def write(self, files: Mapping[str, str | None]) -> None:
        """Create, overwrite, or (value None) delete files relative to the repository root."""
        for relative, content in files.items():
            path = self.root / relative
            if content is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")

    def rename(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        git("mv", old, new, cwd=self.root)

    def release(self, version: str, *, tag: bool = True) -> str:
        """Commit the current state as `version` (tagged unless tag=False); return the commit."""
        commit = commit_all(self.root, f"release {version}")
        if tag:
            git("tag", version, commit, cwd=self.root)
        return commit
