"""What every section gets: folders, the mode, progress, and small number formatting helpers."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.report._env import Machine, Progress


@dataclass
class Context:
    repo: Path  # this checkout
    work: Path  # generated projects, binaries, scratch files
    out: Path  # the folder of benchmarks.md
    quick: bool  # short runs that prove every harness works (CI), not figures to publish
    cold: bool  # also time the cold "Try it" (empty Go caches; minutes)
    progress: Progress
    machine: Machine

    @property
    def assets(self) -> Path:
        """Charts and section results, next to the document."""
        return self.out / "benchmarks"

    @property
    def raw(self) -> Path:
        """Raw outputs (go test, wrk, benchstat input) that the tables are computed from."""
        return self.assets / "raw"

    def rel(self, path: Path) -> str:
        """path as the document links it."""
        return str(path.relative_to(self.out))


@dataclass(frozen=True)
class Spread:
    """Median and min–max of repeated measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return cls(math.nan, math.nan, math.nan)
        return cls(statistics.median(finite), min(finite), max(finite))

    def text(self, digits: int = 0, unit: str = "") -> str:
        if math.isnan(self.median):
            return "n/a"
        return (
            f"{num(self.median, digits)}{unit} ({num(self.low, digits)}–{num(self.high, digits)})"
        )


def num(value: float, digits: int = 0) -> str:
    """A figure with thin-space thousands separators: 12 345, 1.25."""
    if math.isnan(value):
        return "n/a"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f")


def duration(seconds: float) -> str:
    """A time in the unit that suits it: 830 ns, 12.4 µs, 3.1 ms, 2.05 s."""
    if math.isnan(seconds):
        return "n/a"
    for scale, unit in ((1e-6, "ns"), (1e-3, "µs"), (1.0, "ms")):
        if abs(seconds) < scale:
            return f"{seconds / scale * 1000:.3g} {unit}"
    return f"{seconds:.3g} s"


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}×"
