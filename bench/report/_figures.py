"""One source for every figure: the measured figures that README.md and the docs pages state,
and whether the benchmark report (docs/benchmarks.md and its stored data) states them too.

A figure is a number with a unit of measurement: a ratio (`1.31×`), a percentage (`6.4 %`), a
time (`32.8 µs`, `5 s`), a size (`57.7 MiB`), a rate (`7 156 req/s`), a p-value (`p=0.008`), or a
number in a table column whose header names such a unit. Ranges (`0.90–1.31×`) and spreads
after a figure (`1.20× (1.09–1.30)`) are figures of the same unit. Not figures: numbers in
inline code, in fenced blocks of commands or code (their flags and settings are parameters), and
numbers without a unit (counts, versions, ports).

Where figures are looked for: the benchmark pages (docs/benchmarks-*.md) entirely, and on every
other page the paragraphs, list items and table rows that speak of a measurement (they link to
a benchmark page, or name `bench.report`, something measured or a median). A page's figure is
in the report when the report states a figure of the same kind whose value, at the page's
precision, is the page's value, written at least as precisely: `about 5 s` quotes `5.13 s`,
`1.31×` needs a figure that rounds to 1.31, and `2.7%` does not quote a report's `3%`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# unit as written -> (kind, factor to the kind's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "×": ("ratio", 1.0),
    "%": ("percent", 1.0),
    "ns/op": ("ns/op", 1.0),
    "B/op": ("B/op", 1.0),
    "allocs/op": ("allocs/op", 1.0),
    "req/s": ("req/s", 1.0),
    "rows/s": ("rows/s", 1.0),
    "events/s": ("events/s", 1.0),
    "ns": ("time", 1e-9),
    "µs": ("time", 1e-6),
    "us": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "seconds": ("time", 1.0),
    "minutes": ("time", 60.0),
    "B": ("size", 1.0),
    "KB": ("size", 1e3),
    "MB": ("size", 1e6),
    "GB": ("size", 1e9),
    "KiB": ("size", 1024.0),
    "MiB": ("size", 1024.0**2),
    "GiB": ("size", 1024.0**3),
}
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
# 12, 1.25, 26 393 or 26 393 (thin space) or 4,441: thousands groups of three digits.
_NUM = r"\d{1,3}(?:[ \u202f,]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_FIGURE = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})(?:\s?[–-]\s?(?P<b>{_NUM}))?\s?(?P<unit>{_UNIT})(?![\w/])"
    rf"(?:\s\((?P<c>{_NUM})[–-](?P<d>{_NUM})\))?"
)
_P_VALUE = re.compile(rf"\bp\s?[=<>]\s?(?P<a>{_NUM})")
# The unit of a table column, from its header: "CPU µs/req" -> µs, "peak RSS (MiB)" -> MiB.
_HEADER_UNIT = re.compile(rf"(?<![\w.])({_UNIT})(?=/req\b|\)|$|\s)")
_CELL_NUMBER = re.compile(rf"(?<![\w.:/=])({_NUM})(?![\w.:/×%])")
_INLINE_CODE = re.compile(r"`[^`]*`")
_BLOCK_START = re.compile(r"^(#+ |[-*] |\d+\. |>)")
_TABLE_RULE = re.compile(r"\|[\s:|-]+\|?")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
# A paragraph that speaks of a measurement: it links to a benchmark page or names the report,
# something measured or a median.
_CONTEXT = re.compile(r"benchmarks[\w-]*\.md|bench\.report|\bmeasured\b|\bmedians?\b", re.I)


@dataclass(frozen=True)
class Figure:
    kind: str
    value: float  # in the kind's base unit
    decimals: int  # as written: the precision the figure claims
    factor: float  # the written unit's factor, to compare at the written precision
    text: str  # as written
    line: int  # 1-based, in its page

    def matches(self, other: Figure) -> bool:
        if self.kind != other.kind:
            return False
        # The report's figure rounds to the page's at the page's precision (half a unit of its
        # last digit), and the report wrote it at least that precisely: "5 s" quotes "5.13 s",
        # "2.7%" does not quote "3%".
        step = 10.0**-self.decimals * self.factor
        if 10.0**-other.decimals * other.factor > step * (1 + 1e-9):
            return False
        return abs(self.value - other.value) <= step / 2 + 1e-9 * max(1.0, abs(self.value))


def _number(text: str) -> tuple[float, int]:
    plain = re.sub(r"[ \u202f,]", "", text)
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return float(plain), decimals


def _figures_in(text: str, line: int, unit: str | None = None) -> Iterator[Figure]:
    """The figures of one line of prose (or one table cell whose column names `unit`)."""
    text = _LINK_TARGET.sub("]", _INLINE_CODE.sub(" ", text))
    for m in _FIGURE.finditer(text):
        kind, factor = UNITS[m.group("unit")]
        for group in ("a", "b", "c", "d"):
            if m.group(group):
                value, decimals = _number(m.group(group))
                yield Figure(kind, value * factor, decimals, factor, m.group(0), line)
    for m in _P_VALUE.finditer(text):
        value, decimals = _number(m.group("a"))
        yield Figure("p", value, decimals, 1.0, m.group(0), line)
    if unit is not None:
        kind, factor = UNITS[unit]
        rest = _FIGURE.sub(" ", _P_VALUE.sub(" ", text))
        for m in _CELL_NUMBER.finditer(rest):
            value, decimals = _number(m.group(1))
            yield Figure(kind, value * factor, decimals, factor, m.group(1), line)


def _header_units(header: str) -> list[str | None]:
    units: list[str | None] = []
    for cell in header.strip().strip("|").split("|"):
        found = _HEADER_UNIT.search(_INLINE_CODE.sub(" ", cell).strip())
        units.append(found.group(1) if found else None)
    return units


@dataclass
class _Block:
    lines: list[tuple[int, str]]
    table_units: list[str | None] | None = None  # a table row: its header's units


Lines = list[tuple[int, str]]  # (1-based number, text)


def _segments(lines: Lines) -> Iterator[tuple[str | None, Lines]]:
    """Prose (None) and fenced blocks (their info string: "sh", "text", "") in order."""
    prose: Lines = []
    fence: str | None = None
    inner: Lines = []
    for number, line in lines:
        stripped = line.strip()
        if fence is None and stripped.startswith("```"):
            yield None, prose
            prose, fence = [], stripped[3:].strip().split(" ")[0].lower()
        elif fence is None:
            prose.append((number, line))
        elif stripped.startswith("```"):
            yield fence, inner
            fence, inner = None, []
        else:
            inner.append((number, line))
    yield None, prose


def _prose_blocks(lines: Lines) -> Iterator[_Block]:
    """Paragraphs, list items and table rows (each with its table's header units)."""
    current: Lines = []
    header: list[str | None] | None = None
    in_table = False
    for number, line in lines:
        stripped = line.strip()
        starts_block = not stripped or stripped.startswith("|") or _BLOCK_START.match(stripped)
        if starts_block and current:
            yield _Block(current)
            current = []
        if stripped.startswith("|"):
            if not in_table:
                header = _header_units(stripped)  # the header row names the units
            elif not _TABLE_RULE.fullmatch(stripped):
                yield _Block([(number, stripped)], header)
            in_table = True
            continue
        in_table = False
        if stripped:
            current.append((number, line))
    if current:
        yield _Block(current)


def _blocks(lines: Lines, *, fenced_text: bool) -> Iterator[_Block]:
    """The blocks of the prose; with fenced_text also those of fenced output (no info string,
    or `text`: a harness's printout, its Markdown tables included). Fenced commands and code
    (sh, python, ...) hold parameters, not figures: skipped."""
    for fence, segment in _segments(lines):
        if fence is None or (fenced_text and fence in ("", "text")):
            yield from _prose_blocks(segment)


def figures(markdown: str, *, everywhere: bool) -> list[Figure]:
    """The figures a page states: all of them (a benchmark page, or the report itself), or only
    those in paragraphs, list items and table rows that speak of a measurement."""
    found: list[Figure] = []
    lines = list(enumerate(markdown.splitlines(), start=1))
    for block in _blocks(lines, fenced_text=everywhere):
        text = " ".join(line for _, line in block.lines)
        if not everywhere and not _CONTEXT.search(text):
            continue
        if block.table_units is None:
            for number, line in block.lines:
                found += _figures_in(line, number)
            continue
        number, row = block.lines[0]
        cells = row.strip().strip("|").split("|")
        for index, cell in enumerate(cells):
            units = block.table_units
            unit = units[index] if index < len(units) else None
            found += _figures_in(cell, number, unit)
    return found


def report_figures(docs: Path) -> list[Figure]:
    """Every figure of the report: docs/benchmarks.md and the raw outputs it was made from."""
    found = figures((docs / "benchmarks.md").read_text(encoding="utf-8"), everywhere=True)
    raw = docs / "benchmarks" / "raw"
    for path in sorted(raw.rglob("*.txt")) if raw.is_dir() else []:
        found += figures(path.read_text(encoding="utf-8"), everywhere=True)
    return found


def pages(root: Path) -> list[Path]:
    """The pages that must quote the report: README.md and docs/*.md but the report itself."""
    docs = sorted(p for p in (root / "docs").glob("*.md") if p.name != "benchmarks.md")
    return [root / "README.md", *docs]


def unquoted(root: Path) -> list[tuple[Path, Figure]]:
    """Every figure of a page that the report does not state."""
    known = report_figures(root / "docs")
    by_kind: dict[str, list[Figure]] = {}
    for figure in known:
        by_kind.setdefault(figure.kind, []).append(figure)
    missing = []
    for page in pages(root):
        everywhere = page.name.startswith("benchmarks-")
        for figure in figures(page.read_text(encoding="utf-8"), everywhere=everywhere):
            if not any(figure.matches(k) for k in by_kind.get(figure.kind, [])):
                missing.append((page, figure))
    return missing
