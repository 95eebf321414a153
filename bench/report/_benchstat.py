"""benchstat's CSV output (`benchstat -format csv`), read into medians, CIs and p-values."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field


@dataclass
class Cell:
    """One column's figure for one benchmark row."""

    median: float
    ci: str  # "3%", "∞", ""
    delta: str = ""  # "vs base": "+12.34%", "~", "?"; empty in the base column
    p: float = math.nan


@dataclass
class Block:
    """One benchstat table: a unit, its columns, and per benchmark row the cells by column."""

    pkg: str
    unit: str
    columns: list[str]
    rows: dict[str, dict[str, Cell]] = field(default_factory=dict)


_P = re.compile(r"p=([0-9.]+)")


def parse(text: str) -> list[Block]:
    """Every table of `benchstat -format csv` output (the first column is the base)."""
    blocks: list[Block] = []
    pkg = ""
    for chunk in text.split("\n\n"):
        columns: list[str] = []
        current: Block | None = None
        for rec in csv.reader(io.StringIO(chunk)):
            if not rec:
                continue
            if len(rec) == 1:
                if rec[0].startswith("pkg: "):
                    pkg = rec[0].removeprefix("pkg: ")
                continue
            if rec[0] == "" and current is None and "CI" not in rec:
                columns = [c for c in rec[1:] if c]
                continue
            if rec[0] == "" and len(rec) > 2 and rec[2] == "CI":
                current = Block(pkg=pkg, unit=rec[1], columns=columns)
                blocks.append(current)
                continue
            if current is None or rec[0] in ("", "geomean"):
                continue
            current.rows[rec[0]] = _cells(rec, columns)
    return blocks


def _cells(rec: list[str], columns: list[str]) -> dict[str, Cell]:
    """Columns after the first have four fields each: value, CI, vs base, P."""
    cells: dict[str, Cell] = {}
    index = 1
    for n, column in enumerate(columns):
        width = 2 if n == 0 else 4
        fields = rec[index : index + width] + [""] * width
        index += width
        try:
            median = float(fields[0])
        except ValueError:
            continue
        cell = Cell(median=median, ci=fields[1])
        if n > 0:
            cell.delta = fields[2]
            match = _P.search(fields[3])
            if match:
                cell.p = float(match.group(1))
        cells[column] = cell
    return cells


def find(blocks: list[Block], unit: str) -> list[Block]:
    return [b for b in blocks if b.unit == unit]


def p_text(cell: Cell) -> str:
    """How a change is quoted: "+12.3% (p=0.000)" or "~ (p=0.240): no significant difference"."""
    if math.isnan(cell.p):
        return cell.delta or "n/a"
    if cell.delta in ("~", "?", ""):
        return f"~ (p={cell.p:.3f}, not significant)"
    return f"{cell.delta} (p={cell.p:.3f})"
