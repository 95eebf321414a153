"""Run a process inside a cgroup with a CPU quota and a memory limit (root; v1 or v2)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available() -> str | None:
    """Why cgroups cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create cgroups"
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        return None
    if (CGROUP_ROOT / "cpu").is_dir() and (CGROUP_ROOT / "memory").is_dir():
        return None
    return "no cgroup v1 cpu/memory or cgroup v2 hierarchy mounted"


@dataclass
class Cgroup:
    """A cgroup (v1: one folder per controller; v2: one folder) that is removed on close."""

    dirs: list[Path]
    procs_files: list[Path]

    @classmethod
    def create(cls, cpus: float, memory_bytes: int) -> Cgroup:
        name = f"goperf-test-{uuid.uuid4().hex[:8]}"
        period = 100_000
        quota = int(cpus * period)
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            parent = CGROUP_ROOT
            (parent / "cgroup.subtree_control").write_text("+cpu +memory")
            d = parent / name
            d.mkdir()
            (d / "cpu.max").write_text(f"{quota} {period}")
            (d / "memory.max").write_text(str(memory_bytes))
            (d / "memory.swap.max").write_text("0")
            return cls(dirs=[d], procs_files=[d / "cgroup.procs"])
        cpu = CGROUP_ROOT / "cpu" / name
        mem = CGROUP_ROOT / "memory" / name
        cpu.mkdir()
        mem.mkdir()
        (cpu / "cpu.cfs_period_us").write_text(str(period))
        (cpu / "cpu.cfs_quota_us").write_text(str(quota))
        (mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = mem / "memory.memsw.limit_in_bytes"
        if swap.exists():
            with contextlib.suppress(OSError):
                swap.write_text(str(memory_bytes))
        return cls(dirs=[cpu, mem], procs_files=[cpu / "cgroup.procs", mem / "cgroup.procs"])

    def enter(self) -> Callable[[], None]:
        """A preexec function that moves the child process into this cgroup before exec."""
        files = [str(f) for f in self.procs_files]

        def move() -> None:
            pid = str(os.getpid())
            for f in files:
                with open(f, "w") as fh:
                    fh.write(pid)

        return move

    def oom_kills(self) -> int:
        for d in self.dirs:
            events = d / "memory.events"
            if events.exists():
                for line in events.read_text().splitlines():
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
            control = d / "memory.oom_control"
            if control.exists():
                for line in control.read_text().splitlines():
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        return 0

    def peak_memory(self) -> int | None:
        """Highest memory use the kernel charged to the cgroup (bytes; page cache included), or
        None where the kernel does not record it (cgroup v2 before Linux 5.19)."""
        for d in self.dirs:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                f = d / name
                if f.exists():
                    return int(f.read_text().split()[0])
        return None

    def close(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(OSError):
                d.rmdir()
