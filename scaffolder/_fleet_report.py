"""Plain-text reports of `fleet status` and `fleet update` for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from ._fleet_status import RepoStatus
from ._fleet_update import RepoUpdate

_STATUS_COLUMNS = (
    "PROJECT",
    "PROFILE",
    "TEMPLATE",
    "NEWEST",
    "BEHIND",
    "DIRTY",
    "CONFLICTS",
    "DRIFTED",
)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _varying_answers(rows: Sequence[RepoStatus]) -> tuple[set[str], dict[str, object]]:
    """Answer keys whose values differ between repositories, and the ones all share."""
    readable = [row for row in rows if row.error is None]
    keys = sorted({key for row in readable for key in row.profile})
    varying = {key for key in keys if len({repr(row.profile.get(key)) for row in readable}) > 1}
    shared = (
        {key: readable[0].profile[key] for key in keys if key not in varying} if readable else {}
    )
    return varying, shared


def _drifted(row: RepoStatus) -> str:
    """DRIFTED: how many files `diff` lists, `?` when that failed, `-` when not computed."""
    if row.drift_error is not None:
        return "?"
    return "-" if row.drifted_files is None else str(len(row.drifted_files))


def status_table(rows: Sequence[RepoStatus]) -> str:
    """A table of a fleet: PROFILE shows the answers that differ between repositories."""
    varying, shared = _varying_answers(rows)
    lines: list[list[str]] = [list(_STATUS_COLUMNS)]
    notes: list[str] = []
    for row in rows:
        if row.error is not None:
            lines.append([row.project, *["-"] * (len(_STATUS_COLUMNS) - 1)])
            notes.append(f"{row.project} ({row.path}): {row.error}")
            continue
        profile = " ".join(
            f"{key}={_value(value)}" for key, value in row.profile.items() if key in varying
        )
        lines.append(
            [
                row.project,
                profile or "-",
                row.template_version or "-",
                row.latest_version or "-",
                str(row.behind_by),
                _value(row.dirty),
                ", ".join(row.conflicts) if row.conflicts else "-",
                _drifted(row),
            ]
        )
        if row.drift_error is not None:
            notes.append(f"{row.project} ({row.path}): drift not computed: {row.drift_error}")
    widths = [max(len(line[index]) for line in lines) for index in range(len(_STATUS_COLUMNS))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    if shared:
        text.append(
            "answers shared by all: " + " ".join(f"{k}={_value(v)}" for k, v in shared.items())
        )
    text.extend(f"error: {note}" for note in notes)
    return "\n".join(text) + "\n"


def update_line(repo: RepoUpdate) -> str:
    """One line (plus indented detail lines) saying what happened to a repository."""
    versions = f"{repo.from_version} -> {repo.to_version}" if repo.to_version else ""
    if repo.outcome in {"updated", "not pushed"}:
        rebuilt = f"; rebuilt, was {repo.replaced[:12]}" if repo.replaced else ""
        head = f"updated {versions} on branch {repo.branch} (go build, go test passed{rebuilt})"
        if repo.pushed_to:
            head += f", pushed to {repo.pushed_to}"
        if repo.outcome == "not pushed":
            head += f", not pushed: {repo.detail}"
    elif repo.outcome == "already current":
        head = f"already current ({repo.from_version})"
    elif repo.outcome == "conflicts":
        head = f"conflicts ({versions}), left untouched: {', '.join(repo.conflicted_files)}"
        if repo.resolve_with:
            head += f"; to resolve them: {repo.resolve_with}"
    elif repo.outcome == "failed":
        head = f"build or test failed ({versions}), left untouched:"
    elif repo.outcome == "skipped":
        head = f"skipped: {repo.detail}"
    elif repo.outcome == "interrupted":
        head = "interrupted, left untouched" + (f" ({repo.detail})" if repo.detail else "")
    else:
        head = f"error: {repo.detail}"
    lines = [f"{repo.project}: {head}  [{repo.path}]"]
    if repo.outcome == "failed" and repo.detail:
        lines.extend(f"    {line}" for line in repo.detail.splitlines())
    return "\n".join(lines) + "\n"


def status_summary(rows: Sequence[RepoStatus]) -> str | None:
    """The one-line error for repositories that could not be read, or None when all were."""
    unread = [row for row in rows if row.error is not None]
    if not unread:
        return None
    listed = "; ".join(f"{row.project}: {row.error}" for row in unread)
    return f"{len(unread)} of {len(rows)} repositories or paths could not be read ({listed})"


def update_summary(repos: Sequence[RepoUpdate]) -> str | None:
    """The one-line error for repositories that need attention, or None when all are fine."""
    attention = [repo for repo in repos if not repo.ok]
    if not attention:
        return None
    listed = ", ".join(f"{repo.project} ({repo.outcome})" for repo in attention)
    return f"{len(attention)} of {len(repos)} repositories not updated: {listed}"
