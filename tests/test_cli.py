"""The `goperf-scaffold` command: exit codes, one-line errors, no traceback, no half-writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

import scaffolder
from scaffolder._package import canonical_template_url
from scaffolder.cli import build_parser, main
from scaffolder.errors import EXIT_CODE_MEANINGS, ExitCode

from ._helpers_env import assert_one_line_error, isolate_user_dirs, require_go, run_cli
from ._helpers_template_repo import TemplateRepo, git
from ._helpers_tiny_template import build_tiny_template
from .conftest import REPO_ROOT

FAST = ["--no-tidy", "--no-verify"]


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if request.node.get_closest_marker("go"):
        require_go()
    isolate_user_dirs(monkeypatch, tmp_path)


@pytest.fixture
def tiny_template(tmp_path: Path) -> TemplateRepo:
    return build_tiny_template(tmp_path / "tiny-template")


def test_version(tmp_path: Path) -> None:
    completed = run_cli(["--version"], cwd=tmp_path)
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"goperf-scaffold {scaffolder.__version__}"


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    completed = run_cli(["new", "--help"], cwd=tmp_path)
    assert completed.returncode == 0
    assert "exit codes:" in completed.stdout
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"  {int(code):<4}{meaning}" in completed.stdout


def test_new_help_lists_every_answer_key_with_its_choices_and_default(tmp_path: Path) -> None:
    completed = run_cli(["new", "--help"], cwd=tmp_path)
    assert completed.returncode == 0
    help_text = completed.stdout
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    asked = {
        name: spec
        for name, spec in questions.items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("when") is not False
    }
    assert asked, "copier.yml has questions"
    for name, spec in asked.items():
        line = next((row for row in help_text.splitlines() if row.startswith(f"  {name} ")), "")
        assert line, f"`new --help` does not list the answer key {name}"
        choices = spec.get("choices")
        for choice in choices.values() if isinstance(choices, dict) else choices or []:
            assert str(choice) in line, f"{name}: choice {choice} missing from {line!r}"
        assert "default: " in line
    # In the words of the command line, not of the Python API.
    assert "defaults=True" not in help_text
    assert "StepFailedError" not in help_text


def test_every_verb_and_option_has_help(tmp_path: Path) -> None:
    parser = build_parser()
    actions = [parser]
    while actions:
        current = actions.pop()
        for action in current._actions:
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):  # a sub-command table
                actions.extend(choices.values())
                continue
            if action.dest in {"help", "version"}:
                continue
            assert action.help, f"{current.prog}: {'/'.join(action.option_strings) or action.dest}"
        assert current.description or current is parser, f"{current.prog} has no description"


def test_new_with_the_installed_template(tmp_path: Path) -> None:
    completed = run_cli(["new", "svc", "--defaults", *FAST], cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert f"cd {tmp_path / 'svc'}" in completed.stdout
    assert "[2/3] git init + first commit … done" in completed.stderr
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    # The installed version, or a development build of it (+dev.N) in a source checkout.
    assert Version(answers["_commit"]).public == scaffolder.__version__
    assert answers["_src_path"] == canonical_template_url()


def test_new_in_process(
    tmp_path: Path, tiny_template: TemplateRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["new", str(tmp_path / "demo"), "--template", str(tiny_template.root),
                 "--defaults", "--data", "module_path=example.org/demo", *FAST])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Your service is ready" in captured.out
    answers = yaml.safe_load((tmp_path / "demo" / ".copier-answers.yml").read_text())
    assert answers["module_path"] == "example.org/demo"
    assert answers["_commit"] == "1.0.0"


@pytest.mark.parametrize(
    ("extra", "code", "fragment"),
    [
        (["--data", "project_name=Bad_Name"], ExitCode.INVALID_ANSWER, "project_name must match"),
        (["--data", "module_path=has space"], ExitCode.INVALID_ANSWER, "module_path must be"),
        (["--data", "database=mysql"], ExitCode.INVALID_ANSWER, "Invalid choice for 'database'"),
        (["--data", "project_name"], ExitCode.USAGE, "malformed --data 'project_name'"),
        (["--data", "colour=red"], ExitCode.USAGE, "unknown --data key(s) colour"),
        (["--template", "/no/such/template"], ExitCode.TEMPLATE_SOURCE, "unknown template"),
        (["--vcs-ref", "0.0.0-nope"], ExitCode.TEMPLATE_SOURCE, "unknown template revision"),
        (["--bogus-flag"], ExitCode.USAGE, "unrecognized arguments"),
    ],
)
def test_new_bad_input_is_one_line_and_leaves_nothing(
    tmp_path: Path, extra: list[str], code: ExitCode, fragment: str
) -> None:
    completed = run_cli(["new", "svc", "--defaults", *FAST, *extra], cwd=tmp_path)

    assert completed.returncode == code, completed.stderr
    assert fragment in assert_one_line_error(completed.stderr)
    assert not (tmp_path / "svc").exists()
    assert not [p for p in tmp_path.iterdir() if ".goperf-scaffold-" in p.name]


def test_new_refuses_an_existing_destination_then_force_works(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")

    refused = run_cli(["new", "svc", "--defaults", *FAST], cwd=tmp_path)
    assert refused.returncode == ExitCode.DESTINATION
    assert "exists and is not empty (use --force" in assert_one_line_error(refused.stderr)
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]

    forced = run_cli(["new", "svc", "--defaults", "--force", *FAST], cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (dest / "notes.txt").read_text() == "mine"
    assert (dest / ".copier-answers.yml").is_file()
    # The first commit holds the generated files only; the user's file stays untracked.
    committed = git("ls-files", cwd=dest).split()
    assert "notes.txt" not in committed
    assert ".copier-answers.yml" in committed
    assert git("status", "--porcelain", cwd=dest).split() == ["??", "notes.txt"]
    assert "left out of the commit: notes.txt" in forced.stderr


def test_force_never_overwrites_silently(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    dest.mkdir()
    (dest / "README.md").write_text("our readme\n")

    refused = run_cli(["new", "svc", "--defaults", "--force", *FAST], cwd=tmp_path)
    assert refused.returncode == ExitCode.DESTINATION
    message = assert_one_line_error(refused.stderr)
    assert "refusing to overwrite 1 existing file(s)" in message
    assert "README.md" in message
    assert "--yes" in message
    assert [p.name for p in dest.iterdir()] == ["README.md"]  # nothing written
    assert (dest / "README.md").read_text() == "our readme\n"
    assert not [p for p in tmp_path.iterdir() if ".goperf-scaffold-" in p.name]

    confirmed = run_cli(["new", "svc", "--defaults", "--force", "--yes", *FAST], cwd=tmp_path)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "overwrote 1 file(s): README.md" in confirmed.stderr
    assert (dest / "README.md").read_text() != "our readme\n"

    lone_yes = run_cli(["new", "other", "--defaults", "--yes", *FAST], cwd=tmp_path)
    assert lone_yes.returncode == ExitCode.USAGE
    assert "--yes only confirms --force" in assert_one_line_error(lone_yes.stderr)


@pytest.mark.parametrize(
    ("dest", "fragment"),
    [
        ("", "DEST is empty"),
        ("1abc", "'1abc'"),
        ("123", "'123'"),
    ],
)
def test_destinations_that_give_no_project_name_are_refused(
    tmp_path: Path, dest: str, fragment: str
) -> None:
    completed = run_cli(["new", dest, "--defaults", *FAST], cwd=tmp_path)
    assert completed.returncode in {ExitCode.DESTINATION, ExitCode.INVALID_ANSWER}
    assert fragment in assert_one_line_error(completed.stderr)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("user-")] == []


def test_the_derived_project_name_is_printed(tmp_path: Path) -> None:
    completed = run_cli(["new", "My Service", "--defaults", "--no-git", *FAST], cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "project_name: my-service (from the folder name 'My Service')" in completed.stderr
    assert (tmp_path / "My Service" / "cmd" / "my-service" / "main.go").is_file()


def test_new_refuses_a_missing_parent(tmp_path: Path) -> None:
    completed = run_cli(["new", "no/such/parent/svc", "--defaults"], cwd=tmp_path)
    assert completed.returncode == ExitCode.DESTINATION
    assert "does not exist" in assert_one_line_error(completed.stderr)


def test_no_terminal_without_defaults_uses_defaults_and_says_so(tmp_path: Path) -> None:
    completed = run_cli(["new", "svc", *FAST, "--no-git"], cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "stdin is not a terminal" in completed.stderr


def test_missing_command_is_a_usage_error(tmp_path: Path) -> None:
    completed = run_cli([], cwd=tmp_path)
    assert completed.returncode == ExitCode.USAGE
    assert_one_line_error(completed.stderr)


@pytest.mark.go
def test_failed_verification_exit_code_and_kept_project(
    tmp_path: Path, tiny_template: TemplateRepo
) -> None:
    tiny_template.write({"template/main.go": "package main\n\nfunc main() { undefinedCall() }\n"})
    tiny_template.release("1.0.1")

    completed = run_cli(["new", "demo", "--defaults", "--template", str(tiny_template.root)],
                        cwd=tmp_path)  # fmt: skip

    assert completed.returncode == ExitCode.STEP_FAILED
    error = assert_one_line_error(completed.stderr)
    assert "step 'go build ./...' failed" in error
    assert f"the project was kept at {tmp_path / 'demo'}" in error
    assert "[3/3] go build ./... + go vet ./... … failed" in completed.stderr
    assert (tmp_path / "demo" / "main.go").is_file()


# --- config -----------------------------------------------------------------------------------


def test_config_round_trip_keeps_comments(tmp_path: Path) -> None:
    config = tmp_path / "user-config" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text("# team defaults\nci: none  # we use another CI\n")

    assert (
        run_cli(["config", "set", "module_prefix", "github.com/acme"], cwd=tmp_path).returncode == 0
    )
    assert run_cli(["config", "set", "docker", "off"], cwd=tmp_path).returncode == 0
    shown = run_cli(["config", "show"], cwd=tmp_path)
    assert shown.returncode == 0
    assert "# team defaults" in shown.stdout
    assert "ci: none  # we use another CI" in shown.stdout
    assert re.search(r"^module_prefix: github.com/acme$", shown.stdout, re.MULTILINE)
    assert re.search(r"^docker: false$", shown.stdout, re.MULTILINE)

    unset = run_cli(["config", "unset", "docker"], cwd=tmp_path)
    assert unset.returncode == 0
    assert "docker" not in config.read_text()

    made = run_cli(["new", "svc", "--defaults", "--no-git", *FAST], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    assert answers["module_path"] == "github.com/acme/svc"
    assert answers["ci"] == "none"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["config", "set", "colour", "red"], "unknown config key 'colour'"),
        (["config", "set", "database", "mysql"], "bad value 'mysql' for database"),
        (["config", "unset", "colour"], "unknown config key 'colour'"),
    ],
)
def test_config_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    completed = run_cli(args, cwd=tmp_path)
    assert completed.returncode == ExitCode.ORG_CONFIG
    assert fragment in assert_one_line_error(completed.stderr)


def test_check_outside_a_project(tmp_path: Path) -> None:
    completed = run_cli(["check", str(tmp_path)], cwd=tmp_path)
    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert "no .copier-answers.yml" in assert_one_line_error(completed.stderr)
