"""Strict answers: every `--data` value and folder name is either refused in one clear line with
nothing written, or recorded in .copier-answers.yml exactly as it was asked.

The rules (scaffolder/_data_args.py, scaffolder/_names.py) are checked with many Hypothesis
examples directly; the command itself with a few, each a real render of the template
(`--no-tidy --no-verify --no-git`: no Go step, a few seconds each).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Any

import jinja2
import jinja2.sandbox
import pytest
import yaml
from copier._tools import cast_to_bool
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scaffolder._data_args import (
    FALSE_WORDS,
    TRUE_WORDS,
    checked_answers,
    refuse_answers_not_recorded,
    yes_no_answer,
)
from scaffolder._names import derive_project_name
from scaffolder.cli import main
from scaffolder.errors import (
    AnswerNotAskedError,
    ExitCode,
    FolderNameNotAProjectNameError,
    FolderNameNotAsciiError,
    NotABooleanAnswerError,
    UnknownDataKeysError,
)

from ._helpers_env import assert_one_line_error, isolate_user_dirs, run_cli
from .conftest import REPO_ROOT

FAST = ["--defaults", "--no-tidy", "--no-verify"]
QUESTIONS: dict[str, dict[str, Any]] = {
    name: spec
    for name, spec in yaml.safe_load((REPO_ROOT / "copier.yml").read_text()).items()
    if not name.startswith("_")
}
YES_NO = sorted(name for name, spec in QUESTIONS.items() if spec.get("type") == "bool")
ASKED_YES_NO = [name for name in YES_NO if QUESTIONS[name].get("when") is not False]
WORDS = sorted(TRUE_WORDS | FALSE_WORDS)
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")  # copier.yml's project_name validator
# Pure functions: many examples, no deadline (the machine may be shared with a CI run).
MANY = settings(max_examples=300, deadline=None)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


def test_every_asked_yes_no_question_is_covered() -> None:
    """The questions the strict rule must hold for: a new one shows up here."""
    assert ASKED_YES_NO == ["docker", "examples", "kubernetes", "renovate"]


# --- the rules, with many examples ------------------------------------------------------------

yes_no_words = st.sampled_from(WORDS).flatmap(
    lambda word: st.sampled_from([word, word.upper(), word.capitalize(), f" {word} "])
)


@MANY
@given(word=yes_no_words)
def test_a_yes_no_word_means_what_copier_would_record(word: str) -> None:
    assert yes_no_answer("examples", word) is cast_to_bool(word)


@MANY
@given(text=st.text(max_size=8))
def test_any_other_yes_no_answer_is_refused_naming_it(text: str) -> None:
    if text.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return
    with pytest.raises(NotABooleanAnswerError) as refused:
        yes_no_answer("docker", text)
    message = str(refused.value)
    assert message.startswith("--data docker=")
    assert "docker is a yes/no question; answer true or false" in message
    assert refused.value.value == text
    assert "\n" not in message


@MANY
@given(
    data=st.dictionaries(
        st.sampled_from([*QUESTIONS, "colour", "size"]),
        st.one_of(yes_no_words, st.text(max_size=6)),
        max_size=4,
    )
)
def test_checked_answers_refuse_unknown_keys_and_turn_yes_no_answers_into_booleans(
    data: dict[str, str],
) -> None:
    unknown = sorted(set(data) - set(QUESTIONS))
    not_yes_no = [k for k in data if k in YES_NO and data[k].strip().lower() not in WORDS]
    if unknown:
        with pytest.raises(UnknownDataKeysError) as unknown_refused:
            checked_answers(data, QUESTIONS)
        assert list(unknown_refused.value.keys) == unknown
        assert "org_module_prefix" not in unknown_refused.value.questions  # never advertised
    elif not_yes_no:
        with pytest.raises(NotABooleanAnswerError) as not_yes_no_refused:
            checked_answers(data, QUESTIONS)
        assert not_yes_no_refused.value.key in not_yes_no
    else:
        checked = checked_answers(data, QUESTIONS)
        for key, value in data.items():
            expected = cast_to_bool(value) if key in YES_NO else value
            assert checked[key] == expected
            assert type(checked[key]) is type(expected)


@MANY
@given(value=yes_no_words)
def test_an_answer_copier_used_but_did_not_record_is_refused(value: str) -> None:
    recorded = {"ci": "none", "examples": True}
    with pytest.raises(AnswerNotAskedError, match=r"renovate is asked only when ci == 'github'"):
        refuse_answers_not_recorded({"ci": "none", "renovate": value}, QUESTIONS, recorded)
    refuse_answers_not_recorded({"ci": "none", "examples": value}, QUESTIONS, recorded)


@functools.cache
def _project_name_default() -> jinja2.Template:
    environment = jinja2.Environment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], autoescape=False
    )
    return environment.from_string(QUESTIONS["project_name"]["default"])


def copier_default(folder: str) -> str:
    """copier.yml's project_name default for a folder, as plain Copier renders it."""
    return _project_name_default().render(_copier_conf={"dst_path": PurePath("/x") / folder})


