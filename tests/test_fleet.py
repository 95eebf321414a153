"""`fleet status` and `fleet update` over five generated repositories (tiny template, real git,
real Copier, real `go build`/`go test`): the report says exactly what happened to each, good
ones get a complete `template/<version>` branch, the others are left exactly as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bench.report._cli_times import console_script
from scaffolder import SilentProgress, fleet_status, new_service, set_org_config_value
from scaffolder.errors import ExitCode, UsageError

from ._helpers_env import assert_one_line_error, isolate_user_dirs, require_go, run_cli
from ._helpers_teams import RepoState, bare_remote, publish
from ._helpers_template_repo import commit_all, git
from ._helpers_tiny_template import build_tiny_template, release_tiny_version

pytestmark = pytest.mark.go

# 1.3.0, a fleet-only release of the tiny template: farewell() changes its answer.
HELLO_GO_1_3 = """\
package main

// greeting says hello.
func greeting() string {
	return "hello"
}

func farewell() string {
	return "goodbye"
}
"""
# A team test that pins the old answer: green at 1.1.0, red after the update to 1.3.0.
PINNING_TEST_GO = """\
package main

import "testing"

func TestFarewellIsBye(t *testing.T) {
	if got := farewell(); got != "bye" {
		t.Fatalf("farewell() = %q, want %q", got, "bye")
	}
}
"""


class Fleet:
    """The tiny template on a shared remote (the org's template), and five services."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = build_tiny_template(root / "tiny-template", up_to="1.0.0")
        self.remote = bare_remote(self.template, root / "srv" / "tiny-template.git")
        set_org_config_value("template", self.remote.as_uri())
        self.services = root / "services"
        self.services.mkdir()

    def release(self, version: str) -> None:
        if version == "1.3.0":
            self.template.write({"template/hello.go": HELLO_GO_1_3})
            self.template.release(version)
        else:
            release_tiny_version(self.template, version)
        publish(self.template.root, self.remote)

    def generate(self, name: str, version: str, **data: str) -> Path:
        return new_service(
            self.services / name,
            data=data,
            defaults=True,
            vcs_ref=version,
            tidy=False,
            verify=False,
            progress=SilentProgress(),
        ).path


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """a, d: 1.0.0; b, e: 1.1.0 (b with its own answers); c: 1.0.0 with an unfinished update.

    d's team changed the Makefile line that 1.1.0 changes (a conflict); e's team pinned
    farewell() in a test that 1.3.0 breaks. Then 1.2.0 and 1.3.0 are released.
    """
    require_go()
    isolate_user_dirs(monkeypatch, tmp_path)
    fleet = Fleet(tmp_path)
    for name in ("a", "c", "d"):
        fleet.generate(name, "1.0.0")
    fleet.release("1.1.0")
    fleet.generate("b", "1.1.0", greeting_word="howdy", module_path="example.org/b")
    e = fleet.generate("e", "1.1.0")
    (e / "farewell_test.go").write_text(PINNING_TEST_GO, encoding="utf-8")
    commit_all(e, "pin farewell()")
    d = fleet.services / "d"
    makefile = d / "Makefile"
    makefile.write_text(makefile.read_text().replace("go build ./...", "go build -v ./..."))
    commit_all(d, "verbose builds")
    (fleet.services / "c" / "Makefile.rej").write_text("@@ a hunk nobody resolved @@\n")
    fleet.release("1.2.0")
    fleet.release("1.3.0")
    return fleet


def test_fleet_status_reports_versions_state_and_profiles(fleet: Fleet) -> None:
    completed = run_cli(["fleet", "status", "--json", str(fleet.services)], cwd=fleet.root)

    assert completed.returncode == ExitCode.UPDATE_AVAILABLE, completed.stderr
    rows = {row["project"]: row for row in json.loads(completed.stdout)["repositories"]}
    assert sorted(rows) == ["a", "b", "c", "d", "e"]
    expected = {"a": ("1.0.0", 3), "b": ("1.1.0", 2), "c": ("1.0.0", 3), "d": ("1.0.0", 3)}
    expected["e"] = ("1.1.0", 2)
    for name, (version, behind) in expected.items():
        row = rows[name]
        assert (row["template_version"], row["latest_version"], row["behind_by"]) == (
            version,
            "1.3.0",
            behind,
        ), name
        assert row["template_source"] == fleet.remote.as_uri()
        assert row["error"] is None
    assert [name for name, row in rows.items() if row["dirty"]] == ["c"]
    assert rows["c"]["conflicts"] == ["Makefile.rej"]
    assert rows["b"]["profile"] == {"greeting_word": "howdy"}
    assert "module_path" not in rows["b"]["profile"]

    table = run_cli(["fleet", "status", str(fleet.services)], cwd=fleet.root)
    assert table.returncode == ExitCode.UPDATE_AVAILABLE
    header, *lines = table.stdout.splitlines()
    assert header.split() == [
        "PROJECT", "PROFILE", "TEMPLATE", "NEWEST", "BEHIND", "DIRTY", "CONFLICTS", "DRIFTED"
    ]  # fmt: skip
    # d's team edited the Makefile; c's .rej file is not a template file.
    assert {name: row["drifted_files"] for name, row in rows.items()} == {
        "a": [], "b": [], "c": [], "d": ["Makefile"], "e": []
    }  # fmt: skip
    row_b = next(line for line in lines if line.startswith("b "))
    assert "greeting_word=howdy" in row_b
    assert row_b.split()[-6:] == ["1.1.0", "1.3.0", "2", "no", "-", "0"]
    row_c = next(line for line in lines if line.startswith("c "))
    assert row_c.split()[-4:] == ["3", "yes", "Makefile.rej", "0"]


def test_fleet_update_reports_each_repo_and_touches_only_the_good_ones(fleet: Fleet) -> None:
    repos = {name: fleet.services / name for name in "abcde"}
    before = {name: RepoState.of(path) for name, path in repos.items()}

    completed = run_cli(["fleet", "update", "--jobs", "2", str(fleet.services)], cwd=fleet.root)

    assert completed.returncode == ExitCode.FLEET_INCOMPLETE, completed.stdout + completed.stderr
    error = assert_one_line_error(completed.stderr)
    assert "3 of 5 repositories not updated: c (skipped), d (conflicts), e (failed)" in error
    lines = {line.split(":")[0]: line for line in completed.stdout.splitlines() if ": " in line}
    assert "updated 1.0.0 -> 1.3.0 on branch template/1.3.0" in lines["a"]
    assert "updated 1.1.0 -> 1.3.0 on branch template/1.3.0" in lines["b"]
    assert "skipped: uncommitted changes" in lines["c"]
    assert "conflicts (1.0.0 -> 1.3.0), left untouched: Makefile; to resolve them: " in lines["d"]
    assert "build or test failed (1.1.0 -> 1.3.0), left untouched:" in lines["e"]
    assert "--- FAIL: TestFarewellIsBye" in completed.stdout
    assert 'farewell() = "goodbye", want "bye"' in completed.stdout

    for name in "cde":  # exactly as they were: branch, HEAD, branches, status, worktrees
        assert RepoState.of(repos[name]) == before[name], name
    for name in "ab":
        after = RepoState.of(repos[name])
        assert after.branch == before[name].branch  # the checkout never moved
        assert (after.head, after.status) == (before[name].head, before[name].status)
        assert after.worktrees == 1, "the temporary worktree was removed"
        assert set(after.branches) == {*before[name].branches, "template/1.3.0"}
        answers = yaml.safe_load(git("show", "template/1.3.0:.copier-answers.yml", cwd=repos[name]))
        assert answers["_commit"] == "1.3.0"
        parent = git("rev-parse", "template/1.3.0~1", cwd=repos[name]).strip()
        assert parent == before[name].head  # one commit on top of where the repo was
    assert (
        yaml.safe_load(git("show", "template/1.3.0:.copier-answers.yml", cwd=repos["b"]))[
            "greeting_word"
        ]
        == "howdy"
    )
    # The branch builds and its tests pass in a fresh checkout.
    checkout = fleet.root / "checkout-a"
    git("worktree", "add", "--quiet", str(checkout), "template/1.3.0", cwd=repos["a"])
    for command in (["go", "build", "./..."], ["go", "test", "./..."]):
        run = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
    assert 'return "goodbye"' in (checkout / "hello.go").read_text()

    # d's row names the commands that bring its conflicts into d's own checkout, on a branch.
    resolve_with = lines["d"].split("; to resolve them: ")[1].rsplit("  [", 1)[0]
    bin_dir = str(Path(console_script()).parent)
    resolve = subprocess.run(
        ["bash", "-c", resolve_with], cwd=fleet.root, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, timeout=600,
    )  # fmt: skip
    assert resolve.returncode == ExitCode.CONFLICTS, resolve.stdout + resolve.stderr
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=repos["d"]).strip() == "template/1.3.0"
    makefile = (repos["d"] / "Makefile").read_text()
    assert "<<<<<<< " in makefile
    assert "go build -v ./..." in makefile  # the team's line, beside the template's
    assert yaml.safe_load((repos["d"] / ".copier-answers.yml").read_text())["_commit"] == "1.3.0"


