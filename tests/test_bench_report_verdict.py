"""The benchmark report's verdict rule (bench/report/_verdict.py): a target is met or missed only
where the method resolves it; otherwise the row says "not resolved" with the spread. Pure
functions and an in-memory render: no measurement."""

# The report's typography (× –) in the expected strings, as bench/** writes it.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.report import _benchstat, _cli_times, _render, harness_summary
from bench.report._results import Headline, Section
from bench.report._verdict import (
    MIN_ROUNDS,
    Evidence,
    Target,
    judge,
    judge_all,
)

AT_LEAST = Target("≥", 0.95)
AT_MOST = Target("≤", 1.05)


def rounds(*values: float, method: str = "side by side") -> Evidence:
    assert method in ("side by side", "alternating", "repeated", "back to back")
    return Evidence.rounds(method, list(values))  # type: ignore[arg-type]


def test_every_round_above_the_threshold_is_met() -> None:
    verdict = judge(AT_LEAST, rounds(0.97, 0.99, 1.02, 0.98, 1.01, 0.96))
    assert verdict.state == "met"
    assert verdict.text(AT_LEAST) == (
        "≥ 0.95×: met (all 6 side-by-side rounds 0.96–1.02×, sign test p=0.031)"
    )


def test_every_round_below_the_threshold_is_missed() -> None:
    verdict = judge(AT_LEAST, rounds(0.77, 0.80, 0.92, 0.83, 0.85, 0.81, 0.84, 0.86))
    assert verdict.state == "missed"
    assert "all 8 side-by-side rounds 0.77–0.92×" in verdict.why
    assert "p=0.008" in verdict.why
    # ≤ targets read the other way round.
    assert judge(AT_MOST, rounds(1.06, 1.10, 1.08, 1.2, 1.07, 1.09)).state == "missed"
    assert judge(AT_MOST, rounds(0.9, 1.0, 1.01, 0.99, 1.02, 0.95)).state == "met"


def test_rounds_that_straddle_the_threshold_are_not_resolved_and_show_their_spread() -> None:
    # The access-log case: a median inside the target, rounds on both sides of it.
    verdict = judge(AT_MOST, rounds(0.90, 0.91, 1.00, 1.03, 0.89, 1.08, method="alternating"))
    assert verdict.state == "not resolved"
    assert verdict.text(AT_MOST) == (
        "≤ 1.05×: not resolved (median 0.96×, 0.89–1.08×, n=6 alternating rounds: "
        "the rounds straddle the target)"
    )


def test_a_round_on_the_threshold_is_not_on_either_side() -> None:
    assert judge(AT_LEAST, rounds(0.95, 0.99, 1.02, 0.98, 1.01, 0.96)).state == "not resolved"


def test_too_few_rounds_are_not_resolved_however_clear() -> None:
    # 5 of 5 on one side: the sign test's p is 0.0625, not below 0.05.
    few = rounds(*[2.0] * (MIN_ROUNDS - 1))
    verdict = judge(AT_LEAST, few)
    assert verdict.state == "not resolved"
    assert f"n={MIN_ROUNDS - 1}" in verdict.why
    assert "fewer than 6 rounds" in verdict.why
    assert judge(AT_LEAST, rounds(*[2.0] * MIN_ROUNDS)).state == "met"


def test_back_to_back_rounds_are_never_judged() -> None:
    # Even far from the threshold: the machine drifts between back-to-back runs.
    verdict = judge(AT_MOST, rounds(*[0.5] * 10, method="back to back"))
    assert verdict.state == "not resolved"
    assert "median 0.50×, 0.50–0.50×, n=10 back-to-back rounds" in verdict.why


def test_nothing_measured_is_not_resolved() -> None:
    assert judge(AT_LEAST, rounds()).state == "not resolved"
    assert judge(AT_LEAST, rounds(math.nan, math.nan)).state == "not resolved"


def cell(median: float, ci: str, p: float = math.nan, n: int = 0) -> _benchstat.Cell:
    return _benchstat.Cell(median=median, ci=ci, p=p, n=n)


