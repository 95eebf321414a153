"""Proof under load, faults and hostile input: the generated service as a real process on
loopback, driven past its capacity, stopped under load, made to panic, squeezed into a cgroup,
fed hostile input, probed from the network, and its code scanned for known vulnerabilities.

Every scenario records its figures (docs/reliability.md lists them with the command that
reproduces them). Assertions are on promises (statuses, counts, exactly-once, exit codes,
deadlines that are part of the configuration), never on speed.
"""

from __future__ import annotations

import collections
import json
import os
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

import _cgroup
import _load
import _vulndb
from _load import Acks, get_json, goroutines, idle_goroutines, record, start_load, wait_until
from _service import Service, request, start
from conftest import IN_CI, PROFILES, Rendered, go_env, need, run

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
    assert parts.hostname is not None and parts.port is not None
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
    stored: collections.Counter[str], acks: Acks, prefix: str, extra_acked: tuple[str, ...] = ()
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
                try:
                    self.peak_goroutines = max(self.peak_goroutines, goroutines(self.svc.debug))
                except OSError:
                    pass
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


@pytest.mark.e2e
def test_overload_sheds_with_503_and_recovers(
    built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Far beyond capacity the service answers only 2xx or 503 + Retry-After, resets no
    connection, accounts for every request, loses or duplicates no acknowledged event, and its
    goroutines return to the idle level once the load stops."""
    db = tmp_path / "overload.db"
    svc = start(built_binaries["default"], {"DATABASE_URL": f"file:{db}", **OVERLOAD_ENV}, cwd=tmp_path)
    try:
        # Warm up every path once, so that lazily started goroutines exist before the idle reading.
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1}').status == 202
        warm = _load.events_body(["warm.0"])
        assert request("POST", svc.public + "/v1/events", warm).status == 202
        assert wait_until(lambda: get_json(svc.debug + "/debug/vars")["workerpool"]["Completed"] == 1, 10)
        idle = idle_goroutines(svc.debug)
        before = get_json(svc.debug + "/debug/vars")
        count_before = get_json(svc.public + "/v1/events/count")["count"]

        acked_file = tmp_path / "acked.txt"
        plan = {
            "duration_s": OVERLOAD_SECONDS,
            "timeout_s": 30,
            "acked_file": str(acked_file),
            "targets": [
                {
                    "name": "jobs",
                    "method": "POST",
                    "url": svc.public + "/v1/jobs",
                    "concurrency": 48,
                    "body": '{"duration_ms": 20}',
                },
                {
                    "name": "events",
                    "method": "POST",
                    "url": svc.public + "/v1/events",
                    "concurrency": 32,
                    "events": 10,
                    "payload_bytes": 100,
                    "id_prefix": "ovl",
                },
            ],
        }
        with Sampler(svc) as sampler:
            summary = _load.run_load(loadgen, plan)
        jobs, events = _load.target(summary, "jobs"), _load.target(summary, "events")

        assert svc.proc.poll() is None, "the service died under overload"
        back_after = wait_until(lambda: goroutines(svc.debug) <= idle + GOROUTINE_MARGIN, 30)
        after_goroutines = goroutines(svc.debug)
        # The pool runs every job it accepted, then sits idle.
        assert wait_until(
            lambda: (lambda p: p["Queued"] == 0 and p["Running"] == 0)(
                get_json(svc.debug + "/debug/vars")["workerpool"]
            ),
            30,
        )
        after = get_json(svc.debug + "/debug/vars")
        count_after = get_json(svc.public + "/v1/events/count")["count"]
        assert request("GET", svc.public + "/livez").status == 200
        exit_code = stop_cleanly(svc)
    finally:
        svc.stop()

    acks = _load.read_acks(acked_file)
    once = exactly_once(stored_ids_sqlite(db), acks, "ovl")
    pool0, pool1 = before["workerpool"], after["workerpool"]
    bw0, bw1 = before["batchwriter"], after["batchwriter"]
    figures = {
        "seconds": round(summary["elapsed_s"], 1),
        "config": OVERLOAD_ENV | {"job_ms": 20, "events_per_request": 10, "clients": "48 jobs + 32 events"},
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
            "idle": idle,
            "peak": sampler.peak_goroutines,
            "after": after_goroutines,
            "back_within_s": None if back_after is None else round(back_after, 2),
        },
        "rss_peak_mib": round(sampler.memory.hwm / 2**20, 1),
        "events_exactly_once": once,
        "exit_code": exit_code,
    }
    record("overload", figures)

    for name, t in (("jobs", jobs), ("events", events)):
        assert t["transport_errors"] == {}, (name, t["error_samples"])
        assert set(t["statuses"]) <= {"202", "503"}, (name, t["statuses"])
        assert t["busy_503_without_retry_after"] == 0, name
        # Far beyond capacity means both: shedding (503) and progress (202).
        assert t["statuses"].get("503", 0) > 0 and t["statuses"].get("202", 0) > 0, (name, t["statuses"])
    assert events["bad_ack"] == 0
    assert back_after is not None, f"goroutines stayed at {after_goroutines} (idle {idle})"
    # Every request is accounted for on the server, exactly as the clients saw it.
    sent = jobs["sent"] + events["sent"]
    assert after["http"]["requests"] - before["http"]["requests"] >= sent
    assert after["http"]["rejected_busy"] - before["http"]["rejected_busy"] == (
        jobs["statuses"]["503"] + events["statuses"]["503"]
    )
    assert pool1["Submitted"] - pool0["Submitted"] == jobs["statuses"]["202"]
    assert pool1["Rejected"] - pool0["Rejected"] == jobs["statuses"]["503"]
    assert pool1["Completed"] == pool1["Submitted"] and pool1["Panicked"] == 0
    assert bw1["rejected"] - bw0["rejected"] == events["statuses"]["503"]
    assert bw1["rows"] - bw0["rows"] == events["acked_events"] == count_after - count_before
    assert bw1["failures"] == 0 and bw1["pending"] == 0
    assert once["duplicated"] == once["acked_missing"] == once["rejected_but_stored"] == 0, once
    assert once["stored"] == once["acked"] == events["acked_events"], once
    assert exit_code == 0



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


@pytest.mark.e2e
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
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
    env = {
        "DATABASE_URL": url,
        "SHUTDOWN_DRAIN_DELAY": f"{DRAIN_DELAY:g}s",
        "SHUTDOWN_TIMEOUT": f"{SHUTDOWN_TIMEOUT:g}s",
    }
    svc = start(binary, env, cwd=tmp_path)
    acked_file = tmp_path / "acked.txt"
    load = None
    try:
        plan = {
            "duration_s": 60,
            "timeout_s": 30,
            # A load balancer's behaviour: new requests stop once /readyz fails.
            "ready_url": svc.public + "/readyz",
            "acked_file": str(acked_file),
            "targets": [
                {
                    "name": "events",
                    "method": "POST",
                    "url": svc.public + "/v1/events",
                    "concurrency": 16,
                    "events": 5,
                    "payload_bytes": 80,
                    "id_prefix": "term",
                }
            ],
        }
        load = start_load(loadgen, plan)
        # Load in full swing: a few thousand events committed.
        assert wait_until(lambda: get_json(svc.public + "/v1/events/count")["count"] >= 2000, 60)
        slow = SlowRequest(svc.public, [f"slow.{i}" for i in range(50)])
        assert load.proc.poll() is None, "the load stopped before SIGTERM (readiness failed early?)"
        t0 = time.monotonic()
        svc.signal(signal.SIGTERM)
        readiness = poll_readiness_until_closed(svc.public, timeout=DRAIN_DELAY + 30)
        listener_closed_s = time.monotonic() - t0
        # The listener is closed; the request whose body is half sent is still being served.
        slow_resp = slow.finish()
        exit_code = svc.wait(timeout=DRAIN_DELAY + SHUTDOWN_TIMEOUT + 30)
        exit_s = time.monotonic() - t0
        summary = load.result()
    finally:
        if load is not None:
            load.kill()
        svc.stop()

    events = _load.target(summary, "events")
    acks = _load.read_acks(acked_file)
    stored = stored_ids_sqlite(db_file) if database == "sqlite" else stored_ids_postgres(url)
    slow_ids = slow.ids if slow_resp.status == 202 else []
    once = exactly_once(stored, acks, "term", extra_acked=tuple(slow_ids))
    slow_stored = sum(stored.get(i, 0) for i in slow.ids)
    statuses = [s for _, s in readiness]
    first_503 = next((t for t, s in readiness if s == 503), None)
    figures = {
        "database": database,
        "drain_delay_s": DRAIN_DELAY,
        "shutdown_timeout_s": SHUTDOWN_TIMEOUT,
        "requests_sent": events["sent"],
        "statuses": events["statuses"],
        "transport_errors": events["transport_errors"],
        "load_stopped_by": summary["stopped_by"],
        "readyz_first_503_after_sigterm_s": first_503,
        "readyz_503_polls_before_close": statuses.count(503),
        "listener_closed_after_s": round(listener_closed_s, 2),
        "in_flight_request": {"status": slow_resp.status, "body": slow_resp.body.decode()[:80]},
        "exit_code": exit_code,
        "exit_after_s": round(exit_s, 2),
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
    assert events["bad_ack"] == 0
    # The request in flight when the listener closed completed and was stored once.
    assert slow_resp.status == 202, slow_resp
    assert json.loads(slow_resp.body) == {"stored": len(slow.ids)}
    assert all(stored.get(i) == 1 for i in slow.ids)
    # A clean exit within the configured deadline.
    assert exit_code == 0
    assert exit_s <= DRAIN_DELAY + SHUTDOWN_TIMEOUT + DEADLINE_SLACK
    assert any(line.get("msg") == "stopped cleanly" for line in svc.logs)
    # Exactly once.
    assert once["acked"] > 0
    assert once["duplicated"] == once["acked_missing"] == 0, once
    assert once["rejected_but_stored"] == once["never_sent_but_stored"] == 0, once
    assert once["stored"] == once["acked"] + once["unknown_stored"], once
