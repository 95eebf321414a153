"""Every question of copier.yml through real Copier: validators, choices, `when:` rules, defaults.

Renders only the answers file (all other template files are excluded) from a plain copy of the
template, so these tests check copier.yml and never depend on the Go code being complete.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from .conftest import REPO_ROOT

ONLY_ANSWERS = ["*", "!.copier-answers.yml"]


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """copier.yml, template/ and includes/ copied out of the work tree (no git: plain render)."""
    root = tmp_path_factory.mktemp("template")
    for name in ("copier.yml", "template", "includes"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.is_file():
            shutil.copy2(source, root / name)
    return root


def render_answers(
    template: Path, dest: Path, data: dict[str, Any] | None = None, **options: Any
) -> dict[str, Any]:
    """All answers (asked and computed) Copier settles on, without writing any Go file."""
    worker = copier.run_copy(
        str(template),
        dest,
        data=data or {},
        defaults=True,
        quiet=True,
        exclude=ONLY_ANSWERS,
        **options,
    )
    return {key: value for key, value in worker.answers.combined.items() if not callable(value)}


def refused(template: Path, dest: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ValueError, match=r"Validation error|Invalid choice") as caught:
        render_answers(template, dest, data)
    assert not dest.exists(), "a refused answer must leave nothing behind"
    return str(caught.value)


# --- project_name -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["svc", "a", "my-service-2", "x" * 63])
def test_project_name_accepts_slugs(template_copy: Path, tmp_path: Path, name: str) -> None:
    assert (
        render_answers(template_copy, tmp_path / "out", {"project_name": name})["project_name"]
        == name
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Bad", "must match"),
        ("1svc", "must match"),
        ("my_service", "must match"),
        ("my service", "must match"),
        ("svc-", "must not end with '-'"),
        ("x" * 64, "at most 63"),
    ],
)
def test_project_name_refuses_non_slugs(
    template_copy: Path, tmp_path: Path, name: str, reason: str
) -> None:
    message = refused(template_copy, tmp_path / "out", {"project_name": name})
    assert "project_name" in message
    assert reason in message


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("my-service", "my-service"), ("My_Service", "my-service"), ("--Api--v2", "api-v2")],
)
def test_project_name_defaults_to_the_slugged_folder_name(
    template_copy: Path, tmp_path: Path, folder: str, expected: str
) -> None:
    assert render_answers(template_copy, tmp_path / folder)["project_name"] == expected


def test_a_folder_name_that_gives_no_valid_project_name_is_refused(
    template_copy: Path, tmp_path: Path
) -> None:
    """The default keeps what was typed (no silent dropping of a leading digit), so the validator
    names it; scaffolder/_names.py refuses the same folder before Copier runs."""
    message = refused(template_copy, tmp_path / "2fast-API", {})
    assert "'2fast-api'" in message


# --- module_path ------------------------------------------------------------------------------


def test_module_path_defaults_to_example_com(template_copy: Path, tmp_path: Path) -> None:
    answers = render_answers(template_copy, tmp_path / "svc")
    assert answers["module_path"] == "example.com/svc"


def test_module_path_default_uses_the_org_prefix(template_copy: Path, tmp_path: Path) -> None:
    answers = render_answers(
        template_copy, tmp_path / "svc", {"org_module_prefix": "github.com/acme"}
    )
    assert answers["module_path"] == "github.com/acme/svc"


@pytest.mark.parametrize(
    "path", ["example.com/svc", "github.com/acme/team/svc", "go.acme.io/x/y_z", "localhost/svc"]
)
def test_module_path_accepts_go_module_paths(
    template_copy: Path, tmp_path: Path, path: str
) -> None:
    assert (
        render_answers(template_copy, tmp_path / "svc", {"module_path": path})["module_path"]
        == path
    )


@pytest.mark.parametrize(
    "path",
    ["bad path", "Example.com/svc", "example..com/svc", "example.com/", "-x.com/svc", "/svc"],
)
def test_module_path_refuses_malformed_paths(
    template_copy: Path, tmp_path: Path, path: str
) -> None:
    assert "module_path" in refused(template_copy, tmp_path / "svc", {"module_path": path})


# --- choices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("go_version", "1.24"),
        ("go_version", "1.25"),
        ("go_version", "1.26"),
        ("database", "sqlite"),
        ("database", "postgres"),
        ("database", "none"),
        ("ci", "github"),
        ("ci", "none"),
        ("tracing", "none"),
        ("tracing", "otel"),
    ],
)
def test_choice_questions_accept_their_choices(
    template_copy: Path, tmp_path: Path, question: str, value: str
) -> None:
    assert render_answers(template_copy, tmp_path / "svc", {question: value})[question] == value


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("go_version", "1.23"),
        ("go_version", "1.27"),
        ("database", "mysql"),
        ("ci", "gitlab"),
        ("tracing", "jaeger"),
    ],
)
def test_choice_questions_refuse_unknown_values(
    template_copy: Path, tmp_path: Path, question: str, value: str
) -> None:
    message = refused(template_copy, tmp_path / "svc", {question: value})
    assert f"Invalid choice for '{question}'" in message


def test_defaults_match_the_documented_interface(template_copy: Path, tmp_path: Path) -> None:
    answers = render_answers(template_copy, tmp_path / "svc")
    assert answers["go_version"] == "1.26"
    assert answers["database"] == "sqlite"
    assert answers["gomaxprocs"] == "runtime"
    assert answers["ci"] == "github"
    assert answers["tracing"] == "none"
    assert answers["examples"] is True
    assert answers["docker"] is True
    assert answers["kubernetes"] is True


# --- booleans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["examples", "docker", "kubernetes"])
@pytest.mark.parametrize(("text", "expected"), [("false", False), ("true", True), ("no", False)])
def test_bool_questions_cast_text_answers(
    template_copy: Path, tmp_path: Path, question: str, text: str, expected: bool
) -> None:
    assert render_answers(template_copy, tmp_path / "svc", {question: text})[question] is expected


# --- gomaxprocs: `when:` rule and validator ---------------------------------------------------


@pytest.mark.parametrize("go_version", ["1.25", "1.26"])
@pytest.mark.parametrize("choice", ["runtime", "automaxprocs"])
def test_gomaxprocs_is_a_free_choice_from_go_1_25(
    template_copy: Path, tmp_path: Path, go_version: str, choice: str
) -> None:
    answers = render_answers(
        template_copy, tmp_path / "svc", {"go_version": go_version, "gomaxprocs": choice}
    )
    assert answers["gomaxprocs"] == choice
    assert answers["use_automaxprocs"] is (choice == "automaxprocs")


def test_go_1_24_forces_automaxprocs_without_asking(template_copy: Path, tmp_path: Path) -> None:
    answers = render_answers(template_copy, tmp_path / "svc", {"go_version": "1.24"})
    assert answers["gomaxprocs"] == "automaxprocs"
    assert answers["use_automaxprocs"] is True


def test_go_1_24_refuses_runtime_gomaxprocs(template_copy: Path, tmp_path: Path) -> None:
    message = refused(
        template_copy, tmp_path / "svc", {"go_version": "1.24", "gomaxprocs": "runtime"}
    )
    assert "needs Go 1.25" in message


def test_gomaxprocs_refuses_unknown_choice(template_copy: Path, tmp_path: Path) -> None:
    assert "gomaxprocs" in refused(template_copy, tmp_path / "svc", {"gomaxprocs": "manual"})


# --- computed values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"go_version": "1.26", "database": "sqlite"}, "go1.26-sqlite-runtime"),
        ({"go_version": "1.25", "database": "postgres"}, "go1.25-postgres-runtime"),
        ({"go_version": "1.24", "database": "none"}, "go1.24-none-automaxprocs"),
        (
            {"go_version": "1.26", "database": "none", "gomaxprocs": "automaxprocs"},
            "go1.26-none-automaxprocs",
        ),
        ({"database": "postgres", "tracing": "otel"}, "go1.26-postgres-runtime-otel"),
        ({"go_version": "1.24", "tracing": "otel"}, "go1.24-sqlite-automaxprocs-otel"),
    ],
)
def test_go_deps_key_names_the_dependency_set(
    template_copy: Path, tmp_path: Path, data: dict[str, str], key: str
) -> None:
    assert render_answers(template_copy, tmp_path / "svc", data)["go_deps_key"] == key


def test_answers_file_records_asked_questions_only(template_copy: Path, tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    render_answers(template_copy, dest, {"org_module_prefix": "github.com/acme"})
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["module_path"] == "github.com/acme/svc"
    for computed in ("org_module_prefix", "use_automaxprocs", "go_deps_key"):
        assert computed not in recorded
    for asked in (
        "project_name",
        "module_path",
        "go_version",
        "database",
        "gomaxprocs",
        "ci",
        "tracing",
    ):
        assert asked in recorded


def test_go_1_24_answers_file_omits_the_unasked_gomaxprocs(
    template_copy: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "svc"
    render_answers(template_copy, dest, {"go_version": "1.24"})
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert "gomaxprocs" not in recorded


def test_every_question_has_a_default(template_copy: Path) -> None:
    """`--defaults` and every `copier update` rely on it (docs/updating.md rule 1)."""
    config = yaml.safe_load((template_copy / "copier.yml").read_text(encoding="utf-8"))
    questions = {key: spec for key, spec in config.items() if not key.startswith("_")}
    assert questions
    for name, spec in questions.items():
        assert isinstance(spec, dict), name
        assert "default" in spec, f"question {name} has no default"


def test_template_is_safe_without_trust(template_copy: Path) -> None:
    """No `_tasks` or `_jinja_extensions`: plain `copier copy` needs no --trust."""
    config = yaml.safe_load((template_copy / "copier.yml").read_text(encoding="utf-8"))
    assert "_tasks" not in config
    assert "_jinja_extensions" not in config
