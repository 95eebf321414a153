"""The fault matrix: the acknowledgement contract of POST /v1/events through curable faults.

Every scenario runs the built service as a real process under a steady load of events with
unique ids (tests/_loadgen, its acked_file ledger), injects one fault (tests/reliability/
_faults.py), lets it recover, stops the service, and checks the ledger against the database
(tests/reliability/_ledger.py): every event answered 2xx stored exactly once, none answered
{"outcome": "not_stored"} stored, nothing stored twice, no 500, and every other answer a 503
with a Retry-After of whole seconds >= 1. docs/reliability.md, "Fault matrix", has the promises
and the figures of a full run.

Quick mode (default): every scenario once. FAULT_MATRIX_REPEAT=N runs the PostgreSQL crash
scenarios N times each. PostgreSQL scenarios run against a private cluster of this module
(initdb into a temporary folder, its own port), never the shared TEST_POSTGRES_URL server."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .. import _cgroup, _load
from .._load import Load, get_json, record, start_load, wait_until
from .._service import Service, request, start
from ._faults import (
    PgCluster,
    SqliteLock,
    Tmpfs,
    admin_execute,
    consume_xids,
    require,
    terminate_sessions,
)
from ._helpers import Sampler
from ._ledger import Check, Entry, check, read_ledger, stored_ids_postgres, stored_ids_sqlite

pytestmark = [pytest.mark.go, pytest.mark.reliability, pytest.mark.e2e]

REPEAT = max(1, int(os.environ.get("FAULT_MATRIX_REPEAT", "1")))
REPS = [pytest.param(i, id=f"rep{i + 1}") for i in range(REPEAT)]
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# The load of every scenario: a few clients posting 5 events of ~120 bytes each, a short pause
# between requests (the machine has 2 cores and PostgreSQL runs on them too).
LOAD = {"concurrency": 6, "events": 5, "payload_bytes": 120, "pause_ms": 2}
# A client waits this long for an answer: well past every EVENTS_WRITE_TIMEOUT used here, so a
# client-side timeout means the service did not answer in time.
CLIENT_TIMEOUT_S = 20.0
# Bounds of every wait for the service (progress, recovery, settling).
WAIT_S = 20.0
# Warnings and errors the service may log over one outage (it must not log one per request).
MAX_OUTAGE_LOG_LINES = 50


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster for this module: crashed, frozen and restarted at will."""
    cluster = PgCluster.create()
    try:
        yield cluster
    finally:
        cluster.destroy()


@dataclass
class Engine:
    """The database of one scenario and the binary built for it."""

    name: str
    binary: Path
    url: str
    db_file: Path | None = None
    cluster: PgCluster | None = None
    database: str = ""

    def stored(self) -> collections.Counter[str]:
        if self.db_file is not None:
            return stored_ids_sqlite(self.db_file)
        return stored_ids_postgres(self.url)


def make_engine(
    name: str, built: dict[str, Path], work: Path, req: pytest.FixtureRequest
) -> Engine:
    if name == "sqlite":
        db = work / "fm.db"
        return Engine("sqlite", built["default"], f"file:{db}", db_file=db)
    cluster: PgCluster = req.getfixturevalue("pg_cluster")
    cluster.ensure_running()
    database = cluster.create_database()
    req.addfinalizer(lambda: cluster.drop_database(database))
    return Engine(
        "postgres", built["postgres"], cluster.url(database), cluster=cluster, database=database
    )


# --- load ----------------------------------------------------------------------------------


def events_target(name: str, svc: Service, prefix: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "method": "POST",
        "url": svc.public + "/v1/events",
        "id_prefix": prefix,
        **LOAD,
        **extra,
    }


def begin_load(
    loadgen: Path,
    ledger: Path,
    targets: list[dict[str, Any]],
    duration_s: float = 90,
    timeout_s: float = CLIENT_TIMEOUT_S,
) -> Load:
    """Start the load; it runs until stopped with end_load (at most duration_s)."""
    plan = {
        "duration_s": duration_s,
        "timeout_s": timeout_s,
        "acked_file": str(ledger),
        "targets": targets,
    }
    return start_load(loadgen, plan)


def end_load(load: Load) -> dict[str, Any]:
    """Stop sending (SIGTERM: requests in flight run to their answer) and return the summary."""
    if load.proc.poll() is None:
        load.proc.send_signal(signal.SIGTERM)
    try:
        return load.result()
    finally:
        load.kill()


def count(svc: Service) -> int | None:
    """GET /v1/events/count, or None while it does not answer 200."""
    try:
        resp = request("GET", svc.public + "/v1/events/count", timeout=3)
    except OSError:
        return None
    return int(resp.json()["count"]) if resp.status == 200 else None


def wait_progress(svc: Service, at_least: int, timeout: float = WAIT_S) -> None:
    took = wait_until(lambda: (count(svc) or 0) >= at_least, timeout, interval=0.1)
    assert took is not None, f"the load never stored {at_least} events; logs: {svc.logs[-5:]}"


def wait_recovered(svc: Service, timeout: float = WAIT_S) -> float | None:
    """Seconds until the service stores events again (its count answers, then grows)."""
    t0 = time.monotonic()
    first: list[int] = []

    def grew() -> bool:
        n = count(svc)
        if n is None:
            return False
        if not first:
            first.append(n)
            return False
        return n > first[0]

    took = wait_until(grew, timeout, interval=0.1)
    return None if took is None else round(time.monotonic() - t0, 2)


