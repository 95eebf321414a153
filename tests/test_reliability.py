"""Proof under load, faults and hostile input: the generated service as a real process on
loopback, driven past its capacity, stopped under load, made to panic, squeezed into a cgroup,
fed hostile input, probed from the network, and its code scanned for known vulnerabilities.

Every scenario records its figures (docs/reliability.md lists them with the command that
reproduces them). Assertions are on promises (statuses, counts, exactly-once, exit codes,
deadlines that are part of the configuration), never on speed.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _cgroup, _load, _vulndb
from ._load import Acks, get_json, goroutines, idle_goroutines, record, start_load, wait_until
from ._service import Service, request, start
from .conftest import IN_CI, PROFILES, Rendered, need, run

pytestmark = [pytest.mark.go, pytest.mark.reliability]

# How long the overload scenarios push; long enough for queues and buffers to fill many times.
OVERLOAD_SECONDS = 15
# Idle goroutines may differ by this much between two readings (the debug request itself,
# a keep-alive connection closing).
GOROUTINE_MARGIN = 3
# ReadHeaderTimeout of the public and debug listeners in the template.
READ_HEADER_TIMEOUT = 5.0
# Slack on top of a configured deadline before the suite calls it broken (process start-up,
# a loaded 2-core machine).
DEADLINE_SLACK = 5.0


@pytest.fixture(scope="session", autouse=True)
def _write_figures() -> Iterator[None]:
    yield
    _load.write_figures()


@pytest.fixture(scope="session")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("go")
    return _load.build_loadgen(tmp_path_factory.mktemp("loadgen"))


@pytest.fixture(scope="session")
def fault_binary(
    rendered_profiles: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The default profile built with -tags faultinject (test-only failure routes)."""
    need("go")
    binary = tmp_path_factory.mktemp("fault-bin") / "svc"
    run(
        ["go", "build", "-tags", "faultinject", "-o", str(binary), "./cmd/svc"],
        rendered_profiles["default"].path,
    )
    return binary


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards; its URL."""
    import psycopg  # noqa: PLC0415 - only the postgres scenarios need it

    name = f"goperf_rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(postgres_url)
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop_cleanly(svc: Service, timeout: float = 60) -> int:
    svc.signal()
    try:
        return svc.wait(timeout=timeout)
    finally:
        svc.stop()


def host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def stored_ids_sqlite(db: Path) -> collections.Counter[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT payload FROM events").fetchall()
    finally:
        conn.close()
    return collections.Counter(str(json.loads(p).get("id", "")) for (p,) in rows)


def stored_ids_postgres(url: str) -> collections.Counter[str]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT payload->>'id' FROM events").fetchall()
    return collections.Counter(str(r[0]) for r in rows)


def exactly_once(
    stored: collections.Counter[str],
    acks: Acks,
    prefix: str | tuple[str, ...],
    extra_acked: tuple[str, ...] = (),
) -> dict[str, int]:
    """Compare what the clients were told with what the database holds (ids under prefix)."""
    acked = set(acks.acked) | set(extra_acked)
    ours = {k: v for k, v in stored.items() if k.startswith(prefix) or k in acked}
    rejected = set(acks.rejected)
    unknown = set(acks.unknown)
    return {
        "acked": len(acked),
        "stored": sum(ours.values()),
        "duplicated": sum(1 for v in ours.values() if v > 1),
        "acked_missing": len(acked - ours.keys()),
        "rejected_but_stored": len(rejected & ours.keys()),
        "unknown_outcome": len(unknown),
        "unknown_stored": len(unknown & ours.keys()),
        "never_sent_but_stored": len(ours.keys() - acked - rejected - unknown),
    }


class Sampler:
    """Samples goroutines (and optionally memory) of a running service in the background."""

    def __init__(self, svc: Service, interval: float = 0.5) -> None:
        self.svc = svc
        self.interval = interval
        self.peak_goroutines = 0
        self.memory = _load.MemoryWatch(svc.proc.pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.memory.sample()
            if self.svc.debug and self.svc.proc.poll() is None:
                with contextlib.suppress(OSError):
                    self.peak_goroutines = max(self.peak_goroutines, goroutines(self.svc.debug))
            self._stop.wait(self.interval)


# --------------------------------------------------------------------------------------------
# Overload
# --------------------------------------------------------------------------------------------

OVERLOAD_ENV = {
    # Capacity far below the offered load: two workers and a queue of eight for 20 ms jobs
    # (about 100 jobs/s), and a write buffer of 40 rows for requests of 10 events.
    "WORKERS": "2",
    "QUEUE_SIZE": "8",
    "BATCH_MAX_ROWS": "10",
    "BATCH_MAX_PENDING": "40",
}


def overload_plan(public: str, acked_file: Path) -> dict[str, Any]:
    return {
        "duration_s": OVERLOAD_SECONDS,
        "timeout_s": 30,
        "acked_file": str(acked_file),
        "targets": [
            {
                "name": "jobs",
                "method": "POST",
                "url": public + "/v1/jobs",
                "concurrency": 48,
                "body": '{"duration_ms": 20}',
            },
            {
                "name": "events",
                "method": "POST",
                "url": public + "/v1/events",
                "concurrency": 32,
                "events": 10,
                "payload_bytes": 100,
                "id_prefix": "ovl",
            },
        ],
    }


def pool_idle(debug: str) -> bool:
    pool = get_json(debug + "/debug/vars")["workerpool"]
    return bool(pool["queued"] == 0 and pool["running"] == 0)


def drive_overload(binary: Path, loadgen: Path, work: Path) -> dict[str, Any]:
    """Start the service with small capacity, overload it, let it recover, stop it: what was
    observed on the way."""
    db = work / "overload.db"
    svc = start(binary, {"DATABASE_URL": f"file:{db}", **OVERLOAD_ENV}, cwd=work)
    seen: dict[str, Any] = {"db": db}
    try:
        # Warm every path up once, so that lazily started goroutines exist before the idle
        # reading.
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1}').status == 202
        warm = _load.events_body(["warm.0"])
        assert request("POST", svc.public + "/v1/events", warm).status == 202
        assert wait_until(lambda: pool_idle(svc.debug), 10)
        seen["idle"] = idle_goroutines(svc.debug)
        seen["before"] = get_json(svc.debug + "/debug/vars")
        seen["count_before"] = get_json(svc.public + "/v1/events/count")["count"]
        with Sampler(svc) as sampler:
            seen["summary"] = _load.run_load(loadgen, overload_plan(svc.public, work / "acked.txt"))
        seen["sampler"] = sampler
        seen["alive"] = svc.proc.poll() is None
        seen["back_after"] = wait_until(
            lambda: goroutines(svc.debug) <= seen["idle"] + GOROUTINE_MARGIN, 30
        )
        seen["after_goroutines"] = goroutines(svc.debug)
        # The pool runs every job it accepted, then sits idle.
        seen["pool_drained"] = wait_until(lambda: pool_idle(svc.debug), 30) is not None
        seen["after"] = get_json(svc.debug + "/debug/vars")
        seen["count_after"] = get_json(svc.public + "/v1/events/count")["count"]
        seen["livez"] = request("GET", svc.public + "/livez").status
        seen["exit_code"] = stop_cleanly(svc)
    finally:
        svc.stop()
    seen["acks"] = _load.read_acks(work / "acked.txt")
    return seen


@pytest.mark.e2e
def test_overload_sheds_with_503_and_recovers(
    built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Far beyond capacity the service answers only 2xx or 503 + Retry-After, resets no
    connection, accounts for every request, loses or duplicates no acknowledged event, and its
    goroutines return to the idle level once the load stops."""
    seen = drive_overload(built_binaries["default"], loadgen, tmp_path)
    summary, before, after = seen["summary"], seen["before"], seen["after"]
    jobs, events = _load.target(summary, "jobs"), _load.target(summary, "events")
    once = exactly_once(stored_ids_sqlite(seen["db"]), seen["acks"], "ovl")
    record(
        "overload",
        {
            "seconds": round(summary["elapsed_s"], 1),
            "config": OVERLOAD_ENV
            | {"job_ms": 20, "events_per_request": 10, "clients": "48 jobs + 32 events"},
            **{
                name: {
                    "sent": t["sent"],
                    "statuses": t["statuses"],
                    "share_503": round(t["statuses"].get("503", 0) / max(t["sent"], 1), 3),
                    "transport_errors": t["transport_errors"],
                    "latency_ms": t["latency_ms"],
                    "rps": round(t["rps"]),
                }
                for name, t in (("jobs", jobs), ("events", events))
            },
            "goroutines": {
                "idle": seen["idle"],
                "peak": seen["sampler"].peak_goroutines,
                "after": seen["after_goroutines"],
                "back_within_s": None
                if seen["back_after"] is None
                else round(seen["back_after"], 2),
            },
            "rss_peak_mib": round(seen["sampler"].memory.hwm / 2**20, 1),
            "events_exactly_once": once,
            "exit_code": seen["exit_code"],
        },
    )

    assert seen["alive"], "the service died under overload"
    for name, t in (("jobs", jobs), ("events", events)):
        assert t["transport_errors"] == {}, (name, t["error_samples"])
        assert set(t["statuses"]) <= {"202", "503"}, (name, t["statuses"])
        assert t["busy_503_without_retry_after"] == 0, name
        # Far beyond capacity means both: shedding (503) and progress (202).
        assert t["statuses"].get("503", 0) > 0, (name, t["statuses"])
        assert t["statuses"].get("202", 0) > 0, (name, t["statuses"])
    assert events["bad_ack"] == 0
    assert seen["back_after"] is not None, (seen["after_goroutines"], seen["idle"])
    assert seen["pool_drained"]
    assert seen["livez"] == 200
    # Every request is accounted for on the server exactly as the clients saw it (the one
    # extra request is the count read between the two expvar snapshots).
    delta = {k: after["http"][k] - before["http"][k] for k in after["http"]}
    assert delta["requests"] == jobs["sent"] + events["sent"] + 1, delta
    assert delta["rejected_busy"] == jobs["statuses"]["503"] + events["statuses"]["503"], delta
    assert delta["panics_recovered"] == 0
    pool0, pool1 = before["workerpool"], after["workerpool"]
    assert pool1["submitted"] - pool0["submitted"] == jobs["statuses"]["202"]
    assert pool1["rejected"] - pool0["rejected"] == jobs["statuses"]["503"]
    assert pool1["completed"] == pool1["submitted"]
    assert pool1["panicked"] == 0
    bw0, bw1 = before["batchwriter"], after["batchwriter"]
    assert bw1["rejected"] - bw0["rejected"] == events["statuses"]["503"]
    assert bw1["rows"] - bw0["rows"] == events["acked_events"]
    assert seen["count_after"] - seen["count_before"] == events["acked_events"]
    assert bw1["failures"] == 0
    assert bw1["pending"] == 0
    assert once["duplicated"] == once["acked_missing"] == once["rejected_but_stored"] == 0, once
    assert once["stored"] == once["acked"] == events["acked_events"], once
    assert seen["exit_code"] == 0


