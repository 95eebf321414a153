"""`adopt`: a hand-written Go service comes under the template on a new branch, keeps its own
files (differences are left for review, never overwritten), and a later template version then
updates it cleanly (tiny template, real git, real Copier, real `go build`/`go test`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from scaffolder import SilentProgress, adopt_service, update_service
from scaffolder.errors import ExitCode, ProjectNotUpdatableError

from ._helpers_env import assert_one_line_error, isolate_user_dirs, require_go, run_cli
from ._helpers_teams import RepoState
from ._helpers_template_repo import TemplateRepo, commit_all, git, init_repo
from ._helpers_tiny_template import build_tiny_template, files_of_version, release_tiny_version

# A small service someone wrote by hand: its own main.go, a handler and its test.
LEGACY_GO_MOD = "module example.com/legacy\n\ngo 1.24\n"
LEGACY_MAIN_GO = """\
package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/hello", hello)
	fmt.Println("listening on :8080")
	_ = http.ListenAndServe(":8080", nil)
}
"""
LEGACY_HANDLER_GO = """\
package main

import (
	"fmt"
	"net/http"
)

func hello(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "hello from legacy")
}
"""
LEGACY_HANDLER_TEST_GO = """\
package main

import (
	"net/http/httptest"
	"testing"
)

func TestHello(t *testing.T) {
	rec := httptest.NewRecorder()
	hello(rec, httptest.NewRequest("GET", "/hello", nil))
	if rec.Body.String() != "hello from legacy\\n" {
		t.Fatalf("body = %q", rec.Body.String())
	}
}
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepo:
    return build_tiny_template(tmp_path / "tiny-template", up_to="1.0.0")


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """The hand-written service, committed on its main branch."""
    repo = init_repo(tmp_path / "legacy")
    (repo / "go.mod").write_text(LEGACY_GO_MOD)
    (repo / "main.go").write_text(LEGACY_MAIN_GO)
    (repo / "handler.go").write_text(LEGACY_HANDLER_GO)
    (repo / "handler_test.go").write_text(LEGACY_HANDLER_TEST_GO)
    commit_all(repo, "hand-written service")
    return repo


def go(*args: str, cwd: Path) -> None:
    if args[0] == "build":  # a lone main package would drop its binary into the repository
        args = ("build", "-o", f"{cwd.parent / 'bin'}{os.sep}", *args[1:])
    completed = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_adopt_keeps_the_services_files_and_records_the_template(
    tmp_path: Path, template: TemplateRepo, legacy: Path
) -> None:
    before = RepoState.of(legacy)

    completed = run_cli(["adopt", str(legacy), "--template", str(template.root)], cwd=tmp_path)

    assert completed.returncode == ExitCode.CONFLICTS, completed.stdout + completed.stderr
    assert "files differ from the template: main.go" in assert_one_line_error(completed.stderr)
    assert "adopted template 1.0.0 on branch template/1.0.0" in completed.stdout
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=legacy).strip() == "template/1.0.0"
    assert git("rev-parse", "main", cwd=legacy).strip() == before.head  # main untouched
    # New template files arrive; go.mod matches (module path read from it) and stays as is.
    for name in ("greeting.go", "main_test.go", "Makefile", "README.md", ".copier-answers.yml"):
        assert f"  A {name}" in completed.stdout
    assert (legacy / "go.mod").read_text() == LEGACY_GO_MOD
    # The service's own main.go is never overwritten: both versions, with markers.
    main_go = (legacy / "main.go").read_text()
    assert "<<<<<<< before adopting" in main_go
    assert 'http.HandleFunc("/hello", hello)' in main_go
    assert "fmt.Println(greeting())" in main_go
    assert (legacy / "handler.go").read_text() == LEGACY_HANDLER_GO
    answers = yaml.safe_load((legacy / ".copier-answers.yml").read_text())
    assert (answers["_src_path"], answers["_commit"]) == (str(template.root), "1.0.0")
    assert answers["module_path"] == "example.com/legacy"
    assert answers["project_name"] == "legacy"
    # The service's own program and its route are handed over, in the repository and printed.
    assert "Your own program (main.go) is kept" in completed.stdout
    assert "Routes to port: /hello. See ADOPTING.md." in completed.stdout
    assert "  A ADOPTING.md" in completed.stdout
    note = (legacy / "ADOPTING.md").read_text()
    assert "- this repository's own entry point: `main.go`" in note
    assert "- `/hello` (main.go:9)" in note


