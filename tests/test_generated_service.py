"""The generated service as a real process: endpoints over real sockets, pprof only on the
private listener, and a SIGTERM shutdown that fails readiness first and exits 0."""

from __future__ import annotations

import http.client
import http.server
import json
import math
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ._service import request, start
from .conftest import Rendered

pytestmark = [pytest.mark.go, pytest.mark.e2e]


_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


def expected_gomaxprocs() -> int:
    """What the Go runtime should pick for a child of this process, worked out independently:
    the CPUs it may run on, capped by the CPU quota of this process's cgroup (v1 or v2)."""
    cpus = len(os.sched_getaffinity(0))
    quota: float | None = None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            cpu_max = Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.max"
            if cpu_max.is_file():
                limit, period = cpu_max.read_text().split()
                quota = None if limit == "max" else int(limit) / int(period)
        elif "cpu" in controllers.split(","):
            base = Path("/sys/fs/cgroup/cpu") / path.lstrip("/")
            if (base / "cpu.cfs_quota_us").is_file():
                q = int((base / "cpu.cfs_quota_us").read_text())
                period = int((base / "cpu.cfs_period_us").read_text())
                quota = None if q <= 0 else q / period
    if quota is None:
        return cpus
    return max(1, min(cpus, math.ceil(quota)))


def assert_snake_case_names(vars_: dict[str, Any]) -> None:
    """Every name the service publishes in /debug/vars is snake_case, at every depth (expvar's
    own `cmdline` is a list; `runtime_metrics` turns runtime/metrics names into snake_case)."""

    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                assert _SNAKE_CASE.match(key), f"/debug/vars name {where}{key!r} is not snake_case"
                walk(inner, f"{where}{key}.")

    walk({k: v for k, v in vars_.items() if k != "cmdline"}, "")


def post_declaring_oversized_body(url: str, declared: int) -> int:
    """POST that declares `declared` bytes but sends only 4 KiB; returns the status. The
    service must refuse from the header alone, without waiting for the rest of the body."""
    host_port = url.removeprefix("http://").split("/", 1)[0]
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    conn = http.client.HTTPConnection(host_port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(declared))
        conn.endheaders()
        conn.send(b"x" * 4096)
        return conn.getresponse().status
    finally:
        conn.close()


def test_default_service_endpoints(built_binaries: dict[str, Path], tmp_path: Path) -> None:
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'e2e.db'}"}, cwd=tmp_path
    )
    try:
        assert request("GET", svc.public + "/livez").status == 200
        assert request("GET", svc.public + "/readyz").status == 200
        # pprof and expvar are never on the public listener.
        for path in ("/debug/pprof/", "/debug/pprof/profile?seconds=1", "/debug/vars"):
            assert request("GET", svc.public + path).status == 404, path
        # ...but they are on the private one.
        assert request("GET", svc.debug + "/debug/pprof/").status == 200
        vars_ = request("GET", svc.debug + "/debug/vars").json()
        assert vars_["gomaxprocs"] == expected_gomaxprocs()
        assert "gomemlimit" in vars_
        assert vars_["runtime_sizing"]["gomaxprocs_source"]
        assert "workerpool" in vars_
        assert "batchwriter" in vars_
        # The runtime's own numbers come from runtime/metrics: runtime.ReadMemStats, which
        # stops the world, is not called for /debug/vars.
        assert "memstats" not in vars_
        assert vars_["runtime_metrics"]["gc_heap_goal_bytes"] > 0
        # The process has been scheduled many times by now: an empty histogram means the
        # runtime/metrics reading is broken.
        assert vars_["runtime_metrics"]["sched_latencies_seconds"]["count"] > 0
        assert_snake_case_names(vars_)
        # The demo endpoints work end to end.
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 5}').status == 202
        before = request("GET", svc.public + "/v1/events/count").json()["count"]
        body = json.dumps([{"kind": "e2e", "payload": {"i": i}} for i in range(3)]).encode()
        resp = request("POST", svc.public + "/v1/events", body)
        assert resp.status == 202, resp.body
        assert resp.json() == {"stored": 3}
        assert request("GET", svc.public + "/v1/events/count").json()["count"] == before + 3
        # Bad input gets the right status and changes nothing.
        assert request("POST", svc.public + "/v1/events", b"[{").status == 400
        assert post_declaring_oversized_body(svc.public + "/v1/events", 2 << 20) == 413
        assert request("GET", svc.public + "/v1/events/count").json()["count"] == before + 3
        # The start-up log says how the runtime was sized.
        sized = svc.wait_for_log("runtime sized")
        assert sized["gomaxprocs"] == expected_gomaxprocs()
        # Without a memory limit the log says so in words, not as math.MaxInt64.
        no_limit = vars_["gomemlimit"] == (1 << 63) - 1
        assert sized["gomemlimit"] == ("none" if no_limit else vars_["gomemlimit"]), sized
    finally:
        svc.signal()
        assert svc.wait() == 0
        svc.stop()


