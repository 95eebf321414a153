"""The `goperf-scaffold` command: a thin argparse wrapper around the library API."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import NoReturn

from ._adopt import adopt_service
from ._check import check_service
from ._data_args import parse_data_items
from ._fleet_report import status_table, update_line, update_summary
from ._fleet_status import fleet_status
from ._fleet_update import fleet_update
from ._new import new_service
from ._org_config import (
    ORG_CONFIG_KEYS,
    org_config_path,
    org_config_text,
    set_org_config_value,
    unset_org_config_value,
)
from ._package import installed_version
from ._update import update_service
from .errors import ExitCode, FleetIncompleteError, ScaffoldError, UsageError

PROG = "goperf-scaffold"
DEBUG_ENV = "GOPERF_SCAFFOLD_DEBUG"

EXIT_CODES_HELP = """\
exit codes:
  0   success (check: up to date)        6   a post-generation/update step failed (project kept)
  1   unexpected internal error          7   not updatable: no answers file, not git, dirty
  2   usage error, malformed --data      8   downgrade refused
  3   answer refused by copier.yml       9   update done but conflicts remain
  4   destination exists/unwritable      10  check: an update is available
  5   template source/revision problem   11  organisation config problem
  12  fleet: some repositories not updated or not read
  130 interrupted
"""


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports usage errors as a UsageError (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _summary(function: Callable[..., object]) -> str:
    """The first paragraph of an API function's docstring, as CLI help text."""
    doc = textwrap.dedent(function.__doc__ or "").strip()
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def _details(function: Callable[..., object]) -> str:
    doc = (function.__doc__ or "").strip()
    return textwrap.dedent(doc.split("\n\n", 1)[1]) if "\n\n" in doc else ""


def _print_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _run_new(args: argparse.Namespace) -> int:
    result = new_service(
        args.dest,
        data=parse_data_items(args.data),
        defaults=args.defaults,
        template=args.template,
        vcs_ref=args.vcs_ref,
        force=args.force,
        git_init=not args.no_git,
        tidy=not args.no_tidy,
        verify=not args.no_verify,
    )
    sys.stdout.write(f"\n{result.message}\n")
    return ExitCode.OK


def _run_update(args: argparse.Namespace) -> int:
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
    for name in result.changed_files:
        marker = "C" if name in result.conflicted_files else "M"
        sys.stdout.write(f"  {marker} {name}\n")
    if result.has_conflicts:
        _print_error(
            f"conflicts remain in {', '.join(result.conflicted_files)}: resolve the markers "
            "(or .rej files), then review and commit"
        )
        return ExitCode.CONFLICTS
    sys.stdout.write("Review the changes (git diff), then commit them.\n")
    return ExitCode.OK


def _run_check(args: argparse.Namespace) -> int:
    result = check_service(args.path)
    for note in result.notes:
        sys.stderr.write(f"{note}\n")
    if args.json:
        _write_json(result.as_dict())
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


def _write_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _run_fleet_status(args: argparse.Namespace) -> int:
    rows = fleet_status(args.paths)
    if args.json:
        _write_json({"repositories": [row.as_dict() for row in rows]})
    else:
        sys.stdout.write(status_table(rows))
    unreadable = [row.project for row in rows if row.error is not None]
    if unreadable:
        raise FleetIncompleteError(f"could not read {len(unreadable)}: {', '.join(unreadable)}")
    return ExitCode.UPDATE_AVAILABLE if any(row.behind_by for row in rows) else ExitCode.OK


def _run_fleet_update(args: argparse.Namespace) -> int:
    def show(repo: object) -> None:
        if not args.json:
            sys.stdout.write(update_line(repo))  # type: ignore[arg-type]
            sys.stdout.flush()

    report = fleet_update(args.paths, to=args.to, jobs=args.jobs, trust=args.trust, on_result=show)
    if args.json:
        _write_json(
            {
                "repositories": [repo.as_dict() for repo in report.repos],
                "interrupted": report.interrupted,
            }
        )
    if report.interrupted:
        _print_error("interrupted: each repository is as it was or has its complete branch")
        return ExitCode.INTERRUPTED
    summary = update_summary(report.repos)
    if summary is not None:
        raise FleetIncompleteError(summary)
    return ExitCode.OK


