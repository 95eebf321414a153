"""Copier's refusals, translated by scaffolder/_copier_errors.py: each keeps Copier's `detail`."""

from __future__ import annotations

from ._base import DowngradeError, InvalidAnswerError, ProjectNotUpdatableError, TemplateSourceError


class AnswerRefusedError(InvalidAnswerError):
    """Copier's validator or choice check refused an answer; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class TemplateNotTrustedError(TemplateSourceError):
    """Copier refused a template's tasks or extensions as unsafe; `trust_hint` says how to allow."""

    def __init__(self, *, detail: str, trust_hint: str) -> None:
        self.detail = detail
        self.trust_hint = trust_hint
        super().__init__(f"{detail} {trust_hint}".strip())


class RevisionUnknownToCopierError(TemplateSourceError):
    """Copier could not find the revision; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"unknown template revision (--vcs-ref): {detail}")


class TemplateProblemError(TemplateSourceError):
    """Copier refused the template; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"template problem: {detail}")


class TemplateRenderingError(TemplateSourceError):
    """Jinja failed to render the template; `detail` is Jinja's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"template rendering failed: {detail}")


class TemplateGitError(TemplateSourceError):
    """git failed while Copier read the template; `detail` is git's first line or exit status."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"git failed while reading the template: {detail}")


class CopierNotUpdatableError(ProjectNotUpdatableError):
    """Copier refused to update the project; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class CopierDowngradeError(DowngradeError):
    """Copier refused a downgrade; `detail` is Copier's message."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
