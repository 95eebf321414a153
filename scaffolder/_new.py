"""`new`: render the template into a staging sibling, move it into place, then run the steps."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hooks import StepOutcome, git_init_and_commit, go_mod_tidy, verify_build

from ._answer_warnings import answer_warnings
from ._constants import ANSWERS_FILE
from ._copier_adapter import message_after_copy, question_specs
from ._copier_errors import copier_errors_translated
from ._copier_session import copier_reading_cache
from ._data_args import checked_answers, refuse_answers_not_recorded
from ._names import derive_project_name
from ._org_config import org_defaults_for_new
from ._progress import Progress, StreamProgress
from ._source import TemplateSource, require_revision, source_for_new
from ._steps import PlannedStep, StepReport, run_steps
from .errors import (
    DestinationNameEmptyError,
    DestinationNotAFolderError,
    DestinationNotEmptyError,
    DestinationNotWritableError,
    DestinationParentMissingError,
    DestinationParentNotWritableError,
    InterruptedByUserError,
    OverwriteRefusedError,
    SourceOffersNoVersionError,
)

if TYPE_CHECKING:
    from ._copier_adapter import Worker


@dataclass(frozen=True)
class NewResult:
    """What `new_service` produced."""

    path: Path
    answers: dict[str, Any]
    template_source: str
    template_version: str | None
    steps: list[StepReport] = field(default_factory=list)
    message: str = ""


def _check_destination(dest: Path, *, force: bool) -> bool:
    """Refuse destinations that cannot receive a project; return whether `dest` has content."""
    if dest.exists() or dest.is_symlink():
        if not dest.is_dir():
            raise DestinationNotAFolderError(path=dest)
        has_content = any(dest.iterdir())
        if has_content and not force:
            raise DestinationNotEmptyError(path=dest)
        if not os.access(dest, os.W_OK | os.X_OK):
            raise DestinationNotWritableError(path=dest)
    else:
        has_content = False
    parent = dest.parent
    if not parent.is_dir():
        raise DestinationParentMissingError(path=dest, parent=parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DestinationParentNotWritableError(path=dest, parent=parent)
    return has_content


def _step(label: str, function: Any, enabled: bool, flag: str) -> PlannedStep:
    if enabled:
        return PlannedStep(label, function)
    return PlannedStep(label, lambda _project: _skipped_by_flag(flag))


def _skipped_by_flag(flag: str) -> StepOutcome:
    return StepOutcome("skipped", f"{flag} given")


TIDY_STEP = "go mod tidy"
GIT_STEP = "git init + first commit"
VERIFY_STEP = "go build ./... + go vet ./..."


def _post_generation_steps(
    *, tidy: bool, git_init: bool, verify: bool, generated: Sequence[str] | None
) -> list[PlannedStep]:
    def commit(project: Path) -> StepOutcome:
        return git_init_and_commit(project, paths=generated)

    return [
        _step(TIDY_STEP, go_mod_tidy, tidy, "--no-tidy"),
        _step(GIT_STEP, commit, git_init, "--no-git"),
        _step(VERIFY_STEP, verify_build, verify, "--no-verify"),
    ]


def _files_under(root: Path) -> list[str]:
    """Every file (and symlink) under root, relative and sorted."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def _refuse_unconfirmed_overwrites(
    generated: Sequence[str],
    destination: Path,
    confirm: Callable[[Sequence[str]], bool] | None,
) -> list[str]:
    """The existing files `generated` would replace; refused unless `confirm` says yes."""
    clobbered = [
        name
        for name in generated
        if (destination / name).exists() or (destination / name).is_symlink()
    ]
    if clobbered and (confirm is None or not confirm(clobbered)):
        raise OverwriteRefusedError(path=destination, files=clobbered)
    return clobbered


def _closing_message(worker: Worker, dest: Path) -> str:
    """Copier's `_message_after_copy` for the final destination, or a plain fallback."""
    fallback = (
        f"Your service is ready in {dest}.\n\nNext steps:\n"
        f"  cd {shlex.quote(str(dest))}\n  make race\n  make run\n  make pgo"
    )
    return message_after_copy(worker, dest, ANSWERS_FILE) or fallback


def _kept_after_interrupt(dest: Path, reports: Sequence[StepReport], not_run: Sequence[str]) -> str:
    """After Ctrl-C during the steps: the project is complete on disk; say whether it was
    committed, what was not run, and the command that finishes the job."""
    done = {report.label for report in reports if report.status == "done"}
    if GIT_STEP in done:
        state = f"the project was kept at {dest} and committed"
    elif GIT_STEP in not_run:
        state = f"the project was kept at {dest}, not committed"
    else:
        state = f"the project was kept at {dest}"  # --no-git, or git missing
    finish = ["go mod tidy"] if TIDY_STEP in not_run else []
    finish.append("make race")
    return (
        f"{state}; not run: {', '.join(not_run)}; to finish: "
        f"cd {shlex.quote(str(dest))} && {' && '.join(finish)}"
    )


def _move_into_place(rendered: Path, dest: Path, *, merge: bool) -> None:
    if merge:
        shutil.copytree(rendered, dest, symlinks=True, dirs_exist_ok=True)
    else:
        # Same filesystem (a sibling): an atomic rename, which may replace an empty folder.
        os.replace(rendered, dest)