def _run_adopt(args: argparse.Namespace) -> int:
    result = adopt_service(
        args.path,
        data=parse_data_items(args.data),
        template=args.template,
        vcs_ref=args.vcs_ref,
        conflict=args.conflict,
    )
    sys.stdout.write(
        f"{result.path} adopted template {result.template_version} on branch {result.branch}\n"
    )
    for name in result.added_files:
        sys.stdout.write(f"  A {name}\n")
    for name in result.conflicted_files:
        sys.stdout.write(f"  C {name}\n")
    if result.has_conflicts:
        _print_error(
            f"files differ from the template: {', '.join(result.conflicted_files)}; review "
            "them (keep yours or take the template's), then commit"
        )
        return ExitCode.CONFLICTS
    sys.stdout.write(f"Committed {result.commit}; `goperf-scaffold update` works from now on.\n")
    return ExitCode.OK


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


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        "-d",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a question (repeatable); copier.yml validates it",
    )


def _verb_parser(
    commands: argparse._SubParsersAction[_OneLineErrorParser],
    name: str,
    function: Callable[..., object],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=_summary(function),
        description=_summary(function) + "\n\n" + _details(function),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _add_fleet_parser(commands: argparse._SubParsersAction[_OneLineErrorParser]) -> None:
    fleet = commands.add_parser(
        "fleet", help="status and upgrades of many generated repositories at once"
    )
    actions = fleet.add_subparsers(
        dest="fleet_command", metavar="ACTION", parser_class=_OneLineErrorParser
    )
    actions.required = True
    paths_help = "a generated repository, or a folder whose sub-folders are searched"
    status = _verb_parser(actions, "status", fleet_status)
    status.add_argument("paths", metavar="PATH", nargs="+", help=paths_help)
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    status.set_defaults(handler=_run_fleet_status)
    update = _verb_parser(actions, "update", fleet_update)
    update.add_argument("paths", metavar="PATH", nargs="+", help=paths_help)
    update.add_argument("--to", metavar="VERSION", help="template version (default: newest)")
    update.add_argument("--jobs", type=int, default=1, metavar="N", help="repositories at once")
    update.add_argument(
        "--trust", action="store_true", help="allow migrations of a template other than ours"
    )
    update.add_argument("--json", action="store_true", help="print the report as JSON")
    update.set_defaults(handler=_run_fleet_update)


def _add_adopt_parser(commands: argparse._SubParsersAction[_OneLineErrorParser]) -> None:
    adopt = _verb_parser(commands, "adopt", adopt_service)
    adopt.add_argument("path", metavar="PATH", help="the Go repository to adopt")
    _add_data_option(adopt)
    adopt.add_argument("--template", metavar="SRC", help="template git URL (default: org's)")
    adopt.add_argument("--vcs-ref", metavar="REF", help="template version (default: newest)")
    adopt.add_argument("--conflict", choices=("inline", "rej"), default="inline")
    adopt.set_defaults(handler=_run_adopt)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `goperf-scaffold` command."""
    parser = _OneLineErrorParser(
        prog=PROG,
        description="Generate performance-ready Go HTTP services and keep them current.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {installed_version()}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_OneLineErrorParser
    )
    commands.required = True

    new = commands.add_parser(
        "new",
        help=_summary(new_service),
        description=_summary(new_service) + "\n\n" + _details(new_service),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument(
        "dest", metavar="DEST", help="folder to create (its name is the default project_name)"
    )
    new.add_argument(
        "--defaults", action="store_true", help="use defaults for unanswered questions"
    )
    _add_data_option(new)
    new.add_argument("--template", metavar="SRC", help="template git repository (path or URL)")
    new.add_argument("--vcs-ref", metavar="REF", help="template version (git tag) or revision")
    new.add_argument("--force", action="store_true", help="render into a non-empty DEST")
    new.add_argument("--no-git", action="store_true", help="skip git init + first commit")
    new.add_argument("--no-tidy", action="store_true", help="skip go mod tidy")
    new.add_argument("--no-verify", action="store_true", help="skip go build + go vet")
    new.set_defaults(handler=_run_new)

    update = commands.add_parser(
        "update",
        help=_summary(update_service),
        description=_summary(update_service) + "\n\n" + _details(update_service),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    update.add_argument("path", metavar="PATH", nargs="?", default=".", help="project (default: .)")
    update.add_argument("--conflict", choices=("inline", "rej"), default="inline")
    update.add_argument("--vcs-ref", metavar="REF", help="template version to update to")
    update.add_argument("--defaults", action="store_true", help="new questions get defaults")
    _add_data_option(update)
    update.add_argument(
        "--trust", action="store_true", help="allow migrations of a template other than ours"
    )
    update.add_argument("--no-tidy", action="store_true", help="skip go mod tidy afterwards")
    update.add_argument(
        "--template",
        metavar="SRC",
        help="re-point the recorded template source to SRC (git URL) first, in its own commit",
    )
    update.set_defaults(handler=_run_update)

    check = commands.add_parser(
        "check",
        help=_summary(check_service),
        description=_summary(check_service) + "\n\n" + _details(check_service),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("path", metavar="PATH", nargs="?", default=".", help="project (default: .)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=_run_check)

    _add_fleet_parser(commands)
    _add_adopt_parser(commands)

    keys_help = "keys: " + "; ".join(
        f"{key} ({text})" for key, (_, text) in ORG_CONFIG_KEYS.items()
    )
    config = commands.add_parser(
        "config",
        help="show or edit the organisation defaults used by `new`",
        description=f"Organisation defaults (file: GOPERF_SCAFFOLD_CONFIG overrides). {keys_help}",
    )
    config_commands = config.add_subparsers(
        dest="config_command", metavar="ACTION", parser_class=_OneLineErrorParser
    )
    config_commands.required = True
    config_set = config_commands.add_parser("set", help="set KEY to VALUE", description=keys_help)
    config_set.add_argument("key", metavar="KEY")
    config_set.add_argument("value", metavar="VALUE")
    config_set.set_defaults(handler=_run_config_set)
    config_unset = config_commands.add_parser("unset", help="remove KEY")
    config_unset.add_argument("key", metavar="KEY")
    config_unset.set_defaults(handler=_run_config_unset)
    config_show = config_commands.add_parser("show", help="print the file")
    config_show.set_defaults(handler=_run_config_show)
    return parser


def _fail(message: str, code: ExitCode, *, as_json: bool) -> int:
    """Report an error: one line on stderr; with --json also a JSON document on stdout."""
    if as_json:
        _write_json({"error": message, "exit_code": int(code)})
    _print_error(message)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place that turns errors into a one-line message and an exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that even a usage error of `check --json` answers in JSON.
    as_json = "--json" in arguments and not {"-h", "--help"} & set(arguments)
    try:
        args = build_parser().parse_args(arguments)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return int(handler(args))
    except FleetIncompleteError as error:  # the report is printed; the summary is the error
        _print_error(str(error))
        return int(error.exit_code)
    except ScaffoldError as error:
        if os.environ.get(DEBUG_ENV):
            raise
        return _fail(str(error), error.exit_code, as_json=as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED, as_json=as_json)
    except Exception as error:  # a bug: still no traceback for users unless debugging
        if os.environ.get(DEBUG_ENV):
            raise
        message = " ".join(f"{type(error).__name__}: {error}".split())
        return _fail(
            f"unexpected error ({message}); set {DEBUG_ENV}=1 for details and report it",
            ExitCode.UNEXPECTED,
            as_json=as_json,
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
