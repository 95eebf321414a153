"""renovate.json in generated projects: valid for Renovate's own validator, present only when asked.

The validator is the npm package `renovate` at RENOVATE_VERSION (39.x accepts Node 20), installed
once into a per-user cache (RENOVATE_CACHE_ENV overrides where) and run once for every profile's
file. Without node/npm the test skips locally and fails in CI.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import IN_CI, PROFILES, Rendered

RENOVATE_VERSION = "39.264.1"
RENOVATE_CACHE_ENV = "GOPERF_SCAFFOLD_TEST_RENOVATE_DIR"
RENOVATE_PROFILES = [name for name, answers in PROFILES.items() if answers.get("ci") != "none"]


def _cache_root() -> Path:
    override = os.environ.get(RENOVATE_CACHE_ENV)
    if override:
        return Path(override)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "goperf-scaffold-test" / f"renovate-{RENOVATE_VERSION}"


def _missing_tool(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """One installer at a time (pytest-xdist workers share the cache)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def renovate_config_validator() -> Path:
    """renovate-config-validator of RENOVATE_VERSION, npm-installed into the cache if missing."""
    root = _cache_root()
    validator = root / "node_modules" / ".bin" / "renovate-config-validator"
    if validator.exists():
        return validator
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        _missing_tool("node and npm are needed to install Renovate's config validator")
    with _locked(root.parent / f"{root.name}.lock"):
        if validator.exists():  # another worker installed it meanwhile
            return validator
        # Installed aside, then moved into place: an interrupted install leaves no half cache.
        staging = Path(tempfile.mkdtemp(prefix=f"{root.name}.", dir=root.parent))
        completed = subprocess.run(
            [str(npm), "install", "--no-audit", "--no-fund", "--no-save", "--omit=optional",
             "--ignore-scripts", "--prefix", str(staging), f"renovate@{RENOVATE_VERSION}"],
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        if completed.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            pytest.fail(f"npm install renovate@{RENOVATE_VERSION} failed: {completed.stderr}")
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    return validator


def test_renovate_json_passes_renovates_validator_for_every_profile(
    rendered_profiles: dict[str, Rendered], renovate_config_validator: Path, tmp_path: Path
) -> None:
    files = []
    for name in RENOVATE_PROFILES:
        generated = rendered_profiles[name].path / "renovate.json"
        assert generated.is_file(), f"profile {name} (ci=github) has no renovate.json"
        copy = tmp_path / name / "renovate.json"  # the validator reports files by path
        copy.parent.mkdir()
        shutil.copyfile(generated, copy)
        files.append(str(copy))

    completed = subprocess.run(
        [str(renovate_config_validator), "--strict", *files],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Config validated successfully" in completed.stdout + completed.stderr


def test_validator_rejects_a_broken_config(renovate_config_validator: Path, tmp_path: Path) -> None:
    # So that a pass above means something: an unknown manager and option fail.
    broken = tmp_path / "renovate.json"
    broken.write_text(json.dumps({"enabledManagers": ["copierx"], "bogus": True}))
    completed = subprocess.run(
        [str(renovate_config_validator), "--strict", str(broken)],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode != 0


def _config(project: Rendered) -> dict[str, Any]:
    loaded = json.loads((project.path / "renovate.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_renovate_opens_template_module_image_and_action_updates(
    rendered_profiles: dict[str, Rendered],
) -> None:
    config = _config(rendered_profiles["default"])
    assert {"copier", "gomod", "dockerfile", "github-actions"} <= set(config["enabledManagers"])
    assert "gomodTidy" in config["postUpdateOptions"]
    assert config["schedule"]
    groups = {
        tuple(rule["matchManagers"]): rule["groupName"]
        for rule in config["packageRules"]
        if "groupName" in rule
    }
    assert groups == {
        ("gomod",): "Go modules",
        ("dockerfile",): "base images",
        ("github-actions",): "GitHub Actions",
    }
    assert any(rule.get("pinDigests") for rule in config["packageRules"])


def test_no_renovate_json_without_renovate_or_without_github_ci(
    rendered_profiles: dict[str, Rendered], copie: Any
) -> None:
    no_ci = rendered_profiles["no-extras"]
    assert not (no_ci.path / "renovate.json").exists()
    assert "renovate" not in no_ci.answers or no_ci.answers["renovate"] is False

    result = copie.copy(extra_answers={"project_name": "svc", "renovate": False})

    assert result.exception is None, result.exception
    project = Path(result.project_dir)
    assert not (project / "renovate.json").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["renovate"] is False
    workflow = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "${{ vars.TEMPLATE_DRIFT || 'fail' }}" in workflow  # no Renovate: the job fails
    assert "renovate" not in (project / "README.md").read_text(encoding="utf-8").lower()
