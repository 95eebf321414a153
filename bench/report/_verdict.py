"""The one rule that turns a measured comparison into a verdict: met, missed or not resolved.

A target is judged only by a method that can tell it apart from the noise of the machine:

- Rounds (two servers side by side, two variants back to back in alternating order, or repeated
  runs of one command): resolved when at least MIN_ROUNDS rounds were measured and every one of
  them lies on the same side of the threshold. The min–max spread then excludes the threshold,
  and the two-sided sign test of the rounds against it gives p = 2 × 0.5^n < 0.05 (n ≥ 6; with
  5 rounds even 5 of 5 gives p = 0.0625). A spread that touches or straddles the threshold is
  not resolved, however many rounds.
- benchstat (Mann–Whitney U over the runs): resolved when the interval that benchstat's 95 %
  confidence intervals of the two medians leave for their ratio (or difference) excludes the
  threshold, and, where the verdict needs the two sides to differ at all (the threshold lies
  between "no difference" and the measurement), benchstat's p < 0.05.
- Back-to-back rounds in a fixed or rotating order: never resolved. The machine's speed drifts
  between runs by more than the ±5–10 % that the targets allow (one and the same binary measures
  1.00× and 0.89× of itself in two such runs), so their spread is shown, never a verdict.

Everything that prints met or missed asks judge() or judge_all(); nothing else decides.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

Method = Literal["side by side", "alternating", "repeated", "back to back", "benchstat"]
State = Literal["met", "missed", "not resolved"]
Op = Literal["≥", "≤"]

METHODS: tuple[Method, ...] = (
    "side by side",
    "alternating",
    "repeated",
    "back to back",
    "benchstat",
)
# The fewest rounds whose sign test can reach p < 0.05 (two-sided, all on one side: 2 × 0.5^n).
MIN_ROUNDS = 6
ALPHA = 0.05

_ROUNDS = {
    "side by side": "side-by-side rounds",
    "alternating": "alternating rounds",
    "repeated": "runs",
    "back to back": "back-to-back rounds",
    "benchstat": "runs (benchstat)",
}


@dataclass(frozen=True)
class Target:
    """What a comparison must reach: `op threshold`, e.g. ≥ 0.95× or ≤ 2 s."""

    op: Op
    threshold: float
    unit: str = "×"  # written after each figure: "×", " s", "" (a count)
    # The value that means "no difference": 1 for a ratio, 0 for a difference, None for an
    # absolute quantity (a wall time against a fixed limit).
    null: float | None = 1.0
    digits: int = 2

    def figure(self, value: float) -> str:
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return ("−∞" if value < 0 else "∞") + self.unit
        sign = "+" if self.null == 0 else ""
        return f"{value:{sign}.{self.digits}f}{self.unit}"

    def range(self, low: float, high: float) -> str:
        """A spread, low–high, with the unit once."""
        if self.null == 0 or not all(math.isfinite(v) for v in (low, high)):
            return f"{self.figure(low)} to {self.figure(high)}"
        return f"{low:.{self.digits}f}–{high:.{self.digits}f}{self.unit}"

    def text(self) -> str:
        sign = "+" if self.null == 0 else ""
        return f"{self.op} {self.threshold:{sign}g}{self.unit}"

    def holds(self, value: float) -> bool:
        return value >= self.threshold if self.op == "≥" else value <= self.threshold

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        op = str(data["op"])
        if op not in ("≥", "≤"):
            raise ValueError(f"unknown target operator {op!r}")
        null = data.get("null", 1.0)
        return cls(
            op=cast(Op, op),
            threshold=float(data["threshold"]),
            unit=str(data.get("unit", "×")),
            null=None if null is None else float(null),
            digits=int(data.get("digits", 2)),
        )


@dataclass(frozen=True)
class Evidence:
    """How one comparison was measured: its median, its spread (min–max over rounds, or the
    interval from benchstat's confidence intervals), how many rounds or runs, and benchstat's
    p-value where benchstat compared the two."""

    method: Method
    median: float
    low: float
    high: float
    n: int
    p: float = math.nan
    what: str = ""  # names the comparison among several (a workload)

    @classmethod
    def rounds(cls, method: Method, values: Sequence[float], what: str = "") -> Evidence:
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return cls(method, math.nan, math.nan, math.nan, 0, what=what)
        return cls(
            method, statistics.median(finite), min(finite), max(finite), len(finite), what=what
        )

    def spread(self, target: Target) -> str:
        """median, min–max and n, in words."""
        spread = f"median {target.figure(self.median)}, {target.range(self.low, self.high)}"
        if self.method == "benchstat":
            p = f", p={self.p:.3f}" if math.isfinite(self.p) else ""
            return f"benchstat: {spread} from its 95% intervals{p}, n={self.n}"
        return f"{spread}, n={self.n} {_ROUNDS[self.method]}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("median", "low", "high", "p"):
            if not math.isfinite(data[key]):
                data[key] = None if math.isnan(data[key]) else str(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        method = str(data["method"])
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")

        def number(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        return cls(
            method=method,
            median=number("median"),
            low=number("low"),
            high=number("high"),
            n=int(data.get("n", 0)),
            p=number("p"),
            what=str(data.get("what", "")),
        )


@dataclass(frozen=True)
class Verdict:
    state: State
    why: str

    def text(self, target: Target) -> str:
        return f"{target.text()}: {self.state} ({self.why})"


def sign_test_p(n: int) -> float:
    """Two-sided sign test when all n rounds fall on one side."""
    return min(1.0, 2 * 0.5**n) if n else 1.0


def judge(target: Target, evidence: Evidence) -> Verdict:
    """The verdict on one comparison (the module's docstring states the rule)."""
    e = evidence
    if e.n == 0 or any(math.isnan(v) for v in (e.median, e.low, e.high)):
        return Verdict("not resolved", "nothing measured")
    side: State = "met" if target.holds(e.median) else "missed"
    straddles = e.low <= target.threshold <= e.high
    benchstat = e.method == "benchstat"
    # benchstat: where "no difference" lies on the verdict's side of the threshold, the verdict
    # holds whether or not the two differ; otherwise it rests on a difference benchstat found.
    null_agrees = target.null is not None and target.holds(target.null) == (side == "met")
    significant = math.isfinite(e.p) and e.p < ALPHA
    unresolved = (
        (e.method == "back to back", "back-to-back rounds drift apart by more than the margin"),
        (benchstat and straddles, "the interval spans the target"),
        (benchstat and not null_agrees and not significant, "no significant difference (p ≥ 0.05)"),
        (
            not benchstat and e.n < MIN_ROUNDS,
            f"fewer than {MIN_ROUNDS} rounds cannot reach p < {ALPHA} in a sign test",
        ),
        (not benchstat and straddles, "the rounds straddle the target"),
    )
    reason = next((why for failed, why in unresolved if failed), None)
    if reason is not None:
        return Verdict("not resolved", f"{e.spread(target)}: {reason}")
    if benchstat:
        return Verdict(side, e.spread(target))
    return Verdict(
        side,
        f"all {e.n} {_ROUNDS[e.method]} {target.range(e.low, e.high)}, "
        f"sign test p={sign_test_p(e.n):.3f}",
    )


def judge_all(target: Target, evidence: Sequence[Evidence]) -> Verdict:
    """One target over several comparisons (every workload): missed if any is missed, met if
    every one is met, otherwise not resolved, naming the comparisons that decide."""
    if not evidence:
        return Verdict("not resolved", "nothing measured")
    if len(evidence) == 1:
        return judge(target, evidence[0])
    verdicts = [(e, judge(target, e)) for e in evidence]
    missed = [(e, v) for e, v in verdicts if v.state == "missed"]
    unresolved = [(e, v) for e, v in verdicts if v.state == "not resolved"]
    if missed:
        named = "; ".join(f"{e.what}: {v.why}" for e, v in missed)
        return Verdict("missed", f"{len(missed)} of {len(evidence)} missed: {named}")
    if unresolved:
        named = "; ".join(f"{e.what}: {v.why}" for e, v in unresolved)
        met = len(evidence) - len(unresolved)
        return Verdict("not resolved", f"{met} of {len(evidence)} met; {named}")
    return Verdict("met", f"all {len(evidence)} met")
