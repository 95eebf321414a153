"""Load, probes and figures for the reliability suite: the Go load client, raw-socket clients,
goroutine and memory readings, and the figures each scenario records.

Why a load client of its own (tests/_loadgen) and not the template's cmd/loadgen: the template's
is code under test, and the suite needs what a benchmark tool has no use for (acked event ids
for exactly-once checks, transport errors by class, load-balancer mode, loopback only)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conftest import go_env, run

LOADGEN_SOURCE = Path(__file__).resolve().parent / "_loadgen" / "main.go"

# Figures recorded by the scenarios of this session, printed as they come and written to
# $RELIABILITY_FIGURES (a JSON file) at the end of the session when that variable is set.
FIGURES: dict[str, Any] = {}


def record(scenario: str, figures: dict[str, Any]) -> None:
    """Keep a scenario's figures and print them (shown with `pytest -s` or on failure)."""
    FIGURES[scenario] = figures
    print(f"\nFIGURES {scenario}: {json.dumps(figures, sort_keys=True)}")


def write_figures() -> None:
    target = os.environ.get("RELIABILITY_FIGURES", "")
    if target and FIGURES:
        Path(target).write_text(json.dumps(FIGURES, indent=1, sort_keys=True) + "\n")


def build_loadgen(out_dir: Path) -> Path:
    """Build the stdlib-only Go load client into out_dir (no module downloads)."""
    src = out_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy(LOADGEN_SOURCE, src / "main.go")
    (src / "go.mod").write_text("module loadgen\n\ngo 1.24\n")
    binary = out_dir / "loadgen"
    run(["go", "build", "-o", str(binary), "."], src, env=go_env(GOFLAGS="-mod=mod"))
    return binary


@dataclass
class Load:
    """A running load client; `result()` waits for it and returns its JSON summary."""

    proc: subprocess.Popen[bytes]
    deadline_s: float

    def result(self) -> dict[str, Any]:
        out, err = self.proc.communicate(timeout=self.deadline_s)
        if self.proc.returncode != 0:
            raise AssertionError(f"loadgen exited {self.proc.returncode}: {err.decode()[-2000:]}")
        summary: dict[str, Any] = json.loads(out)
        return summary

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_load(loadgen: Path, plan: dict[str, Any]) -> Load:
    """Start the load client with plan (see tests/_loadgen/main.go) and wait until it sends."""
    proc = subprocess.Popen(
        [str(loadgen)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    proc.stdin.write(json.dumps(plan).encode())
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush it again
    first = proc.stderr.readline().decode()
    if "loadgen: started" not in first:
        proc.wait(timeout=10)
        raise AssertionError(f"loadgen did not start: {first}{proc.stderr.read().decode()}")
    # Generous: the plan's own duration, the client timeout for the last requests, and slack.
    deadline = float(plan["duration_s"]) + float(plan.get("timeout_s", 30)) + 60
    return Load(proc=proc, deadline_s=deadline)


def run_load(loadgen: Path, plan: dict[str, Any]) -> dict[str, Any]:
    load = start_load(loadgen, plan)
    try:
        return load.result()
    finally:
        load.kill()


def target(summary: dict[str, Any], name: str) -> dict[str, Any]:
    for t in summary["targets"]:
        if t["name"] == name:
            return dict(t)
    raise KeyError(name)


def get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def goroutines(debug: str) -> int:
    """The process's goroutine count, from the first line of the debug=1 goroutine profile."""
    with urllib.request.urlopen(debug + "/debug/pprof/goroutine?debug=1", timeout=10) as resp:
        first = resp.readline().decode()
    # "goroutine profile: total 12"
    return int(first.rsplit(" ", 1)[1])


def idle_goroutines(debug: str, samples: int = 5) -> int:
    """The idle goroutine level: the lowest of a few readings a moment apart."""
    readings = []
    for _ in range(samples):
        readings.append(goroutines(debug))
        time.sleep(0.1)
    return min(readings)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> float | None:
    """Poll check until it holds; the seconds it took, or None when the deadline passed."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(interval)


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in bytes (empty once it is gone)."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


@dataclass
class MemoryWatch:
    """Highest VmRSS/VmHWM seen by polling /proc while a process runs (it may be killed)."""

    pid: int
    rss_max: int = 0
    hwm: int = 0
    samples: int = 0

    def sample(self) -> None:
        mem = proc_memory(self.pid)
        if mem:
            self.samples += 1
            self.rss_max = max(self.rss_max, mem.get("VmRSS", 0))
            self.hwm = max(self.hwm, mem.get("VmHWM", 0))


def port_refuses(host: str, port: int) -> bool:
    """True when nothing accepts connections on host:port any more."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) != 0


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def read_response(sock: socket.socket, timeout: float = 30) -> RawResponse:
    """Read one HTTP/1.1 response with a Content-Length body from a raw socket."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a full response: {buf!r}")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(status, headers, body[:length])


def events_body(ids: list[str]) -> bytes:
    return json.dumps([{"kind": "rel", "payload": {"id": i}} for i in ids]).encode()


@dataclass
class Acks:
    """What the load client learnt about each events request (from its acked_file)."""

    acked: list[str] = field(default_factory=list)  # event ids answered 2xx
    rejected: list[str] = field(default_factory=list)  # answered, but not 2xx (or never sent)
    unknown: list[str] = field(default_factory=list)  # no response, or "outcome": "unknown"


# Ledger tags (tests/_loadgen/main.go) by what they tell about the request's events: A stored;
# N (outcome not_stored), P (a poison request) and R (never sent, or answered without an
# outcome) not stored; M (outcome unknown) and U (no answer) either way. The detailed checker
# is tests/reliability/_ledger.py.
_ACK_CLASSES = {"A": "acked", "N": "rejected", "P": "rejected", "R": "rejected"}


def read_acks(path: Path) -> Acks:
    acks = Acks()
    if not path.exists():
        return acks
    for line in path.read_text().splitlines():
        # "<tag> <reqID> <events> <status>"; older ledgers had no status.
        tag, req_id, n, *_ = line.split()
        ids = [f"{req_id}.{i}" for i in range(int(n))]
        getattr(acks, _ACK_CLASSES.get(tag, "unknown")).extend(ids)
    return acks


def http_status(url: str, timeout: float = 5) -> int | str:
    """The status of a GET, or the class of the connection error ("refused", "reset", ...)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        classes: dict[type, str] = {
            ConnectionRefusedError: "refused",
            ConnectionResetError: "reset",
        }
        return classes.get(type(reason), f"error: {reason}")
