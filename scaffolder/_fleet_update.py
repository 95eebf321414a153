"""`fleet update`: a `template/<version>` branch per repository, updated, built and tested.

Each repository is updated in a temporary git worktree (its checkout and current branch are
never touched), by `update_service`; then `go build ./...` and `go test ./...` run there and
the result is committed. The branch is created only as the very last step, so a repository
ends either as it was or with a complete branch — also when the run is interrupted (Ctrl-C).
Conflicts, failed builds or tests, and dirty repositories leave the repository untouched and
are reported (a conflicted one with the command that resolves it). `refresh` rebuilds a branch
that already exists; `push` sends each new branch to a remote, so a forge opens the pull
request. Repositories run in parallel threads (`jobs`); Copier itself runs one at a time.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from hooks import StepError, build_and_test

from ._fetch import each_source_fetched_once
from ._fleet_status import find_projects, not_a_repository
from ._git import GitCommandError, commit_files, run_git
from ._progress import SilentProgress
from ._project import read_recorded_project
from ._source import require_revision, source_for_project
from ._update import update_service
from .errors import (
    JobsOutOfRangeError,
    ScaffoldError,
    SourceOffersNoVersionError,
    TargetNotAVersionError,
)

Outcome = Literal[
    "updated",
    "already current",
    "conflicts",
    "failed",
    "skipped",
    "not pushed",
    "error",
    "interrupted",
]
# A signal-killed child (Ctrl-C reaches the whole process group) needs a moment to show up
# as the run's stop flag; a failure within this window counts as an interruption.
_INTERRUPT_GRACE_SECONDS = 0.5
_DETAIL_LINES = 5


@dataclass(frozen=True)
class RepoUpdate:
    """What `fleet update` did to one repository."""

    path: Path
    project: str
    outcome: Outcome
    from_version: str | None = None
    to_version: str | None = None
    branch: str | None = None
    commit: str | None = None
    conflicted_files: list[str] = field(default_factory=list)
    detail: str = ""
    resolve_with: str | None = None  # the command that brings the conflicts into the checkout
    replaced: str | None = None  # with `refresh`: the commit the rebuilt branch pointed to
    pushed_to: str | None = None  # the remote the branch was pushed to

    @property
    def ok(self) -> bool:
        """True when the repository needs no attention (updated or already current)."""
        return self.outcome in {"updated", "already current"}

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (used by `fleet update --json`)."""
        return {
            "path": str(self.path),
            "project": self.project,
            "outcome": self.outcome,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "branch": self.branch,
            "commit": self.commit,
            "conflicted_files": self.conflicted_files,
            "detail": self.detail,
            "resolve_with": self.resolve_with,
            "replaced": self.replaced,
            "pushed_to": self.pushed_to,
        }


@dataclass(frozen=True)
class FleetUpdateReport:
    """Every repository's outcome, in the order given; whether the run was interrupted."""

    repos: list[RepoUpdate]
    interrupted: bool = False


def _first_lines(text: str) -> str:
    """The lines that explain a failed build or test (passing packages left out)."""
    noise = ("ok  ", "ok\t", "?   ", "=== RUN", "=== PAUSE", "=== CONT", "PASS")
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    relevant = [line for line in lines if not line.lstrip().startswith(noise)]
    return "\n".join(relevant[:_DETAIL_LINES])


