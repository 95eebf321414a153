"""The `goperf-scaffold` command: a thin argparse wrapper around the library API."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ._check import check_service
from ._cli_common import (
    EXIT_CODES_HELP,
    PROG,
    OneLineErrorParser,
    add_data_option,
    discard_output,
    flush_or_discard,
    print_error,
    report_changed_files,
    verb_parser,
    write_json,
    write_out,
)
from ._cli_drift import add_diff_parser, add_heal_option, run_heal
from ._cli_fleet import add_adopt_parser, add_fleet_parser
from ._cli_help import answer_keys_help
from ._data_args import parse_data_items
from ._new import new_service
from ._org_config import (
    CONFIG_PATH_ENV,
    ORG_CONFIG_KEYS,
    org_config_path,
    org_config_text,
    set_org_config_value,
    unset_org_config_value,
)
from ._package import installed_version
from ._update import update_service
from .errors import ExitCode, FleetIncompleteError, ScaffoldError, YesWithoutForceError

DEBUG_ENV = "GOPERF_SCAFFOLD_DEBUG"
# 128 + SIGPIPE: what a shell reports for a tool that a closed pipe ended (see `main`).
EXIT_CLOSED_PIPE = 141


def _always_yes(_files: Sequence[str]) -> bool:
    return True


def _ask_to_overwrite(files: Sequence[str]) -> bool:
    """On a terminal: list the files `new --force` would overwrite and ask."""
    sys.stderr.write(f"These {len(files)} existing file(s) would be overwritten:\n")
    for name in files:
        sys.stderr.write(f"  {name}\n")
    sys.stderr.write("Overwrite them? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _run_new(args: argparse.Namespace) -> int:
    if args.yes and not args.force:
        raise YesWithoutForceError()
    confirm: Callable[[Sequence[str]], bool] | None = None
    if args.yes:
        confirm = _always_yes
    elif sys.stdin is not None and sys.stdin.isatty():
        confirm = _ask_to_overwrite
    result = new_service(
        args.dest,
        data=parse_data_items(args.data),
        defaults=args.defaults,
        template=args.template,
        vcs_ref=args.vcs_ref,
        force=args.force,
        confirm_overwrite=confirm,
        git_init=not args.no_git,
        tidy=not args.no_tidy,
        verify=not args.no_verify,
    )
    write_out(f"\n{result.message}\n")
    return ExitCode.OK


def _run_update(args: argparse.Namespace) -> int:
    if args.heal:
        return run_heal(args)
    result = update_service(
        args.path,
        conflict=args.conflict,
        vcs_ref=args.vcs_ref,
        defaults=args.defaults,
        data=parse_data_items(args.data),
        trust=args.trust,
        tidy=not args.no_tidy,
        template=args.template,
    )
    if result.from_version == result.to_version and not result.changed_files:
        sys.stdout.write(f"{result.path} is already on template {result.to_version}\n")
        return ExitCode.OK
    sys.stdout.write(
        f"Updated {result.path} from template {result.from_version} to {result.to_version}; "
        f"{len(result.changed_files)} file(s) changed:\n"
    )
    hint = (
        "each file keeps the template's side of its conflicts and its .rej holds your "
        "conflicting edits (notes above): re-apply the edits you keep, delete the .rej files, "
        "then commit"
        if args.conflict == "rej"
        else "keep your lines or the template's at each <<<<<<< marker, then review and commit"
    )
    return report_changed_files(result.changed_files, result.conflicted_files, hint)


def _run_check(args: argparse.Namespace) -> int:
    result = check_service(args.path)
    for note in result.notes:
        sys.stderr.write(f"{note}\n")
    if args.json:
        write_json(result.as_dict())
    elif result.update_available:
        sys.stdout.write(
            f"{result.path}: template {result.current_version}, {result.latest_version} is "
            f"available; run `{PROG} update`\n"
        )
    else:
        sys.stdout.write(
            f"{result.path}: up to date (template {result.current_version}, "
            f"latest {result.latest_version})\n"
        )
    return ExitCode.UPDATE_AVAILABLE if result.update_available else ExitCode.OK


def _run_config_set(args: argparse.Namespace) -> int:
    stored = set_org_config_value(args.key, args.value)
    sys.stdout.write(f"{args.key} = {stored}  ({org_config_path()})\n")
    return ExitCode.OK


def _run_config_unset(args: argparse.Namespace) -> int:
    removed = unset_org_config_value(args.key)
    sys.stdout.write(f"{args.key} {'removed' if removed else 'was not set'}\n")
    return ExitCode.OK


def _run_config_show(args: argparse.Namespace) -> int:
    text = org_config_text()
    sys.stdout.write(f"# {org_config_path()}\n")
    sys.stdout.write(text if text else "# (no organisation defaults set)\n")
    return ExitCode.OK


def _add_new_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    new = verb_parser(commands, "new", epilog=answer_keys_help() + "\n")
    new.add_argument(
        "dest",
        metavar="DEST",
        help="the folder to create; its name gives project_name unless --data sets it",
    )
    new.add_argument(
        "--defaults", action="store_true", help="answer every question not given with --data"
    )
    add_data_option(new)
    new.add_argument(
        "--template",
        metavar="SRC",
        help="the template's git URL (default: the organisation's, else this package's)",
    )
    new.add_argument(
        "--vcs-ref", metavar="REF", help="template version (a tag) or revision; default: newest"
    )
    new.add_argument(
        "--force",
        action="store_true",
        help="generate into a DEST that already has files; files the template would overwrite "
        "are listed and need --yes (or a yes on a terminal)",
    )
    new.add_argument(
        "--yes", "-y", action="store_true", help="with --force: overwrite without asking"
    )
    new.add_argument("--no-git", action="store_true", help="no git init and first commit")
    new.add_argument("--no-tidy", action="store_true", help="no go mod tidy")
    new.add_argument("--no-verify", action="store_true", help="no go build + go vet")
    new.set_defaults(handler=_run_new)


def _add_update_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    update = verb_parser(commands, "update")
    update.add_argument(
        "path", metavar="PATH", nargs="?", default=".", help="the project (default: .)"
    )
    update.add_argument(
        "--conflict",
        choices=("inline", "rej"),
        default="inline",
        help="how conflicts are left: inline <<<<<<< markers (default) or .rej files",
    )
    update.add_argument(
        "--vcs-ref", metavar="REF", help="template version (a tag) to update to; default: newest"
    )
    update.add_argument(
        "--defaults", action="store_true", help="new questions take their defaults, unasked"
    )
    add_data_option(update)
    update.add_argument(
        "--trust",
        action="store_true",
        help="run the template's migrations when the template is not goperf-scaffold's own",
    )
    update.add_argument("--no-tidy", action="store_true", help="no go mod tidy afterwards")
    update.add_argument(
        "--template",
        metavar="SRC",
        help="first re-point the recorded template source to this git URL, in its own commit",
    )
    add_heal_option(update)
    update.set_defaults(handler=_run_update)


def _add_check_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    check = verb_parser(commands, "check")
    check.add_argument(
        "path", metavar="PATH", nargs="?", default=".", help="the project (default: .)"
    )
    check.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout, errors included"
    )
    check.set_defaults(handler=_run_check)


def _add_config_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    keys = "keys: " + "; ".join(f"{key} ({text})" for key, (_, text) in ORG_CONFIG_KEYS.items())
    config = verb_parser(commands, "config")
    # The actual file, so that a user can open or ship it (platformdirs' user config folder).
    config.description = (
        f"{config.description} The file: {org_config_path()} (the user config folder of this "
        f"platform; the environment variable {CONFIG_PATH_ENV} names another file)."
    )
    actions = config.add_subparsers(
        dest="config_command", metavar="ACTION", parser_class=OneLineErrorParser
    )
    actions.required = True
    config_set = actions.add_parser("set", help="set KEY to VALUE", description=keys)
    config_set.add_argument("key", metavar="KEY", help="one of the keys listed above")
    config_set.add_argument("value", metavar="VALUE", help="its value (checked against copier.yml)")
    config_set.set_defaults(handler=_run_config_set)
    config_unset = actions.add_parser("unset", help="remove KEY", description=keys)
    config_unset.add_argument("key", metavar="KEY", help="the key to remove")
    config_unset.set_defaults(handler=_run_config_unset)
    config_show = actions.add_parser(
        "show",
        help="print the file and where it is",
        description="Print the organisation defaults file and where it is.",
    )
    config_show.set_defaults(handler=_run_config_show)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `goperf-scaffold` command."""
    parser = OneLineErrorParser(
        prog=PROG,
        description="Generate performance-ready Go HTTP services and keep them current.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {installed_version()}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineErrorParser
    )
    commands.required = True
    _add_new_parser(commands)
    _add_update_parser(commands)
    _add_check_parser(commands)
    add_diff_parser(commands)
    add_fleet_parser(commands)
    add_adopt_parser(commands)
    _add_config_parser(commands)
    return parser