def test_adopted_service_updates_cleanly_to_a_later_template_version(
    tmp_path: Path, template: TemplateRepo, legacy: Path
) -> None:
    require_go()
    result = adopt_service(legacy, template=str(template.root), progress=SilentProgress())
    assert result.conflicted_files == ["main.go"]
    # The team keeps its own main.go and commits the adoption.
    git("checkout", "main", "--", "main.go", cwd=legacy)
    commit_all(legacy, "adopt the template, keep our main.go")
    go("build", "./...", cwd=legacy)
    go("test", "./...", cwd=legacy)
    release_tiny_version(template, "1.1.0")

    updated = update_service(legacy, trust=True, progress=SilentProgress())

    assert (updated.from_version, updated.to_version) == ("1.0.0", "1.1.0")
    assert updated.conflicted_files == []
    assert (legacy / "main.go").read_text() == LEGACY_MAIN_GO
    assert (legacy / "handler.go").read_text() == LEGACY_HANDLER_GO
    assert (legacy / "hello.go").is_file()  # the template's rename migration ran
    assert not (legacy / "greeting.go").exists()
    assert "go build -trimpath" in (legacy / "Makefile").read_text()
    go("build", "./...", cwd=legacy)
    go("test", "./...", cwd=legacy)


def test_adopt_with_rej_leaves_the_file_and_a_diff_beside_it(
    tmp_path: Path, template: TemplateRepo, legacy: Path
) -> None:
    result = adopt_service(
        legacy, template=str(template.root), conflict="rej", progress=SilentProgress()
    )
    assert result.conflicted_files == ["main.go.rej"]
    assert (legacy / "main.go").read_text() == LEGACY_MAIN_GO
    rejected = (legacy / "main.go.rej").read_text()
    assert rejected.startswith("--- a/main.go\n+++ b/main.go\n")
    assert "+\tfmt.Println(greeting())" in rejected
    assert result.commit is None


def test_adopt_without_differences_commits_on_the_new_branch(
    tmp_path: Path, template: TemplateRepo
) -> None:
    repo = init_repo(tmp_path / "fresh")
    (repo / "go.mod").write_text("module example.com/fresh\n\ngo 1.24\n")
    commit_all(repo, "just a module")

    result = adopt_service(repo, template=str(template.root), progress=SilentProgress())

    assert result.commit is not None
    assert (
        git("log", "-1", "--format=%s", cwd=repo).strip()
        == "Adopt the goperf-scaffold template 1.0.0"
    )
    assert git("status", "--porcelain", cwd=repo) == ""
    assert "go.mod" in result.identical_files


@pytest.mark.parametrize(
    ("prepare", "fragment"),
    [
        ("dirty", "uncommitted changes"),
        ("answers", "already records a template"),
        ("no-git", "not in a git repository"),
    ],
)
def test_adopt_refuses_what_it_cannot_adopt(
    tmp_path: Path, template: TemplateRepo, legacy: Path, prepare: str, fragment: str
) -> None:
    if prepare == "dirty":
        (legacy / "notes.txt").write_text("wip\n")
        target = legacy
    elif prepare == "answers":
        (legacy / ".copier-answers.yml").write_text("_src_path: x\n_commit: 1.0.0\n")
        commit_all(legacy, "answers")
        target = legacy
    else:
        target = tmp_path / "plain"
        target.mkdir()
    before = sorted(p.name for p in target.iterdir())

    completed = run_cli(["adopt", str(target), "--template", str(template.root)], cwd=tmp_path)

    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert fragment in assert_one_line_error(completed.stderr)
    assert sorted(p.name for p in target.iterdir()) == before
    with pytest.raises(ProjectNotUpdatableError):
        adopt_service(target, template=str(template.root), progress=SilentProgress())


# A yes/no question, and one asked only when it is yes: `--data` is held to them.
YES_NO_QUESTIONS = """
examples:
  type: bool
  help: Include the example handlers
  default: true

example_name:
  type: str
  help: Name of the example handler
  default: hello
  when: "{{ examples }}"
"""


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        (["colour=blue"], ExitCode.USAGE, "unknown --data key(s) colour; questions: "),
        (["examples=maybe"], ExitCode.INVALID_ANSWER, "examples is a yes/no question"),
        (["examples=nope"], ExitCode.INVALID_ANSWER, "examples is a yes/no question"),
        (
            ["examples=no", "example_name=hi"],
            ExitCode.INVALID_ANSWER,
            "example_name is asked only when examples",
        ),
    ],
)
def test_adopt_refuses_bad_data_before_writing_anything(
    template: TemplateRepo,
    legacy: Path,
    data: list[str],
    code: ExitCode,
    fragment: str,
) -> None:
    """`adopt --data` refuses what `new` and `update` refuse, in the same words and codes, and
    leaves the repository as it was: no branch, no file."""
    template.write({"copier.yml": str(files_of_version("1.0.0")["copier.yml"]) + YES_NO_QUESTIONS})
    template.release("1.0.1")
    before = RepoState.of(legacy)
    data_args = [arg for item in data for arg in ("--data", item)]

    completed = run_cli(
        ["adopt", str(legacy), "--template", str(template.root), *data_args], cwd=legacy.parent
    )

    assert completed.returncode == code, completed.stderr
    assert fragment in assert_one_line_error(completed.stderr)
    assert RepoState.of(legacy) == before
    assert git("branch", "--list", "template/*", cwd=legacy).strip() == ""


