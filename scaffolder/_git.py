"""Small helpers to run git as a subprocess without touching the user's git configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

# Identity for commits in repositories goperf-scaffold owns (the per-user template mirror) and
# for a generated project's first commit when the user has no identity configured. It is passed
# through the environment of that one git process, never written to any git config file.
TOOL_IDENTITY_ENV: Mapping[str, str] = {
    "GIT_AUTHOR_NAME": "goperf-scaffold",
    "GIT_AUTHOR_EMAIL": "goperf-scaffold@localhost",
    "GIT_COMMITTER_NAME": "goperf-scaffold",
    "GIT_COMMITTER_EMAIL": "goperf-scaffold@localhost",
}

# For repositories the tool owns: no signing prompts, no user hooks, a fixed branch name.
TOOL_REPO_CONFIG: Sequence[str] = (
    "-c",
    "commit.gpgSign=false",
    "-c",
    "tag.gpgSign=false",
    "-c",
    f"core.hooksPath={os.devnull}",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "advice.detachedHead=false",
)


class GitCommandError(Exception):
    """A git command exited non-zero; carries its combined output."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.args_run = list(args)
        self.returncode = returncode
        self.output = output
        self.first_output_line = next(
            (line.strip() for line in output.splitlines() if line.strip()), ""
        )
        super().__init__(f"git {' '.join(args)} exited {returncode}: {self.first_output_line}")


def git_available() -> bool:
    """Tell whether a `git` executable is on PATH."""
    return shutil.which("git") is not None


def run_git(
    *args: str,
    cwd: Path,
    extra_env: Mapping[str, str] | None = None,
    tool_owned: bool = False,
    stdin: str | None = None,
) -> str:
    """Run `git ARGS` in `cwd` and return its stdout; raise GitCommandError on failure."""
    env = dict(os.environ)
    # Never let git open an editor or ask for credentials on the terminal.
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true"})
    if tool_owned:
        env.update(TOOL_IDENTITY_ENV)
    if extra_env:
        env.update(extra_env)
    command = ["git", *(TOOL_REPO_CONFIG if tool_owned else ()), *args]
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise GitCommandError(args, completed.returncode, completed.stderr + completed.stdout)
    return completed.stdout


def is_git_worktree_root(path: Path) -> bool:
    """Tell whether `path` is the top folder of a git working tree."""
    if not path.is_dir():
        return False
    try:
        top = run_git("rev-parse", "--show-toplevel", cwd=path).strip()
    except (GitCommandError, OSError):
        return False
    return Path(top).resolve() == path.resolve()


def is_inside_git_worktree(path: Path) -> bool:
    """Tell whether `path` is inside a git working tree."""
    try:
        return run_git("rev-parse", "--is-inside-work-tree", cwd=path).strip() == "true"
    except (GitCommandError, OSError):
        return False


def has_user_identity(repo: Path) -> bool:
    """Tell whether the user configured who commits in `repo` (git config or environment)."""
    for key, variable in (("user.name", "GIT_AUTHOR_NAME"), ("user.email", "GIT_AUTHOR_EMAIL")):
        if os.environ.get(variable):
            continue
        try:
            if not run_git("config", "--get", key, cwd=repo).strip():
                return False
        except GitCommandError:
            return False
    return True


def commit_files(repo: Path, paths: Sequence[str], message: str) -> str:
    """Stage `paths` (relative to `repo`) and commit them; return the new commit's sha.

    The user's identity is used when git has one; otherwise goperf-scaffold's, for this one
    commit (through the environment, never written to a config file). Commit hooks are not
    run: the commit holds only what goperf-scaffold wrote.
    """
    identity = None if has_user_identity(repo) else TOOL_IDENTITY_ENV
    run_git("add", "--all", "--", *paths, cwd=repo)
    run_git("commit", "--quiet", "--no-verify", "-m", message, cwd=repo, extra_env=identity)
    return run_git("rev-parse", "HEAD", cwd=repo).strip()


def is_dirty(repo: Path) -> bool:
    """Tell whether `repo` has uncommitted changes (untracked files included)."""
    return bool(run_git("status", "--porcelain", cwd=repo).strip())