def test_benchstat_resolves_by_its_intervals_and_p_value() -> None:
    at_least_3 = Target("≥", 3.0)
    tuned, naive = cell(16274, "11%"), cell(616, "9%", p=0.0, n=10)
    evidence = _benchstat.ratio(tuned, naive, naive)
    assert evidence.low == pytest.approx(16274 * 0.89 / (616 * 1.09))
    assert evidence.high == pytest.approx(16274 * 1.11 / (616 * 0.91))
    assert judge(at_least_3, evidence).state == "met"
    # A difference benchstat does not find cannot carry a verdict that needs one ...
    close = _benchstat.ratio(cell(110, "1%"), cell(100, "1%", p=0.2, n=10), cell(0, "", 0.2, 10))
    assert judge(Target("≥", 1.05), close).state == "not resolved"
    assert "no significant difference" in judge(Target("≥", 1.05), close).why
    # ... but a verdict that holds with no difference at all needs none (the pool's ≤ 1.25×).
    assert judge(Target("≤", 1.25), close).state == "met"
    # Intervals that span the threshold, or benchstat without an interval: not resolved.
    wide = _benchstat.ratio(
        cell(429, "16%"), cell(550, "47%", p=0.072, n=10), cell(0, "", 0.072, 10)
    )
    assert judge(Target("≤", 1.25), wide).state == "not resolved"
    unknown = _benchstat.ratio(cell(1, "?"), cell(1, "∞"), cell(0, "", 0.0, 10))
    assert (unknown.low, unknown.high) == (-math.inf, math.inf)  # too few samples for a CI
    assert judge(Target("≤", 1.25), unknown).why.endswith("the interval spans the target")
    back = Evidence.from_json(json.loads(json.dumps(unknown.to_json())))
    assert (back.low, back.high, back.p) == (-math.inf, math.inf, 0.0)


def test_benchstat_differences_of_exact_counts() -> None:
    extra = Target("≤", 2, unit="", null=0, digits=0)
    gen, fair = cell(0, "0%", p=0.0, n=10), cell(2, "0%")
    evidence = _benchstat.difference(gen, fair, gen)
    assert (evidence.median, evidence.low, evidence.high) == (-2, -2, -2)
    assert judge(extra, evidence).text(extra).startswith("≤ +2: met (benchstat: median -2")
    same = _benchstat.difference(cell(2, "0%", p=1.0, n=10), fair, cell(0, "", 1.0, 10))
    assert judge(extra, same).state == "met"  # no difference, within +2 either way
    more = _benchstat.difference(cell(5, "0%", p=0.0, n=10), fair, cell(0, "", 0.0, 10))
    assert judge(extra, more).state == "missed"


def test_one_target_over_several_comparisons() -> None:
    target = Target("≤", 1.25)
    met = Evidence("side by side", 1.0, 0.9, 1.1, 8, what="cpu")
    unresolved = Evidence("side by side", 1.2, 1.1, 1.3, 8, what="io")
    missed = Evidence("side by side", 1.4, 1.3, 1.5, 8, what="io64")
    assert judge_all(target, [met, met]).state == "met"
    both = judge_all(target, [met, unresolved])
    assert both.state == "not resolved"
    assert both.why.startswith("1 of 2 met; io: median 1.20×, 1.10–1.30×, n=8")
    assert judge_all(target, [met, unresolved, missed]).state == "missed"
    assert judge_all(target, []).state == "not resolved"


def test_headlines_survive_the_json_round_trip_and_old_verdicts_are_not_trusted() -> None:
    row = Headline.judged("c", "m", Target("≤", 2.0, unit=" s", null=None), [rounds(3.0, 4.0, 5.0)])
    back = Headline.from_json(json.loads(json.dumps(row.to_json())))
    assert back == row
    assert back.cell(quick=True) == "≤ 2 s (quick run: no verdict)"
    assert back.cell(quick=False).startswith("≤ 2 s: not resolved (median 4.00 s, 3.00–5.00 s")
    legacy = Headline.from_json(["c", "0.89×", "≤ 1.05×: met"])
    assert legacy.cell(quick=False) == (
        "≤ 1.05×: not resolved (saved without its spread: re-run the section)"
    )


