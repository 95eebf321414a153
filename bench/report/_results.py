"""What a section measured, kept as JSON next to the document so that one section can be re-run
(`--only`) and the document rebuilt from every section's latest results."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.report._verdict import Evidence, Target, judge_all

Status = Literal["ran", "skipped", "failed"]


@dataclass
class Table:
    """A Markdown table: a caption above it, a header row and data rows."""

    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Block:
    """Preformatted text (benchstat's own tables, a harness's output) with a caption."""

    caption: str
    text: str


@dataclass
class Chart:
    """A chart file next to the document, and its alternative text."""

    file: str
    alt: str


_LEGACY_VERDICT = re.compile(r": (met|missed)$")


@dataclass
class Headline:
    """A row of the summary table: what is compared, the figure, and the target column: the
    target judged by _verdict from the evidence, or a note where the row only records a figure."""

    comparison: str
    measured: str
    target: str  # the target's text, or the note of a row without one
    goal: Target | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @classmethod
    def judged(
        cls, comparison: str, measured: str, goal: Target, evidence: Sequence[Evidence]
    ) -> Headline:
        return cls(comparison, measured, goal.text(), goal, list(evidence))

    def cell(self, quick: bool) -> str:
        """The target column: the target and its verdict (a quick run gives none)."""
        if self.goal is None:
            return self.target
        if quick:
            return f"{self.goal.text()} (quick run: no verdict)"
        return judge_all(self.goal, self.evidence).text(self.goal)

    def to_json(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "measured": self.measured,
            "target": self.target,
            "goal": self.goal.to_json() if self.goal else None,
            "evidence": [e.to_json() for e in self.evidence],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | list[str]) -> Headline:
        if isinstance(data, list):
            # Saved before verdicts came from _verdict: its met/missed cannot be checked.
            comparison, measured, target = data
            target = _LEGACY_VERDICT.sub(
                ": not resolved (saved without its spread: re-run the section)", target
            )
            return cls(comparison, measured, target)
        goal = data.get("goal")
        return cls(
            comparison=str(data["comparison"]),
            measured=str(data["measured"]),
            target=str(data["target"]),
            goal=Target.from_json(goal) if goal else None,
            evidence=[Evidence.from_json(e) for e in data.get("evidence", [])],
        )


@dataclass
class Section:
    """One section of the report: how it was measured and what came out."""

    key: str
    title: str
    status: Status = "ran"
    summary: str = ""
    conditions: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Headline figures by name (ratios, medians): the summary table and the tests read them.
    numbers: dict[str, float] = field(default_factory=dict)
    # Headline rows of the summary table, with what their verdicts are judged from.
    headlines: list[Headline] = field(default_factory=list)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.key}.json"
        numbers = {k: v for k, v in self.numbers.items() if math.isfinite(v)}
        headlines = [h.to_json() for h in self.headlines]
        data = {**asdict(self), "numbers": numbers, "headlines": headlines}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Section:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            key=data["key"],
            title=data["title"],
            status=data["status"],
            summary=data.get("summary", ""),
            conditions=dict(data.get("conditions", {})),
            commands=list(data.get("commands", [])),
            tables=[Table(**t) for t in data.get("tables", [])],
            blocks=[Block(**b) for b in data.get("blocks", [])],
            charts=[Chart(**c) for c in data.get("charts", [])],
            notes=list(data.get("notes", [])),
            numbers={k: float(v) for k, v in data.get("numbers", {}).items()},
            headlines=[Headline.from_json(row) for row in data.get("headlines", [])],
        )