def test_fleet_update_again_reports_existing_branches_and_current_repos(fleet: Fleet) -> None:
    a = fleet.services / "a"
    first = run_cli(["fleet", "update", str(a)], cwd=fleet.root)
    assert first.returncode == ExitCode.OK, first.stdout + first.stderr
    old_tip = git("rev-parse", "template/1.3.0", cwd=a).strip()

    again = run_cli(["fleet", "update", "--json", str(a)], cwd=fleet.root)

    assert again.returncode == ExitCode.FLEET_INCOMPLETE
    report = json.loads(again.stdout)["repositories"][0]
    assert (report["outcome"], report["detail"]) == (
        "skipped",
        "branch template/1.3.0 already exists (--refresh rebuilds it)",
    )
    assert git("rev-parse", "template/1.3.0", cwd=a).strip() == old_tip

    # The team moves on; --refresh rebuilds the branch on top of where the repository is now.
    (a / "NOTES.md").write_text("on call: team a\n")
    commit_all(a, "notes")
    refreshed = run_cli(["fleet", "update", "--refresh", str(a)], cwd=fleet.root)
    assert refreshed.returncode == ExitCode.OK, refreshed.stdout + refreshed.stderr
    assert f"rebuilt, was {old_tip[:12]}" in refreshed.stdout
    assert (
        git("rev-parse", "template/1.3.0~1", cwd=a).strip()
        == git("rev-parse", "HEAD", cwd=a).strip()
    )
    assert git("show", "template/1.3.0:NOTES.md", cwd=a) == "on call: team a\n"
    answers = yaml.safe_load(git("show", "template/1.3.0:.copier-answers.yml", cwd=a))
    assert answers["_commit"] == "1.3.0"

    git("merge", "--quiet", "--ff-only", "template/1.3.0", cwd=a)  # the team takes the branch
    current = run_cli(["fleet", "update", str(a)], cwd=fleet.root)
    assert current.returncode == ExitCode.OK
    assert "a: already current (1.3.0)" in current.stdout


