"""The `fleet status`, `fleet update` and `adopt` commands: their arguments and output."""

from __future__ import annotations

import argparse
import sys

from ._adopt import adopt_service
from ._cli_common import OneLineErrorParser, add_data_option, print_error, verb_parser, write_json
from ._data_args import parse_data_items
from ._fleet_report import status_summary, status_table, update_line, update_summary
from ._fleet_status import fleet_status
from ._fleet_update import RepoUpdate, fleet_update
from .errors import ExitCode, FleetIncompleteError


def _run_fleet_status(args: argparse.Namespace) -> int:
    rows = fleet_status(args.paths, drift=not args.no_drift)
    if args.json:
        write_json({"repositories": [row.as_dict() for row in rows]})
    else:
        sys.stdout.write(status_table(rows))
    summary = status_summary(rows)
    if summary is not None:
        raise FleetIncompleteError(summary)
    return ExitCode.UPDATE_AVAILABLE if any(row.behind_by for row in rows) else ExitCode.OK


def _run_fleet_update(args: argparse.Namespace) -> int:
    def show(repo: RepoUpdate) -> None:
        if not args.json:
            sys.stdout.write(update_line(repo))
            sys.stdout.flush()

    report = fleet_update(
        args.paths,
        to=args.to,
        jobs=args.jobs,
        trust=args.trust,
        refresh=args.refresh,
        push=args.push,
        on_result=show,
    )
    if args.json:
        write_json(
            {
                "repositories": [repo.as_dict() for repo in report.repos],
                "interrupted": report.interrupted,
            }
        )
    if report.interrupted:
        print_error("interrupted: each repository is as it was or has its complete branch")
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
    for name in result.merged_files:
        sys.stdout.write(f"  M {name} (yours, with what the template needs)\n")
    for name in result.conflicted_files:
        sys.stdout.write(f"  C {name}\n")
    if result.handover is not None:
        sys.stdout.write(f"{result.handover.summary(result.handover_file)}\n")
    if result.has_conflicts:
        print_error(
            f"files differ from the template: {', '.join(result.conflicted_files)}; review "
            "them (keep yours or take the template's), then commit"
        )
        return ExitCode.CONFLICTS
    sys.stdout.write(f"Committed {result.commit}; `goperf-scaffold update` works from now on.\n")
    return ExitCode.OK


def add_fleet_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    fleet = verb_parser(commands, "fleet")
    actions = fleet.add_subparsers(
        dest="fleet_command", metavar="ACTION", parser_class=OneLineErrorParser
    )
    actions.required = True
    paths_help = "a generated repository, or a folder whose sub-folders are searched"
    status = verb_parser(actions, "fleet status")
    status.add_argument("paths", metavar="PATH", nargs="+", help=paths_help)
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    status.add_argument(
        "--no-drift",
        action="store_true",
        help="leave out DRIFTED (no template render per repository: faster)",
    )
    status.set_defaults(handler=_run_fleet_status)
    update = verb_parser(actions, "fleet update")
    update.add_argument("paths", metavar="PATH", nargs="+", help=paths_help)
    update.add_argument("--to", metavar="VERSION", help="template version (default: newest)")
    update.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="repositories at once (default: 1)"
    )
    update.add_argument(
        "--refresh",
        action="store_true",
        help="rebuild a template/<version> branch that already exists (default: skip it)",
    )
    update.add_argument(
        "--push",
        metavar="REMOTE",
        help="push each new branch to REMOTE (a remote name or URL), for a pull request",
    )
    update.add_argument(
        "--trust", action="store_true", help="allow migrations of a template other than ours"
    )
    update.add_argument("--json", action="store_true", help="print the report as JSON")
    update.set_defaults(handler=_run_fleet_update)


def add_adopt_parser(commands: argparse._SubParsersAction[OneLineErrorParser]) -> None:
    adopt = verb_parser(commands, "adopt")
    adopt.add_argument("path", metavar="PATH", help="the Go repository to adopt")
    add_data_option(adopt)
    adopt.add_argument("--template", metavar="SRC", help="template git URL (default: org's)")
    adopt.add_argument("--vcs-ref", metavar="REF", help="template version (default: newest)")
    adopt.add_argument(
        "--conflict",
        choices=("inline", "rej"),
        default="inline",
        help="how files that differ are left for review: inline markers (default) or .rej files",
    )
    adopt.set_defaults(handler=_run_adopt)
