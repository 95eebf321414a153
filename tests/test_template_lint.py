"""Plain Go files pass gofmt, go vet and golangci-lint in the template tree, unrendered."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO_ROOT, need

pytestmark = pytest.mark.go


def test_plain_go_in_the_template_tree_is_clean() -> None:
    need("go")
    need("golangci-lint")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "lint_template.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "template Go is clean" in completed.stdout
    # The packages a newcomer edits most are among those checked in the template tree; the
    # plain files of internal/config are checked with its one `.go.jinja` file rendered.
    for package in ("internal/store", "internal/workerpool", "internal/loadgen", "internal/config"):
        assert package in completed.stdout
