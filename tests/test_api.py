"""Library API: new_service, the per-user template mirror, derived versions, hooks, check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

import scaffolder
from scaffolder import SilentProgress, check_service, new_service, update_service
from scaffolder._cache import cached_tags
from scaffolder._carried import package_cache_path, refresh_package_cache
from scaffolder._package import canonical_template_url
from scaffolder._versions import versions_from_pyproject_history
from scaffolder.errors import (
    DestinationError,
    InvalidAnswerError,
    StepFailedError,
    TemplateSourceError,
    UsageError,
)

from ._helpers_env import isolate_user_dirs, require_go
from ._helpers_template_repo import TemplateRepo, commit_all, git, init_repo
from ._helpers_tiny_template import build_tiny_template


class RecordingProgress:
    """Collects progress events as text lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def step_started(self, index: int, total: int, label: str) -> None:
        self.lines.append(f"[{index}/{total}] {label}")

    def step_finished(self, outcome: str) -> None:
        self.lines[-1] += f" … {outcome}"

    def note(self, message: str) -> None:
        self.lines.append(message)


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    if request.node.get_closest_marker("go"):
        require_go()


@pytest.fixture
def tiny_template(tmp_path: Path) -> TemplateRepo:
    return build_tiny_template(tmp_path / "tiny-template")


