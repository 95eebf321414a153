"""Fault injectors of the fault matrix (test_fault_matrix.py): a private PostgreSQL cluster that
can be crashed, restarted and frozen; SQLite's write lock held by another connection; a small
tmpfs filled to ENOSPC; processes frozen with SIGSTOP.

Every injector undoes its fault on the way out (a frozen process is always continued, a held
lock released, a filler file removed, a tmpfs unmounted), and every wait is bounded."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import IN_CI


def require(condition: bool, why: str) -> None:
    """Skip the test when a prerequisite is missing, loudly; in CI, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(f"PREREQUISITE MISSING, scenario not run: {why}")


def postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL server's bin folder (as scripts/start-postgres.sh finds it)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
    )
    found = [p for p in found if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of pid, from /proc/<n>/stat."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


@contextlib.contextmanager
def frozen(pids: list[int]) -> Iterator[list[int]]:
    """SIGSTOP every pid for the block; SIGCONT them all on the way out, whatever happens."""
    stopped: list[int] = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield stopped
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@dataclass
class PgCluster:
    """A PostgreSQL cluster of this test module only: initdb into a temporary folder owned by
    the `postgres` user (when running as root), its own loopback port. It may be crashed,
    frozen and restarted; the shared server behind TEST_POSTGRES_URL is never touched."""

    bin_dir: Path
    data_dir: Path
    port: int
    as_postgres: bool
    restarts: int = 0
    log: list[str] = field(default_factory=list)

    @classmethod
    def create(cls) -> PgCluster:
        bin_dir = postgres_bin_dir()
        require(
            bin_dir is not None,
            "PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)",
        )
        assert bin_dir is not None
        as_postgres = os.geteuid() == 0
        if as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                require(False, "a `postgres` user to run initdb as (scripts/start-postgres.sh)")
                raise
            require(shutil.which("runuser") is not None, "runuser (util-linux)")
        data_dir = Path(tempfile.mkdtemp(prefix="goperf-fm-pg-", dir="/tmp"))
        if as_postgres:
            os.chown(data_dir, pw.pw_uid, pw.pw_gid)
        cluster = cls(bin_dir=bin_dir, data_dir=data_dir, port=free_port(), as_postgres=as_postgres)
        try:
            cluster._run(
                "initdb",
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                timeout=120,
            )
            cluster.start()
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        cmd = [str(self.bin_dir / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        self.log.append(f"{tool} {' '.join(args[:2])}: exit {proc.returncode}")
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} exited {proc.returncode}: {proc.stdout}{proc.stderr}\n"
                f"server log tail: {self.server_log()[-2000:]}"
            )
        return proc.stdout

    def server_log(self) -> str:
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> None:
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.data_dir} -c max_connections=100"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
            timeout=90,
        )

    def ensure_running(self) -> None:
        """Continue a frozen cluster and start a stopped one (after a failed scenario)."""
        self.continue_all()
        proc = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            timeout=30,
            check=False,
            user="postgres" if self.as_postgres else None,
        )
        if proc.returncode != 0:
            self.start()

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")

    def crash_and_restart(self, down_s: float) -> float:
        """`pg_ctl stop -m immediate` (no shutdown checkpoint: crash recovery at the next
        start), wait down_s, start again; returns the seconds the server was down."""
        self.continue_all()  # a frozen cluster cannot be stopped
        t0 = time.monotonic()
        self.stop("immediate")
        time.sleep(down_s)
        self.start()
        self.restarts += 1
        return time.monotonic() - t0

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, WAL writer)."""
        root = self.postmaster_pid()
        if root is None:
            return []
        return [root, *children(root)]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[list[int]]:
        """Every process of the cluster stopped (SIGSTOP): connections open, nothing answers."""
        with frozen(self.pids()) as pids:
            yield pids

    def continue_all(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def create_database(self) -> str:
        import psycopg  # noqa: PLC0415 - only the postgres scenarios need it

        name = f"fm_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import psycopg  # noqa: PLC0415

        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as admin,
        ):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def backend_pids(self, database: str) -> list[int]:
        """Server processes of the sessions connected to database (the service's pool)."""
        import psycopg  # noqa: PLC0415

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as admin:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def destroy(self) -> None:
        self.continue_all()
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def consume_xids(url: str, count: int) -> int:
    """Run count transactions that each take a transaction id (pg_current_xact_id() assigns
    one); returns the last id. Right after a crash restart, this hands out again the ids that
    transactions in flight at the crash had been given without a WAL record."""
    import psycopg  # noqa: PLC0415

    last = 0
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for _ in range(count):
            row = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
            assert row is not None
            last = int(row[0])
    return last


def admin_execute(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(sql.encode(), params)
        return list(cur.fetchall()) if cur.description else []


def terminate_sessions(url: str, database: str) -> int:
    rows = admin_execute(
        url,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    )
    return int(str(rows[0][0]))


class SqliteLock:
    """SQLite's write lock held by another connection (Python's sqlite3, BEGIN IMMEDIATE) in a
    thread of its own, for given spells; the service's writer meets SQLITE_BUSY meanwhile."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.held_s: list[float] = []
        self.errors: list[str] = []

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the write lock for the block."""
        conn = sqlite3.connect(str(self.db), timeout=10, isolation_level=None)
        t0 = time.monotonic()
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()
            self.held_s.append(round(time.monotonic() - t0, 3))

    def hold(self, seconds: float) -> None:
        with self.held():
            time.sleep(seconds)

    def spells(self, hold_s: float, gap_s: float, count: int) -> threading.Thread:
        """Hold the lock count times for hold_s, gap_s apart, in a background thread."""

        def run() -> None:
            for _ in range(count):
                try:
                    self.hold(hold_s)
                except sqlite3.Error as err:
                    self.errors.append(str(err))
                time.sleep(gap_s)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


@dataclass
class Tmpfs:
    """A tmpfs of size_bytes mounted on a folder of its own (root); unmounted on close."""

    path: Path
    size_bytes: int

    @classmethod
    def mount(cls, parent: Path, size_bytes: int) -> Tmpfs:
        require(os.geteuid() == 0, "root, to mount a tmpfs (SQLite on a full disk)")
        require(shutil.which("mount") is not None, "mount (util-linux)")
        path = parent / "tmpfs"
        path.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        require(proc.returncode == 0, f"permission to mount a tmpfs: {proc.stderr.strip()}")
        return cls(path=path, size_bytes=size_bytes)

    def free_bytes(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, name: str = "filler", limit_s: float = 10) -> Path:
        """Write zeros to a filler file until the file system is full (ENOSPC)."""
        filler = self.path / name
        chunk = b"\0" * 65536
        deadline = time.monotonic() + limit_s
        with open(filler, "ab", buffering=0) as fh:
            while time.monotonic() < deadline:
                try:
                    fh.write(chunk if self.free_bytes() >= len(chunk) else b"\0" * 4096)
                except OSError:
                    break
        return filler

    def close(self) -> None:
        subprocess.run(
            ["umount", "-l", str(self.path)], capture_output=True, timeout=30, check=False
        )
