"""The parts of the template source design, each on its own: what is recorded for a URL, the
git redirect, 0.1.0 mirror paths recognised, a wheel's metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from copier._vcs import get_repo

from scaffolder import _package
from scaffolder._copier_session import git_redirect_env
from scaffolder._legacy import legacy_source
from scaffolder._urls import git_location, recordable

from ._helpers_env import isolate_user_dirs


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
