"""UsageError failures: the command line, `--data` answers and a prompt without a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from ._base import InvalidAnswerError, UsageError


class CommandLineError(UsageError):
    """argparse refused the command line; `problem` is its complaint."""

    def __init__(self, *, problem: str, prog: str) -> None:
        self.problem = problem
        self.prog = prog
        super().__init__(f"{problem} (see `{prog} --help`)")


class YesWithoutForceError(UsageError):
    """`new --yes` without `--force`: there is nothing for --yes to confirm."""

    def __init__(self) -> None:
        super().__init__("--yes only confirms --force: pass both to overwrite existing files")


class MalformedDataError(UsageError):
    """A `--data` item is not `KEY=VALUE` (`key` is None), or its KEY is not a question name."""

    def __init__(self, *, item: str, key: str | None = None) -> None:
        self.item = item
        self.key = key
        if key is None:
            super().__init__(f"malformed --data '{item}': expected KEY=VALUE")
        else:
            super().__init__(f"malformed --data '{item}': '{key}' is not a question name")


class UnknownDataKeysError(UsageError):
    """`--data` answers questions the template does not ask."""

    def __init__(self, *, keys: Sequence[str], questions: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.questions = tuple(questions)  # the questions a user answers
        super().__init__(
            f"unknown --data key(s) {', '.join(self.keys)}; questions: {', '.join(self.questions)}"
        )


class NotABooleanAnswerError(InvalidAnswerError):
    """`--data KEY=VALUE` gives a yes/no question a VALUE that is neither (`maybe`, `nope`)."""

    def __init__(self, *, key: str, value: str) -> None:
        self.key = key
        self.value = value
        super().__init__(
            f"--data {key}={value}: {key} is a yes/no question; answer true or false "
            "(or yes/no, on/off, y/n, 1/0)"
        )


class AnswerNotAskedError(InvalidAnswerError):
    """`--data` answers a question the template does not ask given the other answers (its
    `when:` is false), so the answer would be used but never recorded."""

    def __init__(self, *, key: str, value: str, condition: str) -> None:
        self.key = key
        self.value = value
        self.condition = condition  # the question's `when:`, without its {{ }}
        super().__init__(
            f"--data {key}={value} does not apply: {key} is asked only when {condition}; "
            "leave it out, or change the answers it depends on"
        )


class NotInteractiveError(UsageError):
    """Copier has questions to ask, and stdin is not a terminal."""

    def __init__(self) -> None:
        super().__init__(
            "questions need an interactive terminal: pass --defaults and/or --data KEY=VALUE"
        )
