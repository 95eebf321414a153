"""A recorded template source that every teammate and CI can use (tiny template, real git,
real Copier, offline).

- Two users on one machine, each with their own HOME and their own installation (a copy of the
  package on PYTHONPATH, at different versions): A generates and commits; B, with the newer
  template, checks and updates a clone; so does a CI-like run with no user configuration.
  One installation never offers the versions another installation carries.
- A shared remote (a bare repository as a `file://` URL, and served by `git daemon` on
  127.0.0.1) used as `--template` and as organisation config: plain `copier update` picks up
  a newly tagged version; `update --template` re-points in a commit of its own; an untagged
  template never yields a silent no-op; a missing source says how to fix it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from scaffolder.errors import ExitCode

from ._helpers_env import assert_one_line_error, isolate_user_dirs, run_cli
from ._helpers_teams import User, bare_remote, git_daemon, publish
from ._helpers_template_repo import TemplateRepo, commit_all, git, init_repo
from ._helpers_tiny_template import build_tiny_template, files_of_version, release_tiny_version
from .conftest import REPO_ROOT

FAST = ["--no-tidy", "--no-verify"]
# The template URL the test package declares: it resolves nowhere, so any use of the network
# would fail; everything below must work from the installations' own caches.
PACKAGE_TEMPLATE_URL = "https://git.example.invalid/platform/goperf-scaffold.git"


def answers_of(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def pyproject(version: str) -> str:
    return (
        f'[project]\nname = "goperf-scaffold"\nversion = "{version}"\n\n'
        f'[project.urls]\nTemplate = "{PACKAGE_TEMPLATE_URL}"\n'
    )


def changelog(*versions: str) -> str:
    return "# Changelog\n\n" + "".join(f"## {v}\n\n- release {v}\n\n" for v in reversed(versions))


def package_history(root: Path) -> tuple[Path, str, str]:
    """goperf-scaffold's code carrying the tiny template, released as 1.0.0 then 1.1.0."""
    repo = TemplateRepo.create(root)
    for package in ("scaffolder", "hooks"):
        shutil.copytree(
            REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    repo.write({**files_of_version("1.0.0"), "pyproject.toml": pyproject("1.0.0")})
    repo.write({"CHANGELOG.md": changelog("1.0.0")})
    first = repo.release("1.0.0", tag=False)  # no tags: versions come from history
    repo.rename("template/greeting.go", "template/hello.go")
    repo.write({**files_of_version("1.1.0"), "pyproject.toml": pyproject("1.1.0")})
    repo.write({"CHANGELOG.md": changelog("1.0.0", "1.1.0")})
    second = repo.release("1.1.0", tag=False)
    return root, first, second


def installation(history: Path, commit: str, dest: Path) -> Path:
    """An installation of goperf-scaffold: a copy of its source at `commit`."""
    git("clone", "--quiet", str(history), str(dest), cwd=history.parent)
    git("checkout", "--quiet", "--detach", commit, cwd=dest)
    return dest


@pytest.fixture(scope="module")
def installations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("installations")
    history, first, second = package_history(root / "goperf-scaffold")
    return (
        installation(history, first, root / "install-1.0.0"),
        installation(history, second, root / "install-1.1.0"),
    )


# --- two users, two installations, CI --------------------------------------------------------


def test_teammate_with_a_newer_installation_checks_and_updates(
    tmp_path: Path, installations: tuple[Path, Path]
) -> None:
    old, new = installations
    alice = User(tmp_path / "home-alice", old)
    bob = User(tmp_path / "home-bob", new)
    work = tmp_path / "work"
    work.mkdir()

    made = alice.run(["new", "svc", "--defaults", *FAST], cwd=work)
    assert made.returncode == 0, made.stderr
    project = work / "svc"
    assert answers_of(project)["_src_path"] == PACKAGE_TEMPLATE_URL
    assert answers_of(project)["_commit"] == "1.0.0"
    assert str(tmp_path) not in (project / ".copier-answers.yml").read_text()  # nothing local

    clone = tmp_path / "bob-work" / "svc"
    git("clone", "--quiet", str(project), str(clone), cwd=tmp_path)
    checked = bob.run(["check", "--json", str(clone)], cwd=tmp_path)
    assert checked.returncode == ExitCode.UPDATE_AVAILABLE, checked.stderr
    report = json.loads(checked.stdout)
    assert (report["current_version"], report["latest_version"]) == ("1.0.0", "1.1.0")

    updated = bob.run(["update", str(clone)], cwd=tmp_path)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "from template 1.0.0 to 1.1.0" in updated.stdout
    assert answers_of(clone)["_commit"] == "1.1.0"
    assert answers_of(clone)["_src_path"] == PACKAGE_TEMPLATE_URL
    assert (clone / "hello.go").is_file()  # 1.1.0's migration ran: the package's own template

    # Alice's installation carries 1.0.0 only: for her the project is current, and Bob's
    # newer versions never leak into her installation, even through one shared data folder.
    shared = {"GOPERF_SCAFFOLD_DATA_DIR": str(tmp_path / "shared-data")}
    User(bob.home, new, shared).run(["check", str(clone)], cwd=tmp_path)
    for user in (alice, User(alice.home, old, shared)):
        mine = user.run(["check", "--json", str(project)], cwd=tmp_path)
        assert mine.returncode == ExitCode.OK, mine.stderr
        assert json.loads(mine.stdout)["latest_version"] == "1.0.0"


def test_ci_without_any_user_configuration(
    tmp_path: Path, installations: tuple[Path, Path]
) -> None:
    old, new = installations
    work = tmp_path / "work"
    work.mkdir()
    made = User(tmp_path / "home-dev", old).run(["new", "svc", "--defaults", *FAST], cwd=work)
    assert made.returncode == 0, made.stderr
    ci = User(tmp_path / "ci-home", new, {"CI": "true"})
    checkout = tmp_path / "ci" / "svc"
    git("clone", "--quiet", str(work / "svc"), str(checkout), cwd=tmp_path)

    checked = ci.run(["check", "--json"], cwd=checkout)
    assert checked.returncode == ExitCode.UPDATE_AVAILABLE, checked.stderr
    assert json.loads(checked.stdout)["latest_version"] == "1.1.0"
    updated = ci.run(["update"], cwd=checkout)
    assert updated.returncode == 0, updated.stderr
    assert answers_of(checkout)["_commit"] == "1.1.0"


def test_plain_copier_where_the_recorded_url_cannot_be_reached(
    tmp_path: Path, installations: tuple[Path, Path]
) -> None:
    """Without goperf-scaffold's cache, plain Copier must reach the URL; it fails, changing
    nothing, and names the URL and git's reason (Copier 9 prints it under a traceback)."""
    old, _ = installations
    user = User(tmp_path / "home", old)
    work = tmp_path / "work"
    work.mkdir()
    assert user.run(["new", "svc", "--defaults", *FAST], cwd=work).returncode == 0
    project = work / "svc"
    head = git("rev-parse", "HEAD", cwd=project)

    plain = user.copier(["update", "--defaults"], cwd=project)

    assert plain.returncode != 0
    assert "git.example.invalid" in plain.stderr
    assert git("rev-parse", "HEAD", cwd=project) == head
    assert git("status", "--porcelain", cwd=project) == ""


# --- a shared remote ---------------------------------------------------------------------------


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TemplateRepo, Path]:
    """The tiny template at 1.0.0 on the organisation's git server (a bare repository)."""
    isolate_user_dirs(monkeypatch, tmp_path)
    template = build_tiny_template(tmp_path / "tiny-template", up_to="1.0.0")
    return template, bare_remote(template, tmp_path / "srv" / "goperf-scaffold.git")


