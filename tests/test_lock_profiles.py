"""Every locked dependency set the template ships (includes/gomod/<key>.mod and .sum, one per
Go version, database, GOMAXPROCS mechanism and tracing) renders into a project that is tidy,
builds, passes go vet and whose tests pass wherever its code differs from what is tested
already, each under its own Go version's toolchain and, where the set has PostgreSQL, against a
real server.

The answer profiles of tests/conftest.py run the whole battery (lint, every package's tests
with -race) for six of these sets, one per Go toolchain at least. For the other sets the
expensive part runs where the dependency sets differ: a package's tests run when its test
binary would be built from anything no profile and no earlier set tested — another version of
a third-party module it links (the database driver, OpenTelemetry, automaxprocs, the Prometheus
client), other rendered source in the project's own packages it links, another toolchain. The
rest would only repeat a run whose every input was the same.

The sets are checked three at a time (their tests mostly wait on timers and the database), in
one session fixture; each set's test reports its own result."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import GO_TOOLCHAINS, IN_CI, PROFILES, REPO_ROOT, Rendered, go_env, need

pytestmark = pytest.mark.go

LOCK_KEYS = sorted(p.stem for p in (REPO_ROOT / "includes" / "gomod").glob("*.mod"))
CONCURRENT_SETS = 3


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


# The lock sets the answer profiles build, vet, lint and test already (test_generated_build.py).
TESTED_BY_PROFILES = {lock_key(a) for a in PROFILES.values()}


@dataclass
class Outcome:
    """What happened to one lock set: the steps that ran, and the first failure's output."""

    steps: list[str] = field(default_factory=list)
    failure: str = ""


