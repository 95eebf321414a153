"""Progress lines stay alive during long steps: a counter on a terminal, periodic lines in logs."""

from __future__ import annotations

import io
import time

from scaffolder import StreamProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_step_prints_still_running_lines_in_a_log() -> None:
    log = io.StringIO()
    progress = StreamProgress(log, log_tick=0.05)
    progress.step_started(3, 3, "go build ./...")
    time.sleep(0.3)
    progress.step_finished("done (0.3s)")
    lines = log.getvalue().splitlines()
    assert lines[0] == "[3/3] go build ./... … "
    running = [line for line in lines if "still running" in line]
    assert len(running) >= 2, lines
    assert running[0].startswith("    … go build ./... still running (")
    assert lines[-1] == "    done (0.3s)"


def test_a_quick_step_is_one_line() -> None:
    log = io.StringIO()
    progress = StreamProgress(log, log_tick=5)
    progress.step_started(1, 3, "go mod tidy")
    progress.step_finished("done (0.1s)")
    assert log.getvalue() == "[1/3] go mod tidy … done (0.1s)\n"


def test_a_terminal_shows_a_counter_that_the_outcome_replaces() -> None:
    screen = _Terminal()
    progress = StreamProgress(screen, terminal_tick=0.05)
    progress.step_started(2, 3, "git init")
    time.sleep(0.3)
    progress.step_finished("done (0.3s)")
    written = screen.getvalue()
    assert written.startswith("[2/3] git init … 0s")
    assert "\b" in written  # the counter is rewritten in place
    assert written.endswith("done (0.3s)\n")
    assert "\n" not in written[:-1]  # one line on the screen


def test_the_ticker_stops_with_the_step() -> None:
    log = io.StringIO()
    progress = StreamProgress(log, log_tick=0.02)
    progress.step_started(1, 1, "step")
    progress.step_finished("done")
    size = len(log.getvalue())
    time.sleep(0.1)
    assert len(log.getvalue()) == size


class _ClosedPipe(io.StringIO):
    """A stream whose reader went away (`… 2>&1 | head -3`): every write fails with EPIPE."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_silences_the_progress_without_failing_the_steps() -> None:
    stream = _ClosedPipe()
    progress = StreamProgress(stream, log_tick=0.01)
    progress.note("project_name: svc")  # would raise BrokenPipeError into the steps
    progress.step_started(2, 3, "git init + first commit")
    time.sleep(0.05)
    progress.step_finished("done (0.1s)")
    assert progress.closed
    assert stream.writes == 1  # the first failure stops the printing