# --------------------------------------------------------------------------------------------
# SIGTERM under load
# --------------------------------------------------------------------------------------------

DRAIN_DELAY = 2.0
SHUTDOWN_TIMEOUT = 20.0


class SlowRequest:
    """A POST /v1/events whose body is sent in two halves, so that it is in flight (the
    handler reading its body) when the listener closes."""

    def __init__(self, public: str, ids: list[str]) -> None:
        self.body = _load.events_body(ids)
        self.ids = ids
        host, port = host_port(public)
        self.sock = socket.create_connection((host, port), timeout=10)
        head = (
            "POST /v1/events HTTP/1.1\r\nHost: rel\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        self.half = len(self.body) // 2
        self.sock.sendall(head + self.body[: self.half])

    def finish(self) -> _load.RawResponse:
        try:
            self.sock.sendall(self.body[self.half :])
            return _load.read_response(self.sock)
        finally:
            self.sock.close()


def poll_readiness_until_closed(public: str, timeout: float) -> list[tuple[float, int | str]]:
    """GET /readyz every 20 ms until the listener refuses connections: (seconds, status)."""
    start = time.monotonic()
    seen: list[tuple[float, int | str]] = []
    while time.monotonic() - start < timeout:
        status = _load.http_status(public + "/readyz", timeout=2)
        seen.append((round(time.monotonic() - start, 3), status))
        if status == "refused":
            break
        time.sleep(0.02)
    return seen


def sigterm_plan(public: str, acked_file: Path) -> dict[str, Any]:
    events = {"method": "POST", "url": public + "/v1/events", "events": 5, "payload_bytes": 80}
    return {
        "duration_s": 60,
        "timeout_s": 30,
        # A load balancer's behaviour: new requests stop once /readyz fails.
        "ready_url": public + "/readyz",
        "acked_file": str(acked_file),
        "targets": [
            {"name": "events", "concurrency": 16, "id_prefix": "term", **events},
            # Clients that do not sit behind the load balancer: they post through the drain
            # delay until the listener refuses them.
            {
                "name": "stubborn",
                "concurrency": 4,
                "id_prefix": "stub",
                "ignore_ready": True,
                "until_refused": True,
                **events,
            },
        ],
    }


def drive_sigterm(binary: Path, database_url: str, loadgen: Path, work: Path) -> dict[str, Any]:
    """Post events, send SIGTERM in the middle, watch readiness and the in-flight request."""
    env = {
        "DATABASE_URL": database_url,
        "SHUTDOWN_DRAIN_DELAY": f"{DRAIN_DELAY:g}s",
        "SHUTDOWN_TIMEOUT": f"{SHUTDOWN_TIMEOUT:g}s",
    }
    svc = start(binary, env, cwd=work)
    load = None
    seen: dict[str, Any] = {}
    try:
        load = start_load(loadgen, sigterm_plan(svc.public, work / "acked.txt"))
        # Load in full swing: a few thousand events committed.
        assert wait_until(lambda: get_json(svc.public + "/v1/events/count")["count"] >= 2000, 60)
        seen["slow"] = slow = SlowRequest(svc.public, [f"slow.{i}" for i in range(50)])
        assert load.proc.poll() is None, "the load stopped before SIGTERM (readiness failed?)"
        t0 = time.monotonic()
        svc.signal(signal.SIGTERM)
        seen["readiness"] = poll_readiness_until_closed(svc.public, timeout=DRAIN_DELAY + 30)
        seen["listener_closed_s"] = time.monotonic() - t0
        # The listener is closed; the request whose body is half sent is still being served.
        seen["slow_resp"] = slow.finish()
        seen["exit_code"] = svc.wait(timeout=DRAIN_DELAY + SHUTDOWN_TIMEOUT + 30)
        seen["exit_s"] = time.monotonic() - t0
        seen["summary"] = load.result()
    finally:
        if load is not None:
            load.kill()
        svc.stop()
    seen["stopped_cleanly"] = any(line.get("msg") == "stopped cleanly" for line in svc.logs)
    return seen


@pytest.mark.e2e
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigterm_under_load_drains_and_stores_every_ack_once(
    database: str,
    built_binaries: dict[str, Path],
    loadgen: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """SIGTERM while clients post events: /readyz fails first and stays failed through the drain
    delay, a request in flight when the listener closes still completes, the process exits 0
    within its deadline, and every event answered 202 is in the database exactly once."""
    if database == "postgres":
        url = request.getfixturevalue("fresh_postgres")
        binary = built_binaries["postgres"]
    else:
        db_file = tmp_path / "sigterm.db"
        url = f"file:{db_file}"
        binary = built_binaries["default"]
    seen = drive_sigterm(binary, url, loadgen, tmp_path)
    summary, readiness, slow, slow_resp = (
        seen["summary"],
        seen["readiness"],
        seen["slow"],
        seen["slow_resp"],
    )
    events = _load.target(summary, "events")
    stubborn = _load.target(summary, "stubborn")
    acks = _load.read_acks(tmp_path / "acked.txt")
    stored = stored_ids_sqlite(db_file) if database == "sqlite" else stored_ids_postgres(url)
    slow_ids = slow.ids if slow_resp.status == 202 else []
    once = exactly_once(stored, acks, ("term", "stub"), extra_acked=tuple(slow_ids))
    slow_stored = sum(stored.get(i, 0) for i in slow.ids)
    statuses = [s for _, s in readiness]
    first_503 = next((t for t, s in readiness if s == 503), None)
    figures = {
        "database": database,
        "drain_delay_s": DRAIN_DELAY,
        "shutdown_timeout_s": SHUTDOWN_TIMEOUT,
        "behind_load_balancer": {
            k: events[k] for k in ("sent", "statuses", "transport_errors", "acked_events")
        },
        "ignoring_readiness": {
            k: stubborn[k]
            for k in ("sent", "statuses", "transport_errors", "error_samples", "acked_events")
        },
        "load_stopped_by": summary["stopped_by"],
        "readyz_first_503_after_sigterm_s": first_503,
        "readyz_503_polls_before_close": statuses.count(503),
        "listener_closed_after_s": round(seen["listener_closed_s"], 2),
        "in_flight_request": {"status": slow_resp.status, "body": slow_resp.body.decode()[:80]},
        "exit_code": seen["exit_code"],
        "exit_after_s": round(seen["exit_s"], 2),
        "events_exactly_once": once | {"in_flight_events_stored": slow_stored},
    }
    record(f"sigterm_{database}", figures)

    # Readiness failed first, stayed failed, and only then did the listener close.
    assert 503 in statuses, readiness
    first_bad = statuses.index(503)
    assert all(s == 200 for s in statuses[:first_bad]), readiness
    assert all(s in (503, "refused") for s in statuses[first_bad:]), readiness
    assert statuses[-1] == "refused", "the listener never closed"
    assert summary["stopped_by"] == "readiness"
    # Every request the clients sent got a response; nothing was reset.
    assert events["transport_errors"] == {}, events["error_samples"]
    assert set(events["statuses"]) <= {"202", "503"}, events["statuses"]
    assert events["bad_ack"] == stubborn["bad_ack"] == 0
    # Clients that ignore readiness are answered until the listener closes; after that they
    # are refused (or, for a keep-alive connection the server closed while idle, see EOF or a
    # reset without their request having been read), never answered with anything but 202/503.
    assert set(stubborn["statuses"]) <= {"202", "503"}, stubborn["statuses"]
    assert stubborn["statuses"].get("202", 0) > 0
    assert set(stubborn["transport_errors"]) <= {"refused", "reset", "eof"}, stubborn
    # The request in flight when the listener closed completed and was stored once.
    assert slow_resp.status == 202, slow_resp
    assert json.loads(slow_resp.body) == {"stored": len(slow.ids)}
    assert all(stored.get(i) == 1 for i in slow.ids)
    # A clean exit within the configured deadline.
    assert seen["exit_code"] == 0
    assert seen["exit_s"] <= DRAIN_DELAY + SHUTDOWN_TIMEOUT + DEADLINE_SLACK
    assert seen["stopped_cleanly"]
    # Exactly once.
    assert once["acked"] > 0
    assert once["duplicated"] == once["acked_missing"] == 0, once
    assert once["rejected_but_stored"] == once["never_sent_but_stored"] == 0, once
    assert once["stored"] == once["acked"] + once["unknown_stored"], once


# --------------------------------------------------------------------------------------------
# Panics
# --------------------------------------------------------------------------------------------

PANICS = 200


def burst(url: str, n: int, workers: int = 8) -> collections.Counter[int | str]:
    """POST url n times from a few threads; the statuses (or connection error classes)."""
    statuses: collections.Counter[int | str] = collections.Counter()
    lock = threading.Lock()
    left = iter(range(n))

    def worker() -> None:
        for _ in left:
            try:
                status: int | str = request("POST", url, b"", timeout=10).status
            except OSError as err:
                status = f"error: {err}"
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


@pytest.mark.e2e
def test_panics_are_recovered_counted_and_the_service_keeps_serving(
    fault_binary: Path, tmp_path: Path
) -> None:
    """A panicking handler answers 500 and is counted; a panicking pool task is counted; the
    process keeps serving, leaks no goroutine, and still shuts down cleanly."""
    svc = start(fault_binary, {"DATABASE_URL": f"file:{tmp_path / 'p.db'}"}, cwd=tmp_path)
    try:
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1}').status == 202
        idle = idle_goroutines(svc.debug)
        before = get_json(svc.debug + "/debug/vars")
        one = request("POST", svc.public + "/test/panic")
        assert one.status == 500
        assert one.json() == {"error": "internal error"}
        handler = burst(svc.public + "/test/panic", PANICS - 1)
        pool = burst(svc.public + "/test/pool-panic", PANICS)
        accepted = pool.get(202, 0)
        assert wait_until(
            lambda: (
                get_json(svc.debug + "/debug/vars")["workerpool"]["panicked"]
                - before["workerpool"]["panicked"]
                == accepted
            ),
            30,
        )
        after = get_json(svc.debug + "/debug/vars")
        # Still serving, on every path.
        assert request("GET", svc.public + "/livez").status == 200
        assert request("GET", svc.public + "/readyz").status == 200
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1}').status == 202
        ok = request("POST", svc.public + "/v1/events", _load.events_body(["after-panics.0"]))
        assert ok.status == 202
        assert ok.json() == {"stored": 1}
        back = wait_until(lambda: goroutines(svc.debug) <= idle + GOROUTINE_MARGIN, 30)
        exit_code = stop_cleanly(svc)
    finally:
        svc.stop()

    logged_handler = [line for line in svc.logs if line.get("msg") == "handler panic recovered"]
    logged_pool = [line for line in svc.logs if line.get("msg") == "workerpool: task panicked"]
    figures = {
        "handler_panics": {
            "sent": PANICS,
            "statuses": {str(k): v for k, v in (handler + collections.Counter({500: 1})).items()},
        },
        "pool_panics": {"sent": PANICS, "statuses": {str(k): v for k, v in pool.items()}},
        "expvar_panics_recovered": after["http"]["panics_recovered"]
        - before["http"]["panics_recovered"],
        "expvar_workerpool_panicked": after["workerpool"]["panicked"]
        - before["workerpool"]["panicked"],
        "logged": {"handler": len(logged_handler), "pool": len(logged_pool)},
        "goroutines_back_to_idle": back is not None,
        "exit_code": exit_code,
    }
    record("panics", figures)

    assert handler == {500: PANICS - 1}, handler
    assert after["http"]["panics_recovered"] - before["http"]["panics_recovered"] == PANICS
    assert set(pool) <= {202, 503}, pool
    assert accepted > 0, pool
    assert after["workerpool"]["panicked"] - before["workerpool"]["panicked"] == accepted
    assert len(logged_handler) == PANICS
    assert all("stack" in line for line in logged_handler)
    assert len(logged_pool) == accepted
    assert all("stack" in line for line in logged_pool)
    assert back is not None
    assert exit_code == 0


