"""The generated service inside a real cgroup (1 CPU, 256 MiB): GOMAXPROCS and GOMEMLIMIT follow
the limits, and an explicit GOMEMLIMIT wins."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import _cgroup
from ._service import request, running
from .conftest import IN_CI

pytestmark = [pytest.mark.go, pytest.mark.e2e, pytest.mark.cgroup]

MEMORY_LIMIT = 256 << 20
CPUS = 1.0


@pytest.fixture
def cgroup() -> Iterator[_cgroup.Cgroup]:
    why = _cgroup.available()
    if why:
        if IN_CI:
            pytest.fail(f"container-limit tests must run in CI: {why}")
        pytest.skip(why)
    cg = _cgroup.Cgroup.create(cpus=CPUS, memory_bytes=MEMORY_LIMIT)
    yield cg
    cg.close()


def runtime_expected_gomaxprocs() -> int:
    # The Go 1.25+ runtime rounds the quota up, never goes below 2, and never above the CPUs
    # the process may run on.
    return min(len(os.sched_getaffinity(0)), max(2, math.ceil(CPUS)))


@pytest.mark.parametrize(
    ("profile", "expected_procs", "source"),
    [
        ("default", runtime_expected_gomaxprocs(), "go runtime (container-aware default)"),
        ("go1.24-automaxprocs", 1, "automaxprocs (cgroup CPU quota)"),
    ],
)
def test_sizing_follows_cgroup_limits(  # noqa: PLR0917 - fixtures plus parameters
    cgroup: _cgroup.Cgroup,
    built_binaries: dict[str, Path],
    tmp_path: Path,
    profile: str,
    expected_procs: int,
    source: str,
) -> None:
    env = {"DATABASE_URL": f"file:{tmp_path / 'c.db'}"}
    with running(built_binaries[profile], env, cwd=tmp_path, preexec=cgroup.enter()) as svc:
        vars_ = request("GET", svc.debug + "/debug/vars").json()
        sizing = vars_["runtime_sizing"]
        assert vars_["gomaxprocs"] == expected_procs
        assert sizing["gomaxprocs_source"] == source
        assert sizing["container_memory_limit"] == MEMORY_LIMIT
        assert vars_["gomemlimit"] == int(MEMORY_LIMIT * 0.9)
        assert "cgroup memory limit" in sizing["gomemlimit_source"]
        logged = svc.wait_for_log("runtime sized")
        assert logged["gomemlimit"] == int(MEMORY_LIMIT * 0.9)


def test_explicit_gomemlimit_wins(
    cgroup: _cgroup.Cgroup, built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    env = {"DATABASE_URL": f"file:{tmp_path / 'c.db'}", "GOMEMLIMIT": "100MiB"}
    with running(built_binaries["default"], env, cwd=tmp_path, preexec=cgroup.enter()) as svc:
        vars_ = request("GET", svc.debug + "/debug/vars").json()
        assert vars_["gomemlimit"] == 100 << 20
        assert vars_["runtime_sizing"]["gomemlimit_source"] == "GOMEMLIMIT environment variable"


def test_ratio_is_configurable_and_can_be_switched_off(
    cgroup: _cgroup.Cgroup, built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    for ratio, expected in (("0.5", MEMORY_LIMIT // 2), ("off", (1 << 63) - 1)):
        env = {"DATABASE_URL": f"file:{tmp_path / 'c.db'}", "GOMEMLIMIT_RATIO": ratio}
        with running(built_binaries["default"], env, cwd=tmp_path, preexec=cgroup.enter()) as svc:
            assert request("GET", svc.debug + "/debug/vars").json()["gomemlimit"] == expected