def _go_list(project: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """`go list -deps -test -json ./...`: every package and test binary of the project."""
    out = subprocess.run(
        ["go", "list", "-deps", "-test", "-json", "./..."],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    decoder, at, packages = json.JSONDecoder(), 0, []
    while (at := len(out) - len(out[at:].lstrip())) < len(out):
        package, at = decoder.raw_decode(out, at)
        packages.append(package)
    return packages


def inputs_of_test_binaries(project: Path, env: dict[str, str]) -> dict[str, str]:
    """For each of the project's test binaries (by package), a digest of what it is built from:
    the toolchain, every third-party module@version it links, and the files and Go language
    version of every project package it links (standard library packages come with the
    toolchain)."""
    packages = _go_list(project, env)
    by_path = {p["ImportPath"]: p for p in packages}
    toolchain = subprocess.run(
        ["go", "env", "GOVERSION"], cwd=project, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    digests = {}
    for main in packages:
        if not main["ImportPath"].endswith(".test"):
            continue
        inputs = [toolchain]
        for dep in main.get("Deps", []):
            module = by_path[dep].get("Module")
            if not module:
                continue
            if not module.get("Main"):
                inputs.append(f"{module['Path']}@{module.get('Version', '')}")
                continue
            inputs.append(f"{dep} go{module.get('GoVersion', '')}")
            package = by_path[dep]
            for key in ("GoFiles", "TestGoFiles", "XTestGoFiles", "EmbedFiles", "TestEmbedFiles"):
                for name in package.get(key, []):
                    content = (Path(package["Dir"]) / name).read_bytes()
                    inputs.append(f"{name} {hashlib.sha256(content).hexdigest()}")
        package_path = main["ImportPath"].removesuffix(".test")
        digests[package_path] = hashlib.sha256("\n".join(sorted(inputs)).encode()).hexdigest()
    return digests


def check(key: str, project: Path, postgres: str, packages: list[str]) -> Outcome:
    """Tidy; outside the profiles build, vet and the tests of `packages` (those whose inputs
    no profile and no earlier set tested)."""
    outcome = Outcome()
    env = go_env(GOTOOLCHAIN=GO_TOOLCHAINS[answers_for(key)["go_version"]])
    if postgres:
        env["TEST_POSTGRES_URL"] = postgres
    steps: list[list[str]] = [["go", "mod", "tidy", "-diff"]]
    if key not in TESTED_BY_PROFILES:
        steps += [["go", "build", "./..."], ["go", "vet", "./..."]]
    try:
        for args in steps:
            _step(args, project, env, outcome)
        if packages:
            _step(["go", "test", "-count=1", "-p", "2", *packages], project, env, outcome)
    except subprocess.CalledProcessError as err:
        outcome.failure = f"{' '.join(err.cmd)} exited {err.returncode}\n{err.stdout[-6000:]}"
    except subprocess.TimeoutExpired as err:
        outcome.failure = f"{' '.join(map(str, err.cmd))} timed out after {err.timeout} s"
    return outcome


def _step(args: list[str], project: Path, env: dict[str, str], outcome: Outcome) -> None:
    subprocess.run(
        args,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True,
        timeout=900,
    )
    outcome.steps.append(" ".join(args[:3]) if args[1] == "test" else " ".join(args))


@dataclass
class Checked:
    """One lock set's project, the packages whose tests it ran, and what happened."""

    project: Path
    tested: list[str]
    outcome: Outcome


@pytest.fixture(scope="session")
def lock_set_outcomes(
    copie_session: Any, rendered_profiles: dict[str, Rendered]
) -> dict[str, Checked]:
    """Render every lock set (sequentially: Copier), plan which packages' tests run (inputs not
    tested by a profile or an earlier set), then check the sets CONCURRENT_SETS at a time."""
    need("go")
    postgres = os.environ.get("TEST_POSTGRES_URL", "")
    if not postgres and IN_CI:
        pytest.fail("TEST_POSTGRES_URL must be set in CI (.ci/run starts PostgreSQL)")
    tested: set[str] = set()
    for profile in rendered_profiles.values():
        tested |= set(inputs_of_test_binaries(profile.path, profile.go_env()).values())
    plans: dict[str, tuple[Path, list[str]]] = {}
    for key in LOCK_KEYS:
        result = copie_session.copy(extra_answers=answers_for(key))
        if result.exception is not None:
            raise RuntimeError(f"rendering lock set {key} failed: {result.exception}")
        project = Path(result.project_dir)
        packages = []
        if key not in TESTED_BY_PROFILES:
            env = go_env(GOTOOLCHAIN=GO_TOOLCHAINS[answers_for(key)["go_version"]])
            for package, digest in sorted(inputs_of_test_binaries(project, env).items()):
                if digest not in tested:
                    tested.add(digest)
                    packages.append(package)
        plans[key] = (project, packages)
    with ThreadPoolExecutor(CONCURRENT_SETS) as pool:
        futures = {
            key: pool.submit(check, key, path, postgres if "-postgres-" in key else "", packages)
            for key, (path, packages) in plans.items()
        }
        return {
            key: Checked(plans[key][0], plans[key][1], future.result())
            for key, future in futures.items()
        }


def test_every_lock_set_is_selected_by_some_answers() -> None:
    assert len(LOCK_KEYS) >= 30, LOCK_KEYS
    for key in LOCK_KEYS:
        assert (REPO_ROOT / "includes" / "gomod" / f"{key}.sum").is_file(), key


def test_every_go_toolchain_runs_a_full_profile() -> None:
    """The sets checked here run only their dependency-specific tests: each Go version must
    have an answer profile whose whole suite (-race, every package) runs under its toolchain."""
    versions = {key.split("-")[0].removeprefix("go") for key in LOCK_KEYS}
    assert versions <= {a.get("go_version", "1.26") for a in PROFILES.values()}, versions


@pytest.mark.parametrize("key", LOCK_KEYS)
def test_lock_set_is_tidy_builds_vets_and_passes_its_tests(
    key: str, lock_set_outcomes: dict[str, Checked]
) -> None:
    checked = lock_set_outcomes[key]
    assert not checked.outcome.failure, f"{key}: {checked.outcome.failure}"
    # The answers really selected this lock set: go.mod is its file, byte for byte after the
    # module line.
    lock = (REPO_ROOT / "includes" / "gomod" / f"{key}.mod").read_text()
    assert lock.strip() in (checked.project / "go.mod").read_text(), key
    expected = ["go mod tidy -diff"]
    if key not in TESTED_BY_PROFILES:
        expected += ["go build ./...", "go vet ./..."]
    if checked.tested:
        expected.append("go test -count=1")
    assert checked.outcome.steps == expected, checked.outcome.steps


def test_every_set_tests_the_packages_its_dependencies_change(
    lock_set_outcomes: dict[str, Checked],
) -> None:
    """The plan is neither empty by accident nor a repeat. No profile has PostgreSQL without
    OpenTelemetry under Go 1.25 or 1.26, nor automaxprocs under Go 1.26: some set of each must
    test the package that links them (which set depends on the order and on which sets share
    their pins). And a set that differs from the default profile only in the GOMAXPROCS
    mechanism does not test the store again: the store links none of it."""
    store, runtimecfg = "example.com/svc/internal/store", "example.com/svc/internal/runtimecfg"

    def tested(prefix: str, package: str) -> list[str]:
        return [
            k for k, c in lock_set_outcomes.items() if k.startswith(prefix) and package in c.tested
        ]

    for version in ("go1.25", "go1.26"):
        assert [k for k in tested(f"{version}-postgres-", store) if not k.endswith("-otel")], (
            version
        )
    assert [k for k in tested("go1.26-", runtimecfg) if "-automaxprocs" in k]
    assert store not in lock_set_outcomes["go1.26-sqlite-automaxprocs"].tested
