"""Reference text generated from the code: the README's command synopsis and exit-code table.

    python -m scaffolder._reference README.md           # rewrite the generated blocks
    python -m scaffolder._reference --check README.md   # exit 1 when they are stale

A generated block sits between `<!-- begin generated: NAME -->` and `<!-- end generated: NAME
-->`. The synopsis is built from the argument parser (cli.build_parser), the table from
errors.EXIT_CODE_MEANINGS, so adding an option or an exit code means touching one module and
running this.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._cli_common import PROG
from .cli import build_parser
from .errors import EXIT_CODE_MEANINGS


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _leaves(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(verb words, parser) of every command that takes no further sub-command."""
    children = _subcommands(parser)
    if not children:
        yield words, parser
    for name, child in children.items():
        yield from _leaves(child, (*words, name))


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:  # a positional
        name = str(action.metavar or action.dest)
        if action.nargs == "?":
            return f"[{name}]"
        if action.nargs == "+":
            return f"{name}..."
        return name
    flag = max(action.option_strings, key=len)
    if action.nargs == 0:
        return f"[{flag}]"
    if action.choices:
        value = "|".join(str(choice) for choice in action.choices)
    else:
        value = str(action.metavar or action.dest.upper())
    repeat = " ..." if isinstance(action, argparse._AppendAction) or action.nargs == "+" else ""
    return f"[{flag} {value}{repeat}]"


def command_synopsis() -> str:
    """One line per command: `goperf-scaffold VERB ARGS [OPTIONS]`, options in parser order."""
    lines = []
    for words, parser in _leaves(build_parser()):
        if not words:
            continue
        actions = [action for action in parser._actions if action.dest != "help"]
        positionals = [_argument(action) for action in actions if not action.option_strings]
        options = [_argument(action) for action in actions if action.option_strings]
        lines.append(" ".join([PROG, *words, *positionals, *options]))
    lines.append(f"{PROG} --version")
    return "```\n" + "\n".join(lines) + "\n```\n"


def exit_code_table() -> str:
    """The exit codes as a Markdown table."""
    rows = [f"| {int(code)} | {meaning} |" for code, meaning in EXIT_CODE_MEANINGS.items()]
    return "| code | meaning |\n| ---: | --- |\n" + "\n".join(rows) + "\n"


GENERATED = {"commands": command_synopsis, "exit-codes": exit_code_table}


def rewrite(text: str) -> str:
    """`text` with every generated block replaced by what the code says now."""
    for name, make in GENERATED.items():
        begin, end = f"<!-- begin generated: {name} -->", f"<!-- end generated: {name} -->"
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
        if pattern.search(text) is None:
            raise ValueError(f"no generated block '{name}' ({begin} … {end})")
        # A replacement string would read backslashes in the block as escapes: splice instead.
        found = pattern.search(text)
        assert found is not None
        text = f"{text[: found.start()]}{begin}\n{make()}{end}{text[found.end() :]}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(prog="python -m scaffolder._reference")
    arguments.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    arguments.add_argument("file", type=Path, help="the Markdown file with generated blocks")
    args = arguments.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    fresh = rewrite(text)
    if args.check:
        if fresh != text:
            sys.stderr.write(f"{args.file} is stale: run python -m scaffolder._reference\n")
            return 1
        return 0
    args.file.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