class _Worker:
    """Updates one repository; every exit path removes its worktree."""

    def __init__(self, project: Path, options: _Options, stop: threading.Event):
        self.project = project
        self.to = options.to
        self.trust = options.trust
        self.refresh = options.refresh
        self.push = options.push
        self.stop = stop
        self.name = project.name

    def result(self, outcome: Outcome, **details: object) -> RepoUpdate:
        return RepoUpdate(self.project, self.name, outcome, **details)  # type: ignore[arg-type]

    def stopped(self) -> bool:
        return self.stop.wait(_INTERRUPT_GRACE_SECONDS) if not self.stop.is_set() else True

    def run(self) -> RepoUpdate:
        if self.stop.is_set():
            return self.result("interrupted", detail="not started")
        try:
            return self._run()
        except ScaffoldError as error:
            if self.stopped():
                return self.result("interrupted", detail=str(error))
            return self.result("error", detail=str(error))
        except GitCommandError as error:
            return self.result("error", detail=str(error))

    def _run(self) -> RepoUpdate:
        problem = not_a_repository(self.project)
        if problem is not None:
            return self.result("error", detail=problem)
        recorded = read_recorded_project(self.project)
        self.name = str(recorded.answers.get("project_name") or self.name)
        versions = {"from_version": recorded.commit}
        if run_git("status", "--porcelain", "--", ".", cwd=self.project).strip():
            return self.result("skipped", detail="uncommitted changes", **versions)
        target = self._target(recorded.src_path, recorded.commit)
        wanted = Version(target)
        if wanted <= recorded.version:
            if wanted == recorded.version:
                return self.result("already current", to_version=target, **versions)
            return self.result("skipped", detail=f"already past {target}", **versions)
        branch = f"template/{target}"
        replaced = _branch_commit(branch, self.project)
        reason = self._why_keep(branch) if replaced is not None else None
        if reason is not None:
            return self.result("skipped", detail=reason, **versions)
        return self._in_worktree(target, branch, replaced, {"to_version": target, **versions})

    def _why_keep(self, branch: str) -> str | None:
        """Why the existing `branch` stays as it is, or None when it is to be rebuilt."""
        if not self.refresh:
            return f"branch {branch} already exists (--refresh rebuilds it)"
        if _checked_out(branch, self.project):
            return f"branch {branch} is checked out; switch to another branch to refresh it"
        return None

    def _target(self, src_path: str, commit: str) -> str:
        """The version to update to: `--to`, else the newest the source offers."""
        source = source_for_project(src_path, commit=commit)
        target = self.to or source.newest()
        if target is None:
            raise SourceOffersNoVersionError(source=source.recorded)
        require_revision(source, target)
        try:
            Version(target)
        except InvalidVersion:
            raise TargetNotAVersionError(target=target) from None
        return target

    def _in_worktree(
        self, target: str, branch: str, replaced: str | None, done: dict[str, str]
    ) -> RepoUpdate:
        top = Path(run_git("rev-parse", "--show-toplevel", cwd=self.project).strip())
        scratch = Path(tempfile.mkdtemp(prefix="goperf-scaffold-fleet-"))
        tree = scratch / top.name
        run_git("worktree", "add", "--quiet", "--detach", str(tree), "HEAD", cwd=top)
        try:
            checkout = tree / os.path.relpath(self.project, top)
            failure = self._update(checkout, target, done) or self._verify(checkout, done)
            if failure is not None:
                return failure
            commit = commit_files(checkout, ["."], f"Update the template to {target}")
            if self.stop.is_set():
                return self.result("interrupted", **done)
            # The one step that changes the repository (with `refresh`: moves the branch).
            run_git("branch", *(["--force"] if replaced else []), branch, commit, cwd=top)
            made: dict[str, object] = {"branch": branch, "commit": commit, "replaced": replaced}
            return self._pushed(top, branch, {**made, **done})
        finally:
            try:
                run_git("worktree", "remove", "--force", str(tree), cwd=top)
            except GitCommandError:
                run_git("worktree", "prune", cwd=top)
            shutil.rmtree(scratch, ignore_errors=True)

    def _pushed(self, top: Path, branch: str, done: dict[str, object]) -> RepoUpdate:
        """Push the new branch to the `push` remote (forced when it was rebuilt)."""
        if self.push is None:
            return self.result("updated", **done)
        if self.stop.is_set():
            return self.result("not pushed", detail="interrupted before the push", **done)
        force = "+" if done.get("replaced") else ""
        try:
            run_git(
                "push", "--quiet", self.push, f"{force}refs/heads/{branch}:refs/heads/{branch}",
                cwd=top, extra_env={"GIT_TERMINAL_PROMPT": "0"},
            )  # fmt: skip
        except GitCommandError as error:
            lines = [line for line in error.output.splitlines() if line.strip()]
            detail = lines[0] if lines else str(error)
            return self.result("not pushed", detail=f"git push {self.push}: {detail}", **done)
        return self.result("updated", pushed_to=self.push, **done)

    def _resolve_command(self, target: str) -> str:
        """Shell commands that redo the update in the repository itself, conflicts and all."""
        where = shlex.quote(str(self.project))
        trust = " --trust" if self.trust else ""
        return (
            f"git -C {where} switch --create template/{target} && "
            f"goperf-scaffold update --vcs-ref {target} --defaults{trust} {where}"
        )

    def _update(self, checkout: Path, target: str, done: dict[str, str]) -> RepoUpdate | None:
        """Run the update in the worktree; a result only when the repository must stay as is."""
        try:
            update = update_service(
                checkout, vcs_ref=target, defaults=True, trust=self.trust, progress=SilentProgress()
            )
        except ScaffoldError as error:
            if self.stopped():
                return self.result("interrupted", **done)
            return self.result("failed", detail=f"update: {error}", **done)
        if update.has_conflicts:
            return self.result(
                "conflicts",
                conflicted_files=update.conflicted_files,
                resolve_with=self._resolve_command(target),
                **done,
            )
        return self.result("interrupted", **done) if self.stop.is_set() else None

    def _verify(self, checkout: Path, done: dict[str, str]) -> RepoUpdate | None:
        """`go build ./...` and `go test ./...`; a result only when they fail."""
        try:
            build_and_test(checkout)
        except StepError as error:
            if self.stopped():
                return self.result("interrupted", **done)
            return self.result("failed", detail=_first_lines(f"{error}\n{error.output}"), **done)
        return None