def test_fleet_update_to_a_given_version(fleet: Fleet) -> None:
    a = fleet.services / "a"
    completed = run_cli(["fleet", "update", "--to", "1.2.0", str(a)], cwd=fleet.root)
    assert completed.returncode == ExitCode.OK, completed.stdout + completed.stderr
    answers = yaml.safe_load(git("show", "template/1.2.0:.copier-answers.yml", cwd=a))
    assert answers["_commit"] == "1.2.0"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["fleet", "update", "--jobs", "0", "."], ExitCode.USAGE, "--jobs must be at least 1"),
        (["fleet", "update", "--push"], ExitCode.USAGE, "expected one argument"),
    ],
)
def test_fleet_bad_input_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: ExitCode,
    fragment: str,
) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    completed = run_cli(args, cwd=tmp_path)
    assert completed.returncode == code
    assert fragment in assert_one_line_error(completed.stderr)


def test_fleet_status_json_error_is_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    completed = run_cli(["fleet", "update", "--json", "--jobs", "0", "."], cwd=tmp_path)
    assert completed.returncode == ExitCode.USAGE
    assert json.loads(completed.stdout) == {
        "error": "--jobs must be at least 1, got 0",
        "exit_code": int(ExitCode.USAGE),
    }
    with pytest.raises(UsageError):
        fleet_status([])


