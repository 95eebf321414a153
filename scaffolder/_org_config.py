"""Organisation defaults: a user-level YAML file edited round-trip (comments and order survive).

`goperf-scaffold config set module_prefix github.com/acme` writes it; `new` reads it and hands
the values to Copier as defaults (`user_defaults`; `module_prefix` as the hidden
`org_module_prefix` answer), so explicit `--data` always wins. The allowed values of choice
questions are read from copier.yml, the single source of the questions.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from ._constants import PACKAGE_NAME
from ._package import carried_template_root
from .errors import (
    ModulePrefixWithSchemeError,
    NotAChoiceError,
    NotAWordError,
    NotTrueOrFalseError,
    OrgConfigError,
    OrgConfigFileValueError,
    OrgConfigNotAMappingError,
    OrgConfigNotYamlError,
    OrgConfigUnreadableError,
    OrgConfigUnwritableError,
    UnknownOrgConfigKeyError,
)

CONFIG_PATH_ENV = "GOPERF_SCAFFOLD_CONFIG"

# key -> (kind, description). kind: "bool", "choice" (choices from copier.yml), "text".
ORG_CONFIG_KEYS: Mapping[str, tuple[str, str]] = {
    "module_prefix": ("text", "Go module path prefix, e.g. github.com/acme (module = prefix/name)"),
    "go_version": ("choice", "default Go version"),
    "database": ("choice", "default database"),
    "examples": ("bool", "add the demo endpoints by default"),
    "docker": ("bool", "add a Dockerfile by default"),
    "kubernetes": ("bool", "add Kubernetes manifests by default"),
    "ci": ("choice", "default CI workflow"),
    "renovate": (
        "bool",
        "add a Renovate configuration by default, with GitHub CI only",
    ),
    "tracing": ("choice", "default distributed tracing"),
    "gomaxprocs": (
        "choice",
        "how GOMAXPROCS follows the CPU quota by default; Go 1.24 always uses automaxprocs",
    ),
    "template": (
        "text",
        "the organisation's template git URL: recorded by `new`, used by `update`",
    ),
}
_TRUE_WORDS = frozenset({"true", "yes", "on", "1", "y"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", "n"})
_NEW_FILE_HEADER = (
    "# goperf-scaffold organisation defaults.\n"
    "# Edit with `goperf-scaffold config set KEY VALUE`; comments and key order are kept.\n"
)


@dataclass(frozen=True)
class OrgDefaults:
    """Org config translated for `new`: Copier data and Copier user defaults.

    The `template` key is read where sources are chosen (`_source.py`).
    """

    data: dict[str, Any]
    user_defaults: dict[str, Any]


def org_config_path() -> Path:
    """The org defaults file; `GOPERF_SCAFFOLD_CONFIG` overrides the platform location."""
    override = os.environ.get(CONFIG_PATH_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(PACKAGE_NAME) / "config.yml"


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load_document(path: Path) -> tuple[CommentedMap, str]:
    """Load the file as a round-trip map plus its raw text ('' when the file is missing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CommentedMap(), ""
    except OSError as error:
        raise OrgConfigUnreadableError(path=path, detail=str(error.strerror or error)) from error
    try:
        document = _round_trip_yaml().load(text)
    except YAMLError as error:
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise OrgConfigNotYamlError(path=path, problem=problem) from error
    if document is None:
        return CommentedMap(), text
    if not isinstance(document, CommentedMap):
        raise OrgConfigNotAMappingError(path=path)
    return document, text


def _template_choices() -> dict[str, list[str]]:
    """Allowed values of each choice question, read from the carried copier.yml."""
    questions = YAML(typ="safe").load(
        (carried_template_root() / "copier.yml").read_text(encoding="utf-8")
    )
    choices: dict[str, list[str]] = {}
    for name, spec in (questions or {}).items():
        if isinstance(spec, dict) and "choices" in spec:
            raw = spec["choices"]
            values = raw.values() if isinstance(raw, dict) else raw
            choices[name] = [str(value) for value in values]
    return choices


def coerce_org_value(key: str, value: object) -> object:
    """Check one config value and return it in the type stored in the file."""
    if key not in ORG_CONFIG_KEYS:
        raise UnknownOrgConfigKeyError(key=key, known=list(ORG_CONFIG_KEYS))
    kind = ORG_CONFIG_KEYS[key][0]
    text = str(value).strip()
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() in _TRUE_WORDS:
            return True
        if text.lower() in _FALSE_WORDS:
            return False
        raise NotTrueOrFalseError(key=key, value=text)
    if kind == "choice":
        allowed = _template_choices().get(key, [])
        if text not in allowed:
            raise NotAChoiceError(key=key, value=text, choices=allowed)
        return text
    if not text or any(character.isspace() for character in text):
        raise NotAWordError(key=key, value=text)
    if key == "module_prefix":
        if "://" in text:
            raise ModulePrefixWithSchemeError(value=text)
        return text.rstrip("/")
    return text


def read_org_config(path: Path | None = None) -> dict[str, Any]:
    """Read and check the org defaults file; a missing file means no defaults."""
    path = path or org_config_path()
    document, _ = _load_document(path)
    checked: dict[str, Any] = {}
    for key, value in document.items():
        try:
            checked[str(key)] = coerce_org_value(str(key), value)
        except OrgConfigError as error:
            raise OrgConfigFileValueError(path=path, problem=error) from error
    return checked


def _write_document(path: Path, document: CommentedMap, previous_text: str) -> None:
    buffer = io.StringIO()
    if document:
        _round_trip_yaml().dump(document, buffer)
    body = buffer.getvalue()
    if not previous_text:
        body = _NEW_FILE_HEADER + body
    elif not document:
        # ruamel drops comments of an emptied document: keep the file's comment lines.
        body = "".join(
            line
            for line in previous_text.splitlines(keepends=True)
            if line.lstrip().startswith("#")
        )
    elif not previous_text.strip() or all(
        line.lstrip().startswith("#") for line in previous_text.splitlines() if line.strip()
    ):
        # The file held only comments (parsed as an empty document): keep them on top.
        body = previous_text.rstrip("\n") + "\n" + body
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(body)
        os.replace(temporary, path)
    except OSError as error:
        raise OrgConfigUnwritableError(path=path, detail=str(error.strerror or error)) from error


def set_org_config_value(key: str, value: str, *, path: Path | None = None) -> object:
    """Set KEY to VALUE in the org defaults file (comments and order kept); return it stored."""
    path = path or org_config_path()
    stored = coerce_org_value(key, value)
    document, previous_text = _load_document(path)
    document[key] = stored
    _write_document(path, document, previous_text)
    return stored


def unset_org_config_value(key: str, *, path: Path | None = None) -> bool:
    """Remove KEY from the org defaults file; return whether it was set."""
    if key not in ORG_CONFIG_KEYS:
        coerce_org_value(key, "")  # raises the unknown-key error
    path = path or org_config_path()
    document, previous_text = _load_document(path)
    if key not in document:
        return False
    del document[key]
    _write_document(path, document, previous_text)
    return True


def org_config_text(path: Path | None = None) -> str:
    """The org defaults file as the user wrote it (checked first), or '' when absent."""
    path = path or org_config_path()
    read_org_config(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except OSError as error:
        raise OrgConfigUnreadableError(path=path, detail=str(error.strerror or error)) from error


def org_defaults_for_new(path: Path | None = None) -> OrgDefaults:
    """Translate the org defaults into what `new` hands to Copier."""
    config = read_org_config(path)
    data: dict[str, Any] = {}
    if "module_prefix" in config:
        data["org_module_prefix"] = config["module_prefix"]
    user_defaults = {
        key: value
        for key, value in config.items()
        if key not in {"module_prefix", "template", "renovate"}
    }
    # Copier uses a default as it is for a question it does not ask, so `renovate: true` would
    # add renovate.json to a project without GitHub CI: true is already the template's default
    # where it applies (ci=github), so only false is handed over. (`gomaxprocs` needs no such
    # care: Go 1.24 projects use automaxprocs whatever the unasked answer says.)
    if config.get("renovate") is False:
        user_defaults["renovate"] = False
    return OrgDefaults(data, user_defaults)