@dataclass(frozen=True)
class _Options:
    to: str | None
    trust: bool
    refresh: bool
    push: str | None


def _branch_commit(branch: str, repo: Path) -> str | None:
    """The commit of the local `branch`, or None when there is no such branch."""
    try:
        return run_git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=repo).strip()
    except GitCommandError:
        return None


def _checked_out(branch: str, repo: Path) -> bool:
    """True when `branch` is the current branch of the repository or one of its worktrees."""
    listing = run_git("worktree", "list", "--porcelain", cwd=repo)
    return f"branch refs/heads/{branch}" in listing.splitlines()


def fleet_update(
    paths: Sequence[str | os.PathLike[str]],
    *,
    to: str | None = None,
    jobs: int = 1,
    trust: bool = False,
    refresh: bool = False,
    push: str | None = None,
    on_result: Callable[[RepoUpdate], None] | None = None,
) -> FleetUpdateReport:
    """Update each generated repository under PATHs on a new `template/<version>` branch.

    Per repository, in a temporary worktree: `update` to the newest version (or `to`), then
    `go build ./...` and `go test ./...`, then a commit; the branch `template/<version>` is
    created last. The current branch and checkout are never changed. An existing branch is
    left as it is, or rebuilt from the current HEAD with `refresh`. With `push` (a remote name
    or URL) each new branch is pushed there, so a forge can open the pull request.
    Outcomes: updated, already current, conflicts (files, and `resolve_with`: the commands
    that redo the update in the repository itself), failed (first lines), skipped
    (uncommitted changes, existing branch), not pushed, error (also a PATH that is missing or
    holds no generated repository). One repository's failure never stops the others. On
    Ctrl-C no new repository starts, running ones finish or are rolled back, and the report
    says which.
    """
    if jobs < 1:
        raise JobsOutOfRangeError(jobs=jobs)
    entries = find_projects(paths)
    options = _Options(to=to, trust=trust, refresh=refresh, push=push)
    stop = threading.Event()
    outcomes: dict[Path, RepoUpdate] = {}
    for entry in entries:
        if entry.problem is not None:
            outcomes[entry.path] = RepoUpdate(entry.path, entry.name, "error", detail=entry.problem)
            if on_result is not None:
                on_result(outcomes[entry.path])
    projects = [entry.path for entry in entries if entry.problem is None]
    interrupted = False
    with each_source_fetched_once(), ThreadPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future[RepoUpdate], Path] = {
            pool.submit(_Worker(project, options, stop).run): project for project in projects
        }
        pending = set(futures)
        while pending:
            try:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
                continue
            for future in done:
                outcome = future.result()
                outcomes[futures[future]] = outcome
                if on_result is not None:
                    on_result(outcome)
    return FleetUpdateReport([outcomes[entry.path] for entry in entries], interrupted)
