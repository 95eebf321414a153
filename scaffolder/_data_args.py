"""Parse `--data KEY=VALUE` items into the answers mapping handed to Copier (values stay text)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import UsageError

_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_data_items(items: Iterable[str]) -> dict[str, str]:
    """Turn ["key=value", ...] into {"key": "value"}; Copier casts and validates the values."""
    answers: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        key = key.strip()
        if not separator:
            raise UsageError(f"malformed --data '{item}': expected KEY=VALUE")
        if not _KEY_PATTERN.match(key):
            raise UsageError(f"malformed --data '{item}': '{key}' is not a question name")
        answers[key] = value
    return answers
