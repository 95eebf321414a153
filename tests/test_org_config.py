"""Organisation defaults: round-trip editing that keeps comments, checks, and their use by `new`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scaffolder import (
    SilentProgress,
    new_service,
    org_config_path,
    read_org_config,
    set_org_config_value,
    unset_org_config_value,
)
from scaffolder._org_config import org_defaults_for_new
from scaffolder.errors import ExitCode, OrgConfigError

from ._helpers_env import isolate_user_dirs
from ._helpers_template_repo import TemplateRepo
from ._helpers_tiny_template import build_tiny_template

HAND_WRITTEN = """\
# ACME platform team defaults -- owned by #platform
module_prefix: github.com/acme   # all services live here

# Postgres everywhere since 2025
database: postgres
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_user_dirs(monkeypatch, tmp_path)


@pytest.fixture
def config_file() -> Path:
    path = org_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HAND_WRITTEN)
    return path


def test_path_follows_the_environment_override(tmp_path: Path) -> None:
    assert org_config_path() == tmp_path / "user-config" / "config.yml"


def test_missing_file_means_no_defaults() -> None:
    assert read_org_config() == {}


def test_set_keeps_comments_and_key_order(config_file: Path) -> None:
    set_org_config_value("go_version", "1.25")
    set_org_config_value("database", "sqlite")

    text = config_file.read_text()
    assert text.startswith("# ACME platform team defaults -- owned by #platform\n")
    assert "module_prefix: github.com/acme   # all services live here" in text
    assert "# Postgres everywhere since 2025" in text
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert keys == ["module_prefix", "database", "go_version"]
    assert read_org_config() == {
        "module_prefix": "github.com/acme",
        "database": "sqlite",
        "go_version": "1.25",
    }


def test_unset_keeps_the_rest(config_file: Path) -> None:
    assert unset_org_config_value("database") is True
    assert unset_org_config_value("database") is False
    text = config_file.read_text()
    assert "database" not in text.replace("# Postgres everywhere since 2025", "")
    assert "# all services live here" in text


def test_new_file_gets_a_header_and_typed_values() -> None:
    set_org_config_value("examples", "no")
    set_org_config_value("go_version", "1.24")
    text = org_config_path().read_text()
    assert text.startswith("# goperf-scaffold organisation defaults.")
    assert yaml.safe_load(text) == {"examples": False, "go_version": "1.24"}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("colour", "red", "unknown config key 'colour'"),
        ("database", "mysql", "expected one of sqlite, postgres, none"),
        ("go_version", "1.19", "expected one of"),
        ("examples", "maybe", "expected true or false"),
        ("module_prefix", "https://github.com/acme", "no scheme"),
        ("module_prefix", "has space", "without spaces"),
    ],
)
def test_bad_keys_and_values_are_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(OrgConfigError, match=message) as caught:
        set_org_config_value(key, value)
    assert caught.value.exit_code == ExitCode.ORG_CONFIG
    assert "\n" not in str(caught.value)
    assert not org_config_path().exists()


def test_hand_edited_bad_value_is_reported_with_the_file(config_file: Path) -> None:
    config_file.write_text("database: oracle\n")
    with pytest.raises(OrgConfigError, match=r"config\.yml: bad value 'oracle' for database"):
        read_org_config()


def test_invalid_yaml_is_one_line_error(config_file: Path) -> None:
    config_file.write_text("database: [unclosed\n")
    with pytest.raises(OrgConfigError, match="not valid YAML"):
        read_org_config()


@pytest.fixture
def tiny_template(tmp_path: Path) -> TemplateRepo:
    return build_tiny_template(tmp_path / "tiny-template")


def test_new_uses_org_defaults_and_data_wins(tmp_path: Path) -> None:
    set_org_config_value("module_prefix", "github.com/acme/")
    set_org_config_value("database", "none")
    set_org_config_value("examples", "false")

    def generate(name: str, data: dict[str, str]) -> dict[str, object]:
        result = new_service(
            tmp_path / name,
            data=data,
            defaults=True,
            tidy=False,
            verify=False,
            git_init=False,
            progress=SilentProgress(),
        )
        return result.answers

    defaults_only = generate("svc-a", {})
    assert defaults_only["module_path"] == "github.com/acme/svc-a"
    assert defaults_only["database"] == "none"
    assert defaults_only["examples"] is False

    explicit = generate("svc-b", {"database": "postgres", "module_path": "example.com/b"})
    assert explicit["database"] == "postgres"
    assert explicit["module_path"] == "example.com/b"


def test_new_uses_the_org_template_source(tmp_path: Path, tiny_template: TemplateRepo) -> None:
    set_org_config_value("template", str(tiny_template.root))
    result = new_service(
        tmp_path / "demo",
        defaults=True,
        tidy=False,
        verify=False,
        git_init=False,
        progress=SilentProgress(),
    )
    assert result.template_source == str(tiny_template.root)
    assert (result.path / "greeting.go").is_file()


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [("tracing", "otel", "otel"), ("gomaxprocs", "automaxprocs", "automaxprocs"),
     ("renovate", "off", False)],
)  # fmt: skip
def test_tracing_gomaxprocs_and_renovate_are_org_defaults(
    key: str, value: str, stored: object
) -> None:
    assert set_org_config_value(key, value) == stored
    assert read_org_config() == {key: stored}
    assert org_defaults_for_new().user_defaults == {key: stored}


def test_renovate_true_is_left_to_the_template_default() -> None:
    """Copier would use an unasked default as is: true would add renovate.json without GitHub CI;
    the template's own default is already true where renovate applies (ci=github)."""
    set_org_config_value("renovate", "yes")
    assert read_org_config() == {"renovate": True}
    assert "renovate" not in org_defaults_for_new().user_defaults