folder_names = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"], exclude_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda name: name not in {".", ".."})


@MANY
@given(folder=folder_names)
def test_a_folder_name_gives_copiers_project_name_or_a_refusal(folder: str) -> None:
    """The CLI and plain Copier agree: the same name, or both refuse (never `café` → `caf`)."""
    default = copier_default(folder)
    if not folder.isascii():
        with pytest.raises(FolderNameNotAsciiError) as not_ascii:
            derive_project_name(folder)
        assert not_ascii.value.folder_name == folder
        assert str(not_ascii.value).startswith("the folder name '")
        assert default == folder.lower()  # copier.yml's validator refuses it as it is
        suggestion = not_ascii.value.suggestion
        assert not suggestion or derive_project_name(suggestion) == suggestion
    elif PROJECT_NAME.match(default) and len(default) <= 63:
        assert derive_project_name(folder) == default
    else:
        with pytest.raises(FolderNameNotAProjectNameError) as no_name:
            derive_project_name(folder)
        assert no_name.value.derived == default


@functools.cache
def _validator(question: str) -> jinja2.Template:
    environment = jinja2.sandbox.SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], autoescape=False
    )
    return environment.from_string(QUESTIONS[question]["validator"])


def copier_accepts(question: str, answer: str) -> bool:
    """copier.yml's validator of `question` says nothing (accepts) for `answer`."""
    return not _validator(question).render(**{question: answer}).strip()


def near(valid: list[str], alphabet: str) -> st.SearchStrategy[str]:
    """Valid answers with a character added before or after, or any text of `alphabet`."""
    noise = st.sampled_from(["", "", "\n", " ", "-", ".", "/", "é"])
    edited = st.tuples(noise, st.sampled_from(valid), noise).map("".join)
    return st.one_of(edited, st.text(st.sampled_from(alphabet), max_size=10))


@MANY
@given(name=near(["api", "my-svc", "a1"], "ab-9_A é\n\t"))
def test_project_name_validator_accepts_only_whole_slugs(name: str) -> None:
    """A trailing newline (`$` matches before it) would become part of cmd/<name>."""
    expected = bool(re.fullmatch(r"[a-z][a-z0-9-]*", name)) and not name.endswith("-")
    assert copier_accepts("project_name", name) is expected


@MANY
@given(path=near(["example.com/x", "github.com/a/b-c", "ab"], "ab./-~ \nA"))
def test_module_path_validator_accepts_only_whole_module_paths(path: str) -> None:
    shape = re.fullmatch(r"[a-z0-9][-a-z0-9.]*[a-z0-9](/[-A-Za-z0-9._~]+)*", path)
    expected = bool(shape) and ".." not in path and not path.endswith(".")
    assert copier_accepts("module_path", path) is expected


@pytest.mark.parametrize(
    ("folder", "suggestion"),
    [("café", "cafe"), ("Crème Brûlée", "creme-brulee"), ("日本", "")],
)
def test_a_non_ascii_folder_name_is_refused_with_its_ascii_spelling(
    folder: str, suggestion: str
) -> None:
    with pytest.raises(FolderNameNotAsciiError) as refused:
        derive_project_name(folder)
    assert refused.value.suggestion == suggestion


# --- the command: the defects of issue 22 -----------------------------------------------------


def answers_of(project: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def assert_nothing_written(parent: Path, name: str) -> None:
    assert not (parent / name).exists()
    assert not [p for p in parent.iterdir() if ".goperf-scaffold-" in p.name]


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        (
            ["examples=maybe"],
            ExitCode.INVALID_ANSWER,
            "--data examples=maybe: examples is a yes/no",
        ),
        (["kubernetes=nope"], ExitCode.INVALID_ANSWER, "--data kubernetes=nope: kubernetes is"),
        (
            ["ci=none", "renovate=true"],
            ExitCode.INVALID_ANSWER,
            "--data renovate=true does not apply: renovate is asked only when ci == 'github'",
        ),
    ],
)
def test_new_refuses_what_it_would_not_record(
    tmp_path: Path, data: list[str], code: ExitCode, fragment: str
) -> None:
    args = [arg for item in data for arg in ("--data", item)]
    completed = run_cli(["new", "svc", *FAST, *args], cwd=tmp_path)
    assert completed.returncode == code, completed.stderr
    assert fragment in assert_one_line_error(completed.stderr)
    assert_nothing_written(tmp_path, "svc")


