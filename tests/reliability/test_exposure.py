"""Exposure of pprof and expvar: unreachable from the network unless opted in, and the debug
listener's profile limits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .._load import record
from .._service import request, start
from ..conftest import IN_CI
from ._helpers import stop_cleanly

pytestmark = [pytest.mark.go, pytest.mark.reliability]

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