def answers_of(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def staging_leftovers(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir() if ".goperf-scaffold-" in entry.name]


def new_quietly(dest: Path, **options: object) -> scaffolder.NewResult:
    options.setdefault("defaults", True)
    options.setdefault("tidy", False)
    options.setdefault("verify", False)
    options.setdefault("progress", SilentProgress())
    return new_service(dest, **options)  # type: ignore[arg-type]


# --- new_service with the installed package's template -----------------------------------------


def test_new_records_the_template_url_and_the_version_tag(tmp_path: Path) -> None:
    result = new_quietly(tmp_path / "svc", git_init=False)

    answers = answers_of(result.path)
    assert answers["_src_path"] == canonical_template_url()
    assert answers["_src_path"].startswith("https://")  # never a path on this machine
    version = Version(str(answers["_commit"]))
    assert version.public == scaffolder.__version__  # a +dev.N build in a source checkout
    assert result.template_version == answers["_commit"]
    assert result.answers["project_name"] == "svc"
    assert version in cached_tags(package_cache_path())


def test_new_prints_the_template_message_with_the_final_path(tmp_path: Path) -> None:
    result = new_quietly(tmp_path / "svc", git_init=False)
    assert f"cd {tmp_path / 'svc'}" in result.message
    assert ".goperf-scaffold-" not in result.message


# --- the mirror -------------------------------------------------------------------------------


def make_template_root(root: Path, marker: str) -> Path:
    (root / "template").mkdir(parents=True)
    (root / "copier.yml").write_text("_subdirectory: template\n")
    (root / "template" / "marker.txt").write_text(marker)
    return root


def test_mirror_refresh_is_idempotent(tmp_path: Path) -> None:
    root = make_template_root(tmp_path / "carried", "a")
    mirror = tmp_path / "mirror"
    first = refresh_package_cache(mirror, template_root=root, version="1.0.0")
    second = refresh_package_cache(mirror, template_root=root, version="1.0.0")
    assert first == second == "1.0.0"
    assert len(git("log", "--format=%H", "main", cwd=mirror).split()) == 1


def test_mirror_gives_changed_content_of_the_same_version_a_dev_tag(tmp_path: Path) -> None:
    root = make_template_root(tmp_path / "carried", "a")
    mirror = tmp_path / "mirror"
    assert refresh_package_cache(mirror, template_root=root, version="1.0.0") == "1.0.0"
    (root / "template" / "marker.txt").write_text("b")  # an editable install's edit
    assert refresh_package_cache(mirror, template_root=root, version="1.0.0") == ("1.0.0+dev.1")
    assert refresh_package_cache(mirror, template_root=root, version="1.0.0") == ("1.0.0+dev.1")
    (root / "template" / "marker.txt").write_text("c")
    assert refresh_package_cache(mirror, template_root=root, version="1.0.0") == ("1.0.0+dev.2")
    # The original tag is never moved.
    assert git("show", "1.0.0:template/marker.txt", cwd=mirror) == "a"
    assert git("show", "main:template/marker.txt", cwd=mirror) == "c"


def test_mirror_adds_one_tagged_commit_per_version(tmp_path: Path) -> None:
    root = make_template_root(tmp_path / "carried", "a")
    mirror = tmp_path / "mirror"
    refresh_package_cache(mirror, template_root=root, version="1.0.0")
    refresh_package_cache(mirror, template_root=root, version="1.1.0")  # same content
    assert git("tag", "--list", cwd=mirror).split() == ["1.0.0", "1.1.0"]
    assert len(git("log", "--format=%H", "main", cwd=mirror).split()) == 2


# --- versions derived from pyproject.toml history ----------------------------------------------


def write_pyproject(repo: Path, version: str, description: str = "x") -> None:
    (repo / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "{version}"\ndescription = "{description}"\n'
    )


def test_a_version_is_the_last_commit_before_the_version_moves_on(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write_pyproject(repo, "0.1.0")
    commit_all(repo, "0.1.0 starts")
    (repo / "README.md").write_text("work\n")
    released_0_1 = commit_all(repo, "work released as 0.1.0")
    write_pyproject(repo, "0.2.0")
    commit_all(repo, "bump")
    write_pyproject(repo, "0.2.0", description="edited")
    released_0_2 = commit_all(repo, "same version, other field")
    write_pyproject(repo, "0.3.0rc1")
    head = commit_all(repo, "pre-release")

    versions = versions_from_pyproject_history(repo)

    assert [(str(version), commit) for version, commit in versions] == [
        ("0.1.0", released_0_1),
        ("0.2.0", released_0_2),
        ("0.3.0rc1", head),
    ]


def tagless_template_checkout(root: Path, tiny: TemplateRepo) -> Path:
    """A git checkout like a clone of this repository: template + pyproject.toml, no tags."""
    repo = init_repo(root)
    shutil.copytree(tiny.root, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    write_pyproject(repo, "0.1.0")
    commit_all(repo, "0.1.0")
    return repo


def test_new_from_a_tagless_checkout_uses_versions_from_history(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    source = tagless_template_checkout(tmp_path / "checkout", tiny_template)

    result = new_quietly(tmp_path / "demo", template=str(source))

    answers = answers_of(result.path)
    assert answers["_commit"] == "0.1.0"
    assert answers["_src_path"] == str(source.resolve())  # the checkout itself, not a mirror
    assert not git("tag", "--list", cwd=source).strip(), "the user's checkout gets no tags"

    (source / "README-extra.md").write_text("more\n")
    write_pyproject(source, "0.2.0")
    commit_all(source, "0.2.0")
    status = check_service(result.path)
    assert (status.current_version, status.latest_version) == ("0.1.0", "0.2.0")
    assert status.update_available

    updated = update_service(result.path, progress=SilentProgress())
    assert updated.to_version == "0.2.0"
    assert not updated.has_conflicts


# --- nothing half-written ---------------------------------------------------------------------


def test_refused_answer_leaves_no_destination(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    with pytest.raises(InvalidAnswerError, match="project_name"):
        new_quietly(tmp_path / "demo", template=str(tiny_template.root), data={"project_name": "B"})
    assert not (tmp_path / "demo").exists()
    assert staging_leftovers(tmp_path) == []


def test_unknown_data_key_leaves_no_destination(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    with pytest.raises(UsageError, match="unknown --data key"):
        new_quietly(tmp_path / "demo", template=str(tiny_template.root), data={"colour": "red"})
    assert not (tmp_path / "demo").exists()
    assert staging_leftovers(tmp_path) == []


def test_existing_non_empty_destination_is_untouched(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    dest = tmp_path / "demo"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(DestinationError, match="not empty"):
        new_quietly(dest, template=str(tiny_template.root))
    assert [entry.name for entry in dest.iterdir()] == ["keep.txt"]
    assert staging_leftovers(tmp_path) == []


def test_force_renders_into_a_non_empty_destination(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    dest = tmp_path / "demo"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    new_quietly(dest, template=str(tiny_template.root), force=True, git_init=False)
    assert (dest / "keep.txt").read_text() == "mine"
    assert (dest / "main.go").is_file()
    assert staging_leftovers(tmp_path) == []


def test_empty_existing_destination_is_used(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    dest = tmp_path / "demo"
    dest.mkdir()
    new_quietly(dest, template=str(tiny_template.root), git_init=False)
    assert (dest / "main.go").is_file()


def test_missing_parent_is_refused(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    with pytest.raises(DestinationError, match="does not exist"):
        new_quietly(tmp_path / "missing" / "demo", template=str(tiny_template.root))
    assert not (tmp_path / "missing").exists()


def test_destination_that_is_a_file_is_refused(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    (tmp_path / "demo").write_text("a file")
    with pytest.raises(DestinationError, match="not a folder"):
        new_quietly(tmp_path / "demo", template=str(tiny_template.root))


def test_unwritable_parent_is_refused(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    mounted = False
    if os.geteuid() == 0:
        # Root ignores permission bits; a read-only file system stops root too.
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(parent)], check=True)
        mounted = True
    try:
        with pytest.raises(DestinationError, match="not writable"):
            new_quietly(parent / "demo", template=str(tiny_template.root))
        assert not (parent / "demo").exists()
    finally:
        if mounted:
            subprocess.run(["umount", str(parent)], check=True)


def test_unknown_template_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateSourceError, match="unknown template source"):
        new_quietly(tmp_path / "demo", template=str(tmp_path / "nowhere"))
    assert not (tmp_path / "demo").exists()


def test_template_folder_outside_git_is_refused(tmp_path: Path) -> None:
    folder = make_template_root(tmp_path / "plain-template", "a")
    with pytest.raises(TemplateSourceError, match="not the root of a git repository"):
        new_quietly(tmp_path / "demo", template=str(folder))


def test_unknown_vcs_ref_is_refused(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    with pytest.raises(TemplateSourceError, match="unknown template revision"):
        new_quietly(tmp_path / "demo", template=str(tiny_template.root), vcs_ref="7.7.7")
    assert not (tmp_path / "demo").exists()


def test_no_terminal_means_defaults_with_a_note(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    progress = RecordingProgress()
    new_service(
        tmp_path / "demo",
        template=str(tiny_template.root),
        tidy=False,
        verify=False,
        git_init=False,
        progress=progress,
    )
    assert any("stdin is not a terminal" in line for line in progress.lines)
    assert answers_of(tmp_path / "demo")["project_name"] == "demo"


# --- post-generation steps --------------------------------------------------------------------


def test_git_step_makes_a_clean_first_commit(
    tmp_path: Path, tiny_template: TemplateRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No identity anywhere: the step must still commit, without writing any git config.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "empty-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    progress = RecordingProgress()
    result = new_quietly(tmp_path / "demo", template=str(tiny_template.root), progress=progress)

    assert git("log", "--format=%an %s", cwd=result.path).strip() == (
        "goperf-scaffold Initial commit from goperf-scaffold"
    )
    assert not git("status", "--porcelain", cwd=result.path).strip()
    assert "goperf-scaffold" not in (result.path / ".git" / "config").read_text()
    assert not (tmp_path / "empty-gitconfig").exists()
    assert any("[2/3] git init + first commit … done" in line for line in progress.lines)


def test_git_step_skips_inside_an_existing_repository(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    monorepo = init_repo(tmp_path / "monorepo")
    progress = RecordingProgress()
    result = new_quietly(monorepo / "demo", template=str(tiny_template.root), progress=progress)
    assert not (result.path / ".git").exists()
    assert any("skipped: already inside the git repository" in line for line in progress.lines)


def test_go_steps_are_skipped_with_a_note_when_go_is_missing(
    tmp_path: Path, tiny_template: TemplateRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_git = tmp_path / "bin"
    only_git.mkdir()
    git_path = shutil.which("git")
    assert git_path
    (only_git / "git").symlink_to(git_path)
    monkeypatch.setenv("PATH", str(only_git))
    progress = RecordingProgress()

    new_quietly(tmp_path / "demo", template=str(tiny_template.root), tidy=True, verify=True,
                progress=progress)  # fmt: skip

    assert "[1/3] go mod tidy … skipped: go not found on PATH; run `go mod tidy` yourself" in (
        progress.lines
    )
    assert any(
        line.startswith("[3/3] go build") and "go not found" in line for line in progress.lines
    )


@pytest.mark.go
def test_all_steps_run_on_a_buildable_project(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    progress = RecordingProgress()
    result = new_quietly(
        tmp_path / "demo", template=str(tiny_template.root), tidy=True, verify=True,
        progress=progress,
    )  # fmt: skip
    outcomes = [line for line in progress.lines if line.startswith("[")]
    assert len(outcomes) == 3
    assert all(" … done (" in line for line in outcomes), outcomes
    assert [report.status for report in result.steps] == ["done", "done", "done"]
    assert not git("status", "--porcelain", cwd=result.path).strip()


@pytest.mark.go
def test_failed_verification_keeps_the_project_and_names_the_step(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    tiny_template.write({"template/main.go": "package main\n\nfunc main() { undefinedCall() }\n"})
    tiny_template.release("1.0.1")

    with pytest.raises(StepFailedError, match=r"go build \./\.\.\.") as caught:
        new_quietly(tmp_path / "demo", template=str(tiny_template.root), verify=True)

    assert "the project was kept at" in str(caught.value)
    assert (tmp_path / "demo" / "main.go").is_file()
    assert git("log", "--oneline", cwd=tmp_path / "demo").strip()  # committed before verifying


def test_hooks_package_imports_on_its_own(tmp_path: Path) -> None:
    """hooks is a package of its own: it imports on its own (scaffolder depends on it)."""
    completed = subprocess.run(
        [sys.executable, "-c", "import hooks; print(hooks.StepOutcome('done').status)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "done"
