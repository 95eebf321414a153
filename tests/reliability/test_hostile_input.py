"""Hostile input: slowloris, bodies over the cap, malformed JSON, requests larger than the
write buffer."""

from __future__ import annotations

import collections
import json
import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .. import _load
from .._load import get_json, goroutines, idle_goroutines, record, wait_until
from .._service import request, start
from ._helpers import DEADLINE_SLACK, GOROUTINE_MARGIN, host_port, stop_cleanly

pytestmark = [pytest.mark.go, pytest.mark.reliability]

# ReadHeaderTimeout of the public and debug listeners in the template.
READ_HEADER_TIMEOUT = 5.0
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
def test_malformed_input_gets_4xx_with_a_message_and_changes_nothing(
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

    # More events than one request may carry is 413, like a body over the cap; the rest is 400.
    too_many = {k for k in answers if "1001 events" in k}
    assert len(too_many) == 2
    bad = {
        k: v
        for k, v in answers.items()
        if k != "header over 64 KiB"
        and (v["status"] != (413 if k in too_many else 400) or not v["error"])
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
