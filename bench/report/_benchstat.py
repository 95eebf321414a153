"""benchstat's CSV output (`benchstat -format csv`), read into medians, CIs and p-values."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field

from bench.report._verdict import Evidence


@dataclass
class Cell:
    """One column's figure for one benchmark row."""

    median: float
    ci: str  # "3%", "∞", ""
    delta: str = ""  # "vs base": "+12.34%", "~", "?"; empty in the base column
    p: float = math.nan
    n: int = 0  # samples per side, from the P column (0 in the base column)

    def bounds(self) -> tuple[float, float]:
        """The median's 95% confidence interval (infinite where benchstat gives none)."""
        try:
            half = float(self.ci.rstrip("%")) / 100
        except ValueError:
            return -math.inf, math.inf
        return self.median * (1 - half), self.median * (1 + half)


@dataclass
class Block:
    """One benchstat table: a unit, its columns, and per benchmark row the cells by column."""

    pkg: str
    unit: str
    columns: list[str]
    rows: dict[str, dict[str, Cell]] = field(default_factory=dict)


_P = re.compile(r"p=([0-9.]+)")
_N = re.compile(r"n=(\d+)")


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
            samples = _N.search(fields[3])
            if samples:
                cell.n = int(samples.group(1))
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


def ratio(top: Cell, bottom: Cell, compared: Cell, what: str = "") -> Evidence:
    """top ÷ bottom as evidence for a verdict: the medians' ratio, the widest ratio their 95%
    intervals allow, and the p-value and sample count of `compared` (the cell that benchstat
    compared with its base: one of the two)."""
    t_low, t_high = top.bounds()
    b_low, b_high = bottom.bounds()
    if not all(math.isfinite(v) for v in (t_low, t_high, b_low, b_high)):
        low, high = -math.inf, math.inf  # benchstat gave no interval (too few samples)
    else:
        low = t_low / b_high if b_high > 0 else -math.inf
        high = t_high / b_low if b_low > 0 else math.inf
    median = top.median / bottom.median if bottom.median else math.nan
    return Evidence("benchstat", median, low, high, compared.n, compared.p, what)


def difference(first: Cell, second: Cell, compared: Cell, what: str = "") -> Evidence:
    """first − second as evidence, with the widest difference their 95% intervals allow."""
    f_low, f_high = first.bounds()
    s_low, s_high = second.bounds()
    low, high = f_low - s_high, f_high - s_low
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = -math.inf, math.inf  # benchstat gave no interval (too few samples)
    median = first.median - second.median
    return Evidence("benchstat", median, low, high, compared.n, compared.p, what)
