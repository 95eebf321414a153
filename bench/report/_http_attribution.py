"""The HTTP section's attribution: what the generated service's extra CPU per request buys.

Back-to-back runs cannot split a few microseconds on a virtual machine whose speed drifts: one
and the same server measures anywhere from 22 to 38 µs of CPU per /livez request from one run
to the next here. Two methods that the drift does not fool:

- Side by side: two servers pinned to the same CPU and loaded at the same moment from the other
  CPU, so that both see the same machine throughout; each one's CPU µs per request (utime +
  stime from /proc) is compared round by round. A ratio of 1.10 means the second server spends
  10% more CPU on a request than the first; on a CPU-bound server pinned to one CPU that is
  1/1.10 of its requests per second.
- CPU profile: the generated service's own profile (pprof, from its private debug listener)
  during a load run, its samples sorted by what they were doing: the flight recorder (the Go
  runtime's execution tracer), the metrics and access-log middleware, the handlers, the system
  calls (socket reads and writes: kernel time), the garbage collector, and the rest (net/http's
  parsing and writing, the scheduler).
"""

from __future__ import annotations

import math
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.report._context import Context, Spread, times
from bench.report._env import go_env
from bench.report._results import Section, Table

# What _http gives this module (its start, stop, load and /proc helpers), so that none of them
# is written twice: start a server by name -> (process, address); stop it; load an address's
# route for some seconds -> requests answered; a process's CPU seconds; its peak RSS in MiB.
StartFn = Callable[[str], tuple[subprocess.Popen[bytes], str]]
StopFn = Callable[[str, subprocess.Popen[bytes]], None]
LoadFn = Callable[[str, str, int], int]
CpuFn = Callable[[int], float]
RssFn = Callable[[int], float]

# (key, what it measures, first server, second server): the ratio is second ÷ first.
PAIRS = (
    ("total", "everything: generated (as shipped) ÷ fair", "fair", "generated"),
    ("total_bare", "everything: generated (as shipped) ÷ bare", "bare", "generated"),
    (
        "target",
        "metrics and access log at their defaults, flight recorder off ÷ fair",
        "fair",
        "generated_recorder_off",
    ),
    (
        "core",
        "the service without observability: observability off ÷ fair",
        "fair",
        "generated_observability_off",
    ),
    (
        "metrics_log",
        "metrics and access log: flight recorder off ÷ observability off",
        "generated_observability_off",
        "generated_recorder_off",
    ),
    (
        "recorder",
        "the flight recorder always on: FLIGHT_RECORDER=on ÷ as shipped (auto, not recording)",
        "generated",
        "generated_recorder_on",
    ),
    ("timeouts", "server timeouts and body cap: fair ÷ bare", "bare", "fair"),
    # The method's own error: one server against a second process of itself.
    ("same", "the method's own error: fair ÷ a second fair process", "fair", "fair_again"),
)
ROUTE = "/livez"

# What a profile sample was doing, by the first rule its stack matches (top frame first).
_RECORDER = re.compile(
    r"^runtime\.(\(\*)?(trace(?!back|Enabled)|ReadTrace)|^runtime/trace\.|/internal/flightrec\."
)
_GC = re.compile(r"^runtime\.(gc[A-Z]|bgsweep|bgscavenge|markroot|scan[Oo]bject|scanstack)")
_MIDDLEWARE = re.compile(r"\(\*HTTP\)\.Middleware|/internal/observe\.")
_HANDLERS = re.compile(r"/internal/server\.")
_SYSCALL = re.compile(r"^internal/runtime/syscall[/.]|^syscall\.")
CATEGORIES = (
    ("recorder", "flight recorder (the runtime's execution tracer)"),
    ("gc", "garbage collector"),
    ("metrics_log", "metrics and access-log middleware (its own code)"),
    ("handlers", "handlers: panic recovery, body cap, routing, /livez"),
    ("syscalls", "system calls: socket reads and writes (kernel time), netpoll"),
    ("rest", "the rest: net/http reading and writing, the scheduler"),
)


@dataclass(frozen=True)
class Params:
    rounds: int
    seconds: int
    warmup: int
    profiles: int
    profile_seconds: int


QUICK = Params(rounds=2, seconds=1, warmup=1, profiles=1, profile_seconds=2)
FULL = Params(rounds=8, seconds=3, warmup=2, profiles=3, profile_seconds=10)


