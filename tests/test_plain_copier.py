"""Plain Copier is a door of its own: `copier copy <this repo> DEST --defaults` renders a
project that builds, with no goperf-scaffold code involved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, need, run

pytestmark = pytest.mark.go


def test_plain_copier_copy_with_defaults_builds(tmp_path: Path) -> None:
    need("go")
    copier = Path(sys.executable).parent / "copier"
    dest = tmp_path / "plain-service"
    proc = subprocess.run(
        [str(copier), "copy", "--defaults", str(REPO_ROOT), str(dest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "plain-service"
    assert answers["module_path"] == "example.com/plain-service"
    assert answers["database"] == "sqlite"
    assert "_commit" in answers  # rendered from git: the project can be updated later
    assert (dest / "cmd" / "plain-service" / "main.go").is_file()
    run(["go", "build", "./..."], dest)
