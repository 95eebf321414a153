"""A small template for `diff` and `update --heal`: 1.0.0, 1.1.0 and 1.2.0, no migrations.

1.0.0 generates main.go, Makefile, README.md, docs/guide.md, a team-owned profile
(`_skip_if_exists: cmd/<name>/default.pgo`) and go.mod. 1.1.0 adds a `-race` flag to the
Makefile's test target and a section to docs/guide.md; 1.2.0 changes only main.go, so a file
that lost a 1.1.0 change stays diverged through an update to 1.2.0.
"""

from __future__ import annotations

from pathlib import Path

from scaffolder import SilentProgress, new_service

from ._helpers_template_repo import TemplateRepo

DRIFT_VERSIONS = ("1.0.0", "1.1.0", "1.2.0")

_COPIER_YML = """\
_min_copier_version: "9.4.0"
_subdirectory: template
_answers_file: .copier-answers.yml
_templates_suffix: .jinja
_skip_if_exists:
  - "cmd/{{ project_name }}/default.pgo"

project_name:
  type: str
  help: Service name
  default: "{{ _copier_conf.dst_path | basename }}"

module_path:
  type: str
  help: Go module path
  default: "example.com/{{ project_name }}"
"""

MAKEFILE_1_0 = """\
.PHONY: build test lint

build:
\tgo build ./...

test:
\tgo test ./...

lint:
\tgo vet ./...
"""

MAKEFILE_1_1 = MAKEFILE_1_0.replace("\tgo test ./...", "\tgo test -race ./...")

GUIDE_1_0 = "# Guide\n\n## Build\n\nRun `make build`.\n"
GUIDE_1_1 = GUIDE_1_0 + "\n## Test\n\nRun `make test` (race detector on).\n"

MAIN_GO_1_0 = 'package main\n\nfunc main() {\n\tprintln("{{ project_name }}")\n}\n'
MAIN_GO_1_2 = MAIN_GO_1_0.replace("func main()", "// main prints the name.\nfunc main()")

_FILES: dict[str, dict[str, str | None]] = {
    "1.0.0": {
        "copier.yml": _COPIER_YML,
        "template/{{_copier_conf.answers_file}}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
        "template/go.mod.jinja": "module {{ module_path }}\n\ngo 1.24\n",
        "template/main.go.jinja": MAIN_GO_1_0,
        "template/Makefile": MAKEFILE_1_0,
        "template/README.md.jinja": "# {{ project_name }}\n\nGenerated from the drift template.\n",
        "template/docs/guide.md": GUIDE_1_0,
        "template/cmd/{{project_name}}/default.pgo": "template placeholder profile\n",
    },
    "1.1.0": {"template/Makefile": MAKEFILE_1_1, "template/docs/guide.md": GUIDE_1_1},
    "1.2.0": {"template/main.go.jinja": MAIN_GO_1_2},
}


def release_drift_version(repo: TemplateRepo, version: str) -> str:
    """Write and release (commit + tag) one version of the drift template."""
    repo.write(_FILES[version])
    return repo.release(version)


def build_drift_template(root: Path, up_to: str = "1.0.0") -> TemplateRepo:
    """The drift template released up to and including `up_to`."""
    repo = TemplateRepo.create(root)
    for version in DRIFT_VERSIONS[: DRIFT_VERSIONS.index(up_to) + 1]:
        release_drift_version(repo, version)
    return repo


def new_drift_project(template: TemplateRepo, dest: Path) -> Path:
    """A project generated (git init + first commit) from the drift template's newest version."""
    result = new_service(
        dest,
        template=str(template.root),
        defaults=True,
        tidy=False,
        verify=False,
        progress=SilentProgress(),
    )
    return result.path