def _read_answers(project: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return dict(loaded) if isinstance(loaded, dict) else {}


def _render(
    source: TemplateSource,
    rendered: Path,
    answers: dict[str, Any],
    user_defaults: dict[str, Any],
    *,
    defaults: bool,
    ref: str,
) -> Worker:
    """Copier's copy from the source's cache; the answers file records the shared source."""
    import copier  # noqa: PLC0415 (lazy: importing Copier takes about a second)

    with copier_errors_translated(), copier_reading_cache(source.location, source.cache):
        return copier.run_copy(
            source.recorded,
            rendered,
            data=answers,
            user_defaults=user_defaults,
            defaults=defaults,
            vcs_ref=ref,
            quiet=True,
            overwrite=True,
            unsafe=False,
            cleanup_on_error=False,
        )


def new_service(
    dest: str | os.PathLike[str],
    *,
    data: Mapping[str, Any] | None = None,
    defaults: bool = False,
    template: str | None = None,
    vcs_ref: str | None = None,
    force: bool = False,
    confirm_overwrite: Callable[[Sequence[str]], bool] | None = None,
    git_init: bool = True,
    tidy: bool = True,
    verify: bool = True,
    progress: Progress | None = None,
) -> NewResult:
    """Generate a new Go service in DEST from the goperf-scaffold template.

    Questions come from copier.yml and are asked by Copier on a terminal; `defaults=True`
    answers every question not given in `data` with its default. Without a terminal on stdin,
    `new` behaves as if `defaults=True` and says so. Organisation defaults (`config set`) are
    Copier defaults; `data` always wins. The template is `template`, else the organisation's
    (`config set template URL`), else this package's; the project records that source's
    shared URL (never a path on this machine, unless `template` is one) and its version.
    The project is rendered into a hidden sibling folder and moved into place only when
    rendering succeeded, so a refused answer leaves nothing behind. With `force`, DEST may hold
    files already: the generated files are added beside them, and any file they would replace
    is refused unless `confirm_overwrite(files)` returns True; the first commit holds only the
    generated files. Unless `data` names it, project_name is derived from DEST's folder name
    (`_names.derive_project_name`), said in a note, and refused when that gives no valid name.
    Then: `go mod tidy`,
    `git init` + first commit, `go build ./...` + `go vet ./...` (each can be turned off;
    each is skipped with a note when go/git is missing). A failing step raises
    StepFailedError and the project is kept.
    """
    progress = progress or StreamProgress()
    if not str(dest).strip():
        raise DestinationNameEmptyError()
    destination = Path(os.path.abspath(Path(dest).expanduser()))
    has_content = _check_destination(destination, force=force)
    org = org_defaults_for_new()
    answers: dict[str, Any] = {**org.data, **(data or {})}
    user_defaults = dict(org.user_defaults)
    if "project_name" not in answers:
        derived = derive_project_name(destination.name)
        user_defaults["project_name"] = derived
        progress.note(f"project_name: {derived} (from the folder name '{destination.name}')")
    if not defaults and not (sys.stdin is not None and sys.stdin.isatty()):
        progress.note(
            "note: stdin is not a terminal, so every question not given with --data gets its "
            "default (pass --defaults to say so explicitly)"
        )
        defaults = True
    source = source_for_new(template)
    for note in source.notes:
        progress.note(note)
    ref = vcs_ref or source.default_ref()
    if ref is None:
        raise SourceOffersNoVersionError(source=source.recorded)
    require_revision(source, ref)

    staging = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.goperf-scaffold-", dir=destination.parent)
    )
    try:
        rendered = staging / destination.name  # same basename: Copier derives defaults from it
        worker = _render(source, rendered, answers, user_defaults, defaults=defaults, ref=ref)
        # Rendered in staging: a refused answer still leaves nothing behind.
        questions = question_specs(worker)
        checked_answers(data or {}, questions)
        refuse_answers_not_recorded(data or {}, questions, _read_answers(rendered))
        generated = _files_under(rendered)
        overwritten = (
            _refuse_unconfirmed_overwrites(generated, destination, confirm_overwrite)
            if has_content
            else []
        )
        _move_into_place(rendered, destination, merge=has_content)
    except KeyboardInterrupt:
        raise InterruptedByUserError() from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    recorded = _read_answers(destination)
    progress.note(
        f"Generated {destination} from template {recorded.get('_commit', '?')} "
        f"({recorded.get('_src_path', source.recorded)})"
    )
    if overwritten:
        progress.note(f"overwrote {len(overwritten)} file(s): {', '.join(overwritten)}")
    for warning in answer_warnings(recorded):
        progress.note(warning)
    steps = _post_generation_steps(
        tidy=tidy, git_init=git_init, verify=verify, generated=generated if has_content else None
    )
    reports = run_steps(
        destination,
        steps,
        progress,
        failure_context=f"the project was kept at {destination}",
        interrupted_context=lambda done, not_run: _kept_after_interrupt(destination, done, not_run),
    )
    return NewResult(
        path=destination,
        answers={key: value for key, value in recorded.items() if not key.startswith("_")},
        template_source=str(recorded.get("_src_path", source.recorded)),
        template_version=recorded.get("_commit"),
        steps=reports,
        message=_closing_message(worker, destination),
    )
