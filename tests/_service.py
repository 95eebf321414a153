"""Start a generated service binary as a real process and talk to it over loopback."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    timeout: float = 10,
    headers: dict[str, str] | None = None,
) -> Response:
    """One HTTP request; HTTP error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers), err.read())


@dataclass
class Service:
    """A running service process; its JSON log lines are collected as they arrive."""

    proc: subprocess.Popen[bytes]
    logs: list[dict[str, Any]] = field(default_factory=list)
    public: str = ""
    debug: str = ""
    metrics: str = ""
    _events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def wait_for_log(self, msg: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for line in self.logs:
            if line.get("msg") == msg:
                return line
        while time.monotonic() < deadline:
            try:
                line = self._events.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line.get("msg") == msg:
                return line
        raise AssertionError(
            f"service never logged {msg!r}; exit={self.proc.poll()} logs={self.logs[-10:]}"
        )

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start(
    binary: Path,
    env: dict[str, str],
    *,
    cwd: Path,
    preexec: Callable[[], None] | None = None,
    args: Sequence[str] = (),
) -> Service:
    """Start binary with env (on top of a minimal environment) and wait for its listeners."""
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HTTP_ADDR": "127.0.0.1:0",
        "DEBUG_ADDR": "127.0.0.1:0",
        # Never the default :9090 on every interface: tests run side by side.
        "METRICS_ADDR": "127.0.0.1:0",
        "FLIGHT_RECORDER_DIR": str(cwd / "flightrecorder"),
        "SHUTDOWN_DRAIN_DELAY": "0s",
        **env,
    }
    proc = subprocess.Popen(
        [str(binary), *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # The cgroup move must happen in the child before exec; it writes one file and
        # takes no locks, which is what makes preexec_fn safe despite the pump threads.
        preexec_fn=preexec,  # noqa: PLW1509
    )
    svc = Service(proc=proc)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"msg": "<non-json>", "text": raw.decode(errors="replace")}
            svc.logs.append(line)
            svc._events.put(line)

    threading.Thread(target=pump, daemon=True).start()
    svc.public = "http://" + svc.wait_for_log("public listener started")["addr"]
    if full_env["METRICS_ADDR"] != "off":
        svc.metrics = "http://" + svc.wait_for_log("metrics listener started")["addr"]
    if env.get("DEBUG_ADDR", "127.0.0.1:0") != "off":
        svc.debug = "http://" + svc.wait_for_log("debug listener started")["addr"]
    return svc


@contextmanager
def running(
    binary: Path,
    env: dict[str, str],
    *,
    cwd: Path,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Service]:
    """Start the service for the block; on leaving it, SIGTERM it and require a clean exit 0."""
    svc = start(binary, env, cwd=cwd, preexec=preexec)
    try:
        yield svc
    except BaseException:
        svc.stop()
        raise
    svc.signal()
    assert svc.wait() == 0, f"service exited non-zero; last logs: {svc.logs[-5:]}"
