"""`fleet update`: a `template/<version>` branch per repository, updated, built and tested.

Each repository is updated in a temporary git worktree (its checkout and current branch are
never touched), by `update_service`; then `go build ./...` and `go test ./...` run there and
the result is committed. The branch is created only as the very last step, so a repository
ends either as it was or with a complete branch — also when the run is interrupted (Ctrl-C).
Conflicts, failed builds or tests, and dirty repositories leave the repository untouched and
are reported. Repositories run in parallel threads (`jobs`); Copier itself runs one at a time.
"""

from __future__ import annotations

import os
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
from ._fleet_status import find_projects
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
    "updated", "already current", "conflicts", "failed", "skipped", "error", "interrupted"
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

    def __init__(self, project: Path, to: str | None, trust: bool, stop: threading.Event):
        self.project = project
        self.to = to
        self.trust = trust
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
        if run_git("branch", "--list", branch, cwd=self.project).strip():
            return self.result("skipped", detail=f"branch {branch} already exists", **versions)
        return self._in_worktree(target, branch, {"to_version": target, **versions})

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

    def _in_worktree(self, target: str, branch: str, done: dict[str, str]) -> RepoUpdate:
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
            run_git("branch", branch, commit, cwd=top)  # the one step that changes the repository
            return self.result("updated", branch=branch, commit=commit, **done)
        finally:
            try:
                run_git("worktree", "remove", "--force", str(tree), cwd=top)
            except GitCommandError:
                run_git("worktree", "prune", cwd=top)
            shutil.rmtree(scratch, ignore_errors=True)

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
            return self.result("conflicts", conflicted_files=update.conflicted_files, **done)
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


def fleet_update(
    paths: Sequence[str | os.PathLike[str]],
    *,
    to: str | None = None,
    jobs: int = 1,
    trust: bool = False,
    on_result: Callable[[RepoUpdate], None] | None = None,
) -> FleetUpdateReport:
    """Update each generated repository under PATHs on a new `template/<version>` branch.

    Per repository, in a temporary worktree: `update` to the newest version (or `to`), then
    `go build ./...` and `go test ./...`, then a commit; the branch `template/<version>` is
    created last. The current branch and checkout are never changed and nothing is pushed.
    Outcomes: updated, already current, conflicts (files), failed (first lines), skipped
    (uncommitted changes, existing branch), error. One repository's failure never stops the
    others. On Ctrl-C no new repository starts, running ones finish or are rolled back, and
    the report says which.
    """
    if jobs < 1:
        raise JobsOutOfRangeError(jobs=jobs)
    projects = find_projects(paths)
    stop = threading.Event()
    outcomes: dict[Path, RepoUpdate] = {}
    interrupted = False
    with each_source_fetched_once(), ThreadPoolExecutor(max_workers=jobs) as pool:
        futures: dict[Future[RepoUpdate], Path] = {
            pool.submit(_Worker(project, to, trust, stop).run): project for project in projects
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
    return FleetUpdateReport([outcomes[project] for project in projects], interrupted)
