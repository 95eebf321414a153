"""A tiny Go template released as 1.0.0, 1.1.0 and 1.2.0, and the user edits made between.

1.1.0 adds a question with a default, changes the Makefile, and renames greeting.go to
hello.go with a version-gated `after` migration that 3-way-merges the user's edits of the old
file into the new one (Copier has no rename detection: without it the edits would be lost).
1.2.0 changes hello.go and the README again. Builds in well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ._helpers_template_repo import TemplateRepo, commit_all

VERSIONS = ("1.0.0", "1.1.0", "1.2.0")

_COPIER_SETTINGS = """\
_min_copier_version: "9.4.0"
_subdirectory: template
_answers_file: .copier-answers.yml
_templates_suffix: .jinja

project_name:
  type: str
  help: Service name
  default: "{{ _copier_conf.dst_path | basename }}"
  validator: >-
    {% if not (project_name | regex_search('^[a-z][a-z0-9-]*$')) %}bad project_name{% endif %}

module_path:
  type: str
  help: Go module path
  default: "example.com/{{ project_name }}"
"""

# The rename migration: carry the user's edits of greeting.go into hello.go by a 3-way merge
# (base: greeting.go of the version the project comes from, read from the template clone).
_RENAME_MIGRATION = """
greeting_word:
  type: str
  help: Word the service greets with
  default: hello

_migrations:
  - version: "1.1.0"
    command: |
      set -e
      old=greeting.go new=hello.go
      if git cat-file -e "HEAD:./$old" 2>/dev/null && [ -f "$new" ]; then
        git show "HEAD:./$old" > "$new.ours"
        git -C "{{ _copier_conf.src_path }}" show "{{ _version_from }}:template/$old" > "$new.base"
        git merge-file -L "before updating" -L "last update" -L "after updating" \\
          "$new.ours" "$new.base" "$new" || true
        mv "$new.ours" "$new"
        rm -f "$new.base"
      fi
"""

_ANSWERS = "{{ _copier_answers | to_nice_yaml -}}\n"

_MAIN_GO = """\
package main

import "fmt"

func main() {
	fmt.Println(greeting())
	fmt.Println(farewell())
}
"""

_GREETING_GO = """\
package main

func greeting() string {
	return "hello"
}

func farewell() string {
	return "bye"
}
"""

_MAIN_TEST_GO = """\
package main

import "testing"

func TestGreeting(t *testing.T) {
	t.Parallel()
	if greeting() == "" || farewell() == "" {
		t.Fatal("empty greeting")
	}
}
"""

_README_1_0 = """\
# {{ project_name }}

{{ project_name }} is a tiny Go service.

## Build

Run `make build`.

## Test

Run `make test`.
"""

_MAKEFILE_1_0 = """\
.PHONY: build test

build:
	go build ./...

test:
	go test ./...
"""

_MAKEFILE_1_1 = """\
.PHONY: build test

build:
	go build -trimpath ./...

test:
	go test -race ./...
"""

_CONFIG_GO_1_1 = """\
package main

// greetingWord is the word chosen when the service was generated.
func greetingWord() string {
	return "{{ greeting_word }}"
}
"""

_HELLO_GO_1_2 = """\
package main

// greeting says hello.
func greeting() string {
	return "hello"
}

func farewell() string {
	return "bye"
}
"""


def files_of_version(version: str) -> Mapping[str, str | None]:
    """The files to write for `version` on top of the previous one (None deletes)."""
    if version == "1.0.0":
        return {
            "copier.yml": _COPIER_SETTINGS,
            "template/{{_copier_conf.answers_file}}.jinja": _ANSWERS,
            "template/go.mod.jinja": "module {{ module_path }}\n\ngo 1.24\n",
            "template/main.go": _MAIN_GO,
            "template/greeting.go": _GREETING_GO,
            "template/main_test.go": _MAIN_TEST_GO,
            "template/Makefile": _MAKEFILE_1_0,
            "template/README.md.jinja": _README_1_0,
        }
    if version == "1.1.0":
        return {
            "copier.yml": _COPIER_SETTINGS + _RENAME_MIGRATION,
            "template/Makefile": _MAKEFILE_1_1,
            "template/config.go.jinja": _CONFIG_GO_1_1,
            "template/README.md.jinja": _README_1_0.replace(
                "Run `make test`.", "Run `make test` (race detector on)."
            ),
        }
    if version == "1.2.0":
        return {
            "template/hello.go": _HELLO_GO_1_2,
            "template/README.md.jinja": _README_1_0.replace(
                "Run `make test`.", "Run `make test` (race detector on)."
            )
            + "\n## Run\n\nRun `go run .`.\n",
        }
    raise ValueError(f"unknown tiny template version {version}")


def release_tiny_version(repo: TemplateRepo, version: str) -> str:
    """Apply and release one version of the tiny template."""
    if version == "1.1.0":
        repo.rename("template/greeting.go", "template/hello.go")
    repo.write(files_of_version(version))
    return repo.release(version)


def build_tiny_template(root: Path, up_to: str = "1.0.0") -> TemplateRepo:
    """A template repository with every version up to and including `up_to` released."""
    repo = TemplateRepo.create(root)
    for version in VERSIONS[: VERSIONS.index(up_to) + 1]:
        release_tiny_version(repo, version)
    return repo


# The user's edits after generating from 1.0.0: a new handler, an extra file, a README line
# far from the template's changes (kept), a Makefile line the template also changes
# (conflict), and an edit of greeting.go (carried into hello.go by the migration).
USER_HANDLER_GO = """\
package main

// handle is the team's own handler.
func handle() string {
	return greeting() + "!"
}
"""


def make_user_edits(project: Path) -> None:
    """Apply and commit the user's edits to a project generated from 1.0.0."""
    (project / "handler.go").write_text(USER_HANDLER_GO, encoding="utf-8")
    (project / "docs").mkdir(exist_ok=True)
    (project / "docs" / "notes.md").write_text("# Team notes\n", encoding="utf-8")
    readme = project / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(
            "is a tiny Go service.", "is the team's favourite service."
        ),
        encoding="utf-8",
    )
    makefile = project / "Makefile"
    makefile.write_text(
        makefile.read_text(encoding="utf-8").replace("go build ./...", "go build -v ./..."),
        encoding="utf-8",
    )
    greeting = project / "greeting.go"
    greeting.write_text(
        greeting.read_text(encoding="utf-8").replace('"bye"', '"bye, team"'), encoding="utf-8"
    )
    commit_all(project, "team edits")
