"""The step functions: git init + first commit, go mod tidy, go build + vet, gofmt check."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FIRST_COMMIT_MESSAGE = "Initial commit from goperf-scaffold"
# Used only for the first commit, and only when the user has no git identity configured.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "goperf-scaffold",
    "GIT_AUTHOR_EMAIL": "goperf-scaffold@localhost",
    "GIT_COMMITTER_NAME": "goperf-scaffold",
    "GIT_COMMITTER_EMAIL": "goperf-scaffold@localhost",
}
# Module downloads can be slow; a hung network must still end the step.
_GO_TIMEOUT_SECONDS = 900
_OUTPUT_TAIL_LINES = 20


class StepError(Exception):
    """A step failed; `str(error)` is one line naming the step, `output` the command's tail."""

    def __init__(self, message: str, *, step: str, output: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.output = output


class StepTimedOutError(StepError):
    """A step's command ran longer than the step allows."""

    def __init__(self, *, step: str, command: Sequence[str], timeout: float) -> None:
        self.command = tuple(command)
        self.timeout = timeout
        super().__init__(
            f"step '{step}' timed out after {timeout:.0f}s running {' '.join(command)}", step=step
        )


class StepNotStartedError(StepError):
    """A step's command could not be started (not installed, not executable)."""

    def __init__(self, *, step: str, command: Sequence[str], detail: str) -> None:
        self.command = tuple(command)
        self.detail = detail  # the OS's reason
        super().__init__(f"step '{step}' could not run {command[0]}: {detail}", step=step)


class StepCommandFailedError(StepError):
    """A step's command exited non-zero; `output` keeps the last lines of what it printed."""

    def __init__(self, *, step: str, command: Sequence[str], returncode: int, output: str) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        lines = output.splitlines()
        first = next((line for line in lines if line.strip()), "no output")
        super().__init__(
            f"step '{step}' failed: `{' '.join(command)}` exited {returncode}: {first}",
            step=step,
            output="\n".join(lines[-_OUTPUT_TAIL_LINES:]),
        )


class GoMissingError(StepError):
    """`go` is not on PATH, and the step cannot be skipped (an update must build)."""

    def __init__(self) -> None:
        super().__init__("go not found on PATH: cannot build and test the update", step="go")


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended when it did not fail: done, or skipped with the reason."""

    status: Literal["done", "skipped"]
    note: str = ""


def _run(
    step: str,
    command: list[str],
    project: Path,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> str:
    """Run one command of a step in the project; raise StepError with its output tail."""
    env = {**os.environ, **(extra_env or {})}
    try:
        completed = subprocess.run(
            command,
            cwd=project,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        raise StepTimedOutError(step=step, command=command, timeout=error.timeout) from error
    except OSError as error:
        raise StepNotStartedError(
            step=step, command=command, detail=str(error.strerror or error)
        ) from error
    output = (completed.stdout + completed.stderr).strip()
    if completed.returncode != 0:
        raise StepCommandFailedError(
            step=step, command=command, returncode=completed.returncode, output=output
        )
    return completed.stdout


def _inside_git_worktree(project: Path) -> str | None:
    """The top folder of the git work tree containing `project`, or None."""
    completed = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def _git_config_value(project: Path, key: str) -> str:
    completed = subprocess.run(
        ["git", "config", "--get", key], cwd=project, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip()


def git_init_and_commit(
    project: Path,
    *,
    message: str = FIRST_COMMIT_MESSAGE,
    paths: Sequence[str] | None = None,
) -> StepOutcome:
    """Create the project's git repository and commit the generated files.

    `paths` (relative to the project) are the generated files when the folder held files of
    its own before (`new --force`): only those are committed, the others stay untracked and
    are named in the note. Skipped when git is missing or the project already lies inside a
    git work tree (a monorepo: no nested repository is created). The user's git identity is
    used when one is configured; otherwise a goperf-scaffold identity is set for this one
    commit only (through the environment, never written to any git config).
    """
    step = "git init + first commit"
    if shutil.which("git") is None:
        return StepOutcome("skipped", "git not found on PATH; run `git init` yourself")
    top = _inside_git_worktree(project)
    if top is not None:
        return StepOutcome(
            "skipped", f"already inside the git repository {top}; commit the new files there"
        )
    branch = _git_config_value(project, "init.defaultBranch") or "main"
    _run(step, ["git", "init", "--quiet", f"--initial-branch={branch}"], project)
    if paths is None:
        _run(step, ["git", "add", "--all"], project)
    else:
        listed = "\n".join(paths) + "\n"
        _run(step, ["git", "add", "--pathspec-from-file=-"], project, stdin=listed)
    has_identity = bool(
        _git_config_value(project, "user.name") and _git_config_value(project, "user.email")
    )
    _run(
        step,
        ["git", "commit", "--quiet", "--no-verify", "-m", message],
        project,
        extra_env=None if has_identity else _FALLBACK_IDENTITY,
    )
    notes = [] if has_identity else ["committed as goperf-scaffold (no git identity configured)"]
    if paths is not None:
        untracked = _run(
            step, ["git", "ls-files", "--others", "--exclude-standard"], project
        ).split()
        if untracked:
            notes.append(
                f"{len(untracked)} file(s) that were there before left out of the commit: "
                + ", ".join(untracked[:10])
                + (" …" if len(untracked) > 10 else "")
            )
    return StepOutcome("done", "; ".join(notes))


def go_mod_tidy(project: Path) -> StepOutcome:
    """Run `go mod tidy`, which downloads modules and writes go.sum."""
    if shutil.which("go") is None:
        return StepOutcome("skipped", "go not found on PATH; run `go mod tidy` yourself")
    if not (project / "go.mod").is_file():
        return StepOutcome("skipped", "no go.mod")
    _run("go mod tidy", ["go", "mod", "tidy"], project, timeout=_GO_TIMEOUT_SECONDS)
    return StepOutcome("done")


def verify_build(project: Path) -> StepOutcome:
    """Verification build: `go build ./...` and `go vet ./...`, run side by side."""
    if shutil.which("go") is None:
        return StepOutcome("skipped", "go not found on PATH; run `go build ./...` yourself")
    if not (project / "go.mod").is_file():
        return StepOutcome("skipped", "no go.mod")
    # -o DIR/: a lone main package would otherwise drop its binary into the project.
    with (
        tempfile.TemporaryDirectory(prefix="goperf-scaffold-build-") as binaries,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        # The two commands share the build cache and mostly wait on different work (code
        # generation and linking vs analysis), so running them together saves wall time.
        build = pool.submit(
            _run,
            "go build ./...",
            ["go", "build", "-o", f"{binaries}{os.sep}", "./..."],
            project,
            timeout=_GO_TIMEOUT_SECONDS,
        )
        vet = pool.submit(
            _run, "go vet ./...", ["go", "vet", "./..."], project, timeout=_GO_TIMEOUT_SECONDS
        )
        build.result()  # a build failure is reported first: it explains a vet failure too
        vet.result()
    return StepOutcome("done")


def build_and_test(project: Path) -> StepOutcome:
    """Fleet verification: `go build ./...`, then `go test ./...` (stops at the first failure)."""
    if shutil.which("go") is None:
        raise GoMissingError()
    if not (project / "go.mod").is_file():
        return StepOutcome("skipped", "no go.mod")
    with tempfile.TemporaryDirectory(prefix="goperf-scaffold-build-") as binaries:
        _run(
            "go build ./...",
            ["go", "build", "-o", f"{binaries}{os.sep}", "./..."],
            project,
            timeout=_GO_TIMEOUT_SECONDS,
        )
    _run("go test ./...", ["go", "test", "./..."], project, timeout=_GO_TIMEOUT_SECONDS)
    return StepOutcome("done")


def _gofmt_executable() -> str | None:
    found = shutil.which("gofmt")
    if found:
        return found
    go = shutil.which("go")
    if go is None:
        return None
    completed = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=False)
    candidate = Path(completed.stdout.strip()) / "bin" / "gofmt"
    return str(candidate) if candidate.is_file() else None


def gofmt_check(project: Path) -> StepOutcome:
    """List Go files that gofmt would change (reported in the note; never modifies files)."""
    gofmt = _gofmt_executable()
    if gofmt is None:
        return StepOutcome("skipped", "gofmt not found; run `gofmt -l .` yourself")
    completed = subprocess.run(
        [gofmt, "-l", "."], cwd=project, capture_output=True, text=True, check=False
    )
    unformatted = sorted(line for line in completed.stdout.splitlines() if line.strip())
    if completed.returncode != 0 and not unformatted:
        first = next((line for line in completed.stderr.splitlines() if line.strip()), "")
        return StepOutcome("done", f"gofmt could not parse some files: {first}")
    if unformatted:
        return StepOutcome("done", f"not gofmt-formatted: {', '.join(unformatted)}")
    return StepOutcome("done")
