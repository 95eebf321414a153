"""Overload: far beyond capacity the service sheds with 503 + Retry-After, accounts for every
request and recovers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .. import _load
from .._load import get_json, goroutines, idle_goroutines, record, wait_until
from .._service import request, start
from ._helpers import GOROUTINE_MARGIN, Sampler, exactly_once, stop_cleanly
from ._ledger import stored_ids_sqlite

pytestmark = [pytest.mark.go, pytest.mark.reliability]

# How long the overload scenarios push; long enough for queues and buffers to fill many times.
OVERLOAD_SECONDS = 15


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
