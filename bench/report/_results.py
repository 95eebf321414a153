"""What a section measured, kept as JSON next to the document so that one section can be re-run
(`--only`) and the document rebuilt from every section's latest results."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

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
    # Headline rows of the summary table: (comparison, measured, target or verdict).
    headlines: list[list[str]] = field(default_factory=list)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.key}.json"
        numbers = {k: v for k, v in self.numbers.items() if math.isfinite(v)}
        data = {**asdict(self), "numbers": numbers}
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
            headlines=[list(row) for row in data.get("headlines", [])],
        )
