"""Hermetic per-test user folders, the installed console script, and the Go toolchain gate."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

# One lookup of the installed console script for the suite, its benchmarks and bench.report.
from bench.report._cli_times import console_script

from .conftest import need

DATA_DIR_ENV = "GOPERF_SCAFFOLD_DATA_DIR"
CONFIG_ENV = "GOPERF_SCAFFOLD_CONFIG"


def isolate_user_dirs(monkeypatch: pytest.MonkeyPatch, root: Path) -> dict[str, str]:
    """Point the data dir and org config at `root` for this test (never the real user's)."""
    env = {
        DATA_DIR_ENV: str(root / "user-data"),
        CONFIG_ENV: str(root / "user-config" / "config.yml"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def require_go() -> None:
    """Skip without Go locally; in CI (CI=true) a missing Go toolchain is a failure."""
    need("go")


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would (no TTY on stdin)."""
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def assert_one_line_error(stderr: str) -> str:
    """stderr ends with exactly one `goperf-scaffold: error:` line and has no traceback."""
    assert "Traceback" not in stderr
    error_lines = [line for line in stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1, stderr
    assert error_lines[0].startswith("goperf-scaffold: error: "), stderr
    return error_lines[0]