def _bad_paths(root: Path, good: Path) -> list[str]:
    """A missing path, a file, a folder without projects, a project folder outside git."""
    (root / "a-file").write_text("not a folder\n")
    (root / "empty").mkdir()
    billing = root / "loose" / "billing"
    billing.mkdir(parents=True)
    shutil.copy(good / ".copier-answers.yml", billing)
    return ["nowhere", "a-file", "empty", str(billing)]


def test_fleet_bad_paths_are_rows_and_the_others_are_still_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_go()
    isolate_user_dirs(monkeypatch, tmp_path)
    fleet = Fleet(tmp_path)
    good = fleet.generate("a", "1.0.0")
    fleet.release("1.1.0")
    bad = _bad_paths(tmp_path, good)

    status = run_cli(["fleet", "status", "--json", *bad, str(good)], cwd=tmp_path)

    assert status.returncode == ExitCode.FLEET_INCOMPLETE, status.stdout + status.stderr
    rows = {row["project"]: row for row in json.loads(status.stdout)["repositories"]}
    assert list(rows) == ["nowhere", "a-file", "empty", "billing", "a"]
    assert rows["nowhere"]["error"] == "no such folder"
    assert rows["a-file"]["error"] == "'a-file' is not a folder"
    assert "holds no .copier-answers.yml" in rows["empty"]["error"]
    assert rows["billing"]["error"].startswith("not in a git repository")
    assert (rows["a"]["error"], rows["a"]["behind_by"]) == (None, 1)
    error = assert_one_line_error(status.stderr)
    assert "4 of 5 repositories or paths could not be read (nowhere: no such folder; " in error
    assert "billing: not in a git repository" in error
    table = run_cli(["fleet", "status", *bad, str(good)], cwd=tmp_path)
    assert table.returncode == ExitCode.FLEET_INCOMPLETE
    assert "error: nowhere (" in table.stdout

    update = run_cli(["fleet", "update", *bad, str(good)], cwd=tmp_path)

    assert update.returncode == ExitCode.FLEET_INCOMPLETE, update.stdout + update.stderr
    assert "nowhere: error: no such folder" in update.stdout
    assert "billing: error: not in a git repository" in update.stdout
    assert "a: updated 1.0.0 -> 1.1.0 on branch template/1.1.0" in update.stdout
    error = assert_one_line_error(update.stderr)
    assert "4 of 5 repositories not updated: nowhere (error), a-file (error)" in error
    assert "template/1.1.0" in git("branch", "--list", cwd=good)


