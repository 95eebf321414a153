"""Every locked dependency set the template ships (includes/gomod/<key>.mod and .sum, one per
Go version, database, GOMAXPROCS mechanism and tracing) renders into a project whose go.mod and
go.sum are complete and tidy under that Go version's own toolchain, and which builds (the sets
an answer profile already builds are not built twice).

The answer profiles of tests/conftest.py run the expensive checks (vet, lint, race tests against
a real PostgreSQL) for six of these sets; this is the cheap check for all of them, so that a lock
file no profile selects cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import GO_TOOLCHAINS, PROFILES, REPO_ROOT, go_env, need, run

pytestmark = pytest.mark.go

LOCK_KEYS = sorted(p.stem for p in (REPO_ROOT / "includes" / "gomod").glob("*.mod"))


def answers_for(key: str) -> dict[str, Any]:
    """The answers that select lock set key (copier.yml's go_deps_key), e.g.
    go1.25-postgres-automaxprocs-otel."""
    version, database, maxprocs, *rest = key.split("-")
    answers: dict[str, Any] = {
        "project_name": "svc",
        "go_version": version.removeprefix("go"),
        "database": database,
        "tracing": "otel" if rest == ["otel"] else "none",
    }
    if answers["go_version"] != "1.24":  # 1.24 always uses automaxprocs; the question is not asked
        answers["gomaxprocs"] = maxprocs
    return answers


def lock_key(answers: dict[str, Any]) -> str:
    """copier.yml's go_deps_key for answers (with the template's defaults)."""
    version = answers.get("go_version", "1.26")
    maxprocs = "automaxprocs" if version == "1.24" else answers.get("gomaxprocs", "runtime")
    otel = "-otel" if answers.get("tracing", "none") == "otel" else ""
    return f"go{version}-{answers.get('database', 'sqlite')}-{maxprocs}{otel}"


# The lock sets the answer profiles build, vet and test already (tests/test_generated_build.py).
BUILT_BY_PROFILES = {lock_key(a) for a in PROFILES.values()}


def test_every_lock_set_is_selected_by_some_answers() -> None:
    assert len(LOCK_KEYS) >= 30, LOCK_KEYS
    for key in LOCK_KEYS:
        assert (REPO_ROOT / "includes" / "gomod" / f"{key}.sum").is_file(), key


@pytest.mark.parametrize("key", LOCK_KEYS)
def test_lock_set_is_tidy_and_builds(key: str, copie_session: Any) -> None:
    need("go")
    result = copie_session.copy(extra_answers=answers_for(key))
    assert result.exception is None, result.exception
    project = Path(result.project_dir)
    answers = dict(result.answers)
    # The answers really selected this lock set: go.mod is its file, byte for byte after the
    # module line.
    lock = (REPO_ROOT / "includes" / "gomod" / f"{key}.mod").read_text()
    assert lock.strip() in (project / "go.mod").read_text(), (key, answers)
    env = go_env(GOTOOLCHAIN=GO_TOOLCHAINS[answers_for(key)["go_version"]])
    run(["go", "mod", "tidy", "-diff"], project, env=env)
    if key not in BUILT_BY_PROFILES:
        run(["go", "build", "./..."], project, env=env)