@dataclass
class Pair:
    """Every round of one side-by-side pair: CPU µs per request of each side, peak RSS."""

    first: list[float] = field(default_factory=list)
    second: list[float] = field(default_factory=list)
    rss_first: list[float] = field(default_factory=list)
    rss_second: list[float] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.first, self.second, strict=True) if a > 0]

    def ratio(self) -> Spread:
        return Spread.of(self.ratios())

    def sign_test(self) -> str:
        """In how many rounds the second server spent more CPU per request, with the two-sided
        sign test's p-value: could the two be equal, and the rounds fall either way?"""
        ratios = [r for r in self.ratios() if r != 1]
        n, above = len(ratios), sum(r > 1 for r in ratios)
        if not n:
            return "n/a"
        tail = sum(math.comb(n, k) for k in range(max(above, n - above), n + 1)) / 2**n
        return f"{above} of {n} (p={min(1.0, 2 * tail):.3f})"


def classify(stack: list[str]) -> str:
    """The category of one profile sample; stack is its frames, innermost first."""
    if any(_RECORDER.search(f) for f in stack):
        return "recorder"
    if any(_GC.search(f) for f in stack):
        return "gc"
    in_handlers = any(_HANDLERS.search(f) for f in stack)
    if not in_handlers and any(_MIDDLEWARE.search(f) for f in stack):
        return "metrics_log"
    if in_handlers:
        return "handlers"
    if any(_SYSCALL.search(f) for f in stack):
        return "syscalls"
    return "rest"


_TRACE_HEAD = re.compile(r"^\s*([\d.]+)(ns|us|µs|ms|s)\s+(\S.*)$")
_TO_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


_TOTAL = re.compile(r"Total samples = ([\d.]+)(ns|us|µs|ms|s)\b")


def shares(traces: str) -> dict[str, float]:
    """CPU seconds by category from `go tool pprof -traces` output. Every sample must land in a
    category: the parts must add up to the total pprof itself reports in the header, or the
    parser missed samples and the shares would be wrong (a ValueError says by how much)."""
    totals = dict.fromkeys((key for key, _ in CATEGORIES), 0.0)
    for block in traces.split("-----------+")[1:]:
        lines = [line for line in block.splitlines()[1:] if line.strip()]
        head = _TRACE_HEAD.match(lines[0]) if lines else None
        if not head:
            continue
        stack = [head.group(3).strip(), *(line.strip() for line in lines[1:])]
        seconds = float(head.group(1)) * _TO_SECONDS[head.group(2)]
        totals[classify(stack)] += seconds
    reported = _TOTAL.search(traces)
    if not reported:
        raise ValueError("pprof -traces output without a 'Total samples' header")
    total = float(reported.group(1)) * _TO_SECONDS[reported.group(2)]
    parsed = sum(totals.values())
    if abs(parsed - total) > max(0.01 * total, 1e-3):
        raise ValueError(f"attributed {parsed:.3f} s of the profile's {total:.3f} s of samples")
    return totals


class RunPair:
    """Runs one pair: both servers started pinned to CPU 0, warmed up together, then loaded
    together for params.rounds rounds."""

    def __init__(self, start: StartFn, stop: StopFn, load: LoadFn, cpu: CpuFn, rss: RssFn) -> None:
        self.start, self.stop, self.load, self.cpu, self.rss = start, stop, load, cpu, rss

    def __call__(self, first: str, second: str, params: Params, into: Pair) -> None:
        procs = [self.start(first), self.start(second)]
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda p: self.load(p[1], ROUTE, params.warmup), procs))
                for _ in range(params.rounds):
                    before = [self.cpu(p[0].pid) for p in procs]
                    done = list(pool.map(lambda p: self.load(p[1], ROUTE, params.seconds), procs))
                    after = [self.cpu(p[0].pid) for p in procs]
                    per_request = [
                        (a - b) * 1e6 / max(requests, 1)
                        for a, b, requests in zip(after, before, done, strict=True)
                    ]
                    into.first.append(per_request[0])
                    into.second.append(per_request[1])
            into.rss_first.append(self.rss(procs[0][0].pid))
            into.rss_second.append(self.rss(procs[1][0].pid))
        finally:
            for name, (proc, _) in zip((first, second), procs, strict=True):
                self.stop(name, proc)


