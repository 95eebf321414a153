"""What `diff` prints: the patch from the template to the working tree, a stat, a summary."""

from __future__ import annotations

from collections import Counter

from ._drift import DiffResult
from ._text_diff import DEV_NULL, changed_lines, unified

_BAR_WIDTH = 40


def patch_text(result: DiffResult) -> str:
    """Unified diffs from the template's files (a/) to the working tree's (b/).

    `git apply -R` of this patch would give every listed file the template's content.
    """
    parts = []
    for drift in result.files:
        old = f"a/{drift.file}" if drift.template is not None else DEV_NULL
        new = f"b/{drift.file}" if drift.project is not None else DEV_NULL
        parts.append(unified(drift.template, drift.project, old, new))
    return "".join(parts)


def summary_lines(result: DiffResult) -> list[str]:
    """One line saying whether anything differs, then the files set apart (if any)."""
    if result.differs:
        counts = Counter(drift.status for drift in result.files)
        detail = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        head = (
            f"{len(result.files)} template-managed file(s) differ from template "
            f"{result.template_version}: {detail}"
        )
    else:
        head = f"no drift: every template-managed file matches template {result.template_version}"
    lines = [head]
    if result.team_owned:
        lines.append(f"the team's own (not compared): {', '.join(result.team_owned)}")
    if result.derived:
        lines.append(
            f"derived (not compared; `go mod tidy` writes it): {', '.join(result.derived)}"
        )
    return lines


def _bar(added: int, removed: int) -> str:
    total = added + removed
    if total > _BAR_WIDTH:
        added = round(added * _BAR_WIDTH / total)
        removed = _BAR_WIDTH - added
    return "+" * added + "-" * removed


def stat_text(result: DiffResult) -> str:
    """Per file: status, name, lines changed and a +/- bar (as `git diff --stat`); a summary."""
    rows = []
    for drift in result.files:
        counts = changed_lines(drift.template, drift.project)
        change = "Bin" if counts is None else f"{sum(counts)} {_bar(*counts)}".rstrip()
        rows.append((drift.status, drift.file, change))
    status_width = max((len(row[0]) for row in rows), default=0)
    name_width = max((len(row[1]) for row in rows), default=0)
    lines = [
        f" {status.ljust(status_width)}  {name.ljust(name_width)} | {change}"
        for status, name, change in rows
    ]
    lines.extend(summary_lines(result))
    return "\n".join(lines) + "\n"
