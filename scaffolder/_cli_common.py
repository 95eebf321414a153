"""What every `goperf-scaffold` command shares: the parser class, help text, output helpers."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn, TextIO

from ._cli_help import verb_help
from .errors import EXIT_CODE_MEANINGS, CommandLineError, ExitCode

PROG = "goperf-scaffold"


def exit_codes_help() -> str:
    """The exit-code table of `--help`, from EXIT_CODE_MEANINGS."""
    rows = [f"  {int(code):<4}{meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]
    return "exit codes:\n" + "\n".join(rows) + "\n"


EXIT_CODES_HELP = exit_codes_help()


def verb_exit_codes_help(codes: Sequence[ExitCode]) -> str:
    """A verb's --help epilog: only the codes it uses; the whole table is shown once, in
    `goperf-scaffold --help`."""
    rows = [f"  {int(code):<4}{EXIT_CODE_MEANINGS[code]}" for code in codes]
    bug = "" if ExitCode.UNEXPECTED in codes else "1 means a bug; "
    pointer = f"  ({bug}every code: `{PROG} --help`)"
    return "exit codes:\n" + "\n".join([*rows, pointer]) + "\n"


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports usage errors as a UsageError (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(problem=message, prog=self.prog)


def print_error(message: str) -> None:
    try:
        sys.stderr.write(f"{PROG}: error: {message}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # nobody reads stderr any more: the code still tells
        discard_output(sys.stderr)


def discard_output(stream: TextIO) -> None:
    """Point `stream`'s file descriptor at the null device after its reader went away
    (`… | head -3`), so that what is still buffered, and Python's flush at exit, go nowhere
    instead of failing again (which would turn the exit code into 120)."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # not a real file (pytest's capture): nothing to redirect
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


def write_out(text: str) -> None:
    """Write `text` on stdout; a closed pipe (`… | head -3`) silences stdout instead of failing
    a command whose work is done."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        discard_output(sys.stdout)


def flush_or_discard() -> None:
    """Flush stdout and stderr at the end of a command; a closed reader is not an error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            discard_output(stream)


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
        epilog=epilog + verb_exit_codes_help(words.exit_codes),
        formatter_class=_WrappedDescription,
    )
    return parser


class _WrappedDescription(argparse.RawDescriptionHelpFormatter):
    """Wraps the description to the terminal, keeps the epilog's tables as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("exit codes:", "answer keys")):
            return super()._fill_text(text, width, indent)
        # Paths and commands stay whole (copied from the help): no break inside a word.
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_long_words=False,
                             break_on_hyphens=False)  # fmt: skip
