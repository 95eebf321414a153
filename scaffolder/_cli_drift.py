"""The `diff` command and `update --heal`: their arguments and output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._cli_common import (
    OneLineErrorParser,
    report_changed_files,
    verb_parser,
    write_json,
)
from ._drift import diff_service
from ._drift_report import patch_text, stat_text, summary_lines
from ._heal import heal_service
from .errors import ExitCode, HealFolderError, HealOptionsError


def _run_diff(args: argparse.Namespace) -> int:
    result = diff_service(args.path)
    for note in result.notes:
        sys.stderr.write(f"{note}\n")
    if args.json:
        write_json(result.as_dict())
    elif args.stat:
        sys.stdout.write(stat_text(result))
    else:
        sys.stdout.write(patch_text(result))
        sys.stderr.write("".join(f"{line}\n" for line in summary_lines(result)))
    return ExitCode.FILES_DIFFER if result.differs else ExitCode.OK


def add_diff_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    diff = verb_parser(commands, "diff")
    diff.add_argument("path", metavar="PATH", nargs="?", default=".", help="project (default: .)")
    output = diff.add_mutually_exclusive_group()
    output.add_argument("--stat", action="store_true", help="per file: status and lines changed")
    output.add_argument("--json", action="store_true", help="print the result as JSON")
    diff.set_defaults(handler=_run_diff)


def add_heal_option(update: argparse.ArgumentParser) -> None:
    update.add_argument(
        "--heal",
        nargs="+",
        metavar="FILE",
        help="give FILEs (relative to PATH, which comes first) the template's content again "
        "at the project's recorded version, the team's edits kept, conflicts as markers; "
        "nothing else is updated (see `diff`)",
    )


def run_heal(args: argparse.Namespace) -> int:
    """`update --heal FILE…`: heal at the recorded version; no version change, no new answers."""
    combined = [
        option
        for option, given in (
            ("--vcs-ref", args.vcs_ref),
            ("--template", args.template),
            ("--data", args.data),
            ("--conflict rej", args.conflict == "rej"),
        )
        if given
    ]
    if combined:
        raise HealOptionsError(options=combined)
    for raw in args.heal:  # `--heal FILE…` takes every word after it, a PATH too
        if (Path(args.path) / raw).is_dir():
            raise HealFolderError(name=raw)
    result = heal_service(args.path, args.heal)
    for name in result.unchanged_files:
        sys.stdout.write(f"  = {name} (nothing to take from the template: the rest is yours)\n")
    if not result.healed_files:
        sys.stdout.write(f"Nothing to heal in {result.path} (template {result.template_version})\n")
        return ExitCode.OK
    sys.stdout.write(
        f"Healed {len(result.healed_files)} file(s) of {result.path} with template "
        f"{result.template_version}:\n"
    )
    return report_changed_files(
        result.healed_files,
        result.conflicted_files,
        "keep your lines or the template's at each marker, then review and commit",
    )
