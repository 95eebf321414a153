"""TemplateSourceError failures of the template this installation carries in its package."""

from __future__ import annotations

from pathlib import Path

from .._constants import PACKAGE_NAME, TEMPLATE_URL_LABEL
from ._base import TemplateSourceError


class PackageVersionNotPep440Error(TemplateSourceError):
    """This installation's package version cannot order the versions it carries."""

    def __init__(self, *, version: str) -> None:
        self.version = version
        super().__init__(f"package version '{version}' is not PEP 440")


class TemplateCacheRefreshError(TemplateSourceError):
    """The per-installation template cache could not be filled from the package."""

    def __init__(self, *, cache: Path, detail: str) -> None:
        self.cache = cache
        self.detail = detail
        super().__init__(f"cannot refresh the template cache {cache}: {detail}")


class CarriedTemplateMissingError(TemplateSourceError):
    """The installed package carries no template files (a broken install)."""

    def __init__(self, *, looked_in: Path) -> None:
        self.looked_in = looked_in  # the wheel's template folder; the package's parents too
        super().__init__(
            f"cannot find the template carried by {PACKAGE_NAME} (looked in {looked_in} and the "
            "parents of the package); reinstall the package"
        )


class NoTemplateUrlError(TemplateSourceError):
    """The installed package declares no template URL in its metadata."""

    def __init__(self) -> None:
        super().__init__(
            f"{PACKAGE_NAME} declares no template URL ([project.urls] {TEMPLATE_URL_LABEL}); "
            "reinstall the package or set one: goperf-scaffold config set template URL"
        )


class ProjectNewerThanInstallationError(TemplateSourceError):
    """The project is on a template version newer than any this installation carries."""

    def __init__(self, *, commit: str, installed: str, location: str) -> None:
        self.commit = commit  # the version the project records
        self.installed = installed  # this installation's package version
        self.location = location  # the package's template URL, which is the package
        super().__init__(
            f"the project is on template {commit}, newer than this {PACKAGE_NAME} "
            f"({installed}): upgrade {PACKAGE_NAME} to {commit} or later: "
            f"pip install --upgrade 'git+{location}'"
        )
