"""The machine, its load, and running commands with visible progress."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class CommandError(RuntimeError):
    """A command of the report failed; the message holds the command and its output's tail."""

    def __init__(self, command: Sequence[str], cwd: Path, code: int, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-30:])
        super().__init__(f"`{shlex.join(command)}` in {cwd} exited {code}:\n{tail}")
        self.command = list(command)
        self.code = code


class Progress:
    """Progress lines on stderr: `[report 1m02s] section: message`. Long commands print a
    "still running" line every `tick` seconds so that a slow build is visibly alive."""

    def __init__(self, tick: float = 20.0) -> None:
        self._start = time.monotonic()
        self._tick = tick
        self.section = "report"

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self._start)
        return f"{seconds // 60}m{seconds % 60:02d}s"

    def say(self, message: str) -> None:
        print(f"[report {self.elapsed()}] {self.section}: {message}", file=sys.stderr, flush=True)

    def run(
        self,
        command: Sequence[str],
        cwd: Path,
        *,
        env: Mapping[str, str] | None = None,
        label: str | None = None,
        timeout: float = 3600,
    ) -> str:
        """Run command in cwd; return its stdout. stderr is kept for the error message only."""
        label = label or shlex.join(command)
        self.say(label)
        stop = threading.Event()

        def ticker() -> None:
            started = time.monotonic()
            while not stop.wait(self._tick):
                self.say(f"… still running ({int(time.monotonic() - started)}s): {label}")

        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        try:
            completed = subprocess.run(
                list(command),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
            )
        finally:
            stop.set()
            thread.join()
        if completed.returncode != 0:
            raise CommandError(
                command, cwd, completed.returncode, completed.stdout + completed.stderr
            )
        return completed.stdout


def go_env(**extra: str) -> dict[str, str]:
    """Environment for go commands: the machine's toolchain, no inherited GOFLAGS."""
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env.pop("GOFLAGS", None)
    env.update(extra)
    return env


def load_average() -> float:
    return os.getloadavg()[0]


@dataclass(frozen=True)
class Machine:
    """What every table states about where it was measured."""

    cpus: int
    cpu_model: str
    memory: str
    kernel: str
    filesystem: str
    go_version: str
    python: str

    def describe(self) -> str:
        return (
            f"{self.cpus} CPUs ({self.cpu_model}), {self.memory} RAM, Linux {self.kernel}, "
            f"work folder on {self.filesystem}, {self.go_version}, Python {self.python}"
        )


def machine(work: Path) -> Machine:
    return Machine(
        cpus=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        memory=_memory(),
        kernel=platform.release(),
        filesystem=_filesystem(work),
        go_version=_go_version(),
        python=platform.python_version(),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding path (from /proc/mounts: the longest mount prefix)."""
    target = str(path.resolve())
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            mount = fields[1]
            inside = target == mount or target.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def _go_version() -> str:
    go = shutil.which("go")
    if go is None:
        return "no Go toolchain"
    out = subprocess.run([go, "version"], capture_output=True, text=True, check=False, env=go_env())
    return out.stdout.strip().removeprefix("go version ") or "unknown Go"
