"""Panics: recovered, counted and survived; the fault routes exist only in the faultinject build."""

from __future__ import annotations

import collections
import threading
from pathlib import Path

import pytest

from .. import _load
from .._load import get_json, goroutines, idle_goroutines, record, wait_until
from .._service import request, start
from ..conftest import Rendered, need, run
from ._helpers import GOROUTINE_MARGIN, stop_cleanly

pytestmark = [pytest.mark.go, pytest.mark.reliability]

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