def test_new_records_yes_no_spellings_as_booleans(tmp_path: Path) -> None:
    data = ["examples=No", "docker=OFF", "kubernetes=y", "ci=none"]
    args = [arg for item in data for arg in ("--data", item)]
    completed = run_cli(["new", "svc", *FAST, "--no-git", *args], cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    answers = answers_of(tmp_path / "svc")
    assert (answers["examples"], answers["docker"], answers["kubernetes"]) == (False, False, True)
    assert "renovate" not in answers
    assert not (tmp_path / "svc" / "renovate.json").exists()


def test_new_refuses_a_non_ascii_folder_name(tmp_path: Path) -> None:
    completed = run_cli(["new", "café", *FAST], cwd=tmp_path)
    assert completed.returncode == ExitCode.INVALID_ANSWER, completed.stderr
    line = assert_one_line_error(completed.stderr)
    assert "'café' has non-ASCII characters" in line
    assert "--data project_name=NAME (such as cafe)" in line
    assert_nothing_written(tmp_path, "café")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One committed project to update (the real template, no Go step)."""
    root = tmp_path_factory.mktemp("update")
    env = {
        "GOPERF_SCAFFOLD_DATA_DIR": str(root / "user-data"),
        "GOPERF_SCAFFOLD_CONFIG": str(root / "user-config" / "config.yml"),
    }
    completed = run_cli(["new", "svc", *FAST], cwd=root, env=env)
    assert completed.returncode == 0, completed.stderr
    return root / "svc", env


@pytest.mark.parametrize(
    ("item", "code", "fragment"),
    [
        ("colour=blue", ExitCode.USAGE, "unknown --data key(s) colour; questions: ci, database"),
        ("examples=maybe", ExitCode.INVALID_ANSWER, "--data examples=maybe: examples is a yes/no"),
    ],
)
def test_update_refuses_data_the_way_new_does(
    generated: tuple[Path, dict[str, str]], item: str, code: ExitCode, fragment: str
) -> None:
    project, env = generated
    before = (project / ".copier-answers.yml").read_text()
    completed = run_cli(["update", str(project), "--data", item], cwd=project.parent, env=env)
    assert completed.returncode == code, completed.stderr
    assert fragment in assert_one_line_error(completed.stderr)
    assert (project / ".copier-answers.yml").read_text() == before


# --- the command, over generated answers and folder names -------------------------------------


def usually(valid: st.SearchStrategy[str], other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly `valid` values (so that projects do get generated), sometimes `other`."""
    return st.one_of(valid, valid, other)


answer_values: Mapping[str, st.SearchStrategy[str]] = {
    **{name: usually(yes_no_words, st.text(max_size=5)) for name in ASKED_YES_NO},
    "ci": st.sampled_from(["github", "none", "github", "none", "gitlab"]),
    "database": st.sampled_from(["sqlite", "postgres", "none", "mysql"]),
    "go_version": st.sampled_from(["1.26", "1.25", "1.24", "1.23"]),
    "gomaxprocs": st.sampled_from(["runtime", "automaxprocs", "auto"]),
    "tracing": st.sampled_from(["none", "otel", "jaeger"]),
    "project_name": near(["api", "my-svc", "no"], "abz09-_ Aé\n"),
    "module_path": near(["example.org/api", "github.com/acme/x-y"], "ab./-~ \nA"),
    "colour": st.just("red"),
}
data_items = st.lists(st.sampled_from(sorted(answer_values)), unique=True, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({key: answer_values[key] for key in keys})
)
destination_names = usually(
    st.sampled_from(["svc", "My Service", "orders_API v2", "café", "123"]), folder_names
)


@contextlib.contextmanager
def parent_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="strict-") as folder:
        yield Path(folder)


def run_new_in_process(dest: Path, data: Mapping[str, str]) -> tuple[int, str]:
    args = [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["new", str(dest), *FAST, "--no-git", *args])
    return code, stderr.getvalue()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(folder=destination_names, data=data_items)
def test_new_refuses_clearly_or_records_what_was_asked(folder: str, data: dict[str, str]) -> None:
    with parent_folder() as parent:
        code, stderr = run_new_in_process(parent / folder, data)
        event("refused" if code else "generated")
        if code != 0:
            assert code in {ExitCode.USAGE, ExitCode.INVALID_ANSWER}, stderr
            assert_one_line_error(stderr)
            assert_nothing_written(parent, folder)
            return
        answers = answers_of(parent / folder)
        for key, value in data.items():
            assert answers[key] == (yes_no_answer(key, value) if key in YES_NO else value)
        if "project_name" not in data:
            assert answers["project_name"] == copier_default(folder)  # what plain Copier gives