@pytest.mark.e2e
def test_default_build_has_no_fault_routes(built_binaries: dict[str, Path], tmp_path: Path) -> None:
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'd.db'}"}, cwd=tmp_path
    )
    try:
        for path in ("/test/panic", "/test/pool-panic"):
            for method in ("POST", "GET"):
                assert request(method, svc.public + path).status in (404, 405), (method, path)
        assert get_json(svc.debug + "/debug/vars")["http"]["panics_recovered"] == 0
    finally:
        assert stop_cleanly(svc) == 0


def test_fault_build_compiles_for_every_profile(rendered_profiles: dict[str, Rendered]) -> None:
    """faults_on.go must keep compiling in every answer profile (it is built only with a tag)."""
    need("go")
    for project in rendered_profiles.values():
        run(["go", "vet", "-tags", "faultinject", "./internal/server/"], project.path)


# --------------------------------------------------------------------------------------------
# Memory under a container limit
# --------------------------------------------------------------------------------------------

CGROUP_MEMORY = 256 << 20
CGROUP_CPUS = 1.0
# Allocation-heavy load through a real endpoint: 64 clients posting JSON arrays of 900 events
# of ~1.1 KiB (bodies just under the 1 MiB MAX_BODY_BYTES). Each request is buffered whole,
# decoded into events and copied into the write buffer: several MiB per request in flight.
# 64 clients keep the live heap well under the limit (the promise is checked with margin);
# RELIABILITY_MEMORY_CLIENTS raises it to find where each configuration gives out.
MEMORY_LOAD = {
    "concurrency": int(os.environ.get("RELIABILITY_MEMORY_CLIENTS", "64")),
    "events": 900,
    "payload_bytes": 1100,
}
MEMORY_SECONDS = 12


