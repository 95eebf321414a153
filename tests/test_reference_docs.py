"""Reference text in the README is generated from the code and never drifts from it."""

from __future__ import annotations

from scaffolder._reference import command_synopsis, exit_code_table, rewrite

from .conftest import REPO_ROOT


def test_the_readme_synopsis_and_exit_codes_are_what_the_code_says() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert rewrite(readme) == readme, (
        "README.md is stale: run `python -m scaffolder._reference README.md`"
    )
    assert command_synopsis() in readme
    assert exit_code_table() in readme


def test_every_command_is_in_the_synopsis() -> None:
    synopsis = command_synopsis()
    commands = ["new DEST", "update [PATH]", "check [PATH]", "fleet status", "fleet update"]
    commands += ["adopt PATH", "config set", "config unset", "config show", "--version"]
    for command in commands:
        assert f"goperf-scaffold {command}" in synopsis
    assert "--yes" in synopsis
