"""What every `goperf-scaffold` command shares: the parser class, help text, output helpers."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from typing import NoReturn

from .errors import UsageError

PROG = "goperf-scaffold"

EXIT_CODES_HELP = """\
exit codes:
  0   success (check: up to date)        6   a post-generation/update step failed (project kept)
  1   internal error; diff: files differ 7   not updatable: no answers file, not git, dirty
  2   usage error, malformed --data      8   downgrade refused
  3   answer refused by copier.yml       9   update done but conflicts remain
  4   destination exists/unwritable      10  check: an update is available
  5   template source/revision problem   11  organisation config problem
  12  fleet: some repositories not updated or not read
  130 interrupted
"""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports usage errors as a UsageError (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def summary(function: Callable[..., object]) -> str:
    """The first paragraph of an API function's docstring, as CLI help text."""
    doc = textwrap.dedent(function.__doc__ or "").strip()
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def details(function: Callable[..., object]) -> str:
    doc = (function.__doc__ or "").strip()
    return textwrap.dedent(doc.split("\n\n", 1)[1]) if "\n\n" in doc else ""


def print_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


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
    function: Callable[..., object],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary(function),
        description=summary(function) + "\n\n" + details(function),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser
