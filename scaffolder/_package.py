"""What this installation of goperf-scaffold carries: template files, version, canonical URL."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import sys
import tomllib
from pathlib import Path
from typing import Any

from ._constants import PACKAGE_NAME, TEMPLATE_URL_LABEL
from .errors import CarriedTemplateMissingError, NoTemplateUrlError

# What the template consists of, relative to its root: hatch_build.py force-includes these in
# the wheel under scaffolder/_template/ and bundles them for earlier releases; tests use them.
TEMPLATE_ENTRIES = ("copier.yml", "template", "includes")
_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache
def carried_template_root() -> Path:
    """Find the template files the installed package carries (wheel or source checkout)."""
    wheel_root = _PACKAGE_DIR / "_template"
    if (wheel_root / "copier.yml").is_file():
        return wheel_root
    # Editable install or source checkout: the repository root that holds copier.yml and a
    # pyproject.toml naming this package, found by walking up from the package folder.
    for candidate in _PACKAGE_DIR.parents:
        if (candidate / "copier.yml").is_file() and _project_table(candidate) is not None:
            return candidate
    raise CarriedTemplateMissingError(looked_in=wheel_root)


def _project_table(root: Path) -> dict[str, Any] | None:
    """The `[project]` table of root/pyproject.toml if it names this package, else None."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = project.get("project", {})
    return table if isinstance(table, dict) and table.get("name") == PACKAGE_NAME else None


@functools.cache
def source_checkout() -> Path | None:
    """The source tree this package runs from (editable install, PYTHONPATH), or None (wheel).

    Its pyproject.toml is read directly: the installed metadata of an editable install can be
    stale, and a copy on PYTHONPATH has no metadata of its own.
    """
    root = carried_template_root()
    return root if _project_table(root) is not None else None


def _checkout_project() -> dict[str, Any] | None:
    checkout = source_checkout()
    return _project_table(checkout) if checkout is not None else None


@functools.cache
def installed_version() -> str:
    """This installation's version (PEP 440); the template version equals it."""
    project = _checkout_project()
    if project is not None and isinstance(project.get("version"), str):
        return str(project["version"])
    try:
        return importlib.metadata.version(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@functools.cache
def canonical_template_url() -> str:
    """The git URL every project generated from this package records (`[project.urls]`)."""
    project = _checkout_project()
    if project is not None:
        url = project.get("urls", {}).get(TEMPLATE_URL_LABEL)
        if isinstance(url, str) and url:
            return url
    try:
        declared = importlib.metadata.metadata(PACKAGE_NAME).get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    for entry in declared:
        label, _, url = str(entry).partition(",")
        if label.strip() == TEMPLATE_URL_LABEL and url.strip():
            return url.strip()
    raise NoTemplateUrlError()


@functools.cache
def installation_scope() -> str:
    """A short name for this installation: its interpreter prefix and package location.

    Caches are kept per installation so that one installation never offers the template
    versions another one carries (two virtualenvs, or two copies on PYTHONPATH).
    """
    identity = f"{Path(sys.prefix).resolve()}\0{_PACKAGE_DIR}"
    return hashlib.sha256(identity.encode()).hexdigest()[:12]
