"""Check the template's plain Go sources where they live, without rendering the template.

Everything in template/ that is not a `.jinja` file is copied into generated projects verbatim,
so it must be valid Go on its own. This script checks it in the template tree itself:

1. `gofmt -l` over every plain `.go` file;
2. `go vet` and `golangci-lint` (the template's own .golangci.yml) over every package folder
   that holds plain `.go` files, assembled into a scratch module with the dependencies of a
   generated project. A package is checked once per dependency variant that changes which of
   its files a project gets (`_exclude` in copier.yml, e.g. the SQLite and PostgreSQL drivers of
   internal/store), so every file is vetted and linted in the company it ships with. The few
   `.go.jinja` files beside plain ones (internal/config/config.go.jinja, parts of
   internal/server) are rendered with the variant's answers, so the plain files around them
   are checked as the package they compile in.

Every answer profile is also rendered, built, vetted, linted and tested by
tests/test_generated_build.py.

    python scripts/lint_template.py            # exit 0: clean; 1: findings (printed); 2: setup
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml
from pathspec import PathSpec
from pathspec.patterns.gitwildmatch import GitWildMatchPattern

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template"
GOMOD = ROOT / "includes" / "gomod"
SCRATCH_MODULE = "example.com/templatelint"


@dataclass(frozen=True)
class Variant:
    """Answers that decide which plain files a project gets, and its dependency profile."""

    name: str
    answers: dict[str, object]
    deps_key: str


VARIANTS = (
    Variant(
        "sqlite, runtime GOMAXPROCS",
        {"database": "sqlite", "use_automaxprocs": False},
        "go1.26-sqlite-runtime",
    ),
    Variant(
        "postgres, automaxprocs",
        {"database": "postgres", "use_automaxprocs": True},
        "go1.26-postgres-automaxprocs",
    ),
)
# Answers that only decide files outside the checked packages; fixed for every variant.
_COMMON_ANSWERS: dict[str, object] = {
    "go_version": "1.26",
    "tracing": "none",
    "examples": True,
    "ci": "github",
    "docker": True,
    "kubernetes": True,
    "renovate": True,
    # The names a rendered `.go.jinja` file may use: the scratch module is the project.
    "project_name": "templatelint",
    "module_path": SCRATCH_MODULE,
}


def plain_go_files() -> list[Path]:
    """Every `.go` file of the template that is copied verbatim (paths relative to template/)."""
    return sorted(path.relative_to(TEMPLATE) for path in TEMPLATE.rglob("*.go"))


def excluded_by(answers: dict[str, object]) -> PathSpec:
    """copier.yml's `_exclude` list rendered with `answers`, as a matcher of project paths."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    lines = [environment.from_string(entry).render(**answers) for entry in config["_exclude"]]
    return PathSpec.from_lines(GitWildMatchPattern, [line for line in lines if line.strip()])


def plain_packages() -> list[Path]:
    """Package folders (relative to template/) with plain Go and no Jinja but `.go.jinja` files.

    A folder with a Jinja name, such as cmd/{{ project_name }}, is left to the render tests.
    """
    folders = {path.parent for path in plain_go_files()}
    return sorted(
        folder
        for folder in folders
        if "{{" not in str(folder)
        and all(
            entry.name.endswith(".go.jinja")
            for entry in (TEMPLATE / folder).iterdir()
            if entry.name.endswith(".jinja")
        )
    )


def render_go(path: Path, answers: dict[str, object]) -> str:
    """A `.go.jinja` file rendered as Copier renders it (`_envops`: the trailing newline kept)."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    return environment.from_string(path.read_text(encoding="utf-8")).render(**answers)


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def gofmt_findings() -> list[str]:
    completed = run(["gofmt", "-l", *map(str, plain_go_files())], TEMPLATE)
    if completed.returncode != 0:
        return [f"gofmt failed: {completed.stderr.strip()}"]
    return [f"template/{line}: not gofmt-formatted" for line in completed.stdout.split()]


def assemble(variant: Variant, scratch: Path) -> list[Path]:
    """Copy the packages a project of `variant` gets into a scratch module, `.go.jinja` rendered."""
    answers = {**_COMMON_ANSWERS, **variant.answers}
    exclude = excluded_by(answers)
    go_mod = (GOMOD / f"{variant.deps_key}.mod").read_text(encoding="utf-8")
    (scratch / "go.mod").write_text(f"module {SCRATCH_MODULE}\n\n{go_mod}", encoding="utf-8")
    shutil.copy(GOMOD / f"{variant.deps_key}.sum", scratch / "go.sum")
    shutil.copy(TEMPLATE / ".golangci.yml", scratch / ".golangci.yml")
    packages = []
    for folder in plain_packages():
        if exclude.match_file(f"{folder}/"):
            continue
        kept = [
            path
            for path in (TEMPLATE / folder).iterdir()
            if path.is_file()
            and not exclude.match_file(str(path.relative_to(TEMPLATE)).removesuffix(".jinja"))
        ]
        if not any(path.suffix == ".go" for path in kept):
            continue
        for path in kept:
            target = scratch / folder / path.name.removesuffix(".jinja")
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.name.endswith(".jinja"):
                target.write_text(render_go(path, answers), encoding="utf-8")
            else:
                shutil.copy(path, target)
        for sub in (TEMPLATE / folder).iterdir():  # embedded files (migrations/*.sql)
            if sub.is_dir() and not exclude.match_file(f"{sub.relative_to(TEMPLATE)}/"):
                shutil.copytree(sub, scratch / folder / sub.name, dirs_exist_ok=True)
        packages.append(folder)
    return packages


def go_findings(variant: Variant, lint: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="goperf-template-lint-") as tmp:
        scratch = Path(tmp)
        packages = assemble(variant, scratch)
        targets = [f"./{folder}" for folder in packages]
        findings = []
        # --allow-serial-runners: wait for another golangci-lint run (an editor's, a second
        # test session's) instead of failing on its lock.
        lint_run = [lint, "run", "--allow-serial-runners", *targets]
        for command in (["go", "vet", *targets], lint_run):
            completed = run(command, scratch)
            if completed.returncode != 0:
                output = (completed.stdout + completed.stderr).replace(str(scratch), "template")
                findings.append(f"{command[0]} {command[1]} [{variant.name}]:\n{output.strip()}")
        return findings


def main() -> int:
    lint = shutil.which("golangci-lint")
    if shutil.which("go") is None or lint is None:
        sys.stderr.write("lint_template: go and golangci-lint must be on PATH\n")
        return 2
    findings = gofmt_findings()
    for variant in VARIANTS:
        findings += go_findings(variant, lint)
    for finding in findings:
        print(finding)
    if not findings:
        print(
            f"template Go is clean: {len(plain_go_files())} plain files, packages "
            f"{', '.join(str(p) for p in plain_packages())}"
        )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