def debug_vars(svc: Service) -> dict[str, Any]:
    data: dict[str, Any] = get_json(svc.debug + "/debug/vars", timeout=5)
    return data


def find_counter(vars_: dict[str, Any], exact: str, word: str) -> tuple[str, int | None]:
    """The counter at the dotted path exact, else the first integer whose key holds word."""
    node: Any = vars_
    for part in exact.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, int):
        return exact, node

    def walk(tree: dict[str, Any], path: str) -> tuple[str, int] | None:
        for k, v in tree.items():
            here = f"{path}.{k}" if path else k
            if isinstance(v, int) and word in k.lower():
                return here, v
            if isinstance(v, dict):
                found = walk(v, here)
                if found:
                    return found
        return None

    found = walk(vars_, "")
    return found if found else (exact, None)


def writer_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """How the batch writer's counters (expvar "batchwriter") moved, the ones that did."""
    b, a = before.get("batchwriter", {}), after.get("batchwriter", {})
    out = {}
    for k in ("retries", "failures", "expired", "abandoned", "refused", "unknown", "rejected"):
        if isinstance(a.get(k), int) and a[k] != b.get(k, 0):
            out[k] = int(a[k]) - int(b.get(k, 0))
    return out


def prometheus(svc: Service) -> dict[str, float]:
    """The service's /metrics as {"name{labels}": value} (comments skipped)."""
    with urllib.request.urlopen(svc.metrics + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[key] = float(value)
    return out


def prom_sum(metrics: dict[str, float], name: str, *labels: str) -> float:
    return sum(
        v
        for k, v in metrics.items()
        if k.split("{", 1)[0] == name and all(label in k for label in labels)
    )


def warn_lines(svc: Service, since: int) -> list[dict[str, Any]]:
    return [line for line in svc.logs[since:] if line.get("level") in ("WARN", "ERROR")]


def log_samples(lines: list[dict[str, Any]], limit: int = 8) -> list[str]:
    """One line of each distinct (level, msg, error), errors first, at most limit of them."""
    seen: dict[tuple[str, str, str], str] = {}
    for line in sorted(lines, key=lambda x: x.get("level") != "ERROR"):
        key = (str(line.get("level")), str(line.get("msg")), str(line.get("error", ""))[:80])
        if key not in seen and len(seen) < limit:
            rest = {k: v for k, v in line.items() if k not in ("time", "level", "msg")}
            seen[key] = f"{key[0]} {key[1]}: {json.dumps(rest, sort_keys=True)[:400]}"
    return list(seen.values())


def stop_service(svc: Service, timeout: float = 60) -> int:
    """SIGTERM and the exit code (-9 after a kill when it does not exit in time)."""
    if svc.proc.poll() is None:
        svc.signal(signal.SIGTERM)
    try:
        return svc.wait(timeout=timeout)
    except Exception:
        svc.stop()
        return svc.proc.returncode
    finally:
        svc.stop()


# --- verdict -------------------------------------------------------------------------------


@dataclass
class Verdict:
    """Everything a scenario found wrong; the test fails with all of it at once."""

    figures: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def need(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)


def load_figures(summary: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "sent",
        "statuses",
        "outcomes",
        "busy_503_without_retry_after",
        "retry_after_bad",
        "retry_after_max",
        "transport_errors",
        "error_samples",
        "bad_ack",
        "poisoned",
        "poison_statuses",
        "hung_up",
        "body_samples",
    )
    out = {}
    for t in summary["targets"]:
        out[t["name"]] = {k: t[k] for k in keys if t.get(k)}
        out[t["name"]]["latency_ms"] = t["latency_ms"]
    return out


def judge(
    scenario: str,
    summary: dict[str, Any],
    ledger: Check,
    *,
    exit_codes: list[int],
    allowed: frozenset[int] = frozenset({202, 503}),
    answered_targets: tuple[str, ...] | None = None,
    extra: dict[str, Any] | None = None,
) -> Verdict:
    """The common verdict: the ledger holds, answers are within the contract, clean exit.
    answered_targets: targets whose every request must have been answered (no transport
    error), all targets by default."""
    v = Verdict(
        figures={
            "load": load_figures(summary),
            "ledger": ledger.figures(),
            "exit_codes": exit_codes,
            **(extra or {}),
        }
    )
    for problem in ledger.problems():
        v.problems.append(f"ledger: {problem}")
    v.need(
        ledger.no_outcome == 0,
        f"{ledger.no_outcome} non-2xx answers without an outcome field "
        f"({ {k: n for k, n in ledger.statuses.items() if k.startswith('R:') and k != 'R:0'} })",
    )
    for t in summary["targets"]:
        name = t["name"]
        poison = t.get("poison_statuses") or {}
        good_statuses = {
            s: n - poison.get(s, 0) for s, n in t["statuses"].items() if n - poison.get(s, 0) > 0
        }
        bad = {s: n for s, n in good_statuses.items() if int(s) not in allowed}
        v.need(not bad, f"{name}: statuses outside {sorted(allowed)}: {bad}")
        v.need(
            t["busy_503_without_retry_after"] == 0,
            f"{name}: {t['busy_503_without_retry_after']} answers 503 without Retry-After",
        )
        v.need(
            t.get("retry_after_bad", 0) == 0,
            f"{name}: {t.get('retry_after_bad')} Retry-After values not an integer >= 1",
        )
        v.need(t["bad_ack"] == 0, f"{name}: {t['bad_ack']} 202s whose stored count is wrong")
        if answered_targets is None or name in answered_targets:
            v.need(
                not t["transport_errors"],
                f"{name}: requests without an answer: {t['transport_errors']} "
                f"{(t.get('error_samples') or [])[:2]}",
            )
    v.need(ledger.acked > 0, "no event was acknowledged at all")
    v.need(all(c == 0 for c in exit_codes), f"exit codes {exit_codes} (want 0)")
    record(f"fault_matrix_{scenario}", v.figures | {"problems": v.problems})
    return v


def ledger_of(engine: Engine, paths: list[Path], prefixes: tuple[str, ...]) -> Check:
    return check(read_ledger(*paths), engine.stored(), prefixes)


@contextlib.contextmanager
def service(engine: Engine, work: Path, **env: str) -> Iterator[Service]:
    """The service on engine's database; killed on the way out if the test did not stop it."""
    full = {"DATABASE_URL": engine.url, "SHUTDOWN_TIMEOUT": "10s", **env}
    svc = start(engine.binary, full, cwd=work)
    try:
        yield svc
    finally:
        svc.stop()


def steady_fault(
    engine: Engine,
    loadgen: Path,
    work: Path,
    fault: Callable[[Service], dict[str, Any]],
    *,
    env: dict[str, str],
    prefix: str,
    warm_events: int = 300,
    after_s: float = 1.0,
) -> tuple[dict[str, Any], Check, list[int], dict[str, Any], Service]:
    """One service under steady load: warm up, inject the fault, wait for recovery, stop."""
    ledger = work / "ledger.txt"
    with service(engine, work, **env) as svc:
        load = begin_load(loadgen, ledger, [events_target("events", svc, prefix)])
        try:
            wait_progress(svc, warm_events)
            log_mark = len(svc.logs)
            vars_before = debug_vars(svc)
            seen = fault(svc)
            seen["recovered_after_s"] = wait_recovered(svc)
            seen["warn_error_log_lines"] = len(warn_lines(svc, log_mark))
            seen["log_samples"] = log_samples(warn_lines(svc, log_mark))
            seen["writer_delta"] = writer_delta(vars_before, debug_vars(svc))
            time.sleep(after_s)
        finally:
            summary = end_load(load)
        exit_code = stop_service(svc)
    return summary, ledger_of(engine, [ledger], (prefix,)), [exit_code], seen, svc


def bit(v: Verdict, ledger: Check, seen: dict[str, Any], summary: dict[str, Any]) -> None:
    """Harness check: the fault reached the writer or the clients (a retry, an expired or
    unknown write, a 503, or a request held for a second or more), or the scenario proved
    nothing."""
    delta = seen.get("writer_delta", {})
    hits = sum(delta.get(k, 0) for k in ("retries", "expired", "unknown", "failures"))
    hits += ledger.requests.get("N", 0) + ledger.requests.get("M", 0)
    slowest = max(t["latency_ms"]["max"] for t in summary["targets"])
    v.need(
        hits > 0 or slowest >= 1000,
        f"the fault never reached the writer nor the clients (harness): {delta}, "
        f"slowest request {slowest} ms",
    )


def assert_verdict(v: Verdict) -> None:
    assert not v.problems, "contract broken:\n  " + "\n  ".join(v.problems)


# --- 1. PostgreSQL crash and restart -------------------------------------------------------

CRASH_ENV = {"EVENTS_WRITE_TIMEOUT": "4s"}
CRASH_DOWN_S = 2.0
XIDS_AFTER_RESTART = 200


@pytest.mark.postgres
@pytest.mark.parametrize("rep", REPS)
def test_postgres_crash_restart_with_xids_consumed(
    rep: int,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """`pg_ctl stop -m immediate` under load, start again 2 s later, and at once another session
    takes 200 transaction ids (ids the crash left unlogged are handed out again)."""
    engine = make_engine("postgres", built_binaries, tmp_path, request)
    assert engine.cluster is not None
    cluster = engine.cluster

    def fault(svc: Service) -> dict[str, Any]:
        down = cluster.crash_and_restart(CRASH_DOWN_S)
        t0 = time.monotonic()
        last_xid = consume_xids(cluster.url(engine.database), XIDS_AFTER_RESTART)
        return {
            "down_s": round(down, 2),
            "xids_consumed": XIDS_AFTER_RESTART,
            "xids_took_s": round(time.monotonic() - t0, 2),
            "last_xid": last_xid,
        }

    summary, ledger, codes, seen, _ = steady_fault(
        engine, loadgen, tmp_path, fault, env=CRASH_ENV, prefix="cx"
    )
    v = judge(f"pg_crash_xids_rep{rep + 1}", summary, ledger, exit_codes=codes, extra=seen)
    v.need(seen["recovered_after_s"] is not None, "the service never stored again after restart")
    bit(v, ledger, seen, summary)
    assert_verdict(v)


@pytest.mark.postgres
@pytest.mark.parametrize("rep", REPS)
def test_postgres_crash_restart_with_two_replicas(
    rep: int,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The same crash with two replicas of the service on the one database, both under load."""
    engine = make_engine("postgres", built_binaries, tmp_path, request)
    assert engine.cluster is not None
    ledger = tmp_path / "ledger.txt"
    seen: dict[str, Any] = {}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        service(engine, tmp_path / "a", **CRASH_ENV) as svc_a,
        service(engine, tmp_path / "b", **CRASH_ENV) as svc_b,
    ):
        load = begin_load(
            loadgen,
            ledger,
            [
                events_target("replica_a", svc_a, "ra", concurrency=4),
                events_target("replica_b", svc_b, "rb", concurrency=4),
            ],
        )
        try:
            wait_progress(svc_a, 300)
            before = [debug_vars(svc_a), debug_vars(svc_b)]
            seen["down_s"] = round(engine.cluster.crash_and_restart(CRASH_DOWN_S), 2)
            seen["recovered_after_s"] = [wait_recovered(svc_a), wait_recovered(svc_b)]
            deltas = [
                writer_delta(b, debug_vars(s)) for b, s in zip(before, (svc_a, svc_b), strict=True)
            ]
            seen["writer_delta"] = dict(
                sum((collections.Counter(d) for d in deltas), start=collections.Counter())
            )
            seen["writer_delta_per_replica"] = deltas
            time.sleep(1.0)
        finally:
            summary = end_load(load)
        codes = [stop_service(svc_a), stop_service(svc_b)]
    result = ledger_of(engine, [ledger], ("ra", "rb"))
    v = judge(f"pg_crash_replicas_rep{rep + 1}", summary, result, exit_codes=codes, extra=seen)
    v.need(None not in seen["recovered_after_s"], "a replica never stored again after restart")
    bit(v, result, seen, summary)
    assert_verdict(v)


# --- 2. SIGKILL of the service -------------------------------------------------------------


@pytest.mark.parametrize("engine_name", ENGINES)
def test_sigkill_mid_load_then_restart(
    engine_name: str,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """SIGKILL under load, restart on the same database and go on: every event acknowledged
    before the kill is there exactly once; requests in flight at the kill are unknown (U)."""
    engine = make_engine(engine_name, built_binaries, tmp_path, request)
    first, second = tmp_path / "ledger1.txt", tmp_path / "ledger2.txt"
    with service(engine, tmp_path) as svc:
        # until_refused: a worker stops at its first refused connection (the process is gone).
        load = begin_load(loadgen, first, [events_target("k1", svc, "k1", until_refused=True)])
        try:
            wait_progress(svc, 300)
            time.sleep(1.0)
            assert load.proc.poll() is None, "the load stopped before the kill"
            svc.proc.kill()
            svc.proc.wait(timeout=10)
        finally:
            summary1 = end_load(load)
    with service(engine, tmp_path) as svc2:
        load2 = begin_load(loadgen, second, [events_target("k2", svc2, "k2")])
        try:
            wait_progress(svc2, (count(svc2) or 0) + 200)
        finally:
            summary2 = end_load(load2)
        codes = [stop_service(svc2)]
    result = ledger_of(engine, [first, second], ("k1", "k2"))
    entries = read_ledger(first)
    in_flight = sum(1 for e in entries if e.tag == "U")
    summary = {"targets": summary1["targets"] + summary2["targets"]}
    v = judge(
        f"sigkill_{engine_name}",
        summary,
        result,
        exit_codes=codes,
        answered_targets=("k2",),
        extra={"in_flight_at_kill_unknown": in_flight},
    )
    k1 = summary1["targets"][0]
    v.need(
        set(k1["transport_errors"]) <= {"refused", "reset", "eof", "other"},
        f"k1 transport errors {k1['transport_errors']}",
    )
    assert_verdict(v)


# --- 3. PostgreSQL black hole --------------------------------------------------------------

BLACKHOLE_WRITE_TIMEOUT_S = 2.0


@pytest.mark.postgres
@pytest.mark.parametrize(
    "freeze_s", [pytest.param(1.0, id="shorter"), pytest.param(5.0, id="longer")]
)
def test_postgres_black_hole(
    freeze_s: float,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """SIGSTOP of every process of the cluster (postmaster and backends) for less, and for
    more, than EVENTS_WRITE_TIMEOUT (2 s), then SIGCONT: only 202 and 503 with Retry-After."""
    engine = make_engine("postgres", built_binaries, tmp_path, request)
    assert engine.cluster is not None
    cluster = engine.cluster

    def fault(svc: Service) -> dict[str, Any]:
        with cluster.frozen() as pids:
            time.sleep(freeze_s)
        return {"frozen_processes": len(pids), "frozen_s": freeze_s}

    summary, ledger, codes, seen, _ = steady_fault(
        engine,
        loadgen,
        tmp_path,
        fault,
        env={"EVENTS_WRITE_TIMEOUT": f"{BLACKHOLE_WRITE_TIMEOUT_S:g}s"},
        prefix="bh",
    )
    name = "shorter" if freeze_s < BLACKHOLE_WRITE_TIMEOUT_S else "longer"
    v = judge(f"pg_black_hole_{name}", summary, ledger, exit_codes=codes, extra=seen)
    v.need(seen["recovered_after_s"] is not None, "the service never stored again after SIGCONT")
    if freeze_s > BLACKHOLE_WRITE_TIMEOUT_S:
        bit(v, ledger, seen, summary)
    assert_verdict(v)


# --- 4. Cancelled statements, a read-only database -----------------------------------------


@pytest.mark.postgres
def test_postgres_cancelled_statements(
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """pg_cancel_backend() of the service's sessions every 50 ms for 2 s, then a 1 ms
    statement_timeout on the database for 2 s (sessions terminated so that they reconnect
    with it), then back to normal."""
    engine = make_engine("postgres", built_binaries, tmp_path, request)
    assert engine.cluster is not None
    admin = engine.cluster.url()
    db = engine.database

    def fault(svc: Service) -> dict[str, Any]:
        cancelled = 0
        end = time.monotonic() + 2.0
        rounds = 0
        while time.monotonic() < end and rounds < 200:
            rows = admin_execute(
                admin,
                "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (db,),
            )
            cancelled += int(str(rows[0][0]))
            rounds += 1
            time.sleep(0.05)
        admin_execute(admin, f"ALTER DATABASE \"{db}\" SET statement_timeout = '1ms'")
        terminated = terminate_sessions(admin, db)
        time.sleep(2.0)
        admin_execute(admin, f'ALTER DATABASE "{db}" RESET statement_timeout')
        terminated += terminate_sessions(admin, db)
        return {"cancel_rounds": rounds, "cancelled": cancelled, "terminated": terminated}

    summary, ledger, codes, seen, _ = steady_fault(
        engine, loadgen, tmp_path, fault, env={"EVENTS_WRITE_TIMEOUT": "2s"}, prefix="cn"
    )
    v = judge("pg_cancel_statement_timeout", summary, ledger, exit_codes=codes, extra=seen)
    v.need(seen["cancelled"] > 0, "no backend of the service was ever cancelled (harness)")
    v.need(seen["recovered_after_s"] is not None, "the service never stored again")
    bit(v, ledger, seen, summary)
    assert_verdict(v)


READ_ONLY_S = 2


@pytest.mark.postgres
def test_postgres_read_only_and_back(
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """default_transaction_read_only on, the service's sessions terminated (they reconnect
    read-only) at once and every 0.5 s for 2 s, then off again and terminated again."""
    engine = make_engine("postgres", built_binaries, tmp_path, request)
    assert engine.cluster is not None
    admin = engine.cluster.url()
    db = engine.database

    def fault(svc: Service) -> dict[str, Any]:
        admin_execute(admin, f'ALTER DATABASE "{db}" SET default_transaction_read_only = on')
        terminated = terminate_sessions(admin, db)
        # Sessions dropped again while read-only (a failover's standby restarting): each
        # reconnection meets the read-only error anew.
        for _ in range(READ_ONLY_S * 2 - 1):
            time.sleep(0.5)
            terminated += terminate_sessions(admin, db)
        time.sleep(0.5)
        admin_execute(admin, f'ALTER DATABASE "{db}" SET default_transaction_read_only = off')
        terminated += terminate_sessions(admin, db)
        return {"read_only_s": READ_ONLY_S, "terminated": terminated}

    summary, ledger, codes, seen, _ = steady_fault(
        engine, loadgen, tmp_path, fault, env={"EVENTS_WRITE_TIMEOUT": "2s"}, prefix="ro"
    )
    v = judge("pg_read_only", summary, ledger, exit_codes=codes, extra=seen)
    v.need(seen["recovered_after_s"] is not None, "the service never stored again")
    bit(v, ledger, seen, summary)
    assert_verdict(v)


# --- 5. SQLite on a full disk --------------------------------------------------------------

TMPFS_BYTES = 8 << 20


def test_sqlite_disk_full(built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path) -> None:
    """SQLite on an 8 MiB tmpfs filled to ENOSPC by another file while the load runs, then the
    space freed: 503 with Retry-After (not 500) meanwhile, 202 after, a bounded log."""
    fs = Tmpfs.mount(tmp_path, TMPFS_BYTES)
    try:
        db = fs.path / "fm.db"
        engine = Engine("sqlite", built_binaries["default"], f"file:{db}", db_file=db)

        def fault(svc: Service) -> dict[str, Any]:
            vars0 = debug_vars(svc)
            t0 = time.monotonic()
            filler = fs.fill()
            filled_s = round(time.monotonic() - t0, 2)

            def failing() -> bool:
                now = debug_vars(svc)
                was = vars0["batchwriter"].get("retries", 0) + vars0["batchwriter"].get(
                    "failures", 0
                )
                return int(now["batchwriter"].get("retries", 0)) + int(
                    now["batchwriter"].get("failures", 0)
                ) > int(was)

            seen_after = wait_until(failing, 15, interval=0.1)
            time.sleep(2.0)  # the outage, as the clients live it
            size = filler.stat().st_size
            filler.unlink()
            return {
                "filler_bytes": size,
                "fill_took_s": filled_s,
                "write_failures_seen_after_s": None if seen_after is None else round(seen_after, 2),
                "free_bytes_after_unlink": fs.free_bytes(),
            }

        summary, ledger, codes, seen, svc = steady_fault(
            engine,
            loadgen,
            tmp_path,
            fault,
            env={"EVENTS_WRITE_TIMEOUT": "2s"},
            prefix="df",
        )
    finally:
        fs.close()
    v = judge("sqlite_disk_full", summary, ledger, exit_codes=codes, extra=seen)
    v.need(
        seen["write_failures_seen_after_s"] is not None,
        "the writer never failed while the disk was full (the fault did not bite: harness)",
    )
    v.need(
        ledger.statuses.get("N:503", 0) > 0,
        f"no 503 not_stored during the outage: {ledger.statuses}",
    )
    v.need(seen["recovered_after_s"] is not None, "no event stored after the space was freed")
    v.need(
        seen["warn_error_log_lines"] < MAX_OUTAGE_LOG_LINES,
        f"{seen['warn_error_log_lines']} WARN/ERROR log lines over the outage "
        f"(want < {MAX_OUTAGE_LOG_LINES}); e.g. {warn_lines(svc, 0)[-3:]}",
    )
    assert_verdict(v)


# --- 6. SQLite's write lock held by another connection -------------------------------------

LOCK_WRITE_TIMEOUT_S = 2.0
LOCK_SPELLS = 3


@pytest.mark.parametrize(
    "hold_s",
    [
        pytest.param(LOCK_WRITE_TIMEOUT_S * 0.8, id="under-deadline"),
        pytest.param(LOCK_WRITE_TIMEOUT_S * 1.5, id="over-deadline"),
    ],
)
def test_sqlite_write_lock_held(
    hold_s: float, built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Another connection holds SQLite's write lock (BEGIN IMMEDIATE) 3 times for just under,
    and separately just over, the 2 s EVENTS_WRITE_TIMEOUT: no duplicate, no not_stored id
    stored, only 202 and 503 with Retry-After."""
    db = tmp_path / "fm.db"
    engine = Engine("sqlite", built_binaries["default"], f"file:{db}", db_file=db)
    lock = SqliteLock(db)

    def fault(svc: Service) -> dict[str, Any]:
        thread = lock.spells(hold_s, gap_s=0.7, count=LOCK_SPELLS)
        thread.join(LOCK_SPELLS * (hold_s + 0.7) + 30)
        return {"held_s": lock.held_s, "lock_errors": lock.errors}

    summary, ledger, codes, seen, _ = steady_fault(
        engine,
        loadgen,
        tmp_path,
        fault,
        env={"EVENTS_WRITE_TIMEOUT": f"{LOCK_WRITE_TIMEOUT_S:g}s"},
        prefix="lk",
    )
    name = "under" if hold_s < LOCK_WRITE_TIMEOUT_S else "over"
    v = judge(f"sqlite_write_lock_{name}", summary, ledger, exit_codes=codes, extra=seen)
    v.need(len(lock.held_s) == LOCK_SPELLS, f"the lock was held {lock.held_s} (harness)")
    if hold_s > LOCK_WRITE_TIMEOUT_S:
        bit(v, ledger, seen, summary)
    assert_verdict(v)


# --- 7. Poison payloads --------------------------------------------------------------------


@pytest.mark.parametrize("engine_name", ENGINES)
def test_poison_payloads_among_good_ones(
    engine_name: str,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Every third request of one client carries a payload PostgreSQL's jsonb refuses and Go
    accepts (lone surrogates, numbers beyond numeric): those get 400/422 with not_stored; every
    other request, of that client and of the others, 202 (or 503 with Retry-After)."""
    engine = make_engine(engine_name, built_binaries, tmp_path, request)
    ledger = tmp_path / "ledger.txt"
    with service(engine, tmp_path) as svc:
        load = begin_load(
            loadgen,
            ledger,
            [
                events_target("good", svc, "pg", concurrency=4),
                events_target("mixed", svc, "pm", concurrency=4, poison_every=3),
            ],
        )
        try:
            wait_progress(svc, 200)
            time.sleep(2.0)
        finally:
            summary = end_load(load)
        codes = [stop_service(svc)]
    result = ledger_of(engine, [ledger], ("pg", "pm"))
    entries = read_ledger(ledger)
    good = [e for e in entries if e.tag != "P"]
    good_bad = collections.Counter(e.status for e in good if e.status not in (202, 503))
    v = judge(
        f"poison_{engine_name}",
        summary,
        result,
        exit_codes=codes,
        allowed=frozenset({202, 503}),
    )
    v.need(result.poison_requests >= 5, f"only {result.poison_requests} poison requests (harness)")
    v.need(not good_bad, f"good requests answered {dict(good_bad)}")
    # A poison answer must say not_stored: its outcome as the summary counted it.
    mixed = _load.target(summary, "mixed")
    poison_outcomes = {
        k: n for k, n in mixed["outcomes"].items() if k.split(":")[0] in ("400", "422")
    }
    v.figures["poison_outcomes"] = poison_outcomes
    v.need(
        all(k.endswith(":not_stored") for k in poison_outcomes),
        f"poison answers without outcome not_stored: {poison_outcomes}",
    )
    assert_verdict(v)


# --- 8. Clients that leave before their answer ---------------------------------------------

STORM_WRITE_TIMEOUT_S = 5.0
STORM_STALL_S = 3.0


@contextlib.contextmanager
def stalled(engine: Engine) -> Iterator[str]:
    """The database stalled: SQLite's write lock held, or every PostgreSQL process stopped."""
    if engine.db_file is not None:
        with SqliteLock(engine.db_file).held():
            yield "sqlite write lock held (BEGIN IMMEDIATE)"
    else:
        assert engine.cluster is not None
        with engine.cluster.frozen():
            yield "postgresql cluster stopped (SIGSTOP)"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_client_disconnect_storm(
    engine_name: str,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """While the database is stalled, clients send whole requests and leave before the answer
    (raw connections closed at once, HTTP clients with a 0.3 s timeout). Those are not 5xx:
    the store-unavailable counter does not move, the abandoned counter does; their events are
    stored at most once."""
    engine = make_engine(engine_name, built_binaries, tmp_path, request)
    ledger = tmp_path / "ledger.txt"
    figures: dict[str, Any] = {}
    with service(engine, tmp_path, EVENTS_WRITE_TIMEOUT=f"{STORM_WRITE_TIMEOUT_S:g}s") as svc:
        # Settle first: a commit that works, so the writer and the pool are warm.
        assert request_ok(svc)
        before = debug_vars(svc)
        prom_before = prometheus(svc)
        small = {"events": 2, "payload_bytes": 80}
        with stalled(engine) as how:
            figures["stall"] = how
            load = begin_load(
                loadgen,
                ledger,
                [
                    events_target("hangup", svc, "sh", hang_up=True, pause_ms=20, **small),
                    events_target("impatient", svc, "si", timeout_s=0.3, pause_ms=0, **small),
                ],
                duration_s=STORM_STALL_S - 0.5,
            )
            summary = load.result()
            load.kill()
        settled = wait_until(lambda: debug_vars(svc)["batchwriter"]["pending"] == 0, WAIT_S)
        time.sleep(0.5)
        after = debug_vars(svc)
        prom_after = prometheus(svc)
        figures["settled_after_s"] = settled
        codes = [stop_service(svc)]
    result = ledger_of(engine, [ledger], ("sh", "si"))
    figures |= {"load": load_figures(summary), "ledger": result.figures(), "exit_codes": codes}
    sent = sum(t["sent"] for t in summary["targets"])
    problems = [f"ledger: {p}" for p in result.problems()]
    problems += departure_counters((before, after), (prom_before, prom_after), figures, sent)
    if not all(c == 0 for c in codes):
        problems.append(f"exit codes {codes}")
    if sent < 20:
        problems.append(f"only {sent} requests in the storm (harness)")
    figures["problems"] = problems
    record(f"fault_matrix_disconnect_storm_{engine_name}", figures)
    assert not problems, "contract broken:\n  " + "\n  ".join(problems)


def departure_counters(
    expvars: tuple[dict[str, Any], dict[str, Any]],
    prom: tuple[dict[str, float], dict[str, float]],
    figures: dict[str, Any],
    sent: int,
) -> list[str]:
    """Clients that left are no database outage and no 5xx: the store-unavailable counter and
    the 5xx count stay put, the abandoned counter rises (expvar and Prometheus)."""
    problems = []
    unavailable = [find_counter(x, "http.store_unavailable", "unavailable") for x in expvars]
    abandoned = [find_counter(x, "batchwriter.abandoned", "abandon") for x in expvars]
    events_5xx = [
        prom_sum(m, "http_server_requests_total", 'code="5xx"', 'route="/v1/events"') for m in prom
    ]
    prom_abandoned = [prom_sum(m, "batchwriter_abandoned_total") for m in prom]
    figures |= {
        "store_unavailable": {"name": unavailable[0][0], "values": [u[1] for u in unavailable]},
        "abandoned": {"name": abandoned[0][0], "values": [a[1] for a in abandoned]},
        "http_client_closed": [x.get("http", {}).get("client_closed") for x in expvars],
        "http_rejected_busy": [x.get("http", {}).get("rejected_busy") for x in expvars],
        "prometheus": {"events_5xx": events_5xx, "batchwriter_abandoned_total": prom_abandoned},
        "batchwriter_before_after": [x.get("batchwriter") for x in expvars],
    }
    u0, u1 = (u[1] for u in unavailable)
    a0, a1 = (a[1] for a in abandoned)
    if u0 is None or u1 is None:
        problems.append(f"no store-unavailable counter in /debug/vars: {sorted(expvars[1])}")
    elif u1 != u0:
        problems.append(f"{unavailable[0][0]} rose by {u1 - u0} for clients that had left")
    if a0 is None or a1 is None:
        problems.append(
            "no abandoned counter in /debug/vars (looked for batchwriter.abandoned or a key "
            f"with 'abandon'): batchwriter={expvars[1].get('batchwriter')}"
        )
    elif a1 <= a0:
        problems.append(f"{abandoned[0][0]} did not rise ({a0} -> {a1}) after {sent} departures")
    if events_5xx[1] != events_5xx[0]:
        problems.append(
            f"/metrics counted {events_5xx[1] - events_5xx[0]} 5xx for departed clients"
        )
    if prom_abandoned[1] <= prom_abandoned[0]:
        problems.append(f"/metrics batchwriter_abandoned_total did not rise: {prom_abandoned}")
    return problems


def request_ok(svc: Service) -> bool:
    body = _load.events_body(["warm.0"])
    return request("POST", svc.public + "/v1/events", body, timeout=10).status == 202


# --- 9. 1 MiB payloads against a stalled database, under a memory limit --------------------

CGROUP_MEMORY = 256 << 20
BIG_CLIENTS = int(os.environ.get("FAULT_MATRIX_BIG_CLIENTS", "64"))
BIG_PAYLOAD = (1 << 20) - 512  # the body stays just under MAX_BODY_BYTES (1 MiB)
BIG_STALL_S = 6.0


@pytest.mark.cgroup
def test_big_payloads_stalled_database_memory_limit(
    built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Inside a 1-CPU, 256 MiB cgroup, 64 clients post one ~1 MiB event each, again and again,
    while SQLite's write lock is held for 6 s: 503s with Retry-After, no OOM kill, alive
    afterwards, exit 0 on SIGTERM."""
    why = _cgroup.available()
    require(why is None, f"cgroups: {why}")
    db = tmp_path / "fm.db"
    engine = Engine("sqlite", built_binaries["default"], f"file:{db}", db_file=db)
    ledger = tmp_path / "ledger.txt"
    cg = _cgroup.Cgroup.create(cpus=1.0, memory_bytes=CGROUP_MEMORY)
    figures: dict[str, Any] = {"clients": BIG_CLIENTS, "payload_bytes": BIG_PAYLOAD}
    svc = None
    try:
        svc = start(
            engine.binary,
            {"DATABASE_URL": engine.url, "EVENTS_WRITE_TIMEOUT": "3s", "SHUTDOWN_TIMEOUT": "10s"},
            cwd=tmp_path,
            preexec=cg.enter(),
        )
        assert request_ok(svc)
        lock = SqliteLock(db)
        with Sampler(svc, interval=0.2) as sampler:
            holder = threading.Thread(target=lock.hold, args=(BIG_STALL_S,), daemon=True)
            holder.start()
            time.sleep(0.2)
            load = begin_load(
                loadgen,
                ledger,
                [
                    events_target(
                        "big",
                        svc,
                        "mb",
                        concurrency=BIG_CLIENTS,
                        events=1,
                        payload_bytes=BIG_PAYLOAD,
                        pause_ms=0,
                        until_refused=True,
                    )
                ],
                duration_s=BIG_STALL_S + 1.0,
                # The answers take seconds under the memory limit's garbage collection, more
                # when the machine is busy: a client timeout here would blame the client.
                timeout_s=60,
            )
            summary = load.result()
            load.kill()
            holder.join(BIG_STALL_S + 30)
        alive = svc.proc.poll() is None
        figures |= {
            "lock_held_s": lock.held_s,
            "alive_after_load": alive,
            "oom_kills": cg.oom_kills(),
            "cgroup_peak_mib": round((cg.peak_memory() or 0) / 2**20, 1),
            "vm_hwm_mib": round(sampler.memory.hwm / 2**20, 1),
            "vm_rss_max_mib": round(sampler.memory.rss_max / 2**20, 1),
        }
        if alive:
            figures["livez"] = request("GET", svc.public + "/livez").status
        codes = [stop_service(svc)]
    finally:
        if svc is not None:
            svc.stop()
        cg.close()
    result = ledger_of(engine, [ledger], ("mb",))
    v = judge("big_payloads_memory_limit", summary, result, exit_codes=codes, extra=figures)
    # The database was stalled for the whole run: acknowledgements are not expected.
    v.problems = [p for p in v.problems if p != "no event was acknowledged at all"]
    v.need(alive, "the process died under the load")
    v.need(figures["oom_kills"] == 0, f"OOM kills: {figures['oom_kills']}")
    big = _load.target(summary, "big")
    v.need(big["busy_503_with_retry_after"] > 0, f"no 503 with Retry-After: {big['statuses']}")
    assert_verdict(v)


# --- the checker itself --------------------------------------------------------------------


def test_ledger_checker_finds_every_breach() -> None:
    """The checker, on a made-up ledger and database, counts each kind of breach once."""
    entries = [
        Entry("A", "t-0-0", 2, 202),  # stored once: fine
        Entry("A", "t-0-1", 2, 202),  # one event missing
        Entry("N", "t-0-2", 1, 503),  # not_stored, but present
        Entry("M", "t-0-3", 1, 503),  # unknown, present: fine
        Entry("U", "t-0-4", 1, 0),  # unknown, absent: fine
        Entry("P", "t-0-5", 2, 422),  # poison refused, absent: fine
        Entry("P", "t-0-6", 1, 202),  # poison accepted and stored
        Entry("N", "t-0-7", 1, 500),  # a 500
        Entry("R", "t-0-8", 1, 0),  # never sent, absent: fine
        Entry("R", "t-0-9", 1, 503),  # an answer without an outcome
    ]
    ids = "t-0-0.0 t-0-0.1 t-0-1.0 t-0-2.0 t-0-3.0 t-0-3.0 t-0-6.0 t-1-0.0 other.0"
    stored = collections.Counter(ids.split())
    c = check(entries, stored, ("t",))
    assert (c.acked, c.acked_missing, c.split_requests) == (4, 1, 1)
    assert (c.not_stored, c.not_stored_but_present) == (2, 1)
    assert (c.unknown, c.unknown_present) == (2, 1)
    assert (c.poison_requests, c.poison_bad_status, c.poison_present) == (2, 1, 1)
    assert (c.status_500, c.refused, c.refused_but_present, c.no_outcome) == (1, 1, 0, 1)
    assert (c.duplicated, c.never_sent_but_present) == (1, 1)
    assert [p.split("=")[0] for p in c.problems()] == [
        "acked_missing",
        "duplicated",
        "not_stored_but_present",
        "never_sent_but_present",
        "status_500",
        "poison_bad_status",
        "poison_present",
    ]