def side_by_side(ctx: Context, params: Params, run_pair: RunPair) -> dict[str, Pair]:
    results = {key: Pair() for key, *_ in PAIRS}
    for key, what, first, second in PAIRS:
        ctx.progress.say(f"side by side: {what}")
        run_pair(first, second, params, results[key])
    return results


def profile_run(
    params: Params,
    load: LoadFn,
    cpu: CpuFn,
    *,
    pid: int,
    addr: str,
    debug_addr: str,
    out: Path,
) -> tuple[dict[str, float], float]:
    """One load run of the generated service with its CPU profile taken meanwhile: seconds by
    category, and the run's CPU µs per request."""
    url = f"http://{debug_addr}/debug/pprof/profile?seconds={params.profile_seconds - 1}"
    fetched: list[bytes] = []

    def fetch() -> None:
        time.sleep(0.5)  # the load is under way
        with urllib.request.urlopen(url, timeout=params.profile_seconds + 30) as resp:
            fetched.append(resp.read())

    fetcher = threading.Thread(target=fetch)
    before = cpu(pid)
    fetcher.start()
    requests = load(addr, ROUTE, params.profile_seconds)
    fetcher.join()
    used = cpu(pid) - before
    if not fetched:
        raise RuntimeError(f"no CPU profile from {url}")
    out.write_bytes(fetched[0])
    traces = subprocess.run(
        ["go", "tool", "pprof", "-traces", str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=go_env(),
        timeout=120,
    ).stdout
    return shares(traces), used * 1e6 / max(requests, 1)


def pair_table(section: Section, pairs: dict[str, Pair], label: Callable[[str], str]) -> Table:
    rows = []
    for key, what, first, second in PAIRS:
        pair = pairs[key]
        spread = pair.ratio()
        section.numbers[f"side_by_side_cpu_ratio_{key}"] = spread.median
        if key == "total":
            section.numbers["side_by_side_fair_cpu_us"] = Spread.of(pair.first).median
        rows.append(
            [
                what,
                spread.text(2, "×"),
                times(1 / spread.median) if spread.median else "n/a",
                pair.sign_test(),
                f"{label(first)}: {Spread.of(pair.first).text(1)}",
                f"{label(second)}: {Spread.of(pair.second).text(1)}",
            ]
        )
    recorder = pairs["recorder"]
    rss = Spread.of([b - a for a, b in zip(recorder.rss_first, recorder.rss_second, strict=True)])
    section.numbers["extra_rss_mib_recorder"] = rss.median
    section.notes.append(
        f"Peak RSS of the flight recorder always on (FLIGHT_RECORDER=on − as shipped, side by "
        "side): "
        f"{rss.text(1)} MiB: its ring of the last seconds of execution trace."
    )
    return Table(
        caption=(
            f"Side by side on one CPU: CPU per `{ROUTE}` request, second server ÷ first "
            "(median and min–max over rounds)"
        ),
        headers=[
            "part",
            "CPU µs/req ratio",
            "as req/s on one CPU",
            "rounds where the second costs more (sign test)",
            "first: CPU µs/req",
            "second: CPU µs/req",
        ],
        rows=rows,
    )


def profile_table(section: Section, runs: list[tuple[dict[str, float], float]]) -> Table:
    # Each run's parts as fractions of its samples (a run without samples says nothing).
    fractions = [
        ({key: seconds / sum(s.values()) for key, seconds in s.items()}, cpu)
        for s, cpu in runs
        if sum(s.values())
    ]
    rows = []
    for key, what in CATEGORIES:
        share = Spread.of([100 * f[key] for f, _ in fractions])
        per_request = Spread.of([cpu * f[key] for f, cpu in fractions])
        section.numbers[f"profile_share_{key}"] = share.median
        section.numbers[f"profile_us_{key}"] = per_request.median
        rows.append([what, share.text(1, " %"), per_request.text(2)])
    cpu = Spread.of([c for _, c in runs])
    rows.append(["all (the profiled runs)", "100 %", cpu.text(1)])
    return Table(
        caption=(
            f"Where the generated service's CPU goes on `{ROUTE}` (as shipped; its own CPU "
            "profile under load; median and min–max over the profiled runs)"
        ),
        headers=["part", "share of the process's CPU", "CPU µs/req"],
        rows=rows,
    )
