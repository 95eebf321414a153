"""Fixtures of the reliability scenarios: the load client, the fault-injection build, a fresh
PostgreSQL database per test, and the figures file written at the end of the session."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .. import _load
from ..conftest import Rendered, need, run


@pytest.fixture(scope="session", autouse=True)
def _write_figures() -> Iterator[None]:
    yield
    _load.write_figures()


@pytest.fixture(scope="session")
def loadgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("go")
    return _load.build_loadgen(tmp_path_factory.mktemp("loadgen"))


@pytest.fixture(scope="session")
def fault_binary(
    rendered_profiles: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The default profile built with -tags faultinject (test-only failure routes)."""
    need("go")
    binary = tmp_path_factory.mktemp("fault-bin") / "svc"
    run(
        ["go", "build", "-tags", "faultinject", "-o", str(binary), "./cmd/svc"],
        rendered_profiles["default"].path,
    )
    return binary


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards; its URL."""
    import psycopg  # noqa: PLC0415 - only the postgres scenarios need it

    name = f"goperf_rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(postgres_url)
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
