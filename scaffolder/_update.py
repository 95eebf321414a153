"""`update`: bring a generated project to a newer template version with Copier's 3-way update."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from hooks import StepOutcome, go_mod_tidy, gofmt_check

from ._conflicts import find_conflicts, rej_notes_after_update
from ._copier_adapter import template_question_specs
from ._copier_errors import copier_errors_translated
from ._copier_session import copier_reading_cache
from ._data_args import checked_answers
from ._git import GitCommandError, git_available, is_inside_git_worktree, run_git
from ._progress import Progress, StreamProgress
from ._project import read_recorded_project
from ._repoint import record_source
from ._source import TemplateSource, require_revision, require_version, source_for_project
from ._steps import PlannedStep, StepReport, run_steps
from .errors import (
    DowngradeRefusedError,
    GitNotInstalledError,
    ProjectNotInGitError,
    SourceWithoutVersionTagsError,
    UncommittedChangesError,
)


@dataclass(frozen=True)
class UpdateResult:
    """What `update_service` changed, and what the user must still resolve."""

    path: Path
    from_version: str
    to_version: str
    changed_files: list[str] = field(default_factory=list)
    conflicted_files: list[str] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)
    template_source: str = ""
    repointed_from: str | None = None  # the source the answers file named before, if re-pointed
    # One line per `<file>.rej` (--conflict rej): the file holds the template's side, the
    # team's edit is in the .rej, and what to do (see rej_notes_after_update).
    rej_notes: list[str] = field(default_factory=list)

    @property
    def has_conflicts(self) -> bool:
        """True when conflict markers or .rej files remain."""
        return bool(self.conflicted_files)


def ensure_clean_git_project(project: Path) -> None:
    """Refuse a project that git does not track, or one with uncommitted changes."""
    if not git_available():
        raise GitNotInstalledError()
    if not is_inside_git_worktree(project):
        raise ProjectNotInGitError(project=project, verb="update")
    if run_git("status", "--porcelain", cwd=project).strip():
        raise UncommittedChangesError(project=project, verb="update")


def _target_version(source: TemplateSource, vcs_ref: str | None) -> Version | None:
    """The version Copier will update to: --vcs-ref if it is a version, else the newest tag."""
    if vcs_ref is not None:
        try:
            return Version(vcs_ref)
        except InvalidVersion:
            return None  # a branch or commit: Copier resolves it and checks downgrades itself
    newest = source.newest()
    if newest is None:
        raise SourceWithoutVersionTagsError(source=source.recorded)
    return Version(newest)


def _changed_paths(project: Path) -> list[str]:
    """Files that differ from HEAD (the repo was clean before the update), project-relative."""
    listing = run_git(
        "status", "--porcelain", "--untracked-files=all", "--no-renames", "--", ".", cwd=project
    )
    top = Path(run_git("rev-parse", "--show-toplevel", cwd=project).strip())
    paths = []
    for line in listing.splitlines():
        relative_to_top = line[3:].strip().strip('"')
        absolute = top / relative_to_top
        paths.append(os.path.relpath(absolute, project))
    return sorted(set(paths))


def _blocks_go_tooling(conflicted: list[str]) -> bool:
    """Conflict markers in Go sources or go.mod make `go mod tidy` and gofmt fail."""
    return any(name.endswith((".go", "go.mod", ".go.rej", "go.mod.rej")) for name in conflicted)


def _tidy_regenerating_go_sum(project: Path, conflicted: list[str]) -> StepOutcome:
    """Run `go mod tidy`; a conflicted go.sum is derived data: drop it, let tidy rewrite it."""
    go_sum_conflicted = "go.sum" in conflicted or "go.sum.rej" in conflicted
    if go_sum_conflicted and shutil.which("go") is not None:
        (project / "go.sum").unlink(missing_ok=True)
        (project / "go.sum.rej").unlink(missing_ok=True)
    outcome = go_mod_tidy(project)
    if go_sum_conflicted and outcome.status == "done":
        _mark_go_sum_resolved(project)
        return StepOutcome("done", "go.sum conflicted and was regenerated")
    return outcome


def _checked_update_data(
    data: Mapping[str, Any] | None, source: TemplateSource, vcs_ref: str | None
) -> dict[str, Any]:
    """`--data` held to the questions of the version updated to, as `new` holds it: unknown
    keys and non-boolean yes/no answers are refused before anything is written."""
    if not data:
        return {}
    questions = template_question_specs(source.recorded, vcs_ref or source.newest())
    return checked_answers(data, questions)


def update_service(
    path: str | os.PathLike[str] = ".",
    *,
    conflict: Literal["inline", "rej"] = "inline",
    vcs_ref: str | None = None,
    defaults: bool = False,
    data: Mapping[str, Any] | None = None,
    trust: bool = False,
    tidy: bool = True,
    template: str | None = None,
    progress: Progress | None = None,
) -> UpdateResult:
    """Update the project at PATH to the newest template version (or --vcs-ref).

    Refuses a folder without an answers file, outside git, or with uncommitted changes, and a
    downgrade. The template comes from the source the answers file records, read through this
    installation's cache (offline when the source is out of reach); `template` re-points the
    project to another source first, and a source recorded by 0.1.0 (a per-user mirror path)
    is re-pointed to the organisation's or this package's template URL — each in a commit of
    its own. Then Copier's update (3-way merge; conflicts as inline markers or .rej files).
    Only new questions are asked (none with `defaults=True` or without a terminal).
    Afterwards `go mod tidy` rewrites go.mod/go.sum (a conflicted go.sum is regenerated, never
    merged by hand) and `gofmt -l` reports unformatted files. Migrations run without `trust`
    only for this package's and the organisation's template.
    """
    import copier  # noqa: PLC0415 (lazy: importing Copier takes about a second)

    progress = progress or StreamProgress()
    recorded = read_recorded_project(path)
    project = recorded.path
    ensure_clean_git_project(project)
    source = source_for_project(recorded.src_path, commit=recorded.commit, template=template)
    for note in source.notes:
        progress.note(note)
    require_version(source, recorded.commit, recorded.version)
    if vcs_ref is not None:
        require_revision(source, vcs_ref)
    target = _target_version(source, vcs_ref)
    if target is not None and target < recorded.version:
        raise DowngradeRefusedError(
            project=project, from_version=recorded.version, to_version=target
        )
    if source.replaces is not None:
        commit = record_source(project, source.replaces, source.recorded)
        progress.note(
            f"Re-pointed the template source from {source.replaces} to {source.recorded} "
            f"(commit {commit[:12]})"
        )
    if not defaults and not (sys.stdin is not None and sys.stdin.isatty()):
        defaults = True  # no terminal: new questions get their defaults
    with (
        copier_errors_translated(trust_hint=f"Re-run with --trust if you trust {source.recorded}."),
        copier_reading_cache(source.location, source.cache),
    ):
        answers = _checked_update_data(data, source, vcs_ref)
        copier.run_update(
            project,
            data=answers,
            defaults=defaults,
            overwrite=True,
            conflict=conflict,
            vcs_ref=vcs_ref,
            unsafe=source.trusted or trust,
            skip_answered=True,
            quiet=True,
        )
    after = read_recorded_project(project)
    conflicted = find_conflicts(project, _changed_paths(project))
    blocked = _blocks_go_tooling(conflicted)

    def tidy_step(project_dir: Path) -> StepOutcome:
        if not tidy:
            return StepOutcome("skipped", "--no-tidy given")
        if blocked:
            return StepOutcome("skipped", "resolve the conflicts first, then run `go mod tidy`")
        return _tidy_regenerating_go_sum(project_dir, conflicted)

    def gofmt_step(project_dir: Path) -> StepOutcome:
        if blocked:
            return StepOutcome("skipped", "resolve the conflicts first, then run `gofmt -l .`")
        return gofmt_check(project_dir)

    reports = run_steps(
        project,
        [PlannedStep("go mod tidy", tidy_step), PlannedStep("gofmt -l", gofmt_step)],
        progress,
        failure_context=f"the update to {after.commit} was applied to {project}",
    )
    changed = _changed_paths(project)
    remaining = find_conflicts(project, changed)
    rej_notes = rej_notes_after_update(project, remaining)
    for note in rej_notes:
        progress.note(note)
    return UpdateResult(
        path=project,
        from_version=recorded.commit,
        to_version=after.commit,
        changed_files=changed,
        conflicted_files=remaining,
        steps=reports,
        template_source=source.recorded,
        repointed_from=source.replaces,
        rej_notes=rej_notes,
    )


def _mark_go_sum_resolved(project: Path) -> None:
    """If Copier left go.sum unmerged in the index, record the regenerated file as resolved."""
    try:
        unmerged = run_git("diff", "--name-only", "--diff-filter=U", "--relative", cwd=project)
        if "go.sum" in unmerged.split() and (project / "go.sum").is_file():
            run_git("add", "--", "go.sum", cwd=project)
    except GitCommandError:
        return
