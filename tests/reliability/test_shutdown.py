"""SIGTERM under load (SQLite and PostgreSQL): readiness fails first, in-flight requests
complete, every acknowledged event is stored exactly once, and a pending batch is flushed."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .. import _load
from .._load import get_json, record, start_load, wait_until
from .._service import request, start
from ._helpers import DEADLINE_SLACK, exactly_once, host_port
from ._ledger import stored_ids_postgres, stored_ids_sqlite

pytestmark = [pytest.mark.go, pytest.mark.reliability]

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
