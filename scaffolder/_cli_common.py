"""What every `goperf-scaffold` command shares: the parser class, help text, output helpers."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

from ._cli_help import verb_help
from .errors import EXIT_CODE_MEANINGS, CommandLineError, ExitCode

PROG = "goperf-scaffold"


def exit_codes_help() -> str:
    """The exit-code table of `--help`, from EXIT_CODE_MEANINGS."""
    rows = [f"  {int(code):<4}{meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]
    return "exit codes:\n" + "\n".join(rows) + "\n"


EXIT_CODES_HELP = exit_codes_help()


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports usage errors as a UsageError (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(problem=message, prog=self.prog)


def print_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


def report_changed_files(
    files: Sequence[str], conflicted: Sequence[str], conflict_hint: str
) -> ExitCode:
    """List files an update or heal changed (M, or C with conflicts) and say what to do next;
    CONFLICTS when some remain, with `conflict_hint` telling how to resolve them."""
    for name in files:
        marker = "C" if name in conflicted else "M"
        sys.stdout.write(f"  {marker} {name}\n")
    if conflicted:
        print_error(f"conflicts remain in {', '.join(conflicted)}: {conflict_hint}")
        return ExitCode.CONFLICTS
    sys.stdout.write("Review the changes (git diff), then commit them.\n")
    return ExitCode.OK


def write_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        "-d",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a question (repeatable); copier.yml validates it",
    )


def verb_parser(
    commands: argparse._SubParsersAction[OneLineErrorParser],
    name: str,
    *,
    epilog: str = "",
) -> argparse.ArgumentParser:
    """A verb's parser, with its help from _cli_help.VERBS (name: "new", "fleet status", …)."""
    words = verb_help(name)
    parser: argparse.ArgumentParser = commands.add_parser(
        name.rsplit(maxsplit=1)[-1],
        help=words.summary,
        description=words.description,
        epilog=epilog + EXIT_CODES_HELP,
        formatter_class=_WrappedDescription,
    )
    return parser


class _WrappedDescription(argparse.RawDescriptionHelpFormatter):
    """Wraps the description to the terminal, keeps the epilog's tables as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("exit codes:", "answer keys")):
            return super()._fill_text(text, width, indent)
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent)  # fmt: skip
