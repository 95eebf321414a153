"""Progress lines ("[1/3] go mod tidy … done (0.8s)") for the steps around Copier."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO


class Progress(Protocol):
    """Receives progress events; the CLI prints them, library callers may silence them."""

    def step_started(self, index: int, total: int, label: str) -> None:
        """A numbered step begins."""

    def step_finished(self, outcome: str) -> None:
        """The step that began last ended: "done (0.8s)", "skipped: …", "failed"."""

    def note(self, message: str) -> None:
        """A free-standing remark (e.g. why stdin is treated as non-interactive)."""


class StreamProgress:
    """Writes progress lines to a text stream (stderr by default), one line per step."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        # Looked up late so that pytest's capture and redirections are honoured.
        return self._stream if self._stream is not None else sys.stderr

    def step_started(self, index: int, total: int, label: str) -> None:
        self.stream.write(f"[{index}/{total}] {label} … ")
        self.stream.flush()

    def step_finished(self, outcome: str) -> None:
        self.stream.write(f"{outcome}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        self.stream.write(f"{message}\n")
        self.stream.flush()


class SilentProgress:
    """Discards all progress events."""

    def step_started(self, index: int, total: int, label: str) -> None:
        return None

    def step_finished(self, outcome: str) -> None:
        return None

    def note(self, message: str) -> None:
        return None