def test_org_url_is_recorded_and_plain_copier_picks_up_a_new_tag(
    tmp_path: Path, org: tuple[TemplateRepo, Path]
) -> None:
    template, remote = org
    url = remote.as_uri()
    assert run_cli(["config", "set", "template", url], cwd=tmp_path).returncode == 0
    made = run_cli(["new", "svc", "--defaults", *FAST], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    assert answers_of(project)["_src_path"] == url

    release_tiny_version(template, "1.1.0")
    publish(template.root, remote)
    plain = run_plain_copier(project, ["update", "--defaults", "--trust"])
    assert plain.returncode == 0, plain.stderr
    assert answers_of(project)["_commit"] == "1.1.0"
    commit_all(project, "template 1.1.0")

    release_tiny_version(template, "1.2.0")
    publish(template.root, remote)
    checked = run_cli(["check", str(project)], cwd=tmp_path)
    assert checked.returncode == ExitCode.UPDATE_AVAILABLE
    assert "1.2.0 is available" in checked.stdout
    updated = run_cli(["update", str(project)], cwd=tmp_path)  # the org's template: trusted
    assert updated.returncode == 0, updated.stderr
    assert answers_of(project)["_commit"] == "1.2.0"


def run_plain_copier(project: Path, args: list[str]) -> object:
    return User(project.parent / "plain-copier-home").copier(args, cwd=project)


def test_file_url_without_git_suffix_is_recorded_so_copier_reads_it_as_git(
    tmp_path: Path, org: tuple[TemplateRepo, Path]
) -> None:
    template, _ = org
    remote = bare_remote(template, tmp_path / "srv" / "templates" / "go-service")
    made = run_cli(["new", "svc", "--defaults", "--template", remote.as_uri(), *FAST], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    assert answers_of(project)["_src_path"] == f"git+{remote.as_uri()}"

    release_tiny_version(template, "1.1.0")
    publish(template.root, remote)
    plain = run_plain_copier(project, ["update", "--defaults", "--trust"])
    assert plain.returncode == 0, plain.stderr
    assert answers_of(project)["_commit"] == "1.1.0"


def test_repoint_to_a_git_daemon_then_work_offline(
    tmp_path: Path, org: tuple[TemplateRepo, Path]
) -> None:
    template, remote = org
    made = run_cli(["new", "svc", "--defaults", "--template", remote.as_uri(), *FAST], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    release_tiny_version(template, "1.1.0")
    publish(template.root, remote)

    with git_daemon(remote.parent) as server:
        moved = f"{server}/{remote.name}"
        updated = run_cli(["update", "--trust", "--template", moved, str(project)], cwd=tmp_path)
        assert updated.returncode == 0, updated.stdout + updated.stderr
        assert f"Re-pointed the template source from {remote.as_uri()} to {moved}" in (
            updated.stderr
        )
        assert answers_of(project)["_src_path"] == moved
        assert answers_of(project)["_commit"] == "1.1.0"
        repoint = git("log", "-1", "--format=%s", "HEAD", cwd=project).strip()
        assert repoint == f"Re-point the template source to {moved}"
        assert git("show", "--name-only", "--format=", "HEAD", cwd=project).split() == [
            ".copier-answers.yml"
        ]  # its own commit; the update itself is left for review
        commit_all(project, "template 1.1.0")

        release_tiny_version(template, "1.2.0")
        publish(template.root, remote)
        online = run_cli(["check", str(project)], cwd=tmp_path)  # fills this machine's cache
        assert online.returncode == ExitCode.UPDATE_AVAILABLE, online.stderr
        plain = run_plain_copier(project, ["update", "--defaults", "--trust"])
        assert plain.returncode == 0, plain.stderr
        assert answers_of(project)["_commit"] == "1.2.0"
        git("reset", "--quiet", "--hard", "HEAD", cwd=project)
        git("clean", "--quiet", "-fd", cwd=project)

    offline = run_cli(["check", "--json", str(project)], cwd=tmp_path)  # the daemon is gone
    assert offline.returncode == ExitCode.UPDATE_AVAILABLE, offline.stderr
    assert f"note: cannot reach {moved}" in offline.stderr
    assert json.loads(offline.stdout)["latest_version"] == "1.2.0"


def untagged_template(root: Path) -> TemplateRepo:
    """A template repository that never tags: its versions live in pyproject.toml."""
    repo = TemplateRepo.create(root)
    repo.write({**files_of_version("1.0.0"), "pyproject.toml": pyproject("0.1.0")})
    repo.release("0.1.0", tag=False)
    return repo


def test_untagged_shared_template_is_refused_with_the_tags_to_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain `copier update` could never update from an untagged URL: refuse it up front."""
    isolate_user_dirs(monkeypatch, tmp_path)
    template = untagged_template(tmp_path / "untagged")
    release = git("rev-parse", "HEAD", cwd=template.root).strip()
    remote = bare_remote(template, tmp_path / "srv" / "untagged.git")

    made = run_cli(["new", "svc", "--defaults", "--template", remote.as_uri(), *FAST], cwd=tmp_path)

    assert made.returncode == ExitCode.TEMPLATE_SOURCE
    message = assert_one_line_error(made.stderr)
    assert f"template source {remote.as_uri()} has no version tags" in message
    assert f"git tag 0.1.0 {release[:12]} && git push --tags" in message
    assert not (tmp_path / "svc").exists()


def test_untagged_local_checkout_is_never_a_silent_no_op(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template checkout without tags (a maintainer's clone): versions from its history."""
    isolate_user_dirs(monkeypatch, tmp_path)
    template = untagged_template(tmp_path / "untagged")
    made = run_cli(
        ["new", "svc", "--defaults", "--template", str(template.root), *FAST], cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert "has no version tags" in made.stderr
    project = tmp_path / "svc"
    assert answers_of(project)["_commit"] == "0.1.0"

    template.write({"template/NOTES.md": "new in 0.2.0\n", "pyproject.toml": pyproject("0.2.0")})
    template.release("0.2.0", tag=False)

    plain = run_plain_copier(project, ["update", "--defaults"])
    assert plain.returncode != 0, plain.stdout + plain.stderr
    assert "Keeping template version" not in plain.stderr
    assert git("status", "--porcelain", cwd=project) == ""

    checked = run_cli(["check", str(project)], cwd=tmp_path)
    assert checked.returncode == ExitCode.UPDATE_AVAILABLE, checked.stderr
    updated = run_cli(["update", str(project)], cwd=tmp_path)
    assert updated.returncode == 0, updated.stderr
    assert (project / "NOTES.md").read_text() == "new in 0.2.0\n"


def test_template_without_versions_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    repo = init_repo(tmp_path / "no-versions")
    TemplateRepo(repo).write(files_of_version("1.0.0"))
    commit_all(repo, "a template, never released")
    remote = bare_remote(TemplateRepo(repo), tmp_path / "srv" / "no-versions.git")

    made = run_cli(["new", "svc", "--defaults", "--template", remote.as_uri(), *FAST], cwd=tmp_path)

    assert made.returncode == ExitCode.TEMPLATE_SOURCE
    assert "no version tags and no `version` history" in assert_one_line_error(made.stderr)
    assert not (tmp_path / "svc").exists()


def test_missing_source_says_how_to_fix_it_and_update_template_fixes_it(
    tmp_path: Path, org: tuple[TemplateRepo, Path]
) -> None:
    template, remote = org
    made = run_cli(
        ["new", "svc", "--defaults", "--template", str(template.root), *FAST], cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(template.root), "/gone/tiny-template"))
    commit_all(project, "the template moved")

    failed = run_cli(["update", str(project)], cwd=tmp_path)
    assert failed.returncode == ExitCode.TEMPLATE_SOURCE
    message = assert_one_line_error(failed.stderr)
    assert "'/gone/tiny-template', does not exist on this machine" in message
    assert "goperf-scaffold update --template SRC" in message
    as_json = run_cli(["check", "--json", str(project)], cwd=tmp_path)
    assert as_json.returncode == ExitCode.TEMPLATE_SOURCE
    assert json.loads(as_json.stdout) == {
        "error": message.removeprefix("goperf-scaffold: error: "),
        "exit_code": int(ExitCode.TEMPLATE_SOURCE),
    }

    fixed = run_cli(["update", "--template", remote.as_uri(), str(project)], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert answers_of(project)["_src_path"] == remote.as_uri()
    assert "already on template 1.0.0" in fixed.stdout


def test_check_json_usage_error_is_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    completed = run_cli(["check", "--json", "--bogus"], cwd=tmp_path)
    assert completed.returncode == ExitCode.USAGE
    document = json.loads(completed.stdout)
    assert document["exit_code"] == int(ExitCode.USAGE)
    assert "unrecognized arguments: --bogus" in document["error"]