def test_adopt_records_yes_no_data_as_booleans(
    tmp_path: Path, template: TemplateRepo, legacy: Path
) -> None:
    template.write({"copier.yml": str(files_of_version("1.0.0")["copier.yml"]) + YES_NO_QUESTIONS})
    template.release("1.0.1")
    adopt_service(
        legacy, template=str(template.root), data={"examples": "No"}, progress=SilentProgress()
    )
    answers = yaml.safe_load((legacy / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["examples"] is False
    assert "example_name" not in answers


# 1.0.1 of the tiny template, laid out as the real one: the service in cmd/<name>/, its routes
# in addRoutes, go.mod at a newer Go than the legacy service's.
ROUTES_GO = """\
package server

import "net/http"

// Handler serves the service's routes.
func Handler() http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux)
	return mux
}

// addRoutes is the whole public API surface in one place.
func addRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {})
}
"""
CMD_MAIN_GO = """\
package main

import (
	"net/http"

	"{{ module_path }}/server"
)

func main() {
	_ = http.ListenAndServe(":8080", server.Handler())
}
"""
# The legacy service depends on a module of its own (a local replace: no network needed).
LEGACY_GO_MOD_WITH_UTIL = """\
module example.com/legacy

go 1.23

require example.com/util v0.0.0

replace example.com/util => ./util
"""
LEGACY_HANDLER_WITH_UTIL_GO = """\
package main

import (
	"fmt"
	"net/http"

	"example.com/util"
)

func hello(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprintln(w, "hello from", util.Word())
}
"""


def test_adopt_hands_over_the_entry_point_and_keeps_go_mod_buildable(
    tmp_path: Path, template: TemplateRepo
) -> None:
    require_go()
    template.write(
        {
            "template/main.go": None,
            "template/cmd/{{ project_name }}/main.go.jinja": CMD_MAIN_GO,
            "template/server/routes.go": ROUTES_GO,
        }
    )
    template.release("1.0.1")
    repo = init_repo(tmp_path / "legacy")
    files = {
        "go.mod": LEGACY_GO_MOD_WITH_UTIL,
        "main.go": LEGACY_MAIN_GO,
        "handler.go": LEGACY_HANDLER_WITH_UTIL_GO,
        "util/go.mod": "module example.com/util\n\ngo 1.23\n",
        "util/util.go": 'package util\n\nfunc Word() string { return "legacy" }\n',
    }
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    commit_all(repo, "hand-written service with a module of its own")

    completed = run_cli(["adopt", str(repo), "--template", str(template.root)], cwd=tmp_path)

    assert completed.returncode == ExitCode.OK, completed.stdout + completed.stderr
    assert "  M go.mod (yours, with what the template needs)" in completed.stdout
    assert "kept beside the template's (cmd/legacy/)" in completed.stdout
    assert "into addRoutes (server/routes.go:13)" in completed.stdout
    # go.mod: the repository's module, dependency and replace, at the template's Go version.
    go_mod = (repo / "go.mod").read_text()
    assert "<<<<<<<" not in go_mod
    assert "\ngo 1.24\n" in go_mod
    assert "require example.com/util v0.0.0" in go_mod
    assert "replace example.com/util => ./util" in go_mod
    # Both programs build and the tests pass: the team ports at its own pace.
    go("build", "./...", cwd=repo)
    go("test", "./...", cwd=repo)
    note = (repo / "ADOPTING.md").read_text()
    assert "Register each in `addRoutes` in `server/routes.go:13`" in note
    assert "- the template's service: `cmd/legacy/`" in note
    assert "- `/hello` (main.go:9)" in note
    assert git("show", "HEAD:ADOPTING.md", cwd=repo) == note  # in the adoption commit
    assert git("status", "--porcelain", cwd=repo) == ""
