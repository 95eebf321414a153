"""One source for every figure: README.md and the docs pages state no measured figure that the
benchmark report (docs/benchmarks.md and the raw outputs it was made from) does not state.
The rule of what counts as a figure is bench/report/_figures.py's; the tests below pin it on
small pages, then hold the repository's pages to it. Text only: no measurement."""

# The report's typography (× – µ) in the sample pages, as bench/** writes it.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report._figures import figures, pages, unquoted

from .conftest import REPO_ROOT

REPORT = """# Benchmarks

| comparison | measured (median) | target / verdict |
| --- | --- | --- |
| store, 1 writer | 0.65× | ≥ 0.9×: missed (all 6 rounds 0.56–0.81×, sign test p=0.031) |
| `new --defaults` | 5.13 s | ≤ 2 s: missed |

*Process figures*

| server | peak RSS, VmHWM (MiB) | CPU µs/req |
| --- | --- | --- |
| generated | 57.7 (56.5–58.4) | 37.8 (30.1–44.3) |

```text
| variant | CPU µs/req median | req/s median |
| --- | --- | --- |
| off | 48.3 | 16,237 |
```

| step | seconds |
| --- | --- |
| total: new → first 200 on /livez | 148.0 |
"""


def repo(tmp_path: Path, page: str, readme: str = "# r\n") -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text(REPORT)
    (tmp_path / "docs" / "benchmarks-store.md").write_text(page)
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def stale(root: Path) -> list[str]:
    return [figure.text for _, figure in unquoted(root)]


def test_a_figure_the_report_states_is_a_quote(tmp_path: Path) -> None:
    page = (
        "One writer: 0.65× (rounds 0.56–0.81×, p=0.031); `new` about 5 s; the service peaks at "
        "57.7 MiB (about 58 MiB) and 37.8 µs per request; 16 237 req/s with everything off "
        "(48.3 µs); the cold Try it: 148 s. Target ≥ 0.9×.\n"
    )
    assert stale(repo(tmp_path, page)) == []


@pytest.mark.parametrize(
    ("page", "figure"),
    [
        ("One writer: 1.31× of one transaction per call.\n", "1.31×"),  # a stale ratio
        ("One writer: 0.5× (0.56–0.81×).\n", "0.5×"),  # not the report's figure, rounded
        ("The report's 0.65× is 0.651× precisely.\n", "0.651×"),  # more precise than the report
        ("A spread of 0.56–0.90×.\n", "0.56–0.90×"),  # the range's second end is stale
        ("`new` takes 2.7 s.\n", "2.7 s"),
        ("benchstat: p=0.004.\n", "p=0.004"),
        ("| mode | rows/s |\n| --- | --- |\n| pertx | 765 |\n", "765"),  # a table column's unit
        ("```text\nInsert-2  1.5 ms\n```\n", "1.5 ms"),  # fenced output is read
    ],
)
def test_a_figure_the_report_does_not_state_is_stale(
    tmp_path: Path, page: str, figure: str
) -> None:
    found = stale(repo(tmp_path, page))
    assert figure in found, found


def test_parameters_in_code_are_not_figures(tmp_path: Path) -> None:
    page = (
        "Each run uses `-benchtime 2s` and `BATCH_MAX_DELAY=1ms`.\n\n"
        "```sh\nwrk -t1 -c64 -d10s http://ADDR/livez   # 10 s, 64 connections\n```\n\n"
        "[a link](benchmarks.md#store) and 64 connections, 6 rounds, Go 1.26.8.\n"
    )
    assert figures(page, everywhere=True) == []
    assert stale(repo(tmp_path, page)) == []


def test_other_pages_are_read_where_they_speak_of_a_measurement(tmp_path: Path) -> None:
    readme = (
        "GOMEMLIMIT at 90% of the memory limit; a 10 s deadline.\n\n"
        "With warm caches `new` takes about 7 s; the figures: "
        "[docs/benchmarks.md](docs/benchmarks.md#cli).\n\n"
        "- the writer was measured at 3.1× with 64 writers.\n"
    )
    found = stale(repo(tmp_path, "No figures.\n", readme))
    assert found == ["7 s", "3.1×"], found


def test_the_repositorys_pages_are_in_scope() -> None:
    names = [p.relative_to(REPO_ROOT).as_posix() for p in pages(REPO_ROOT)]
    assert names[0] == "README.md"
    assert "docs/benchmarks-store.md" in names
    assert "docs/benchmarks.md" not in names  # the report itself


def test_readme_and_docs_quote_only_the_latest_report() -> None:
    """Fails when README.md or a docs page states a figure that docs/benchmarks.md (the latest
    report, `python -m bench.report`) and its raw outputs do not: quote the report's figure,
    link to its section, or say the figure is not measured in the current report."""
    problems = [
        f"{page.relative_to(REPO_ROOT)}:{figure.line}: {figure.text!r}"
        for page, figure in unquoted(REPO_ROOT)
    ]
    assert not problems, "figures the report does not state:\n" + "\n".join(problems)
