"""The command line's own words: what each verb does, and the answer keys read from copier.yml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ._package import carried_template_root
from .errors import ExitCode as Code


@dataclass(frozen=True)
class VerbHelp:
    """A verb's one-line summary (in the verb list), its description (in its --help) and the
    exit codes it uses besides 1, a bug (its --help lists those; the whole table is in
    `goperf-scaffold --help`)."""

    summary: str
    description: str
    exit_codes: tuple[Code, ...] = ()


VERBS: dict[str, VerbHelp] = {
    "new": VerbHelp(
        "generate a Go service in DEST",
        "Generate a Go service in the folder DEST. On a terminal the template's questions are "
        "asked; with --defaults (or without a terminal) every question not answered with "
        "--data takes its default. The project is rendered in a hidden folder beside DEST and "
        "moved into place only when that succeeded, so a refused answer leaves nothing behind. "
        "Then go mod tidy, git init + a first commit of the generated files, and go build + go "
        "vet run, each with its elapsed time shown; --no-tidy, --no-git and --no-verify skip "
        "them. The project records the template's shared git URL and version, so that every "
        "teammate and CI can update it.",
        (
            Code.OK,
            Code.USAGE,
            Code.INVALID_ANSWER,
            Code.DESTINATION,
            Code.TEMPLATE_SOURCE,
            Code.STEP_FAILED,
            Code.ORG_CONFIG,
            Code.INTERRUPTED,
        ),
    ),
    "update": VerbHelp(
        "bring a generated project to a newer template version",
        "Bring the project at PATH (default: the current folder) to the newest template "
        "version, or to --vcs-ref, with a 3-way merge: your edits stay, the template's changes "
        "arrive, a line both changed becomes a conflict (inline markers, or .rej files with "
        "--conflict rej; exit code 9). The project must be a clean git work tree. Only new "
        "questions are asked. Afterwards go mod tidy regenerates go.mod/go.sum and gofmt -l "
        "reports unformatted Go files. Review with git diff, then commit. With --heal FILE… "
        "nothing is updated: the named files get the template's content at the project's "
        "recorded version again, the team's other edits kept and conflict markers where the "
        "two disagree (for a file that silently diverged; see `diff`).",
        (
            Code.OK,
            Code.USAGE,
            Code.INVALID_ANSWER,
            Code.TEMPLATE_SOURCE,
            Code.STEP_FAILED,
            Code.NOT_UPDATABLE,
            Code.DOWNGRADE,
            Code.CONFLICTS,
            Code.INTERRUPTED,
        ),
    ),
    "check": VerbHelp(
        "tell whether a project is behind its template",
        "Tell whether the project at PATH (default: the current folder) is behind the newest "
        "template version its source offers: exit code 0 when it is up to date, 10 when an "
        "update is available, 5 when the project is on a newer template than this installation "
        "offers (upgrade goperf-scaffold). Nothing is written. --json prints one JSON document "
        "on stdout, errors included.",
        (
            Code.OK,
            Code.USAGE,
            Code.TEMPLATE_SOURCE,
            Code.NOT_UPDATABLE,
            Code.UPDATE_AVAILABLE,
            Code.INTERRUPTED,
        ),
    ),
    "diff": VerbHelp(
        "show how template-managed files differ from the template",
        "Show how the template-managed files of the project at PATH (default: the current "
        "folder) differ from what its template generates at the version and with the answers "
        "the project records. The template is rendered in a temporary folder from this "
        "installation's cache (offline when it holds that version); the working tree is "
        "compared, uncommitted edits included, and nothing is written. Each file is modified, "
        "missing, or extra-from-template (generated once, no longer generated). Files the "
        "template leaves to the team once generated (such as cmd/*/default.pgo) and go.sum are "
        "listed apart, not as drift. A unified diff by default (`git apply -R` of it restores "
        "the template's content), --stat per file, --json one document. Exit code 0 when "
        "nothing differs, 1 when files differ (as diff(1)); its errors never exit 1 (an "
        "unexpected one exits 13). `update --heal FILE` brings a file back.",
        (
            Code.OK,
            Code.FILES_DIFFER,
            Code.USAGE,
            Code.TEMPLATE_SOURCE,
            Code.NOT_UPDATABLE,
            Code.DIFF_FAILED,
            Code.INTERRUPTED,
        ),
    ),
    "fleet": VerbHelp(
        "status and upgrades of many generated repositories at once",
        "Status and upgrades of many generated repositories at once.",
        (
            Code.OK,
            Code.USAGE,
            Code.TEMPLATE_SOURCE,
            Code.UPDATE_AVAILABLE,
            Code.FLEET_INCOMPLETE,
            Code.INTERRUPTED,
        ),
    ),
    "fleet status": VerbHelp(
        "a table of where every repository stands",
        "For each PATH (a generated repository, or a folder whose sub-folders are searched): "
        "project, answers, template version, newest available, versions behind, uncommitted "
        "changes, open conflicts, drifted files (template-managed files that differ from the "
        "template at the recorded version, as `diff` counts them; --no-drift leaves them out). "
        "Exit code 10 when any repository is behind, 12 when one could not be read.",
        (Code.OK, Code.USAGE, Code.UPDATE_AVAILABLE, Code.FLEET_INCOMPLETE, Code.INTERRUPTED),
    ),
    "fleet update": VerbHelp(
        "update every repository on a branch of its own, built and tested",
        "For each PATH: update to the newest template version (or --to) in a temporary git "
        "worktree, run go build ./... and go test ./..., commit, and create the local branch "
        "template/<version> — never on the current branch; pushed only with --push REMOTE, "
        "rebuilt only with --refresh. Each repository is reported as updated, already "
        "current, conflicts (with the commands that resolve them), build or test failed, "
        "skipped (uncommitted changes, existing branch), not pushed or error (also a PATH "
        "that is missing); one failure never stops the others (exit code 12 when any "
        "repository was not updated). Ctrl-C leaves every repository as it was or with its "
        "complete branch.",
        (Code.OK, Code.USAGE, Code.TEMPLATE_SOURCE, Code.FLEET_INCOMPLETE, Code.INTERRUPTED),
    ),
    "adopt": VerbHelp(
        "bring a hand-written Go repository under the template",
        "Bring the Go repository at PATH under the template: record the answers (--data) and "
        "the template source so that `update` works from then on, and add the template's files "
        "on a new branch. Files of the repository that differ from the template's are never "
        "overwritten silently: they are left for review as conflicts (or .rej files with "
        "--conflict rej; exit code 9); go.mod and go.sum are merged so that go build works. "
        "The repository's own entry point stays; its routes to port and where addRoutes is "
        "are printed and written to ADOPTING.md.",
        (
            Code.OK,
            Code.USAGE,
            Code.INVALID_ANSWER,
            Code.TEMPLATE_SOURCE,
            Code.NOT_UPDATABLE,
            Code.CONFLICTS,
            Code.INTERRUPTED,
        ),
    ),
    "config": VerbHelp(
        "show or edit the organisation defaults `new` uses",
        "Show or edit the organisation defaults `new` uses (a YAML file; comments and order "
        "are kept).",
        (Code.OK, Code.USAGE, Code.ORG_CONFIG, Code.INTERRUPTED),
    ),
}


def verb_help(name: str) -> VerbHelp:
    """The help of a verb ("new", "fleet status", …)."""
    return VERBS[name]


def _questions() -> dict[str, dict[str, Any]]:
    """The questions of the carried copier.yml, in order (settings and hidden values left out)."""
    try:
        loaded = yaml.safe_load(
            (carried_template_root() / "copier.yml").read_text(encoding="utf-8")
        )
    except (OSError, yaml.YAMLError):
        return {}
    return {
        name: spec
        for name, spec in (loaded or {}).items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("when") is not False
    }


def _choices(spec: dict[str, Any]) -> list[str]:
    raw = spec.get("choices")
    if isinstance(raw, dict):
        return [str(value) for value in raw.values()]
    if isinstance(raw, list):
        return [str(value) for value in raw]
    return []


# Defaults that copier.yml computes with Jinja, in words.
_COMPUTED_DEFAULTS = {
    "project_name": "DEST's folder name",
    "module_path": "<module_prefix from `config`, else example.com>/<project_name>",
    "gomaxprocs": "runtime (automaxprocs for Go 1.24)",
}


def _default(name: str, spec: dict[str, Any]) -> str:
    default = spec.get("default")
    if isinstance(default, str) and "{" in default:
        return _COMPUTED_DEFAULTS.get(name, "computed from other answers")
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def answer_keys_help() -> str:
    """The `new --help` epilog: every answer key with its choices and default, from copier.yml."""
    questions = _questions()
    if not questions:
        return ""
    width = max(len(name) for name in questions) + 2
    lines = ["answer keys (--data KEY=VALUE):"]
    for name, spec in questions.items():
        choices = _choices(spec)
        kind = " | ".join(choices) if choices else str(spec.get("type", "str"))
        first = " ".join(str(spec.get("help", "")).split()).split(". ")[0].rstrip(".")
        lines.append(f"  {name:<{width}}{kind}; default: {_default(name, spec)}")
        if first:
            lines.append(f"  {'':<{width}}{first}")
    return "\n".join(lines) + "\n"
