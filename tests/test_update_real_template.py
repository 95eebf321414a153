"""Proof that `update` works on the REAL template, for every answer profile.

Version N is a snapshot of this repository's working tree (copier.yml, template/, includes/),
mirrored into a hermetic per-user data folder exactly as the installed package would be; N+1
and N+2 are realistic template changes made from it (tests/_helpers_real_template.py). Each
profile is generated at N with `new_service`, edited and committed by "the team", then updated
to N+1 — through `update_service` or the `goperf-scaffold update` console script — and must
keep every non-conflicting edit, run the rename migration, and build and vet green. One profile
also edits a line that N+1 changes: that update must report the conflict (exit code 9).
The default profile is also updated with plain `copier update --defaults --trust` and across
two versions (N -> N+2), and its tests run under the race detector.

Work is shared: each profile is rendered once, updated once and built once per module (the
`World` caches), and variants copy the committed project instead of rendering again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from scaffolder import SilentProgress, __version__, check_service, new_service, update_service
from scaffolder._carried import package_cache_path, refresh_package_cache
from scaffolder._copier_session import git_redirect_env
from scaffolder.errors import ExitCode

from ._helpers_env import CONFIG_ENV, DATA_DIR_ENV, assert_one_line_error, run_cli
from ._helpers_real_template import (
    GO_CHANGE_FILE,
    GO_CHANGE_FUNC,
    MAKEFILE_COVER_TARGET,
    MAKEFILE_TEST_FLAG,
    MIDDLEWARE_N2_COMMENT,
    NEW_MIDDLEWARE,
    NEW_QUESTION,
    NEW_QUESTION_DEFAULT,
    OLD_MIDDLEWARE,
    README_OWNER_RENDERED,
    README_SUPPORT_SECTION,
    TEAM_EXTRA_FILE,
    TEAM_EXTRA_TEXT,
    TEAM_HANDLER_FILE,
    TEAM_HANDLER_GO,
    TEAM_HANDLER_TEST_FILE,
    TEAM_HANDLER_TEST_GO,
    TEAM_MAKEFILE_FLAG,
    TEAM_MIDDLEWARE_SNIPPET,
    TEAM_README_TITLE,
    TEAM_ROUTE,
    RealTemplateReleases,
    build_real_template_releases,
    make_team_edits,
    release_versions,
)
from ._helpers_template_repo import git
from .conftest import GO_TEST_PARALLEL, PROFILES, go_env, need, run

pytestmark = pytest.mark.go
T = TypeVar("T")

# The profile whose team also edits the Makefile line N+1 changes: its update must conflict.
CONFLICT_PROFILE = "no-extras"
# Updated through the installed console script (a conflicting and a clean update); the other
# profiles through the library's update_service.
CLI_PROFILES = frozenset({CONFLICT_PROFILE, "minimal"})
# What N+1 changes in every profile (go.mod/go.sum may change too, through `go mod tidy`).
EXPECTED_CHANGED = {
    ".copier-answers.yml",
    "Makefile",
    "README.md",
    GO_CHANGE_FILE,
    OLD_MIDDLEWARE,  # deleted
    NEW_MIDDLEWARE,  # created, with the team's edit merged in by the migration
}
MAY_CHANGE = {"go.mod", "go.sum"}
TEAM_FILES = {
    TEAM_HANDLER_FILE,
    TEAM_HANDLER_TEST_FILE,
    TEAM_EXTRA_FILE,
    "internal/server/routes.go",
}
CONFLICT_START, CONFLICT_END = "<<<<<<< before updating", ">>>>>>> after updating"


@dataclass
class Updated:
    """A profile's project after its N -> N+1 update, and how the update reported it."""

    profile: str
    path: Path
    via_cli: bool
    changed_files: list[str]
    conflicted_files: list[str]
    exit_code: int | None = None  # the console script's; None through the library
    stdout: str = ""
    stderr: str = ""


