"""Progress lines ("[1/3] go mod tidy … done (0.8s)") for the steps around Copier."""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

# How often the elapsed time of a running step is shown: rewritten in place on a terminal,
# a line of its own elsewhere (CI logs, pipes), where a line a second would be noise.
TERMINAL_TICK_SECONDS = 1.0
LOG_TICK_SECONDS = 15.0


class Progress(Protocol):
    """Receives progress events; the CLI prints them, library callers may silence them."""

    def step_started(self, index: int, total: int, label: str) -> None:
        """A numbered step begins."""

    def step_finished(self, outcome: str) -> None:
        """The step that began last ended: "done (0.8s)", "skipped: …", "failed"."""

    def note(self, message: str) -> None:
        """A free-standing remark (e.g. why stdin is treated as non-interactive)."""


class StreamProgress:
    """Writes progress lines to a text stream (stderr by default), one line per step.

    While a step runs, its elapsed time is shown, so a long first build (minutes on an empty Go
    cache) is visibly alive: on a terminal the step's line ends in a counter updated every
    second; on anything else a "still running" line appears every 15 seconds.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        terminal_tick: float = TERMINAL_TICK_SECONDS,
        log_tick: float = LOG_TICK_SECONDS,
    ) -> None:
        self._stream = stream
        self._terminal_tick = terminal_tick
        self._log_tick = log_tick
        self._lock = threading.Lock()  # one writer at a time: the caller or the ticker
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._shown = ""  # the counter text currently at the end of the line (terminal only)
        self._ticked = False  # a "still running" line was written (not a terminal)
        # The reader went away (`new … 2>&1 | head -3`): stop printing, never stop the work.
        self.closed = False

    @property
    def stream(self) -> TextIO:
        # Looked up late so that pytest's capture and redirections are honoured.
        return self._stream if self._stream is not None else sys.stderr

    def _write(self, text: str) -> None:
        """Write and flush; a closed pipe ends the printing, not the caller's steps."""
        if self.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # EPIPE, or a stream closed on our side
            self.closed = True

    def _is_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def step_started(self, index: int, total: int, label: str) -> None:
        with self._lock:
            self._write(f"[{index}/{total}] {label} … ")
        self._stop.clear()
        self._ticker = threading.Thread(
            target=self._tick, args=(label, time.monotonic()), name="progress-ticker", daemon=True
        )
        self._ticker.start()

    def _tick(self, label: str, started: float) -> None:
        terminal = self._is_terminal()
        interval = self._terminal_tick if terminal else self._log_tick
        while not self._stop.wait(interval):
            elapsed = f"{time.monotonic() - started:.0f}s"
            with self._lock:
                if self._stop.is_set():
                    return
                if terminal:
                    self._write("\b" * len(self._shown) + elapsed)
                    self._shown = elapsed
                else:
                    self._write(f"\n    … {label} still running ({elapsed})")
                    self._ticked = True

    def _stop_ticker(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None

    def step_finished(self, outcome: str) -> None:
        self._stop_ticker()
        with self._lock:
            erase = "\b" * len(self._shown) + " " * len(self._shown) + "\b" * len(self._shown)
            prefix = "\n    " if self._ticked else ""
            self._shown, self._ticked = "", False
            self._write(f"{erase}{prefix}{outcome}\n")

    def note(self, message: str) -> None:
        with self._lock:
            self._write(f"{message}\n")


class SilentProgress:
    """Discards all progress events."""

    def step_started(self, index: int, total: int, label: str) -> None:
        return None

    def step_finished(self, outcome: str) -> None:
        return None

    def note(self, message: str) -> None:
        return None
