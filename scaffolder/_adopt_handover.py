"""The hand-over of `adopt`: the repository's own entry points and routes, and where they go.

`adopt` adds the template's service beside the repository's own program and moves nothing,
so until the team ports its routes the repository has two programs. The hand-over names both,
lists every route the repository registers (file and line), and where the template registers
its own (`addRoutes`), in a note written into the repository (ADOPTING.md) and printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HANDOVER_FILE = "ADOPTING.md"

_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)
_FUNC_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.MULTILINE)
_ADD_ROUTES = re.compile(r"^func\s+addRoutes\s*\(", re.MULTILINE)
# net/http's ServeMux and the common routers (chi, gin, echo, gorilla/mux, fiber).
_ROUTE = re.compile(
    r"\.\s*(?:HandleFunc|Handle|Get|Post|Put|Patch|Delete|Head|Options|Any|Route|Mount|"
    r"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s*\(\s*\"([^\"]+)\""
)


@dataclass(frozen=True)
class Route:
    """A route the repository registers: its pattern, and where."""

    pattern: str
    file: str
    line: int


@dataclass(frozen=True)
class Handover:
    """The repository's own program and routes, and the template's program and `addRoutes`."""

    entry_points: list[str] = field(default_factory=list)  # the repository's `func main` files
    routes: list[Route] = field(default_factory=list)
    template_entry: str | None = None  # the template's service, e.g. "cmd/svc/"
    add_routes: str | None = None  # "internal/server/routes.go:6"

    @property
    def needed(self) -> bool:
        """True when the repository has a program or routes of its own to hand over."""
        return bool(self.entry_points or self.routes)

    def summary(self, note: str | None) -> str:
        """One paragraph for the terminal; `note`: where the note was written, if it was."""
        own = ", ".join(self.entry_points) or "no func main"
        where = f"addRoutes ({self.add_routes})" if self.add_routes else "the template's service"
        routes = ", ".join(route.pattern for route in self.routes) or "none found"
        beside = f" beside the template's ({self.template_entry})" if self.template_entry else ""
        see = f"See {note}." if note else f"({HANDOVER_FILE} exists already: not written.)"
        return (
            f"Your own program ({own}) is kept{beside}: two programs until you port its "
            f"routes into {where}. Routes to port: {routes}. {see}"
        )

    def note(self) -> str:
        """ADOPTING.md: what to port, where to, and when the old entry point can go."""
        target = f"`addRoutes` in `{self.add_routes}`" if self.add_routes else None
        template = f"`{self.template_entry}`" if self.template_entry else "the template's files"
        lines = [
            "# Adopting the goperf-scaffold template",
            "",
            "`goperf-scaffold adopt` added the template's service beside this repository's own",
            "program and moved nothing: until the routes below are ported, there are two programs.",
            "",
            f"- this repository's own entry point: {_listed(self.entry_points) or 'none found'}",
            f"- the template's service: {template}",
            "",
            "## Routes to port",
            "",
            (
                f"Register each in {target}, with its handler:"
                if target
                else "The template has no `addRoutes`: register each in the template's service:"
            ),
            "",
            *(f"- `{route.pattern}` ({route.file}:{route.line})" for route in self.routes),
            *([] if self.routes else ["- none found (look for handlers registered elsewhere)"]),
            "",
            "## Then",
            "",
            "1. Move the handlers next to the template's and register them as above.",
            "2. Once the template's service serves every route, delete the old entry point",
            f"   ({_listed(self.entry_points) or 'none'}); `go build ./... && go test ./...`.",
            f"3. Delete this file ({HANDOVER_FILE}).",
        ]
        return "\n".join(lines) + "\n"


def _listed(files: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in files)


def _go_sources(root: Path, files: Iterable[str]) -> Iterable[tuple[str, str]]:
    for relative in files:
        if not relative.endswith(".go") or relative.endswith("_test.go"):
            continue
        if relative.startswith(("vendor/", "testdata/")) or "/testdata/" in relative:
            continue
        try:
            yield relative, (root / relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_handover(
    project: Path,
    own_files: Iterable[str],
    rendered: Path,
    template_files: Iterable[str],
    name: str,
) -> Handover:
    """The hand-over for `project` (its files before adopting) and the template `rendered` as
    the service `name`."""
    entry_points: list[str] = []
    routes: list[Route] = []
    for relative, text in _go_sources(project, own_files):
        if _PACKAGE_MAIN.search(text) and _FUNC_MAIN.search(text):
            entry_points.append(relative)
        routes.extend(
            Route(match.group(1), relative, _line_of(text, match.start()))
            for match in _ROUTE.finditer(text)
        )
    template_mains: list[str] = []
    add_routes: str | None = None
    for relative, text in _go_sources(rendered, template_files):
        if _PACKAGE_MAIN.search(text) and _FUNC_MAIN.search(text):
            template_mains.append(relative)
        found = _ADD_ROUTES.search(text)
        if found and add_routes is None:
            add_routes = f"{relative}:{_line_of(text, found.start())}"
    return Handover(entry_points, routes, _template_entry(template_mains, name), add_routes)


def _template_entry(mains: list[str], name: str) -> str | None:
    """The template's service: cmd/<name>/ when it has one, else its first `func main` file."""
    preferred = [main for main in mains if main.startswith(f"cmd/{name}/")]
    if preferred:
        return f"cmd/{name}/"
    return mains[0] if mains else None
