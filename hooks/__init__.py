"""Post-generation and post-update steps the CLI runs in a generated project, one function each.

Each step returns a `StepOutcome` ("done" or "skipped" with a note, e.g. when `go` or `git` is
not installed) or raises `StepError` naming the step; the caller shows progress lines and
decides what happens next. No step touches files outside the project. This package imports
nothing from `scaffolder` (which imports it): the dependency goes one way.
"""

from __future__ import annotations

from hooks._steps import (
    GoMissingError,
    StepCommandFailedError,
    StepError,
    StepNotStartedError,
    StepOutcome,
    StepTimedOutError,
    build_and_test,
    git_init_and_commit,
    go_mod_tidy,
    gofmt_check,
    verify_build,
)

__all__ = [
    "GoMissingError",
    "StepCommandFailedError",
    "StepError",
    "StepNotStartedError",
    "StepOutcome",
    "StepTimedOutError",
    "build_and_test",
    "git_init_and_commit",
    "go_mod_tidy",
    "gofmt_check",
    "verify_build",
]
