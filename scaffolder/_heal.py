"""`update --heal FILE…`: give named files the template's content again, the team's edits kept.

Copier's update replays only what the template changed between two versions, so a file that
lost a template change once (a conflict resolved by keeping one side, a revert) stays that way
while the answers file says the project is current. Healing merges the template's file at the
project's recorded version (`theirs`) into the working tree's (`ours`), file by file, with
`git merge-file`; the base decides what counts as whose change:

- the template's file at the version the project was generated from (the first commit that
  recorded the answers file), when the template changed the file since: every template change
  since then comes back unless the team changed the same lines (a conflict); the team's edits
  stay;
- otherwise (no history, or the template never changed the file) the lines both versions share:
  template lines the file lacks come back, lines only the team's file has stay, and lines that
  differ on both sides become conflicts.

Conflicts are inline markers (`<<<<<<< before healing` … `>>>>>>> after healing`). A missing or
binary file gets the template's content. Only the named files are written, and only after
every one of them was merged; the project must be clean, so `git diff` shows exactly the heal.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._constants import ANSWERS_FILE
from ._drift import DERIVED_FILES, first_answers_commit, project_source
from ._git import GitCommandError, run_git
from ._progress import Progress, StreamProgress
from ._project import read_recorded_project
from ._template_render import TemplateRender, asked_answers, rendered_template
from ._text_diff import is_text
from ._update import ensure_clean_git_project
from .errors import (
    HealAnswersFileError,
    HealDerivedFileError,
    HealNeedsFilesError,
    HealNotGeneratedError,
    HealOutsideProjectError,
    HealTeamOwnedFileError,
    MergeFileFailedError,
)

HEAL_LABELS = ("before healing", "after healing")


@dataclass(frozen=True)
class HealResult:
    """What `heal_service` wrote: healed files, the ones left with conflicts, the base used."""

    path: Path
    template_version: str
    generated_version: str | None  # the version the project was generated from, if known
    healed_files: list[str] = field(default_factory=list)  # changed (conflicted ones included)
    conflicted_files: list[str] = field(default_factory=list)
    unchanged_files: list[str] = field(default_factory=list)

    @property
    def has_conflicts(self) -> bool:
        """True when conflict markers remain in a healed file."""
        return bool(self.conflicted_files)


def _relative_name(project: Path, raw: str) -> str:
    """FILE as a project-relative POSIX path; relative FILEs are relative to the project."""
    candidate = Path(raw).expanduser()
    absolute = Path(os.path.normpath(candidate if candidate.is_absolute() else project / raw))
    try:
        return absolute.relative_to(project).as_posix()
    except ValueError:
        raise HealOutsideProjectError(name=raw, project=project) from None


def _refuse_unhealable(name: str, render: TemplateRender) -> None:
    if name == ANSWERS_FILE:
        raise HealAnswersFileError(name=name)
    if name in DERIVED_FILES:
        raise HealDerivedFileError(name=name)
    if render.is_team_owned(name):
        raise HealTeamOwnedFileError(name=name)
    if name not in render.files:
        raise HealNotGeneratedError(name=name, version=render.version)


def _generated_answers(project: Path) -> dict[str, Any] | None:
    """The answers file as the commit that first recorded it holds it, or None."""
    commit = first_answers_commit(project)
    if commit is None:
        return None
    try:
        loaded = yaml.safe_load(run_git("show", f"{commit}:./{ANSWERS_FILE}", cwd=project))
    except (GitCommandError, yaml.YAMLError):
        return None
    return dict(loaded) if isinstance(loaded, dict) and loaded.get("_commit") else None


def _differs_from(generated: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether the generation's version or answers differ from the current ones."""
    return generated.get("_commit") != current.get("_commit") or asked_answers(
        generated
    ) != asked_answers(current)


def _shared_lines(ours: bytes, theirs: bytes) -> bytes:
    """The lines both versions have, in order: a base that makes every difference a change."""
    mine, other = ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, mine, other, autojunk=False)
    return b"".join(
        b"".join(mine[block.a : block.a + block.size]) for block in matcher.get_matching_blocks()
    )


