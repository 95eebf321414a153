"""The one place that reads Copier's non-public objects (a Worker after `run_copy`).

Copier's public API is `run_copy`/`run_update` and its errors; what a finished copy knows
(the questions, the combined answers, the Jinja environment) is only on its Worker. Keeping
that access here means a Copier upgrade that moves it breaks one small module.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

__all__ = [
    "Worker",
    "message_after_copy",
    "question_specs",
    "team_owned_patterns",
    "template_question_specs",
]

if TYPE_CHECKING:
    from copier._main import Worker


def question_specs(worker: Worker) -> dict[str, dict[str, Any]]:
    """Each question of the template with its copier.yml entry (type, when, default, ...)."""
    return {name: dict(spec) for name, spec in worker.template.questions_data.items()}


def template_question_specs(src_path: str, vcs_ref: str | None) -> dict[str, dict[str, Any]]:
    """The questions of the template at `src_path` and `vcs_ref`, read without rendering
    anything (call it where Copier reads that source, e.g. in `copier_reading_cache`)."""
    from copier._main import Worker  # noqa: PLC0415 (lazy: importing Copier takes a second)

    with Worker(src_path=src_path, vcs_ref=vcs_ref, quiet=True) as worker:
        return question_specs(worker)


def message_after_copy(worker: Worker, dest: Path, answers_file: str) -> str | None:
    """The template's `_message_after_copy`, rendered for `dest` (the final folder, not the
    staging one Copier rendered into); None when there is none or it does not render."""
    raw = worker.template.message_after_copy
    if not raw:
        return None
    context = {
        **worker.answers.combined,
        "_copier_conf": {
            "dst_path": PurePath(dest),
            "src_path": worker.template.url,
            "vcs_ref": worker.template.ref,
            "answers_file": answers_file,
        },
    }
    try:
        return str(worker.jinja_env.from_string(raw).render(**context)).rstrip()
    except Exception:  # a message that cannot render must not fail a finished project
        return None


_JINJA_MARKERS = ("{{", "{%")


def team_owned_patterns(worker: Worker, answers_file: str) -> list[str]:
    """The gitignore-style patterns of the paths the template hands over to the team once
    generated: `_skip_if_exists` (rendered with the answers; a pattern that cannot render
    matches nothing) and the `_exclude` entries without a Jinja condition."""
    context = {
        **worker.answers.combined,
        "_copier_conf": {"answers_file": answers_file, "vcs_ref": worker.template.ref},
    }
    patterns: list[str] = []
    for raw in worker.template.skip_if_exists:
        try:
            patterns.append(str(worker.jinja_env.from_string(str(raw)).render(**context)))
        except Exception:
            continue
    patterns.extend(
        str(raw)
        for raw in worker.template.exclude
        if not any(marker in str(raw) for marker in _JINJA_MARKERS)
    )
    return [p for p in patterns if p.strip()]
