"""Bar charts (SVG) for the document, through matplotlib when it is installed (the `bench` extra:
pip install -e '.[bench]'). Without it the report still runs and says the charts were skipped."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Bar:
    """A median with its spread (min–max or a confidence interval)."""

    median: float
    low: float
    high: float


@dataclass
class Panel:
    """One subplot: groups along x, one bar per series in each group."""

    title: str
    ylabel: str
    groups: list[str]
    series: dict[str, list[Bar]]


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


MISSING_NOTE = "Charts were not drawn: matplotlib is not installed (`pip install -e '.[bench]'`)."


def bars(path: Path, title: str, panels: list[Panel]) -> bool:
    """Draw the panels side by side into path (SVG); False when matplotlib is missing."""
    if not available():
        return False
    import matplotlib  # noqa: PLC0415 - optional dependency

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    # Stable element ids and no date: a re-run with equal figures gives an equal file. Text
    # stays text (not glyph outlines): a tenth of the size, and searchable.
    plt.rcParams["svg.hashsalt"] = "goperf-scaffold"
    plt.rcParams["svg.fonttype"] = "none"
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        count = max(len(panel.series), 1)
        width = 0.8 / count
        for index, (name, values) in enumerate(panel.series.items()):
            xs = [g + (index - (count - 1) / 2) * width for g in range(len(panel.groups))]
            medians = [v.median for v in values]
            errors = [
                [max(v.median - v.low, 0.0) for v in values],
                [max(v.high - v.median, 0.0) for v in values],
            ]
            ax.bar(xs, medians, width, yerr=errors, capsize=3, label=name)
        ax.set_xticks(range(len(panel.groups)), panel.groups)
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(panel.ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return True
