"""The parts of the template source design, each on its own: what is recorded for a URL, the
git redirect, release commits derived from history, and 0.1.0 mirror paths recognised."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from _helpers_env import isolate_user_dirs
from _helpers_template_repo import commit_all, git, init_repo
from copier._vcs import get_repo

from scaffolder import _package
from scaffolder._copier_session import git_redirect_env
from scaffolder._legacy import legacy_source
from scaffolder._urls import git_location, recordable
from scaffolder._versions import release_commits


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://github.com/acme/template.git", "https://github.com/acme/template.git"),
        ("https://github.com/acme/template", "https://github.com/acme/template"),
        ("https://git.example.com/platform/template.git", "https://git.example.com/platform/template.git"),
        ("https://git.example.com/platform/template", "git+https://git.example.com/platform/template"),
        ("file:///srv/git/template.git", "file:///srv/git/template.git"),
        ("file:///srv/git/template", "git+file:///srv/git/template"),
        ("ssh://git@git.example.com/platform/template", "git+ssh://git@git.example.com/platform/template"),
        ("git@git.example.com:platform/template", "git@git.example.com:platform/template"),
        ("git://127.0.0.1:9418/template", "git://127.0.0.1:9418/template"),
    ],
)  # fmt: skip
def test_recorded_url_is_one_copier_reads_as_git_and_hands_git_unchanged(
    url: str, recorded: str
) -> None:
    assert recordable(url) == recorded
    # What Copier hands git is what the redirect must match (copier._vcs.get_repo).
    assert get_repo(recorded) == git_location(recorded)
    assert git_location(recorded).removesuffix(".git") == url.removesuffix(".git")


def test_redirect_comes_after_the_users_own_git_config_entries() -> None:
    users = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.x", "GIT_CONFIG_VALUE_0": "y"}
    redirect = git_redirect_env("https://git.example.com/t.git", Path("/cache/t.git"), users)
    assert redirect == {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_1": "url./cache/t.git.insteadOf",
        "GIT_CONFIG_VALUE_1": "https://git.example.com/t.git",
    }


def write(repo: Path, version: str, changelog: str | None = None, note: str = "") -> str:
    (repo / "pyproject.toml").write_text(f'[project]\nname = "t"\nversion = "{version}"\n')
    if changelog is not None:
        (repo / "CHANGELOG.md").write_text(changelog)
    (repo / "work.txt").write_text(note)
    return commit_all(repo, f"{version} {note}")


def test_release_is_the_last_changelog_write_before_the_next_version(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    write(repo, "0.1.0", note="skeleton")  # 0.1.0 is the version from the first commit on
    write(repo, "0.1.0", "# Changelog\n\n## 0.1.0\n\n- draft\n", note="early draft")
    released = write(repo, "0.1.0", "# Changelog\n\n## 0.1.0\n\n- final\n", note="release")
    write(repo, "0.1.0", note="after the release, before the next bump")
    bumped = write(repo, "0.2.0", note="bump, no changelog yet")
    changelog = "# Changelog\n\n## 0.2.0\n\n- two\n\n## 0.1.0\n\n- final, typo fixed\n"
    second = write(repo, "0.2.0", changelog, note="release 0.2.0")
    write(repo, "0.3.0", note="bump, never released")
    third = git("rev-parse", "HEAD", cwd=repo).strip()

    releases = [(str(version), commit) for version, commit in release_commits(repo)]

    assert releases == [("0.1.0", released), ("0.2.0", second), ("0.3.0", third)]
    assert bumped != second


def test_0_1_0_mirror_paths_are_recognised_by_their_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)
    gone = "/home/alice/.local/share/goperf-scaffold/template"
    legacy = legacy_source(gone)
    assert legacy is not None
    assert legacy.kind == "package mirror"
    clone = legacy_source("/home/alice/.local/share/goperf-scaffold/sources/tpl-0123456789ab")
    assert clone is not None
    assert (clone.kind, clone.origin) == ("checkout mirror", None)
    for other in ("https://git.example.com/t.git", "/srv/templates/template", str(tmp_path)):
        assert legacy_source(other) is None


def test_a_wheel_reads_version_and_template_url_from_its_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed from a wheel there is no pyproject.toml: the package metadata says it all."""
    checkout = _package.source_checkout()
    assert checkout is not None, "the suite runs from a source checkout"
    declared = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    monkeypatch.setattr(_package, "source_checkout", lambda: None)
    assert _package.installed_version.__wrapped__() == declared["version"]
    assert _package.canonical_template_url.__wrapped__() == declared["urls"]["Template"]
