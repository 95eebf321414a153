"""Run the hooks' steps in order with numbered progress lines; stop at the first failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hooks import StepError, StepOutcome

from ._progress import Progress
from .errors import InterruptedByUserError, StepFailedError

# What `run_steps` says after Ctrl-C: given the finished steps' reports and the labels of the
# steps not run (the interrupted one first), the state the project is in and how to finish.
InterruptedContext = Callable[[Sequence["StepReport"], Sequence[str]], str]


@dataclass(frozen=True)
class PlannedStep:
    """A step to run: its progress label and the hook function that does it."""

    label: str
    run: Callable[[Path], StepOutcome]


@dataclass(frozen=True)
class StepReport:
    """What happened to one step: "done", "skipped" or "not run", with a note."""

    label: str
    status: str
    note: str = ""
    seconds: float = 0.0


def run_steps(
    project: Path,
    steps: Sequence[PlannedStep],
    progress: Progress,
    *,
    failure_context: str,
    interrupted_context: InterruptedContext | None = None,
) -> list[StepReport]:
    """Run `steps` in `project`; on failure re-raise with which step failed and what was kept.

    Ctrl-C (KeyboardInterrupt) during a step becomes InterruptedByUserError saying which step
    was interrupted, what was not run and, from `interrupted_context`, what state the project
    is in (default: `failure_context`).
    """
    reports: list[StepReport] = []
    for index, step in enumerate(steps, start=1):
        progress.step_started(index, len(steps), step.label)
        started = time.perf_counter()
        try:
            outcome = step.run(project)
        except KeyboardInterrupt:
            progress.step_finished("interrupted")
            not_run = [later.label for later in steps[index - 1 :]]
            context = (
                interrupted_context(reports, not_run)
                if interrupted_context is not None
                else f"{failure_context}; not run: {', '.join(not_run)}"
            )
            raise InterruptedByUserError(
                f"interrupted during step '{step.label}'; {context}"
            ) from None
        except (StepError, StepFailedError) as error:
            progress.step_finished("failed")
            if error.output:
                progress.note("\n".join(f"    {line}" for line in error.output.splitlines()))
            raise StepFailedError(
                step=error.step,
                detail=str(error),
                failure_context=failure_context,
                not_run=[later.label for later in steps[index:]],
                output=error.output,
            ) from error
        seconds = time.perf_counter() - started
        if outcome.status == "skipped":
            progress.step_finished(f"skipped: {outcome.note}")
        else:
            note = f"; {outcome.note}" if outcome.note else ""
            progress.step_finished(f"done ({seconds:.1f}s){note}")
        reports.append(StepReport(step.label, outcome.status, outcome.note, seconds))
    return reports