def test_fleet_update_pushes_branches_to_a_remote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a has the remote and gets its branch there; b has no such remote: its row says so."""
    require_go()
    isolate_user_dirs(monkeypatch, tmp_path)
    fleet = Fleet(tmp_path)
    a, b = fleet.generate("a", "1.0.0"), fleet.generate("b", "1.0.0")
    fleet.release("1.1.0")
    forge = tmp_path / "forge" / "a.git"
    forge.parent.mkdir()
    git("init", "--quiet", "--bare", str(forge), cwd=forge.parent)
    git("remote", "add", "forge", str(forge), cwd=a)

    pushed = run_cli(["fleet", "update", "--push", "forge", str(a), str(b)], cwd=tmp_path)

    assert pushed.returncode == ExitCode.FLEET_INCOMPLETE, pushed.stdout + pushed.stderr
    assert (
        "a: updated 1.0.0 -> 1.1.0 on branch template/1.1.0 (go build, go test passed), "
        "pushed to forge" in pushed.stdout
    )
    assert (
        "b: updated 1.0.0 -> 1.1.0 on branch template/1.1.0 (go build, go test passed), "
        "not pushed: git push forge: " in pushed.stdout
    )
    assert "1 of 2 repositories not updated: b (not pushed)" in assert_one_line_error(pushed.stderr)
    local = git("rev-parse", "template/1.1.0", cwd=a).strip()
    assert git("rev-parse", "refs/heads/template/1.1.0", cwd=forge).strip() == local

    # A rebuilt branch replaces the one on the remote (the forge's pull request follows it).
    (a / "NOTES.md").write_text("notes\n")
    commit_all(a, "notes")
    again = run_cli(
        ["fleet", "update", "--json", "--refresh", "--push", "forge", str(a)], cwd=tmp_path
    )
    assert again.returncode == ExitCode.OK, again.stdout + again.stderr
    row = json.loads(again.stdout)["repositories"][0]
    assert (row["outcome"], row["pushed_to"], row["replaced"]) == ("updated", "forge", local)
    rebuilt = git("rev-parse", "template/1.1.0", cwd=a).strip()
    assert rebuilt != local
    assert git("rev-parse", "refs/heads/template/1.1.0", cwd=forge).strip() == rebuilt


# --- Ctrl-C --------------------------------------------------------------------------------------

SLOW_TEST_GO = """\
package main

import (
	"os"
	"testing"
	"time"
)

// TestSlow lets the suite interrupt the fleet run while this repository is being tested.
func TestSlow(t *testing.T) {
	if marker := os.Getenv("FLEET_TEST_STARTED"); marker != "" {
		_ = os.WriteFile(marker, []byte("started"), 0o600)
	}
	time.Sleep(60 * time.Second)
}
"""


# Runs the CLI with Python's own SIGINT handler installed (KeyboardInterrupt), which its
# children then receive as the default action.
_CLI_WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'goperf-scaffold'; runpy.run_module('scaffolder.cli', run_name='__main__')"
)


def test_ctrl_c_leaves_each_repo_as_it_was_or_with_a_complete_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a is updated completely; Ctrl-C while b's tests run; c never starts."""
    require_go()
    isolate_user_dirs(monkeypatch, tmp_path)
    fleet = Fleet(tmp_path)
    repos = [fleet.generate(name, "1.0.0") for name in ("a", "b", "c")]
    (repos[1] / "slow_test.go").write_text(SLOW_TEST_GO, encoding="utf-8")
    commit_all(repos[1], "a slow test")
    fleet.release("1.1.0")
    before = [RepoState.of(repo) for repo in repos]
    marker = tmp_path / "b-tests-started"
    env = {**os.environ, "FLEET_TEST_STARTED": str(marker)}

    # A terminal's Ctrl-C reaches a process whose SIGINT is at its default. A test run started
    # in the background (`cmd &` in a script) inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt: restore the default in the child, as a terminal would have it.
    process = subprocess.Popen(
        [sys.executable, "-c", _CLI_WITH_CTRL_C, "fleet", "update", str(fleet.services)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "b's tests never started"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == ExitCode.INTERRUPTED, stdout + stderr
    assert "interrupted: each repository is as it was or has its complete branch" in stderr
    assert "Traceback" not in stderr
    assert "a: updated 1.0.0 -> 1.1.0 on branch template/1.1.0" in stdout
    assert "b: interrupted, left untouched" in stdout
    assert "c: interrupted, left untouched (not started)" in stdout
    assert RepoState.of(repos[1]) == before[1]
    assert RepoState.of(repos[2]) == before[2]
    a_after = RepoState.of(repos[0])
    assert (a_after.branch, a_after.head, a_after.status) == (
        before[0].branch,
        before[0].head,
        before[0].status,
    )
    assert "template/1.1.0" in a_after.branches
    answers = yaml.safe_load(git("show", "template/1.1.0:.copier-answers.yml", cwd=repos[0]))
    assert answers["_commit"] == "1.1.0"
