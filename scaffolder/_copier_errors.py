"""The one place that turns Copier's (and git's, via plumbum) exceptions into ScaffoldErrors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jinja2 import TemplateError
from plumbum import ProcessExecutionError

from .errors import (
    AnswerRefusedError,
    CopierDowngradeError,
    CopierNotUpdatableError,
    InterruptedByUserError,
    NotInteractiveError,
    RevisionUnknownToCopierError,
    ScaffoldError,
    TemplateGitError,
    TemplateNotTrustedError,
    TemplateProblemError,
    TemplateRenderingError,
)

if TYPE_CHECKING:
    from copier.errors import UserMessageError

# Copier reports refused answers as plain ValueErrors; these prefixes identify them.
_ANSWER_ERROR_PREFIXES = ("Validation error for question", "Invalid choice for", "Question ")
_NOT_UPDATABLE_FRAGMENTS = (
    "Destination repository is dirty",
    "only supported in git-tracked subprojects",
    "cannot obtain old template references",
    "version from last update not detected",
)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def _from_user_message(error: UserMessageError) -> ScaffoldError:
    message = str(error)
    if "Downgrades are not supported" in message:
        return CopierDowngradeError(detail=message)
    if any(fragment in message for fragment in _NOT_UPDATABLE_FRAGMENTS):
        return CopierNotUpdatableError(detail=message)
    return TemplateProblemError(detail=message)


@contextlib.contextmanager
def copier_errors_translated(*, trust_hint: str = "") -> Iterator[None]:
    """Re-raise whatever Copier raises inside the block as a one-line ScaffoldError."""
    # Lazy: importing Copier takes about a second, which commands that never call it skip.
    from copier.errors import (  # noqa: PLC0415
        CopierAnswersInterrupt,
        CopierError,
        InteractiveSessionError,
        UnsafeTemplateError,
        UserMessageError,
    )

    try:
        yield
    except ScaffoldError:
        raise
    except (CopierAnswersInterrupt, KeyboardInterrupt) as error:
        raise InterruptedByUserError() from error
    except InteractiveSessionError as error:
        raise NotInteractiveError() from error
    except UnsafeTemplateError as error:
        raise TemplateNotTrustedError(
            detail=_first_line(str(error)), trust_hint=trust_hint
        ) from error
    except UserMessageError as error:
        raise _from_user_message(error) from error
    except ValueError as error:
        message = _first_line(str(error))
        if message.startswith(_ANSWER_ERROR_PREFIXES):
            raise AnswerRefusedError(detail=message) from error
        if message.startswith("Unknown revision"):
            raise RevisionUnknownToCopierError(detail=message) from error
        raise TemplateProblemError(detail=message) from error
    except CopierError as error:
        raise TemplateProblemError(detail=_first_line(str(error))) from error
    except TemplateError as error:
        raise TemplateRenderingError(detail=str(error)) from error
    except ProcessExecutionError as error:
        detail = _first_line(str(error.stderr or "")) or f"exit status {error.retcode}"
        raise TemplateGitError(detail=detail) from error
