"""Benchmark (not a test): wall time of `fleet status` and `fleet update` over 5 repositories.

    .venv/bin/python -m tests._helpers_bench_fleet [--runs 5] [--status-runs 9] [--jobs 2]

The real template (a snapshot of this working tree, version N) is hosted in a bare repository
used as the organisation's template (`file://` URL, hermetic GOPERF_SCAFFOLD_DATA_DIR and
config in a temp folder). Five services are generated at N with different answer profiles
(`go mod tidy` run, committed), then N+1 is released (the realistic template change of
tests/_helpers_real_template.py: a new question, a Makefile change, a renamed Go file with its
migration, a Go change). Times, as a user runs them in a subprocess:

- `goperf-scaffold fleet status SERVICES` (read-only; STATUS_RUNS times), and
- `goperf-scaffold fleet update SERVICES --jobs J`: per repository an update in a worktree,
  `go build ./...`, `go test ./...`, a commit and a branch; each run on a fresh copy of the
  five committed services, after one untimed warm-up run (Go module and build caches).

Prints every run, medians, CPU (user+sys of the command and its children) and the 1-minute load
average before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ._helpers_env import CONFIG_ENV, DATA_DIR_ENV, console_script
from ._helpers_real_template import (
    apply_next_version,
    release_versions,
    snapshot_template,
)
from ._helpers_teams import bare_remote, publish
from .conftest import PROFILES

# Five answer profiles (the PostgreSQL one is left out: its tests want a database server).
FLEET = {
    "orders": PROFILES["default"],
    "billing": PROFILES["minimal"],
    "search": PROFILES["no-extras"],
    "ledger": PROFILES["go1.24-automaxprocs"],
    "notify": {"examples": False},
}


def _timed(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (the command and every process it waited for), the result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, input="", capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed


def _prepare(work: Path) -> tuple[Path, str, str]:
    """Host N, generate the five services at N, release N+1; return the services folder."""
    from scaffolder import SilentProgress, __version__, new_service, set_org_config_value  # noqa: PLC0415

    n, n1, _ = release_versions(__version__)
    template = snapshot_template(work / "template")
    template.release(n)
    remote = bare_remote(template, work / "srv" / "goperf-scaffold.git")
    set_org_config_value("template", remote.as_uri())
    services = work / "golden"
    services.mkdir()
    for name, answers in FLEET.items():
        new_service(
            services / name,
            data={"project_name": name, **answers},
            defaults=True,
            verify=False,
            progress=SilentProgress(),
        )  # go mod tidy, then the first commit
    apply_next_version(template, n1)
    template.release(n1)
    publish(template.root, remote)
    return services, n, n1


def _fresh_copy(services: Path, dest: Path) -> Path:
    shutil.copytree(services, dest, symlinks=True)
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed fleet update runs")
    parser.add_argument("--status-runs", type=int, default=9, help="timed fleet status runs")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="goperf-bench-fleet-"))
    os.environ[DATA_DIR_ENV] = str(work / "user-data")
    os.environ[CONFIG_ENV] = str(work / "user-config" / "config.yml")
    script = console_script()
    status_command = [script, "fleet", "status"]
    update_command = [script, "fleet", "update", "--jobs", str(args.jobs)]
    try:
        golden, n, n1 = _prepare(work)
        load_before = os.getloadavg()[0]
        status: list[tuple[float, float]] = []
        for index in range(args.status_runs):
            wall, cpu, done = _timed([*status_command, str(golden)], work)
            if done.returncode != 10 or done.stdout.count(n1) != len(FLEET):
                raise SystemExit(f"status run {index} failed ({done.returncode}):\n{done.stdout}")
            status.append((wall, cpu))
            print(f"status run {index + 1}: {wall:.2f}s wall, {cpu:.2f}s CPU", flush=True)
        warm = _fresh_copy(golden, work / "warm-up")
        wall, _, done = _timed([*update_command, str(warm)], work)
        if done.returncode != 0:
            raise SystemExit(f"warm-up failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        print(f"warm-up update (not counted): {wall:.2f}s", flush=True)
        updates: list[tuple[float, float]] = []
        for index in range(args.runs):
            copy = _fresh_copy(golden, work / f"run-{index}")
            wall, cpu, done = _timed([*update_command, str(copy)], work)
            if done.returncode != 0 or done.stdout.count(f"on branch template/{n1}") != len(FLEET):
                raise SystemExit(f"run {index} failed ({done.returncode}):\n{done.stdout}")
            updates.append((wall, cpu))
            print(f"update run {index + 1}: {wall:.2f}s wall, {cpu:.2f}s CPU", flush=True)
        load_after = os.getloadavg()[0]
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False)

    def summary(figures: list[tuple[float, float]]) -> str:
        walls = [wall for wall, _ in figures]
        return (
            f"median {statistics.median(walls):.2f}s (min {min(walls):.2f}s, max "
            f"{max(walls):.2f}s); CPU median {statistics.median(c for _, c in figures):.2f}s; "
            f"runs: {', '.join(f'{wall:.2f}' for wall in walls)}"
        )

    print(
        f"\nfleet     : {len(FLEET)} repositories ({', '.join(FLEET)}), template {n} -> {n1}"
        f"\nstatus    : goperf-scaffold fleet status SERVICES: {summary(status)}"
        f"\nupdate    : goperf-scaffold fleet update SERVICES --jobs {args.jobs}: "
        f"{summary(updates)}"
        f"\nload avg  : {load_before:.2f} before, {load_after:.2f} after (1 min; "
        f"{os.cpu_count()} CPUs)"
        f"\nmachine   : {platform.platform()}, Python {platform.python_version()}, "
        f"{go.stdout.strip()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
