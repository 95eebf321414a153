"""The `goperf-scaffold` command: exit codes, one-line errors, no traceback, no half-writes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

import scaffolder
from scaffolder._package import canonical_template_url
from scaffolder.cli import build_parser, main
from scaffolder.errors import EXIT_CODE_MEANINGS, ExitCode

from ._helpers_env import (
    assert_one_line_error,
    console_script,
    isolate_user_dirs,
    require_go,
    run_cli,
)
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


def _exit_code_rows(help_text: str) -> list[str]:
    """The rows of the `exit codes:` section of a --help (code, then meaning)."""
    section = help_text.split("exit codes:\n", 1)[1]
    return [row for row in section.splitlines() if re.match(r"^  \d+ +\S", row)]


def test_the_top_level_help_has_the_whole_exit_code_table(tmp_path: Path) -> None:
    completed = run_cli(["--help"], cwd=tmp_path)
    assert completed.returncode == 0
    rows = _exit_code_rows(completed.stdout)
    assert rows == [f"  {int(code):<4}{meaning}" for code, meaning in EXIT_CODE_MEANINGS.items()]


@pytest.mark.parametrize(
    ("verb", "codes"),
    [
        ("new", [0, 2, 3, 4, 5, 6, 11, 130]),
        ("update", [0, 2, 3, 5, 6, 7, 8, 9, 130]),
        ("check", [0, 2, 5, 7, 10, 130]),
        ("diff", [0, 1, 2, 5, 7, 13, 130]),
        ("fleet status", [0, 2, 10, 12, 130]),
        ("fleet update", [0, 2, 5, 12, 130]),
        ("adopt", [0, 2, 3, 5, 7, 9, 130]),
        ("config", [0, 2, 11, 130]),
    ],
)
def test_each_verb_help_names_only_its_exit_codes(
    tmp_path: Path, verb: str, codes: list[int]
) -> None:
    completed = run_cli([*verb.split(), "--help"], cwd=tmp_path)
    assert completed.returncode == 0
    assert completed.stdout.count("exit codes:") == 1
    rows = _exit_code_rows(completed.stdout)
    assert [int(row.split()[0]) for row in rows] == codes
    for row in rows:  # in the words of the whole table
        code = ExitCode(int(row.split()[0]))
        assert row == f"  {int(code):<4}{EXIT_CODE_MEANINGS[code]}"
    assert "every code: `goperf-scaffold --help`)" in completed.stdout


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


@pytest.mark.parametrize("source", ["copier.yml", "fallback"])
def test_the_next_steps_cd_line_is_shell_quoted(
    tmp_path: Path, tiny_template: TemplateRepo, source: str
) -> None:
    """copier.yml's `_message_after_copy` and the CLI's fallback (the tiny template has no
    message) both print a `cd` line that a shell runs as is, spaces and quotes included."""
    dest = tmp_path / 'it\'s my "svc"'
    template = [] if source == "copier.yml" else ["--template", str(tiny_template.root)]
    completed = run_cli(["new", dest.name, "--defaults", "--no-git", *FAST, *template],
                        cwd=tmp_path)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert ("make db-up" in completed.stdout or "# run the tests" in completed.stdout) == (
        source == "copier.yml"
    )
    cd_line = next(line for line in completed.stdout.splitlines() if "cd " in line).strip()
    assert shlex.split(cd_line) == ["cd", str(dest)], cd_line
    shell = subprocess.run(["sh", "-c", f"{cd_line} && pwd"], cwd="/", capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert shell.stdout.strip() == str(dest), shell.stderr


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


@pytest.mark.parametrize(
    "case",
    [
        ("verify_build", " and committed", "go build ./... + go vet ./..."),
        ("git_init_and_commit", ", not committed",
         "git init + first commit, go build ./... + go vet ./..."),
    ],
    ids=["during-verify", "during-git"],
)  # fmt: skip
def test_ctrl_c_during_the_steps_says_what_state_the_project_is_in(
    tmp_path: Path,
    tiny_template: TemplateRepo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str, str],
) -> None:
    interrupted, state, not_run = case

    def ctrl_c(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(f"scaffolder._new.{interrupted}", ctrl_c)
    dest = tmp_path / "my demo"
    code = main(["new", str(dest), "--template", str(tiny_template.root), "--defaults",
                 "--no-tidy"])  # fmt: skip

    captured = capsys.readouterr()
    assert code == ExitCode.INTERRUPTED
    error = assert_one_line_error(captured.err)
    assert error.startswith("goperf-scaffold: error: interrupted during step '"), error
    assert f"the project was kept at {dest}{state}" in error
    assert f"not run: {not_run};" in error
    assert error.endswith(f"to finish: cd '{dest}' && make race"), error
    assert "… interrupted" in captured.err  # the progress line ends
    assert (dest / ".copier-answers.yml").is_file()
    assert (dest / ".git").is_dir() == (interrupted == "verify_build")


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
        (["config", "set", "tracing", "jaeger"], "bad value 'jaeger' for tracing"),
        (["config", "set", "gomaxprocs", "4"], "bad value '4' for gomaxprocs"),
        (["config", "set", "renovate", "maybe"], "renovate"),
        (["config", "unset", "colour"], "unknown config key 'colour'"),
    ],
)
def test_config_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    completed = run_cli(args, cwd=tmp_path)
    assert completed.returncode == ExitCode.ORG_CONFIG
    assert fragment in assert_one_line_error(completed.stderr)


def test_config_sets_tracing_gomaxprocs_and_renovate_for_new(tmp_path: Path) -> None:
    for key, value in [("tracing", "otel"), ("gomaxprocs", "automaxprocs"), ("renovate", "no")]:
        completed = run_cli(["config", "set", key, value], cwd=tmp_path)
        assert completed.returncode == 0, completed.stderr
    shown = run_cli(["config", "show"], cwd=tmp_path).stdout
    for line in ["tracing: otel", "gomaxprocs: automaxprocs", "renovate: false"]:
        assert re.search(rf"^{line}$", shown, re.MULTILINE), shown

    made = run_cli(["new", "svc", "--defaults", "--no-git", *FAST], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text())
    assert answers["ci"] == "github"  # where renovate is asked: the org's false wins
    assert (answers["tracing"], answers["gomaxprocs"], answers["renovate"]) == (
        "otel",
        "automaxprocs",
        False,
    )
    assert not (tmp_path / "svc" / "renovate.json").exists()


def test_config_renovate_true_adds_nothing_to_a_project_without_github_ci(tmp_path: Path) -> None:
    assert run_cli(["config", "set", "renovate", "true"], cwd=tmp_path).returncode == 0
    made = run_cli(["new", "svc", "--defaults", "--no-git", "--data", "ci=none", *FAST],
                   cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert not (tmp_path / "svc" / "renovate.json").exists()


def test_config_help_prints_where_the_file_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overridden = run_cli(["config", "--help"], cwd=tmp_path)
    assert str(tmp_path / "user-config" / "config.yml") in " ".join(overridden.stdout.split())
    # Without the override: the platform's user config folder (platformdirs; XDG on Linux).
    monkeypatch.delenv("GOPERF_SCAFFOLD_CONFIG")
    platform = run_cli(["config", "--help"], cwd=tmp_path,
                       env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})  # fmt: skip
    assert platform.returncode == 0
    expected = tmp_path / "xdg" / "goperf-scaffold" / "config.yml"
    assert f"The file: {expected} " in " ".join(platform.stdout.split())
    assert "GOPERF_SCAFFOLD_CONFIG names another file" in " ".join(platform.stdout.split())


def test_check_outside_a_project(tmp_path: Path) -> None:
    completed = run_cli(["check", str(tmp_path)], cwd=tmp_path)
    assert completed.returncode == ExitCode.NOT_UPDATABLE
    assert "no .copier-answers.yml" in assert_one_line_error(completed.stderr)


# --- a closed pipe (`new … | head -3`) ---------------------------------------------------------


@pytest.mark.parametrize("stderr_too", [False, True], ids=["stdout", "stdout-and-stderr"])
def test_a_closed_pipe_finishes_the_steps_and_exits_0(
    tmp_path: Path, tiny_template: TemplateRepo, stderr_too: bool
) -> None:
    """The reader is gone before the first line (read end closed): every write gets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = subprocess.run(
            [console_script(), "new", "demo", "--defaults", "--no-tidy", "--no-verify",
             "--template", str(tiny_template.root)],
            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=write_end,
            stderr=write_end if stderr_too else subprocess.PIPE,
            text=True, check=False, timeout=300,
        )  # fmt: skip
    finally:
        os.close(write_end)

    assert completed.returncode == 0, completed.stderr
    if not stderr_too:
        assert "Traceback" not in completed.stderr
        assert "Exception ignored" not in completed.stderr
        assert "error:" not in completed.stderr
        assert "[2/3] git init + first commit … done" in completed.stderr
    project = tmp_path / "demo"
    assert (project / ".git").is_dir()
    assert git("log", "--format=%s", cwd=project).strip() == "Initial commit from goperf-scaffold"
    assert git("status", "--porcelain", cwd=project) == ""
