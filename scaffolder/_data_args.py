"""`--data KEY=VALUE` items: parsed into answers, then held to the template's questions.

Every verb that takes `--data` applies the same rules, in the same words and exit codes:

- a KEY the template does not ask about is refused (UnknownDataKeysError, exit 2);
- a yes/no (`type: bool`) question takes true/yes/on/y/1 or false/no/off/n/0, in any case,
  surrounding blanks ignored (the words `config set` accepts); anything else (`maybe`, `nope`,
  an empty value) is refused (NotABooleanAnswerError, exit 3) where Copier would have cast it to
  true. Accepted answers are handed to Copier as real booleans;
- an answer to a question the template does not ask given the other answers (its `when:` is
  false, as `renovate` with `ci=none`) is refused (AnswerNotAskedError, exit 3): Copier would
  render with it but not record it, so the project and its answers file would disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import (
    AnswerNotAskedError,
    MalformedDataError,
    NotABooleanAnswerError,
    UnknownDataKeysError,
)

_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRUE_WORDS = frozenset({"true", "yes", "on", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "n", "0"})

# Question name -> its copier.yml entry (type, when, default, ...).
QuestionSpecs = Mapping[str, Mapping[str, Any]]


def parse_data_items(items: Iterable[str]) -> dict[str, str]:
    """Turn ["key=value", ...] into {"key": "value"}; `checked_answers` holds them to the
    template's questions once it is known."""
    answers: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        key = key.strip()
        if not separator:
            raise MalformedDataError(item=item)
        if not _KEY_PATTERN.match(key):
            raise MalformedDataError(item=item, key=key)
        answers[key] = value
    return answers


def asked_questions(questions: QuestionSpecs) -> list[str]:
    """The questions a user answers (not the computed `when: false` ones), sorted."""
    return sorted(name for name, spec in questions.items() if spec.get("when") is not False)


def refuse_unknown_keys(data: Mapping[str, Any], questions: QuestionSpecs) -> None:
    """Refuse answers to questions the template does not have. Hidden computed values
    (`when: false`) stay accepted (org_module_prefix is one) but are not advertised."""
    unknown = sorted(set(data) - set(questions))
    if unknown:
        raise UnknownDataKeysError(keys=unknown, questions=asked_questions(questions))


def is_yes_no_question(spec: Mapping[str, Any]) -> bool:
    """A `type: bool` question."""
    return spec.get("type") == "bool"


def yes_no_answer(key: str, value: object) -> bool:
    """The boolean a yes/no answer means; NotABooleanAnswerError when it means neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise NotABooleanAnswerError(key=key, value=str(value))


def checked_answers(data: Mapping[str, Any], questions: QuestionSpecs) -> dict[str, Any]:
    """`data` with unknown keys refused and yes/no answers turned into booleans."""
    refuse_unknown_keys(data, questions)
    return {
        key: yes_no_answer(key, value) if is_yes_no_question(questions[key]) else value
        for key, value in data.items()
    }


def _condition_text(when: object) -> str:
    """A `when:` as a user reads it: `{{ ci == 'github' }}` → `ci == 'github'`."""
    text = str(when).strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


def refuse_answers_not_recorded(
    data: Mapping[str, Any], questions: QuestionSpecs, recorded: Mapping[str, Any]
) -> None:
    """Refuse an answer that Copier used but left out of the answers file `recorded`: its
    question was not asked given the other answers."""
    for key in sorted(data):
        spec = questions.get(key, {})
        asked = spec.get("when") is not False and not spec.get("secret")
        if asked and key not in recorded:
            raise AnswerNotAskedError(
                key=key, value=str(data[key]), condition=_condition_text(spec.get("when"))
            )