def test_sigterm_fails_readiness_first_and_finishes_in_flight(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    # A slow upstream keeps a GET /v1/fanout request in flight while SIGTERM arrives.
    got_request = threading.Event()

    class SlowUpstream(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            got_request.set()
            time.sleep(2)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    svc = start(
        built_binaries["default"],
        {
            "DATABASE_URL": f"file:{tmp_path / 'e2e.db'}",
            "SHUTDOWN_DRAIN_DELAY": "1s",
            "UPSTREAM_URLS": f"http://127.0.0.1:{upstream.server_port}/slow",
            "FANOUT_TIMEOUT": "10s",
        },
        cwd=tmp_path,
    )
    try:
        assert request("GET", svc.public + "/readyz").status == 200
        # An accepted pool job must run to completion before exit, too.
        assert request("POST", svc.public + "/v1/jobs", b'{"duration_ms": 1500}').status == 202
        in_flight: dict[str, object] = {}

        def call_fanout() -> None:
            resp = request("GET", svc.public + "/v1/fanout", timeout=30)
            in_flight["status"] = resp.status
            in_flight["body"] = resp.json()

        caller = threading.Thread(target=call_fanout)
        caller.start()
        assert got_request.wait(10), "the fan-out request never reached the upstream"
        svc.signal()
        svc.wait_for_log("shutdown signal received", timeout=10)
        # During the drain delay: readiness fails at once, liveness still answers.
        assert request("GET", svc.public + "/readyz").status == 503
        assert request("GET", svc.public + "/livez").status == 200
        # Exit 0 also means the pool ran the accepted 1.5 s job: Shutdown reports unfinished work.
        assert svc.wait(timeout=30) == 0
        caller.join(10)
        assert in_flight.get("status") == 200, in_flight
        assert any(line.get("msg") == "stopped cleanly" for line in svc.logs)
    finally:
        svc.stop()
        upstream.shutdown()


def test_debug_listener_refuses_non_loopback_without_opt_in(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(built_binaries["default"])],
        env={"HTTP_ADDR": "127.0.0.1:0", "DEBUG_ADDR": "0.0.0.0:0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "DEBUG_ALLOW_EXTERNAL" in proc.stderr
    assert "goroutine" not in proc.stderr  # a message, not a crash


def test_debug_listener_opt_in_logs_a_warning(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    svc = start(
        built_binaries["default"],
        {
            "DATABASE_URL": f"file:{tmp_path / 'e2e.db'}",
            "DEBUG_ADDR": "0.0.0.0:0",
            "DEBUG_ALLOW_EXTERNAL": "true",
        },
        cwd=tmp_path,
    )
    try:
        warning = svc.wait_for_log(
            "debug listener is not loopback-only: pprof and expvar are reachable from the network"
        )
        assert warning["level"] == "WARN"
    finally:
        svc.signal()
        assert svc.wait() == 0


def test_postgres_service_round_trip(
    built_binaries: dict[str, Path],
    rendered_profiles: dict[str, Rendered],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    svc = start(built_binaries["postgres"], {"DATABASE_URL": postgres_url}, cwd=tmp_path)
    try:
        assert request("GET", svc.public + "/readyz").status == 200
        before = request("GET", svc.public + "/v1/events/count").json()["count"]
        body = "\n".join(json.dumps({"kind": "pg", "payload": {"i": i}}) for i in range(5)).encode()
        resp = request(
            "POST",
            svc.public + "/v1/events",
            body,
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert resp.status == 202, resp.body
        # The 202 already means committed: the count is exact with no wait.
        assert request("GET", svc.public + "/v1/events/count").json()["count"] == before + 5
    finally:
        svc.signal()
        assert svc.wait() == 0


def test_postgres_service_without_database_url_fails_clearly(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(built_binaries["postgres"])],
        env={"HTTP_ADDR": "127.0.0.1:0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert "DATABASE_URL is required" in proc.stderr