def test_the_summary_table_prints_the_rules_verdict(tmp_path: Path) -> None:
    section = Section(key="observability", title="t", conditions={"mode": "full"})
    section.headlines = [
        Headline.judged(
            "access log",
            "0.89×",
            AT_MOST,
            [rounds(0.89, 0.9, 1.0, 1.03, 0.91, method="back to back")],
        ),
        Headline.judged("recorder", "1.10×", AT_MOST, [rounds(*[1.1] * 8)]),
    ]
    section.save(tmp_path / "benchmarks")
    loaded = {"observability": Section.load(tmp_path / "benchmarks" / "observability.json")}
    doc = _render.render(loaded)
    assert "| access log | 0.89× | ≤ 1.05×: not resolved (median 0.91×, 0.89–1.03×, n=5 " in doc
    assert "| recorder | 1.10× | ≤ 1.05×: missed (all 8 side-by-side rounds 1.10–1.10×" in doc
    loaded["observability"].conditions["mode"] = "quick"
    assert "| access log | 0.89× | ≤ 1.05× (quick run: no verdict) |" in _render.render(loaded)


def test_the_store_harness_is_judged_round_by_round(tmp_path: Path) -> None:
    """bench/store/run.sh appends one line per mode per round: the i-th batched line and the
    i-th per-call line were measured in round i, and their ratio is that round's."""
    per_call = [100.0, 200.0, 100.0, 50.0, 100.0, 100.0]
    batched = [60.0, 190.0, 80.0, 40.0, 70.0, 200.0]  # round 6: 2×; the others below 0.9×
    lines = []
    for pertx, batch in zip(per_call, batched, strict=True):
        for mode, value in (("pertx", pertx), ("batched", batch)):
            lines.append(
                f"BenchmarkInsert/writers=1/mode={mode}-2  100  {value} rows/s  1.0 rows/commit"
            )
    (tmp_path / "inproc-sqlite.txt").write_text("\n".join(lines) + "\n")
    rows = harness_summary.store_headlines(tmp_path)
    assert len(rows) == 1
    row = Headline.from_json(rows[0])
    assert row.evidence[0].n == 6
    assert (row.evidence[0].low, row.evidence[0].high) == (0.6, 2.0)
    assert row.cell(quick=False).startswith("≥ 0.9×: not resolved (median 0.80×, 0.60–2.00×")


def test_the_observability_harness_is_shown_but_not_judged(tmp_path: Path) -> None:
    runs = [
        {"variant": variant, "endpoint": "livez", "round": r, "cpu_us": cpu}
        for r in range(8)
        for variant, cpu in (("off", 50.0), ("metrics", 60.0 + r))
    ]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"runs": runs}))
    rows = [Headline.from_json(r) for r in harness_summary.observability_headlines(results)]
    assert [r.comparison for r in rows] == ["`/livez` CPU per request, metrics on vs off"]
    assert rows[0].evidence[0].n == 8
    assert rows[0].cell(quick=False).startswith("≤ 1.05×: not resolved (median 1.27×, 1.20–1.34×")


def test_the_update_helpers_own_median_verdict_is_not_embedded() -> None:
    helper_output = (
        "command   : goperf-scaffold update PATH\n"
        "median    : 7.31s (min 6.07s, max 7.70s)\n"
        "target    : <= 5.00s median: missed by 2.31s\n"
        "load avg  : 2.26 before, 1.46 after\n"
    )
    kept = _cli_times.without_verdict(helper_output)
    assert "missed" not in kept
    assert kept.splitlines() == [
        "command   : goperf-scaffold update PATH",
        "median    : 7.31s (min 6.07s, max 7.70s)",
        "load avg  : 2.26 before, 1.46 after",
    ]