@dataclass
class World:
    """The template versions, the hermetic user folders, and per-profile work done once."""

    root: Path
    releases: RealTemplateReleases
    data_dir_n1: Path  # mirror holding N and N+1
    data_dir_n2: Path  # mirror holding N, N+1 and N+2
    _done: dict[str, Any] = field(default_factory=dict)
    _built: set[Path] = field(default_factory=set)

    def generate(self, profile: str, dest: Path) -> Path:
        """Generate `profile` at N from the current data dir's mirror and commit team edits."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        result = new_service(
            dest,
            data={"project_name": "svc", **PROFILES[profile]},
            defaults=True,
            vcs_ref=self.releases.n,
            tidy=False,
            verify=False,
            progress=SilentProgress(),
        )
        assert result.template_version == self.releases.n
        make_team_edits(result.path, conflicting=profile == CONFLICT_PROFILE)
        return result.path

    def _once(self, key: str, make: Callable[[], T]) -> T:
        """Do `make` once per key; a failure is remembered, so later tests fail fast on it."""
        if key not in self._done:
            try:
                self._done[key] = make()
            except BaseException as error:
                self._done[key] = error
                raise
        value = self._done[key]
        if isinstance(value, BaseException):
            pytest.fail(f"{key} failed in an earlier test: {value}")
        return value  # type: ignore[no-any-return]

    def golden(self, profile: str) -> Path:
        """The profile generated at N with the team's edits committed (never updated)."""
        dest = self.root / "golden" / profile / "svc"
        return self._once(f"generating {profile}", lambda: self.generate(profile, dest))

    def copy_of_golden(self, profile: str, variant: str) -> Path:
        """A copy of the golden project (with its git history) to update in a variant."""
        dest = self.root / variant / profile / "svc"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.golden(profile), dest, symlinks=True)
        return dest

    def updated(self, profile: str) -> Updated:
        """The profile updated N -> N+1 (once), through the CLI or the library."""
        return self._once(f"updating {profile}", lambda: self._update(profile))

    def _update(self, profile: str) -> Updated:
        project = self.copy_of_golden(profile, "updated")
        if profile in CLI_PROFILES:
            completed = run_cli(["update", str(project)], cwd=self.root)
            listed = [line.strip() for line in completed.stdout.splitlines()]
            return Updated(
                profile,
                project,
                via_cli=True,
                changed_files=[line[2:] for line in listed if line[:2] in {"M ", "C "}],
                conflicted_files=[line[2:] for line in listed if line.startswith("C ")],
                exit_code=completed.returncode,
                stdout=completed.stdout,
                stderr=completed.stderr,
            )
        result = update_service(project, defaults=True, progress=SilentProgress())
        assert (result.from_version, result.to_version) == (self.releases.n, self.releases.n1)
        return Updated(
            profile,
            project,
            via_cli=False,
            changed_files=result.changed_files,
            conflicted_files=result.conflicted_files,
        )

    def build_and_vet(self, project: Path, *, profile: str) -> None:
        """`gofmt -l .` is empty; `go build ./...` and `go vet ./...` pass (once per project).

        On a failure, the same command runs on the profile's project at N (before the update)
        so the report says whether the update broke the build or the template already was.
        """
        if project in self._built:
            return
        unformatted = run(["gofmt", "-l", "."], project).stdout.split()
        assert unformatted == [], f"not gofmt-formatted after the update: {unformatted}"
        for command in (["go", "build", "./..."], ["go", "vet", "./..."]):
            completed = subprocess.run(
                command, cwd=project, env=go_env(), capture_output=True, text=True, check=False
            )
            if completed.returncode == 0:
                continue
            before = subprocess.run(
                command,
                cwd=self.golden(profile),
                env=go_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            cause = (
                f"NOT caused by the update: the template at {self.releases.n} already fails "
                f"`{' '.join(command)}` for profile {profile}"
                if before.returncode != 0
                else f"the project at {self.releases.n} passed; the update broke it"
            )
            pytest.fail(
                f"{' '.join(command)} exited {completed.returncode} in {project} ({cause})\n"
                f"{completed.stdout[-4000:]}{completed.stderr[-4000:]}"
            )
        self._built.add(project)

    def template_file(self, version: str, relative: str) -> str:
        """A raw template file at a released version."""
        return git("show", f"{version}:template/{relative}", cwd=self.releases.repo.root)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    need("git")
    need("go")
    root = tmp_path_factory.mktemp("real-template-update")
    data_dir_n1, data_dir_n2 = root / "user-data-n1", root / "user-data-n2"
    with pytest.MonkeyPatch.context() as patch:
        # Hermetic: never the real user's data folder or organisation config.
        patch.setenv(DATA_DIR_ENV, str(data_dir_n1))
        patch.setenv(CONFIG_ENV, str(root / "user-config" / "config.yml"))
        versions = release_versions(__version__)

        def cache_of(data_dir: Path) -> Path:
            with pytest.MonkeyPatch.context() as inner:
                inner.setenv(DATA_DIR_ENV, str(data_dir))
                return package_cache_path()

        def mirror(version: str, template_root: Path) -> None:
            # A package of this version would carry these files: cache them as it would.
            if version != versions[2]:
                refresh_package_cache(
                    cache_of(data_dir_n1), template_root=template_root, version=version
                )
            refresh_package_cache(
                cache_of(data_dir_n2), template_root=template_root, version=version
            )

        releases = build_real_template_releases(root / "template-repo", versions, mirror)
        yield World(root, releases, data_dir_n1, data_dir_n2)


@pytest.fixture(params=list(PROFILES))
def updated(request: pytest.FixtureRequest, world: World) -> Updated:
    return world.updated(request.param)


# --- assertions ---------------------------------------------------------------------------------


def answers_of(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def makefile_test_recipe(project: Path) -> str:
    """The `test:` target's `go test` line (past the PostgreSQL profile's note line)."""
    lines = (project / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("test:")))
    return next(line for line in lines[start + 1 :] if line.startswith("\tgo test"))


def conflict_marked_files(project: Path) -> list[str]:
    """Files with conflict-marker lines, and any .rej/.ours/.base leftovers (own scan)."""
    found = []
    for path in sorted(project.rglob("*")):
        if ".git" in path.relative_to(project).parts or not path.is_file():
            continue
        relative = path.relative_to(project).as_posix()
        if path.suffix in {".rej", ".ours", ".base"}:
            found.append(relative)
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            found.append(relative)
    return found


def assert_team_edits_kept(project: Path) -> None:
    server = project / "internal" / "server"
    assert (project / TEAM_HANDLER_FILE).read_text(encoding="utf-8") == TEAM_HANDLER_GO
    assert (project / TEAM_HANDLER_TEST_FILE).read_text(encoding="utf-8") == TEAM_HANDLER_TEST_GO
    routes = (server / "routes.go").read_text(encoding="utf-8").splitlines()
    assert routes.count(TEAM_ROUTE) == 1, "the team's route in routes.go was lost or duplicated"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == TEAM_README_TITLE
    assert (project / TEAM_EXTRA_FILE).read_text(encoding="utf-8") == TEAM_EXTRA_TEXT


def assert_migration_carried_the_team_edit(world: World, project: Path, version: str) -> None:
    """middleware.go is gone; middleware_chain.go = the template's file + the team's edit."""
    assert not (project / OLD_MIDDLEWARE).exists()
    merged = (project / NEW_MIDDLEWARE).read_text(encoding="utf-8")
    expected = world.template_file(version, NEW_MIDDLEWARE).rstrip("\n") + "\n"
    assert merged == expected + TEAM_MIDDLEWARE_SNIPPET
    leftovers = sorted(p.name for p in (project / "internal" / "server").glob("*.go.*"))
    assert leftovers == [], f"migration leftovers: {leftovers}"


def assert_next_version_arrived(world: World, updated: Updated) -> None:
    project = updated.path
    answers = answers_of(project)
    assert answers["_commit"] == world.releases.n1
    assert answers[NEW_QUESTION] == NEW_QUESTION_DEFAULT  # the new question took its default
    for key, value in PROFILES[updated.profile].items():
        assert answers[key] == value, f"answer {key} changed by the update"
    assert README_OWNER_RENDERED in (project / "README.md").read_text(encoding="utf-8")
    assert GO_CHANGE_FUNC in (project / GO_CHANGE_FILE).read_text(encoding="utf-8")
    if updated.profile != CONFLICT_PROFILE:
        assert makefile_test_recipe(project).startswith(f"\tgo test {MAKEFILE_TEST_FLAG} ")


# --- N -> N+1 for every profile ---------------------------------------------------------------


def test_update_conflicts_only_where_team_and_template_changed_the_same_line(
    updated: Updated, world: World
) -> None:
    project = updated.path
    if updated.profile == CONFLICT_PROFILE:
        assert updated.exit_code == ExitCode.CONFLICTS, updated.stdout + updated.stderr
        assert updated.conflicted_files == ["Makefile"]
        assert "conflicts remain in Makefile" in assert_one_line_error(updated.stderr)
        assert "C Makefile" in updated.stdout
        assert conflict_marked_files(project) == ["Makefile"]
        makefile = (project / "Makefile").read_text(encoding="utf-8")
        block = makefile[makefile.index(CONFLICT_START) : makefile.index(CONFLICT_END)]
        assert f"go test {TEAM_MAKEFILE_FLAG} " in block  # the team's line
        assert f"go test {MAKEFILE_TEST_FLAG} " in block  # the template's line
    else:
        assert updated.conflicted_files == []
        assert conflict_marked_files(project) == []
        if updated.via_cli:
            assert updated.exit_code == ExitCode.OK, updated.stdout + updated.stderr
    if updated.via_cli:
        releases = world.releases
        assert f"from template {releases.n} to {releases.n1}" in updated.stdout
    changed = set(updated.changed_files)
    assert changed >= EXPECTED_CHANGED, f"missing from the changes: {EXPECTED_CHANGED - changed}"
    assert changed - EXPECTED_CHANGED <= MAY_CHANGE, f"unexpected: {changed - EXPECTED_CHANGED}"
    assert not changed & TEAM_FILES, "the update touched files only the team changed"


def test_update_keeps_the_team_edits(updated: Updated) -> None:
    assert_team_edits_kept(updated.path)


def test_update_brings_the_new_question_makefile_and_go_change(
    updated: Updated, world: World
) -> None:
    assert_next_version_arrived(world, updated)


def test_rename_migration_merges_the_team_edit_into_the_renamed_file(
    updated: Updated, world: World
) -> None:
    assert_migration_carried_the_team_edit(world, updated.path, world.releases.n1)


def test_gofmt_go_build_and_vet_after_update(updated: Updated, world: World) -> None:
    world.build_and_vet(updated.path, profile=updated.profile)


def test_go_test_race_after_update(world: World) -> None:
    """The updated default project passes its tests (the PostgreSQL project's update is built
    and vetted by test_update_from_release.py; its code is the postgres profile's, whose tests
    run with -race against a real server in test_generated_build.py)."""
    env = go_env()
    project = world.updated("default").path
    argv = ["go", "test", "-race", "-count=1", *GO_TEST_PARALLEL, "./..."]
    run(argv, project, env=env, timeout=1500)


def test_check_saw_the_next_version_before_the_update(world: World) -> None:
    report = check_service(world.golden("default"))
    assert report.update_available
    assert report.latest_version == world.releases.n1


# --- plain Copier, and two versions at once ---------------------------------------------------


def test_plain_copier_update_needs_trust_then_gives_the_same_result(world: World) -> None:
    """`copier update --defaults` stops at the migration; with --trust it matches our update.

    The project records the package's template URL; plain Copier reaches it the way it would
    reach a published copy: git serves that URL from the cache goperf-scaffold filled.
    """
    project = world.copy_of_golden("default", "plain-copier")
    copier_cli = str(Path(sys.executable).parent / "copier")
    url = str(answers_of(project)["_src_path"])
    served = {
        **os.environ,
        **git_redirect_env(url, package_cache_path(), {}),
        "COPIER_CACHE_DIR": str(world.root / "plain-copier-cache"),
    }

    refused = subprocess.run(
        [copier_cli, "update", "--defaults"],
        cwd=project, env=served, capture_output=True, text=True, check=False, input="",
        timeout=600,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "unsafe" in refused.stderr.lower(), refused.stderr
    assert "migrations" in refused.stderr, refused.stderr
    assert not git("status", "--porcelain", cwd=project).strip()

    completed = subprocess.run(
        [copier_cli, "update", "--defaults", "--trust"],
        cwd=project, env=served, capture_output=True, text=True, check=False, input="",
        timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert conflict_marked_files(project) == []
    assert_team_edits_kept(project)
    assert_migration_carried_the_team_edit(world, project, world.releases.n1)
    reference = world.updated("default").path  # goperf-scaffold update of the same project

    def tree(folder: Path) -> dict[str, bytes]:
        return {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in folder.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(folder).parts
        }

    ours, theirs = tree(project), tree(reference)
    differing = {name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name)}
    assert differing <= MAY_CHANGE, f"plain copier and goperf-scaffold differ in {differing}"
    # Plain copier runs no `go mod tidy`; the project must build without it.
    world.build_and_vet(project, profile="default")


def test_update_across_two_versions_at_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """N -> N+2: the N+1 migration runs and merges with N+2's change of the renamed file."""
    monkeypatch.setenv(DATA_DIR_ENV, str(world.data_dir_n2))  # the mirror that holds N+2
    releases = world.releases
    project = world.generate("default", world.root / "two-versions" / "default" / "svc")

    result = update_service(project, defaults=True, progress=SilentProgress())

    assert (result.from_version, result.to_version) == (releases.n, releases.n2)
    assert result.conflicted_files == []
    assert conflict_marked_files(project) == []
    assert answers_of(project)[NEW_QUESTION] == NEW_QUESTION_DEFAULT
    assert_team_edits_kept(project)
    assert_migration_carried_the_team_edit(world, project, releases.n2)
    assert MIDDLEWARE_N2_COMMENT in (project / NEW_MIDDLEWARE).read_text(encoding="utf-8")
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert README_OWNER_RENDERED in readme
    assert README_SUPPORT_SECTION.strip() in readme
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert MAKEFILE_COVER_TARGET.strip() in makefile
    assert makefile_test_recipe(project).startswith(f"\tgo test {MAKEFILE_TEST_FLAG} ")
    world.build_and_vet(project, profile="default")