def require_cgroups() -> None:
    why = _cgroup.available()
    if why:
        if IN_CI:
            pytest.fail(f"the cgroup scenario must run in CI: {why}")
        pytest.skip(why)


def memory_run(binary: Path, loadgen: Path, work: Path, ratio: str | None) -> dict[str, Any]:
    """One run of the allocation-heavy load inside a fresh 1-CPU, 256 MiB cgroup."""
    work.mkdir()
    env = {"DATABASE_URL": f"file:{work / 'm.db'}"}
    if ratio is not None:
        env["GOMEMLIMIT_RATIO"] = ratio
    cg = _cgroup.Cgroup.create(cpus=CGROUP_CPUS, memory_bytes=CGROUP_MEMORY)
    svc = None
    try:
        svc = start(binary, env, cwd=work, preexec=cg.enter())
        gomemlimit = get_json(svc.debug + "/debug/vars")["gomemlimit"]
        plan = {
            "duration_s": MEMORY_SECONDS,
            "timeout_s": 30,
            "targets": [
                {
                    "name": "big",
                    "method": "POST",
                    "url": svc.public + "/v1/events",
                    "until_refused": True,  # a killed process ends the run
                    **MEMORY_LOAD,
                }
            ],
        }
        with Sampler(svc, interval=0.2) as sampler:
            summary = _load.run_load(loadgen, plan)
        big = _load.target(summary, "big")
        alive = svc.proc.poll() is None
        out: dict[str, Any] = {
            "gomemlimit": gomemlimit,
            "alive_after_load": alive,
            "oom_kills": cg.oom_kills(),
            "cgroup_peak_mib": round((cg.peak_memory() or 0) / 2**20, 1),
            "vm_hwm_mib": round(sampler.memory.hwm / 2**20, 1),
            "vm_rss_max_mib": round(sampler.memory.rss_max / 2**20, 1),
            "requests": big["sent"],
            "statuses": big["statuses"],
            "transport_errors": big["transport_errors"],
            "latency_ms": big["latency_ms"],
        }
        if alive:
            vars_ = get_json(svc.debug + "/debug/vars")
            runtime = vars_["runtime_metrics"]  # runtime/metrics, read without stopping the world
            out["num_gc"] = runtime["gc_cycles_total_gc_cycles"]
            heap_sys = sum(
                runtime[f"memory_classes_heap_{kind}_bytes"]
                for kind in ("objects", "unused", "free", "released")
            )  # what runtime.MemStats calls HeapSys
            out["heap_sys_mib"] = round(heap_sys / 2**20, 1)
            out["livez"] = request("GET", svc.public + "/livez").status
            out["exit_code"] = stop_cleanly(svc)
        else:
            out["exit_code"] = svc.wait(timeout=10)
        return out
    finally:
        if svc is not None:
            svc.stop()
        cg.close()