def _merge(ours: bytes, base: bytes, theirs: bytes, base_label: str) -> tuple[bytes, bool]:
    """git merge-file of the three versions: the merged bytes, and whether conflicts remain."""
    with tempfile.TemporaryDirectory(prefix="goperf-scaffold-heal-") as scratch:
        paths = [Path(scratch) / name for name in ("ours", "base", "theirs")]
        for path, data in zip(paths, (ours, base, theirs), strict=True):
            path.write_bytes(data)
        merged = subprocess.run(
            ["git", "merge-file", "-p", "-L", HEAL_LABELS[0], "-L", base_label,
             "-L", HEAL_LABELS[1], *map(str, paths)],
            capture_output=True, check=False,
        )  # fmt: skip
    if merged.returncode < 0 or merged.returncode > 127:
        raise MergeFileFailedError(output=merged.stderr.decode().strip())
    return merged.stdout, merged.returncode > 0


def _healed(
    ours: bytes | None, theirs: bytes, generated: TemplateRender | None, name: str
) -> tuple[bytes, bool]:
    """The healed content of one file, and whether it holds conflict markers."""
    if ours is None or not (is_text(ours) and is_text(theirs)):
        return theirs, False
    if generated is not None and name in generated.files:
        base = generated.content(name)
        if base != theirs:  # the template changed the file since the project was generated
            return _merge(ours, base, theirs, f"template {generated.version}")
    return _merge(ours, _shared_lines(ours, theirs), theirs, "lines both share")


def heal_service(
    path: str | os.PathLike[str] = ".",
    files: Sequence[str] = (),
    *,
    progress: Progress | None = None,
) -> HealResult:
    """Give FILEs the template's content again, at the project's recorded version.

    For a file that silently diverged from the template (an update never brings back a change
    the file lost). Each FILE is merged with the template's version of it: with the template's
    file at the version the project was generated from as the base when the template changed
    it since (template changes come back, the team's edits stay), else with the lines both
    share as the base; where the team's lines and the template's disagree, conflict markers.
    Only FILEs are written, as uncommitted changes to review; the project must be clean.
    """
    progress = progress or StreamProgress()
    if not files:
        raise HealNeedsFilesError()
    recorded = read_recorded_project(path)
    project = recorded.path
    ensure_clean_git_project(project)
    names = list(dict.fromkeys(_relative_name(project, raw) for raw in files))
    source = project_source(recorded)
    for note in source.notes:
        progress.note(note)
    generated_answers = _generated_answers(project)
    generated_version = str(generated_answers["_commit"]) if generated_answers else None
    with contextlib.ExitStack() as stack:
        render = stack.enter_context(
            rendered_template(source, recorded.commit, recorded.answers, name=project.name)
        )
        for name in names:
            _refuse_unhealable(name, render)
        generated = None
        if generated_answers is not None and _differs_from(generated_answers, recorded.answers):
            if generated_version in source.versions().values():
                generated = stack.enter_context(
                    rendered_template(
                        source, str(generated_version), generated_answers, name=project.name
                    )
                )
            else:
                progress.note(
                    f"note: template {generated_version}, which the project was generated "
                    "from, is not available here; the lines both versions share are the base"
                )
        merged: dict[str, tuple[bytes, bool]] = {}
        for name in names:
            target = project / name
            ours = target.read_bytes() if target.is_file() else None
            merged[name] = _healed(ours, render.content(name), generated, name)
    healed, conflicted, unchanged = [], [], []
    for name, (content, has_conflict) in merged.items():
        target = project / name
        if target.is_file() and target.read_bytes() == content:
            unchanged.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        healed.append(name)
        if has_conflict:
            conflicted.append(name)
    return HealResult(
        path=project,
        template_version=recorded.commit,
        generated_version=generated_version,
        healed_files=healed,
        conflicted_files=conflicted,
        unchanged_files=unchanged,
    )
