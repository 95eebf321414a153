"""OrgConfigError failures: the organisation defaults file, its keys and their values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._base import OrgConfigError


class OrgConfigUnreadableError(OrgConfigError):
    """The org defaults file exists and cannot be read; `detail` is the OS's reason."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot read {path}: {detail}")


class OrgConfigUnwritableError(OrgConfigError):
    """The org defaults file cannot be written; `detail` is the OS's reason."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot write {path}: {detail}")


class OrgConfigNotYamlError(OrgConfigError):
    """The org defaults file is not valid YAML; `problem` is the parser's."""

    def __init__(self, *, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path} is not valid YAML: {problem}")


class OrgConfigNotAMappingError(OrgConfigError):
    """The org defaults file holds YAML, but not a mapping of KEY: VALUE."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} must hold a mapping of KEY: VALUE")


class UnknownOrgConfigKeyError(OrgConfigError):
    """A key the org defaults do not have."""

    def __init__(self, *, key: str, known: Sequence[str]) -> None:
        self.key = key
        self.known = tuple(known)
        super().__init__(f"unknown config key '{key}'; known keys: {', '.join(self.known)}")


class BadOrgConfigValueError(OrgConfigError):
    """A value the org defaults' KEY does not accept; `reason` says what it needs."""

    def __init__(self, *, key: str, value: str, reason: str) -> None:
        self.key = key
        self.value = value
        super().__init__(f"bad value '{value}' for {key}: {reason}")


class NotTrueOrFalseError(BadOrgConfigValueError):
    """A yes/no key was given something other than true or false."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__(key=key, value=value, reason="expected true or false")


class NotAChoiceError(BadOrgConfigValueError):
    """A key with choices was given none of them."""

    def __init__(self, *, key: str, value: str, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)
        super().__init__(key=key, value=value, reason=f"expected one of {', '.join(self.choices)}")


class NotAWordError(BadOrgConfigValueError):
    """A text key was given an empty value or one with spaces."""

    def __init__(self, *, key: str, value: str) -> None:
        super().__init__(key=key, value=value, reason="must be non-empty, without spaces")


class ModulePrefixWithSchemeError(BadOrgConfigValueError):
    """`module_prefix` was given a URL (`https://…`) rather than a Go module prefix."""

    def __init__(self, *, value: str) -> None:
        super().__init__(
            key="module_prefix",
            value=value,
            reason="a Go module prefix has no scheme (e.g. github.com/acme)",
        )


class OrgConfigFileValueError(OrgConfigError):
    """The org defaults file holds a bad entry; `problem` is the error about that entry."""

    def __init__(self, *, path: Path, problem: OrgConfigError) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")
