"""TemplateSourceError failures of a shared (git URL) template source: unreachable or untagged."""

from __future__ import annotations

from collections.abc import Mapping

from packaging.version import Version

from ._base import TemplateSourceError


class SourceUnreachableError(TemplateSourceError):
    """The template source cannot be fetched and nothing of it is cached."""

    def __init__(self, *, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason  # git's first line of output, or its error
        super().__init__(
            f"cannot reach the template source {location} ({reason}) and nothing is cached "
            "for it on this machine; check the URL and your access, or re-point the project: "
            "goperf-scaffold update --template SRC"
        )


class UntaggedSharedSourceError(TemplateSourceError):
    """A shared (URL) source has no version tags; the message gives the tags that would fix it."""

    def __init__(self, *, location: str, derived: Mapping[str, str]) -> None:
        self.location = location
        self.derived = dict(derived)  # version -> commit, from its pyproject.toml history
        newest = sorted(self.derived.items(), key=lambda item: Version(item[0]))[-3:]
        commands = " && ".join(f"git tag {name} {commit[:12]}" for name, commit in newest)
        super().__init__(
            f"template source {location} has no version tags, so plain `copier update` could "
            f"never update projects made from it; tag its releases ({commands} && git push --tags)"
        )


class SourceWithoutDefaultBranchError(TemplateSourceError):
    """An untagged source has no default branch whose history could give versions."""

    def __init__(self, *, location: str, git_output: str) -> None:
        self.location = location
        self.git_output = git_output  # the first line git printed
        super().__init__(
            f"template source {location} has no version tags and no default branch to derive "
            f"versions from ({git_output})"
        )


class SourceWithoutVersionHistoryError(TemplateSourceError):
    """An untagged source has no `version` history in its pyproject.toml either."""

    def __init__(self, *, location: str) -> None:
        self.location = location
        super().__init__(
            f"template source {location} has no version tags and no `version` history in "
            "pyproject.toml: projects made from it could never be updated; tag a release "
            "(git tag 1.0.0 && git push --tags)"
        )