def _exit_code(code: ExitCode, command: str | None) -> ExitCode:
    """`code`, except that `diff` never fails with 1: there 1 means "files differ"."""
    if command == "diff" and code == ExitCode.UNEXPECTED:
        return ExitCode.DIFF_FAILED
    return code


def _fail(message: str, code: ExitCode, *, as_json: bool) -> int:
    """Report an error: one line on stderr; with --json also a JSON document on stdout."""
    if as_json:
        write_json({"error": message, "exit_code": int(code)})
    print_error(message)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place that turns errors into a one-line message and an exit code.

    A reader that closes the pipe early (`goperf-scaffold new svc 2>&1 | head -3`) never stops
    the work half-way: progress and messages are no longer printed, the steps (go mod tidy, git
    init + first commit, the build) still run, and the exit code is the command's own (0 for a
    generated project), as if the reader had read everything: the project is complete, so a
    `set -o pipefail` script must not fail on it. Only when a verb's printing itself is cut off
    by the closed pipe does the command stop, with 141 (128 + SIGPIPE), as shells report a tool
    that SIGPIPE ended.
    """
    code = _main(argv)
    flush_or_discard()
    return code


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that even a usage error of `check --json` answers in JSON.
    as_json = "--json" in arguments and not {"-h", "--help"} & set(arguments)
    command = None
    try:
        args = build_parser().parse_args(arguments)
        command = args.command
        handler: Callable[[argparse.Namespace], int] = args.handler
        return int(handler(args))
    except BrokenPipeError:  # stdout's reader went away while a verb printed its report
        discard_output(sys.stdout)
        return EXIT_CLOSED_PIPE
    except FleetIncompleteError as error:  # the report is printed; the summary is the error
        print_error(str(error))
        return int(error.exit_code)
    except ScaffoldError as error:
        if os.environ.get(DEBUG_ENV):
            raise
        return _fail(str(error), _exit_code(error.exit_code, command), as_json=as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED, as_json=as_json)
    except Exception as error:  # a bug: still no traceback for users unless debugging
        if os.environ.get(DEBUG_ENV):
            raise
        message = " ".join(f"{type(error).__name__}: {error}".split())
        return _fail(
            f"unexpected error ({message}); set {DEBUG_ENV}=1 for details and report it",
            _exit_code(ExitCode.UNEXPECTED, command),
            as_json=as_json,
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