@pytest.mark.e2e
@pytest.mark.cgroup
def test_memory_limit_wiring_keeps_the_process_alive_under_allocation_heavy_load(
    built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Inside 1 CPU and 256 MiB, the allocation-heavy load leaves the process alive with the
    default GOMEMLIMIT wiring (90% of the limit). The same load with GOMEMLIMIT_RATIO=off is run
    and recorded side by side, whatever happens to it: it is the comparison, not a promise."""
    require_cgroups()
    with_limit = memory_run(built_binaries["default"], loadgen, tmp_path / "on", None)
    without = memory_run(built_binaries["default"], loadgen, tmp_path / "off", "off")
    record(
        "memory_limit",
        {
            "cgroup": {"cpus": CGROUP_CPUS, "memory_mib": CGROUP_MEMORY >> 20},
            "load": MEMORY_LOAD | {"seconds": MEMORY_SECONDS, "body_bytes": "~1,000,000"},
            "gomemlimit_ratio_default": with_limit,
            "gomemlimit_ratio_off": without,
        },
    )

    assert with_limit["gomemlimit"] == int(CGROUP_MEMORY * 0.9)
    assert without["gomemlimit"] == (1 << 63) - 1
    assert with_limit["alive_after_load"], with_limit
    assert with_limit["oom_kills"] == 0, with_limit
    assert with_limit["livez"] == 200, with_limit
    assert with_limit["exit_code"] == 0, with_limit
    assert with_limit["transport_errors"] == {}, with_limit
    assert set(with_limit["statuses"]) <= {"202", "503"}, with_limit


# --------------------------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------------------------

SLOWLORIS_CONNECTIONS = 24


def slowloris(host: str, port: int, give_up_after: float = 30) -> float | None:
    """Trickle a request header one byte every 0.2 s; seconds until the server closed the
    connection, or None if it was still open after give_up_after (bounded in count and time)."""
    payload = b"GET /livez HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 2000
    with socket.create_connection((host, port), timeout=5) as s:
        start = time.monotonic()
        for byte in payload:
            try:
                s.send(bytes([byte]))
                s.settimeout(0.2)
                if s.recv(1) == b"":
                    return time.monotonic() - start
                return time.monotonic() - start  # the server answered instead of waiting
            except TimeoutError:
                pass
            except OSError:
                return time.monotonic() - start
            if time.monotonic() - start > give_up_after:
                return None
    return None


@pytest.mark.e2e
def test_slowloris_is_cut_off_while_other_clients_are_served(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """Connections that trickle their headers are closed by the server after ReadHeaderTimeout
    (5 s) on both listeners, and ordinary requests are served meanwhile."""
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 's.db'}"}, cwd=tmp_path
    )
    closed: list[tuple[str, float | None]] = []
    lock = threading.Lock()
    try:
        idle = idle_goroutines(svc.debug)
        targets = [("public", host_port(svc.public))] * SLOWLORIS_CONNECTIONS + [
            ("debug", host_port(svc.debug))
        ] * 2

        def attack(name: str, addr: tuple[str, int]) -> None:
            took = slowloris(*addr)
            with lock:
                closed.append((name, took))

        threads = [threading.Thread(target=attack, args=t) for t in targets]
        for t in threads:
            t.start()
        time.sleep(0.5)
        peak = goroutines(svc.debug)
        served: collections.Counter[int] = collections.Counter()
        latencies = []
        while any(t.is_alive() for t in threads):
            t0 = time.monotonic()
            served[request("GET", svc.public + "/livez", timeout=10).status] += 1
            served[
                request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1}', timeout=10).status
            ] += 1
            latencies.append(time.monotonic() - t0)
            time.sleep(0.05)
        for t in threads:
            t.join(60)
        back = wait_until(lambda: goroutines(svc.debug) <= idle + GOROUTINE_MARGIN, 30)
    finally:
        assert stop_cleanly(svc) == 0

    times = [t for _, t in closed if t is not None]
    latencies.sort()
    record(
        "slowloris",
        {
            "connections": {"public": SLOWLORIS_CONNECTIONS, "debug": 2},
            "closed_after_s": {
                "min": round(min(times), 2) if times else None,
                "max": round(max(times), 2) if times else None,
            },
            "never_closed": sum(1 for _, t in closed if t is None),
            "goroutines": {"idle": idle, "during": peak, "back_to_idle": back is not None},
            "other_clients": {
                "requests": sum(served.values()),
                "statuses": {str(k): v for k, v in served.items()},
                "pair_latency_ms_max": round(latencies[-1] * 1000, 1) if latencies else None,
            },
        },
    )
    assert len(closed) == len(targets)
    assert all(t is not None for _, t in closed), closed
    # Cut off by the server after ReadHeaderTimeout (the bound leaves room for a loaded machine).
    assert max(times) <= READ_HEADER_TIMEOUT + DEADLINE_SLACK, closed
    assert min(times) >= READ_HEADER_TIMEOUT - 0.5, closed  # by the timeout, not by accident
    assert set(served) == {200, 202}, served
    assert back is not None


def open_raw(url: str) -> socket.socket:
    return socket.create_connection(host_port(url), timeout=10)


@pytest.mark.e2e
def test_bodies_over_the_cap_are_refused_without_being_read(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """A declared body over MAX_BODY_BYTES gets 413 at once, and an unbounded chunked body gets
    413 once the cap is crossed; the client never has to send the rest, nothing is stored."""
    cap = 1 << 20
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'b.db'}"}, cwd=tmp_path
    )
    try:
        count = get_json(svc.public + "/v1/events/count")["count"]
        declared: dict[str, Any] = {}
        for path in ("/v1/events", "/v1/jobs"):
            with open_raw(svc.public) as s:
                s.sendall(
                    f"POST {path} HTTP/1.1\r\nHost: rel\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {64 * cap}\r\n\r\n".encode()
                    + b"[" * 4096
                )
                t0 = time.monotonic()
                resp = _load.read_response(s, timeout=30)
                declared[path] = {
                    "status": resp.status,
                    "connection": resp.headers.get("connection"),
                    "answered_after_ms": round((time.monotonic() - t0) * 1000, 1),
                    "body_sent_bytes": 4096,
                    "declared_bytes": 64 * cap,
                }
                assert resp.status == 413, (path, resp)
                assert resp.headers.get("connection") == "close"
                assert "error" in json.loads(resp.body)

        # No Content-Length: stream chunks until the server answers (bounded at 64 MiB).
        with open_raw(svc.public) as s:
            s.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: rel\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"[" * 65536
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sent = 0
            s.setblocking(False)
            while sent < 64 * cap:
                readable, writable, _ = select.select([s], [s], [], 5)
                if readable:
                    break
                if writable:
                    try:
                        sent += s.send(frame)
                    except BlockingIOError:
                        continue
                    except OSError:
                        break
            s.setblocking(True)
            chunked = _load.read_response(s, timeout=30)
        assert chunked.status == 413, chunked
        assert get_json(svc.public + "/v1/events/count")["count"] == count
        assert request("GET", svc.public + "/livez").status == 200
    finally:
        assert stop_cleanly(svc) == 0
    record(
        "body_cap",
        {
            "max_body_bytes": cap,
            "declared_over_cap": declared,
            "chunked_unbounded": {"status": chunked.status, "bytes_sent_before_answer": sent},
        },
    )
    assert sent < 64 * cap


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


HOSTILE_EVENTS: dict[str, bytes] = {
    "truncated": b'[{"kind":"a","payload":{',
    "trailing data": b'[{"kind":"a","payload":{}}] [1]',
    "kind not a string": b'[{"kind":5,"payload":{}}]',
    "payload a string": b'[{"kind":"a","payload":"text"}]',
    "payload an array": b'[{"kind":"a","payload":[1,2]}]',
    "payload missing": b'[{"kind":"a"}]',
    "empty kind": b'[{"kind":"","payload":{}}]',
    "kind too long": json.dumps([{"kind": "k" * 129, "payload": {}}]).encode(),
    "unknown field": b'[{"kind":"a","payload":{},"extra":1}]',
    "empty array": b"[]",
    "empty body": b"",
    "whitespace only": b" \n\t ",
    "null": b"null",
    "object, not array": b'{"kind":"a","payload":{}',
    "1001 events (array)": json.dumps([{"kind": "a", "payload": {}}] * 1001).encode(),
    "1001 events (ndjson)": b"\n".join([b'{"kind":"a","payload":{}}'] * 1001),
    "ndjson, last line broken": b'{"kind":"a","payload":{}}\n{"kind":',
    "invalid utf-8 in kind": b'[{"kind":"a\xff\xfe","payload":{}}]',
    "invalid utf-8 in payload": b'[{"kind":"a","payload":{"x":"\xc3\x28"}}]',
    "utf-8 bom": b'\xef\xbb\xbf[{"kind":"a","payload":{}}]',
    "nesting 20000 deep": ('[{"kind":"a","payload":' + nested(20000) + "}]").encode(),
    "nul bytes": b'[{"kind":"a","payload":{}}]\x00\x00',
}

HOSTILE_JOBS: dict[str, bytes] = {
    "truncated": b'{"duration_ms":',
    "array": b"[1,2]",
    "duration a string": b'{"duration_ms":"5"}',
    "duration negative": b'{"duration_ms":-1}',
    "duration over the cap": b'{"duration_ms":10001}',
    "duration fractional": b'{"duration_ms":1.5}',
    "duration overflows int64": b'{"duration_ms":1e30}',
    "unknown field": b'{"duration_ms":1,"extra":true}',
    "two objects": b'{"duration_ms":1}{"duration_ms":1}',
    "invalid utf-8 key": b'{"duration_ms":1,"\xff":2}',
}


@pytest.mark.e2e
def test_malformed_input_gets_400_with_a_message_and_changes_nothing(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'h.db'}"}, cwd=tmp_path
    )
    answers: dict[str, dict[str, Any]] = {}
    try:
        count = get_json(svc.public + "/v1/events/count")["count"]
        pool = get_json(svc.debug + "/debug/vars")["workerpool"]["submitted"]
        for path, cases in (("/v1/events", HOSTILE_EVENTS), ("/v1/jobs", HOSTILE_JOBS)):
            for name, body in cases.items():
                resp = request("POST", svc.public + path, body, timeout=30)
                try:
                    message = str(resp.json().get("error", ""))
                except ValueError:
                    message = ""
                answers[f"{path} {name}"] = {"status": resp.status, "error": message[:100]}
        # Request headers over MaxHeaderBytes (64 KiB) are refused before any handler runs.
        header_bomb = request("GET", svc.public + "/livez", headers={"X-Big": "a" * (100 << 10)})
        answers["header over 64 KiB"] = {"status": header_bomb.status, "error": ""}
        count_after = get_json(svc.public + "/v1/events/count")["count"]
        pool_after = get_json(svc.debug + "/debug/vars")["workerpool"]["submitted"]
        assert request("GET", svc.public + "/livez").status == 200
    finally:
        assert stop_cleanly(svc) == 0
    record("malformed_input", {"answers": answers, "rows_before": count, "rows_after": count_after})

    bad = {
        k: v
        for k, v in answers.items()
        if k != "header over 64 KiB" and (v["status"] != 400 or not v["error"])
    }
    assert not bad, bad
    assert answers["header over 64 KiB"]["status"] == 431
    assert count_after == count
    assert pool_after == pool


@pytest.mark.e2e
def test_request_larger_than_the_write_buffer_is_refused_with_413(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """A valid request with more events than one transaction may hold (BATCH_MAX_ROWS, here
    also fewer than BATCH_MAX_PENDING) can never be written: 413 (a client error that retrying
    cannot cure), not a 500, and nothing stored."""
    env = {
        "DATABASE_URL": f"file:{tmp_path / 'x.db'}",
        "BATCH_MAX_ROWS": "10",
        "BATCH_MAX_PENDING": "40",
    }
    svc = start(built_binaries["default"], env, cwd=tmp_path)
    try:
        body = _load.events_body([f"big.{i}" for i in range(50)])
        resp = request("POST", svc.public + "/v1/events", body)
        fits = request("POST", svc.public + "/v1/events", _load.events_body(["fits.0"]))
        count = get_json(svc.public + "/v1/events/count")["count"]
    finally:
        assert stop_cleanly(svc) == 0
    assert resp.status == 413, (resp.status, resp.body)
    assert resp.json()["error"]
    assert fits.status == 202
    assert count == 1


# --------------------------------------------------------------------------------------------
# Exposure of pprof and expvar
# --------------------------------------------------------------------------------------------

# Addresses of a veth pair inside a network namespace the test creates (RFC 2544 benchmarking
# range): non-loopback interfaces that only this test can reach.
NETNS_ADDRS = ("198.18.0.1", "198.18.0.2")

PROBE = r"""
import json, socket, sys, urllib.error, urllib.request
out = {}
for label, kind, target in json.loads(sys.argv[1]):
    if kind == "tcp":
        host, port = target
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            with socket.socket(fam) as s:
                s.settimeout(3)
                out[label] = "open" if s.connect_ex((host, port)) == 0 else "refused"
        except OSError as err:
            out[label] = "unreachable: %s" % err
        continue
    try:
        with urllib.request.urlopen(target, timeout=10) as r:
            out[label] = r.status
    except urllib.error.HTTPError as err:
        out[label] = err.code
    except (urllib.error.URLError, OSError) as err:
        out[label] = "error: %s" % getattr(err, "reason", err)
print(json.dumps(out))
"""


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace of the test's own with two non-loopback addresses on a veth pair."""
    why = None
    if os.geteuid() != 0:
        why = "creating a network namespace needs root"
    elif shutil.which("ip") is None:
        why = "iproute2 (ip) is not installed"
    name = f"goperf-rel-{uuid.uuid4().hex[:8]}"
    steps = [
        ["ip", "netns", "add", name],
        ["ip", "-n", name, "link", "set", "lo", "up"],
        ["ip", "-n", name, "link", "add", "gp0", "type", "veth", "peer", "name", "gp1"],
        ["ip", "-n", name, "addr", "add", f"{NETNS_ADDRS[0]}/24", "dev", "gp0"],
        ["ip", "-n", name, "addr", "add", f"{NETNS_ADDRS[1]}/24", "dev", "gp1"],
        ["ip", "-n", name, "link", "set", "gp0", "up"],
        ["ip", "-n", name, "link", "set", "gp1", "up"],
    ]
    created = False
    if why is None:
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=30, check=False)
            if proc.returncode != 0:
                why = f"{' '.join(step)}: {proc.stderr.strip()}"
                break
            created = True
    if why is not None:
        if created:
            subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, timeout=30, check=False
            )
        if IN_CI:
            pytest.fail(f"the exposure scenario must run in CI: {why}")
        pytest.skip(why)
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30, check=False)


