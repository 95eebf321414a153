"""What several reliability scenario families share: stopping a service, reading what the
database stored, the exactly-once accounting, and a background sampler of goroutines and
memory."""

from __future__ import annotations

import collections
import contextlib
import threading
import urllib.parse

from .. import _load
from .._load import Acks, goroutines
from .._service import Service

# Idle goroutines may differ by this much between two readings (the debug request itself,
# a keep-alive connection closing).
GOROUTINE_MARGIN = 3
# Slack on top of a configured deadline before the suite calls it broken (process start-up,
# a loaded 2-core machine).
DEADLINE_SLACK = 5.0


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
