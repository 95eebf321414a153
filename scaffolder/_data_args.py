"""Parse `--data KEY=VALUE` items into the answers mapping handed to Copier (values stay text)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import MalformedDataError

_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_data_items(items: Iterable[str]) -> dict[str, str]:
    """Turn ["key=value", ...] into {"key": "value"}; Copier casts and validates the values."""
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
