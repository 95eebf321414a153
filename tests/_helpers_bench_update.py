"""Benchmark (not a test): wall time of `goperf-scaffold update` on the real template, N -> N+1.

    .venv/bin/python -m tests._helpers_bench_update [--runs 7] [--profile default]

Builds template versions N and N+1 from this repository's working tree exactly as
tests/test_update_real_template.py does (hermetic GOPERF_SCAFFOLD_DATA_DIR in a temp folder),
generates the profile at N with the team's (non-conflicting) edits committed, runs one untimed
warm-up update (fills the Go module and build caches), then times RUNS updates, each on a fresh
copy of the committed project, as a user runs it: `goperf-scaffold update PATH` in a subprocess.
Timed runs use GOPROXY=off, so a run that needed a Go download would fail instead of being
timed. Prints every run, the median, and a breakdown (Python start-up, go mod tidy, gofmt).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ._helpers_env import CONFIG_ENV, DATA_DIR_ENV, console_script
from ._helpers_real_template import (
    build_real_template_releases,
    make_team_edits,
    release_versions,
)
from .conftest import PROFILES

TARGET_SECONDS = 5.0
_STEP_SECONDS = re.compile(r"(go mod tidy|gofmt -l)\W.*?done \((\d+(?:\.\d+)?)s\)")


def _cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_last_cpu: list[float] = [0.0]


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str, str, int]:
    """Wall seconds, stdout, stderr, exit code; CPU seconds (user+sys, with every process the
    command waited for: git, go) of the run land in `_last_cpu[0]`."""
    cpu_before = _cpu_seconds_of_children()
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=env, input="", capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    _last_cpu[0] = _cpu_seconds_of_children() - cpu_before
    return wall, completed.stdout, completed.stderr, completed.returncode


def _prepare(work: Path, profile: str) -> tuple[Path, tuple[str, str, str]]:
    """Mirror N and N+1 into the hermetic data dir; generate + edit + commit the profile at N."""
    from scaffolder import SilentProgress, __version__, new_service  # noqa: PLC0415
    from scaffolder._carried import refresh_package_cache  # noqa: PLC0415

    versions = release_versions(__version__)

    def mirror(version: str, root: Path) -> None:
        if version != versions[2]:
            refresh_package_cache(template_root=root, version=version)

    build_real_template_releases(work / "template-repo", versions, mirror)
    golden = work / "golden" / "svc"
    golden.parent.mkdir(parents=True)
    new_service(
        golden,
        data={"project_name": "svc", **PROFILES[profile]},
        defaults=True,
        vcs_ref=versions[0],
        tidy=False,
        verify=False,
        progress=SilentProgress(),
    )
    make_team_edits(golden, conflicting=False)
    return golden, versions


def _measure(work: Path, golden: Path, target: str, runs: int) -> dict[str, list[float]]:
    """One untimed warm-up update, then `runs` timed ones, each on a fresh copy of `golden`."""
    script = console_script()
    env = dict(os.environ)

    def fresh_copy(name: str) -> Path:
        dest = work / name / "svc"
        shutil.copytree(golden, dest, symlinks=True)
        return dest

    seconds, out, err, code = _timed([script, "update", str(fresh_copy("warm-up"))], work, env)
    if code != 0:
        raise SystemExit(f"warm-up update failed ({code}):\n{out}\n{err}")
    print(f"warm-up run (not counted): {seconds:.2f}s")
    figures: dict[str, list[float]] = {
        "update": [], "cpu": [], "tidy": [], "gofmt": [], "startup": []
    }  # fmt: skip
    figures["startup"] = [_timed([script, "--version"], work, env)[0] for _ in range(runs)]
    offline = {**env, "GOPROXY": "off"}  # a run that needs a download fails, not timed
    for index in range(runs):
        project = fresh_copy(f"run-{index}")
        seconds, out, err, code = _timed([script, "update", str(project)], work, offline)
        if code != 0:
            raise SystemExit(f"run {index} failed ({code}):\n{out}\n{err}")
        if f"_commit: {target}" not in (project / ".copier-answers.yml").read_text():
            raise SystemExit(f"run {index} did not reach {target}")
        steps = dict(_STEP_SECONDS.findall(err))
        figures["tidy"].append(float(steps.get("go mod tidy", "nan")))
        figures["gofmt"].append(float(steps.get("gofmt -l", "nan")))
        figures["update"].append(seconds)
        figures["cpu"].append(_last_cpu[0])
        print(f"run {index + 1}: {seconds:.2f}s wall, {_last_cpu[0]:.2f}s CPU")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", default="default", choices=sorted(PROFILES))
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1 (published figures use 9)")
    work = Path(tempfile.mkdtemp(prefix="goperf-bench-update-"))
    # Hermetic user folders (read by scaffolder at call time, inherited by the CLI runs).
    os.environ[DATA_DIR_ENV] = str(work / "user-data")
    os.environ[CONFIG_ENV] = str(work / "user-config" / "config.yml")
    try:
        golden, versions = _prepare(work, args.profile)
        load_before = os.getloadavg()[0]
        figures = _measure(work, golden, versions[1], args.runs)
        load_after = os.getloadavg()[0]
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    runs = figures["update"]
    median = statistics.median(runs)
    startup = statistics.median(figures["startup"])
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False)
    verdict = "met" if median <= TARGET_SECONDS else f"missed by {median - TARGET_SECONDS:.2f}s"
    print(
        f"\ncommand   : goperf-scaffold update PATH  (GOPROXY=off, {args.profile} profile)"
        f"\nversions  : {versions[0]} -> {versions[1]}"
        f"\nruns (s)  : {', '.join(f'{value:.2f}' for value in runs)}"
        f"\nmedian    : {median:.2f}s (min {min(runs):.2f}s, max {max(runs):.2f}s)"
        f"\nCPU (s)   : {', '.join(f'{value:.2f}' for value in figures['cpu'])}; median "
        f"{statistics.median(figures['cpu']):.2f}s (user+sys of the command and its children)"
        f"\nstart-up  : `goperf-scaffold --version` median {startup:.2f}s"
        f"\nsteps     : go mod tidy median {statistics.median(figures['tidy']):.2f}s, "
        f"gofmt -l median {statistics.median(figures['gofmt']):.2f}s"
        f"\nload avg  : {load_before:.2f} before, {load_after:.2f} after (1 min; "
        f"{os.cpu_count()} CPUs)"
        f"\nmachine   : {platform.platform()}, Python {platform.python_version()}, "
        f"{go.stdout.strip()}"
        f"\ntarget    : <= {TARGET_SECONDS:.2f}s median: {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
