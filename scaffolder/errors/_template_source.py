"""TemplateSourceError failures of finding a template source, and a version in it."""

from __future__ import annotations

from collections.abc import Sequence

from .._constants import ANSWERS_FILE, PACKAGE_NAME
from ._base import TemplateSourceError

# What `goperf-scaffold update --template` re-points to, named wherever a source is out of reach.
REPOINT_HINT = "re-point it: goperf-scaffold update --template SRC (a git URL your team can reach)"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names) or "none"


class UnknownTemplateSourceError(TemplateSourceError):
    """`--template` (or the org config) names neither a folder nor a git URL."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"unknown template source '{source}': no such folder, and not a git URL")


class SourceWithoutCopierYmlError(TemplateSourceError):
    """A template folder has no copier.yml."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source '{source}' has no copier.yml")


class SourceNotGitRootError(TemplateSourceError):
    """A template folder is not the root of a git repository, so it has no versions."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(
            f"template source '{source}' is not the root of a git repository; projects "
            "generated from it could never be updated (commit it to git, or pass a git URL)"
        )


class RecordedSourceMissingError(TemplateSourceError):
    """The local template source a project records is not on this machine."""

    def __init__(self, *, recorded: str) -> None:
        self.recorded = recorded
        super().__init__(
            f"the template source recorded in {ANSWERS_FILE}, '{recorded}', does not "
            f"exist on this machine; {REPOINT_HINT}"
        )


class LegacyMirrorMissingError(TemplateSourceError):
    """A project records a 0.1.0 mirror of a template checkout that is not on this machine."""

    def __init__(self, *, recorded: str) -> None:
        self.recorded = recorded
        super().__init__(
            f"the answers file records '{recorded}', a {PACKAGE_NAME} 0.1.0 mirror of a "
            f"template checkout that is not on this machine; {REPOINT_HINT}"
        )


class UnknownRevisionError(TemplateSourceError):
    """`--vcs-ref` (or `--to`) names a revision the source does not have."""

    def __init__(self, *, ref: str, source: str, offered: Sequence[str]) -> None:
        self.ref = ref
        self.source = source
        self.offered = tuple(offered)  # the versions the source offers, oldest first
        super().__init__(
            f"unknown template revision (--vcs-ref) '{ref}' in {source}; "
            f"versions: {_listed(self.offered)}"
        )


class VersionNotCarriedError(TemplateSourceError):
    """The project's version is neither carried by this installation nor reachable online."""

    def __init__(
        self, *, commit: str, installed: str, offered: Sequence[str], location: str
    ) -> None:
        self.commit = commit  # the version the project records
        self.installed = installed  # this installation's package version
        self.offered = tuple(offered)
        self.location = location
        super().__init__(
            f"the project is on template {commit}, which this installation of {PACKAGE_NAME} "
            f"({installed}) does not carry (it knows {_listed(self.offered)}) and "
            f"{location} cannot provide; install {PACKAGE_NAME} from a checkout of "
            "its repository (which carries every release), or one at or after that version"
        )


class VersionNotOfferedError(TemplateSourceError):
    """The project's source does not offer the version the project records."""

    def __init__(self, *, commit: str, source: str, offered: Sequence[str]) -> None:
        self.commit = commit  # the version the project records
        self.source = source
        self.offered = tuple(offered)
        super().__init__(
            f"the project is on template {commit}, which {source} does not offer "
            f"(it offers {_listed(self.offered)}); {REPOINT_HINT}"
        )


class SourceOffersNoVersionError(TemplateSourceError):
    """The template source has no version to render or update to."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source {source} offers no version")


class SourceWithoutVersionTagsError(TemplateSourceError):
    """The template source has no version tag to update to."""

    def __init__(self, *, source: str) -> None:
        self.source = source
        super().__init__(f"template source '{source}' offers no version tags")
