"""Shared fixtures: answer profiles rendered once per session, the Go toolchain, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Every answer profile the suite renders, builds and tests. Keys are stable test ids.
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    # PostgreSQL with OpenTelemetry tracing: the pgx spans need the database, and a sixth full
    # build would cost more CI time than it proves.
    "postgres": {"database": "postgres", "tracing": "otel"},
    "minimal": {"database": "none", "examples": False},
    "go1.24-automaxprocs": {"go_version": "1.24"},
    # Go 1.24 with PostgreSQL and tracing: the oldest pins of pgx (v5.8.0) and OpenTelemetry,
    # whose own tests 0.2.1 never ran against a real database (pgx v5.8.0 leaks a goroutine that
    # goleak caught only there).
    "go1.24-postgres": {"go_version": "1.24", "database": "postgres", "tracing": "otel"},
    "no-extras": {
        "docker": False,
        "kubernetes": False,
        "ci": "none",
        "gomaxprocs": "automaxprocs",
        "go_version": "1.25",
    },
}


# Each go_version profile is built, vetted and tested by that Go release's own toolchain (the
# newest patch release the module proxy serves; `go` downloads it once into the module cache).
# 1.26 is the machine's own Go.
GO_TOOLCHAINS = {"1.24": "go1.24.13", "1.25": "go1.25.14", "1.26": "local"}


# `go test -p 4` for the generated projects' test suites: up to 4 packages' test binaries at
# once (go's default is one per CPU, 2 in CI). Their tests spend much of their time waiting
# (timers, shutdowns, load windows), so `go test -race ./...` of a profile keeps 2 CPUs only
# about 60% busy at -p 2; at -p 4 the five profiles take about 95 s instead of 135 s.
GO_TEST_PARALLEL = ("-p", "4")


def need(tool: str) -> str:
    """Return the path of tool; skip the test without it, but fail in CI, where it must exist."""
    path = shutil.which(tool)
    if path:
        return path
    if IN_CI:
        pytest.fail(f"{tool} is required in CI but is not on PATH")
    pytest.skip(f"{tool} is not installed")


def go_env(**extra: str) -> dict[str, str]:
    """Environment for go commands: the machine's toolchain, the shared build and module caches."""
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env.pop("GOFLAGS", None)
    env.update(extra)
    return env


def run(
    args: list[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output when it exits non-zero."""
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env or go_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode} in {cwd}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
        )
    return proc


@dataclass(frozen=True)
class Rendered:
    """A generated project and the answers it was generated with."""

    name: str
    path: Path
    answers: dict[str, Any]

    @property
    def database(self) -> str:
        return str(self.answers.get("database", "sqlite"))

    @property
    def go_version(self) -> str:
        return str(self.answers.get("go_version", "1.26"))

    def go_env(self, **extra: str) -> dict[str, str]:
        """go_env() with the toolchain of the profile's own Go version."""
        return go_env(GOTOOLCHAIN=GO_TOOLCHAINS[self.go_version], **extra)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a real PostgreSQL server (TEST_POSTGRES_URL); .ci/run starts one."""
    url = os.environ.get("TEST_POSTGRES_URL", "")
    if url:
        return url
    if IN_CI:
        pytest.fail("TEST_POSTGRES_URL must be set in CI (.ci/run starts PostgreSQL)")
    pytest.skip("TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="session")
def rendered_profiles(copie_session: Any) -> dict[str, Rendered]:
    """Render every profile once per session with pytest-copie (the real Copier)."""
    out: dict[str, Rendered] = {}
    for name, answers in PROFILES.items():
        result = copie_session.copy(extra_answers={"project_name": "svc", **answers})
        if result.exception is not None:
            raise RuntimeError(f"rendering profile {name} failed: {result.exception}")
        out[name] = Rendered(name=name, path=Path(result.project_dir), answers=dict(result.answers))
    return out


@pytest.fixture(scope="session")
def built_binaries(
    rendered_profiles: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """Build the service binary of the profiles that are run as real processes."""
    need("go")
    out_dir = tmp_path_factory.mktemp("bin")
    binaries: dict[str, Path] = {}
    for name in ("default", "postgres", "go1.24-automaxprocs"):
        project = rendered_profiles[name]
        binary = out_dir / name / "svc"
        run(["go", "build", "-o", str(binary), "./cmd/svc"], project.path)
        binaries[name] = binary
    return binaries
