"""Memory under a container limit: the GOMEMLIMIT wiring keeps the process alive inside a
1-CPU, 256 MiB cgroup under allocation-heavy load."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .. import _cgroup, _load
from .._load import get_json, record
from .._service import request, start
from ..conftest import IN_CI
from ._helpers import Sampler, stop_cleanly

pytestmark = [pytest.mark.go, pytest.mark.reliability]

CGROUP_MEMORY = 256 << 20
CGROUP_CPUS = 1.0
# Allocation-heavy load through a real endpoint: 64 clients posting JSON arrays of 900 events
# of ~1.1 KiB (bodies just under the 1 MiB MAX_BODY_BYTES). Each request is buffered whole,
# decoded into events and copied into the write buffer: several MiB per request in flight.
# 64 clients keep the live heap well under the limit (the promise is checked with margin);
# RELIABILITY_MEMORY_CLIENTS raises it to find where each configuration gives out.
MEMORY_LOAD = {
    "concurrency": int(os.environ.get("RELIABILITY_MEMORY_CLIENTS", "64")),
    "events": 900,
    "payload_bytes": 1100,
}
MEMORY_SECONDS = 12


def require_cgroups() -> None:
    why = _cgroup.available()
    if why:
        if IN_CI:
            pytest.fail(f"the cgroup scenario must run in CI: {why}")
        pytest.skip(why)


def memory_run(binary: Path, loadgen: Path, work: Path, ratio: str | None) -> dict[str, Any]:
    """One run of the allocation-heavy load inside a fresh 1-CPU, 256 MiB cgroup."""
    work.mkdir()
    env = {"DATABASE_URL": f"file:{work / 'm.db'}"}
    if ratio is not None:
        env["GOMEMLIMIT_RATIO"] = ratio
    cg = _cgroup.Cgroup.create(cpus=CGROUP_CPUS, memory_bytes=CGROUP_MEMORY)
    svc = None
    try:
        svc = start(binary, env, cwd=work, preexec=cg.enter())
        gomemlimit = get_json(svc.debug + "/debug/vars")["gomemlimit"]
        plan = {
            "duration_s": MEMORY_SECONDS,
            "timeout_s": 30,
            "targets": [
                {
                    "name": "big",
                    "method": "POST",
                    "url": svc.public + "/v1/events",
                    "until_refused": True,  # a killed process ends the run
                    **MEMORY_LOAD,
                }
            ],
        }
        with Sampler(svc, interval=0.2) as sampler:
            summary = _load.run_load(loadgen, plan)
        big = _load.target(summary, "big")
        alive = svc.proc.poll() is None
        out: dict[str, Any] = {
            "gomemlimit": gomemlimit,
            "alive_after_load": alive,
            "oom_kills": cg.oom_kills(),
            "cgroup_peak_mib": round((cg.peak_memory() or 0) / 2**20, 1),
            "vm_hwm_mib": round(sampler.memory.hwm / 2**20, 1),
            "vm_rss_max_mib": round(sampler.memory.rss_max / 2**20, 1),
            "requests": big["sent"],
            "statuses": big["statuses"],
            "transport_errors": big["transport_errors"],
            "latency_ms": big["latency_ms"],
        }
        if alive:
            vars_ = get_json(svc.debug + "/debug/vars")
            runtime = vars_["runtime_metrics"]  # runtime/metrics, read without stopping the world
            out["num_gc"] = runtime["gc_cycles_total_gc_cycles"]
            heap_sys = sum(
                runtime[f"memory_classes_heap_{kind}_bytes"]
                for kind in ("objects", "unused", "free", "released")
            )  # what runtime.MemStats calls HeapSys
            out["heap_sys_mib"] = round(heap_sys / 2**20, 1)
            out["livez"] = request("GET", svc.public + "/livez").status
            out["exit_code"] = stop_cleanly(svc)
        else:
            out["exit_code"] = svc.wait(timeout=10)
        return out
    finally:
        if svc is not None:
            svc.stop()
        cg.close()


@pytest.mark.e2e
@pytest.mark.cgroup
def test_memory_limit_wiring_keeps_the_process_alive_under_allocation_heavy_load(
    built_binaries: dict[str, Path], loadgen: Path, tmp_path: Path
) -> None:
    """Inside 1 CPU and 256 MiB, the allocation-heavy load leaves the process alive with the
    default GOMEMLIMIT wiring (90% of the limit). The same load with GOMEMLIMIT_RATIO=off is run
    and recorded side by side, whatever happens to it: it is the comparison, not a promise."""
    require_cgroups()
    with_limit = memory_run(built_binaries["default"], loadgen, tmp_path / "on", None)
    without = memory_run(built_binaries["default"], loadgen, tmp_path / "off", "off")
    record(
        "memory_limit",
        {
            "cgroup": {"cpus": CGROUP_CPUS, "memory_mib": CGROUP_MEMORY >> 20},
            "load": MEMORY_LOAD | {"seconds": MEMORY_SECONDS, "body_bytes": "~1,000,000"},
            "gomemlimit_ratio_default": with_limit,
            "gomemlimit_ratio_off": without,
        },
    )

    assert with_limit["gomemlimit"] == int(CGROUP_MEMORY * 0.9)
    assert without["gomemlimit"] == (1 << 63) - 1
    assert with_limit["alive_after_load"], with_limit
    assert with_limit["oom_kills"] == 0, with_limit
    assert with_limit["livez"] == 200, with_limit
    assert with_limit["exit_code"] == 0, with_limit
    assert with_limit["transport_errors"] == {}, with_limit
    assert set(with_limit["statuses"]) <= {"202", "503"}, with_limit