def probe_in(ns: str, targets: list[tuple[str, str, Any]]) -> dict[str, Any]:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", PROBE, json.dumps(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.e2e
def test_pprof_and_expvar_are_unreachable_from_the_network_unless_opted_in(
    built_binaries: dict[str, Path], netns: str, tmp_path: Path
) -> None:
    """With the shipped defaults (public on :8080, metrics on :9090, debug on 127.0.0.1:6060)
    inside a namespace with non-loopback interfaces: the public port serves no debug path and no
    /metrics, the metrics port serves /metrics and nothing else, the debug port refuses every
    non-loopback address, and only an explicit opt-in exposes it."""
    ip = Path(shutil.which("ip") or "ip")
    binary = str(built_binaries["default"])
    # Empty values select the defaults (the config ignores empty variables).
    defaults = {
        "DATABASE_URL": f"file:{tmp_path / 'x.db'}",
        "HTTP_ADDR": "",
        "DEBUG_ADDR": "",
        "METRICS_ADDR": "",
    }
    svc = start(ip, defaults, cwd=tmp_path, args=["netns", "exec", netns, binary])
    opted_in = None
    try:
        assert svc.public.endswith(":8080")
        assert svc.debug == "http://127.0.0.1:6060"
        a, b = NETNS_ADDRS
        debug_paths = (
            "/debug/pprof/",
            "/debug/pprof/profile?seconds=1",
            "/debug/pprof/goroutine?debug=2",
            "/debug/pprof/cmdline",
            "/debug/vars",
        )
        targets: list[tuple[str, str, Any]] = [("public /livez", "http", f"http://{a}:8080/livez")]
        targets += [(f"public {p}", "http", f"http://{a}:8080{p}") for p in debug_paths]
        targets += [("public /metrics", "http", f"http://{a}:8080/metrics")]
        targets += [("metrics /metrics", "http", f"http://{a}:9090/metrics")]
        targets += [(f"metrics {p}", "http", f"http://{a}:9090{p}") for p in debug_paths]
        targets += [
            (f"debug port on {a}", "tcp", [a, 6060]),
            (f"debug port on {b}", "tcp", [b, 6060]),
            ("debug port on ::1", "tcp", ["::1", 6060]),
            ("debug /debug/vars on 127.0.0.1", "http", "http://127.0.0.1:6060/debug/vars"),
        ]
        default_probe = probe_in(netns, targets)

        # Binding elsewhere without the opt-in is refused at start.
        refused = subprocess.run(
            [str(ip), "netns", "exec", netns, binary],
            env={
                "PATH": os.environ.get("PATH", ""),
                "HTTP_ADDR": "127.0.0.1:8082",
                "DEBUG_ADDR": "0.0.0.0:6062",
                "DATABASE_URL": f"file:{tmp_path / 'y.db'}",
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # The control: with the opt-in the same probe does see the debug listener.
        opted_in = start(
            ip,
            {
                "DATABASE_URL": f"file:{tmp_path / 'z.db'}",
                "HTTP_ADDR": "127.0.0.1:8081",
                "DEBUG_ADDR": "0.0.0.0:6061",
                "DEBUG_ALLOW_EXTERNAL": "true",
            },
            cwd=tmp_path,
            args=["netns", "exec", netns, binary],
        )
        control_probe = probe_in(
            netns, [("opted-in /debug/vars", "http", f"http://{a}:6061/debug/vars")]
        )
        warned = any(
            line.get("level") == "WARN" and "not loopback-only" in line.get("msg", "")
            for line in opted_in.logs
        )
    finally:
        if opted_in is not None:
            assert stop_cleanly(opted_in) == 0
        assert stop_cleanly(svc) == 0
    record(
        "exposure",
        {
            "namespace_addresses": list(NETNS_ADDRS),
            "defaults": default_probe,
            "non_loopback_without_opt_in": {
                "exit_code": refused.returncode,
                "stderr": refused.stderr.strip()[-200:],
            },
            "opted_in_control": control_probe | {"warning_logged": warned},
        },
    )
    assert default_probe["public /livez"] == 200
    for p in debug_paths:
        assert default_probe[f"public {p}"] == 404, (p, default_probe)
        assert default_probe[f"metrics {p}"] == 404, (p, default_probe)
    assert default_probe["public /metrics"] == 404
    assert default_probe["metrics /metrics"] == 200
    assert default_probe[f"debug port on {a}"] == "refused"
    assert default_probe[f"debug port on {b}"] == "refused"
    assert default_probe["debug port on ::1"] != "open"
    assert default_probe["debug /debug/vars on 127.0.0.1"] == 200
    assert refused.returncode != 0
    assert "DEBUG_ALLOW_EXTERNAL" in refused.stderr
    assert control_probe["opted-in /debug/vars"] == 200
    assert warned


@pytest.mark.e2e
def test_debug_listener_enforces_its_profile_limits(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """`seconds` over 120 (or not a whole number) is refused with 400 before any profile starts;
    short profiles work; only the documented methods are served."""
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'd.db'}"}, cwd=tmp_path
    )
    expected = {
        "/debug/pprof/profile?seconds=121": 400,
        "/debug/pprof/profile?seconds=100000": 400,
        "/debug/pprof/profile?seconds=-1": 400,
        "/debug/pprof/profile?seconds=1.5": 400,
        "/debug/pprof/profile?seconds=abc": 400,
        "/debug/pprof/trace?seconds=121": 400,
        "/debug/pprof/heap?seconds=121": 400,
        "/debug/pprof/goroutine?seconds=99999": 400,
        "/debug/pprof/profile?seconds=1": 200,
        "/debug/pprof/trace?seconds=1": 200,
        "/debug/pprof/heap?seconds=1": 200,
        "/debug/pprof/": 200,
        "/debug/pprof/no-such-profile": 404,
        "/debug/vars": 200,
    }
    got: dict[str, Any] = {}
    try:
        for path in expected:
            t0 = time.monotonic()
            # The client timeout (15 s) is far below 121 s: a refused profile must not start.
            resp = request("GET", svc.debug + path, timeout=15)
            got[path] = {"status": resp.status, "ms": round((time.monotonic() - t0) * 1000)}
            if path == "/debug/pprof/profile?seconds=1":
                assert resp.body[:2] == b"\x1f\x8b", "not a gzipped pprof profile"
        got["POST /debug/pprof/profile"] = {
            "status": request("POST", svc.debug + "/debug/pprof/profile").status
        }
        got["PUT /debug/vars"] = {"status": request("PUT", svc.debug + "/debug/vars").status}
    finally:
        assert stop_cleanly(svc) == 0
    record("debug_limits", got)
    for path, status in expected.items():
        assert got[path]["status"] == status, (path, got[path])
    assert got["POST /debug/pprof/profile"]["status"] == 405
    assert got["PUT /debug/vars"]["status"] == 405


# --------------------------------------------------------------------------------------------
# Known vulnerabilities in the generated code (govulncheck, offline database)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def govulncheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("go")
    work = tmp_path_factory.mktemp("govulncheck")
    return _vulndb.install_govulncheck(work / "bin", work)


@pytest.fixture(scope="session")
def vuln_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local vulnerability database, built once per session from golang.org/x/vulndb."""
    need("go")
    work = tmp_path_factory.mktemp("vulndb")
    out = work / "db"
    summary = _vulndb.build_from_vulndb(work, out)
    record("vulndb", summary)
    assert summary["entries"] > 1000, summary
    return out


@pytest.mark.parametrize("profile", list(PROFILES))
def test_govulncheck_finds_no_called_vulnerability_in_dependencies(
    profile: str, rendered_profiles: dict[str, Rendered], govulncheck: Path, vuln_db: Path
) -> None:
    """No code path of the generated service reaches a known vulnerability in a module it
    requires. Findings in the standard library belong to the Go toolchain that builds the
    service (fixed by a Go patch release, which the Dockerfile's golang:<minor> image tracks);
    they are reported as warnings with their fixed version, not failed on."""
    messages = _vulndb.scan(govulncheck, vuln_db, rendered_profiles[profile].path)
    config = next(m["config"] for m in messages if "config" in m)
    called = _vulndb.called_findings(messages)
    modules = {k: v for k, v in called.items() if v["module"] != "stdlib"}
    stdlib = {k: v for k, v in called.items() if v["module"] == "stdlib"}
    all_findings = {m["finding"]["osv"] for m in messages if "finding" in m}
    record(
        f"govulncheck_{profile}",
        {
            "go_version": config.get("go_version"),
            "scan_level": config.get("scan_level"),
            "called_in_modules": {k: v["summary"] for k, v in modules.items()},
            "called_in_stdlib": {
                k: f"fixed in {v['fixed_version']}: {v['summary']}" for k, v in stdlib.items()
            },
            "not_called": sorted(all_findings - called.keys()),
        },
    )
    assert config["db"] == vuln_db.as_uri(), config
    assert config["scan_level"] == "symbol", config
    assert not modules, {k: {**v, "symbols": sorted(v["symbols"])} for k, v in modules.items()}
    # A standard-library finding without a fix would have no remedy but a code change.
    unfixed = sorted(k for k, v in stdlib.items() if not v["fixed_version"])
    assert not unfixed, unfixed
    if stdlib:
        fixes = sorted({v["fixed_version"] for v in stdlib.values()})
        warnings.warn(
            f"{profile}: {len(stdlib)} vulnerabilities of the {config['go_version']} standard "
            f"library are reachable (fixed in {', '.join(fixes)}): {', '.join(sorted(stdlib))}",
            stacklevel=1,
        )


def test_govulncheck_local_database_reports_called_code(
    rendered_profiles: dict[str, Rendered], govulncheck: Path, tmp_path: Path
) -> None:
    """The control for the scan above: against a database holding two synthetic entries for a
    module the service requires, govulncheck reports the one whose symbol the code calls
    (errgroup's Group.Go, used by internal/fanout) and not the one it never calls."""
    entries = [
        _vulndb.synthetic_entry(
            "GO-2099-0001", "golang.org/x/sync", "golang.org/x/sync/errgroup", ["Group.Go"]
        ),
        _vulndb.synthetic_entry(
            "GO-2099-0002", "golang.org/x/sync", "golang.org/x/sync/singleflight", ["Group.Do"]
        ),
    ]
    db = tmp_path / "control-db"
    _vulndb.build_database(
        entries, [json.dumps(e).encode() for e in entries], db, "2026-01-01T00:00:00Z"
    )
    messages = _vulndb.scan(
        govulncheck, db, rendered_profiles["default"].path, "./internal/fanout/"
    )
    called = _vulndb.called_findings(messages)
    assert "GO-2099-0001" in called, messages
    assert "GO-2099-0002" not in called


@pytest.mark.e2e
def test_sigterm_flushes_a_pending_batch_without_waiting_for_its_delay(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """A valid configuration with a long batch delay: the request waiting for its batch when
    SIGTERM arrives should be committed at once and acknowledged, and the exit clean."""
    env = {
        "DATABASE_URL": f"file:{tmp_path / 'p.db'}",
        # The longest linger the service accepts stays below the request deadline.
        "BATCH_MAX_DELAY": "20s",
        "EVENTS_WRITE_TIMEOUT": "25s",
        "SHUTDOWN_TIMEOUT": "3s",
    }
    svc = start(built_binaries["default"], env, cwd=tmp_path)
    answer: dict[str, Any] = {}

    def post() -> None:
        body = _load.events_body(["pending.0"])
        answer["resp"] = request("POST", svc.public + "/v1/events", body, timeout=60)

    poster = threading.Thread(target=post)
    try:
        poster.start()
        assert wait_until(
            lambda: get_json(svc.debug + "/debug/vars")["batchwriter"]["pending"] == 1, 10
        )
        svc.signal(signal.SIGTERM)
        exit_code = svc.wait(timeout=60)
        poster.join(60)
    finally:
        svc.stop()
    assert answer["resp"].status == 202, answer["resp"]
    assert exit_code == 0
