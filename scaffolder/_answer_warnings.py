"""Warnings about answer combinations that generate a working project with a known weakness.

Refusing them would also refuse every update of a project that already has them (Copier
re-validates recorded answers), so `new`, `adopt` and `check` say it instead, once, with the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Go 1.24 (past the end of its upstream support since Go 1.26's release) keeps the last pgx and
# OpenTelemetry releases that still build with it; the fixes for the vulnerabilities govulncheck
# reports in them (pgx GO-2026-5004; OpenTelemetry, gRPC, x/net, x/text) need Go 1.25.
_GO124_VULNERABLE = {"database": "postgres", "tracing": "otel"}


def answer_warnings(answers: Mapping[str, Any]) -> list[str]:
    """One line per weakness the answers select (empty when there is none)."""
    if str(answers.get("go_version", "")) != "1.24":
        return []
    chosen = [
        f"{key}={value}" for key, value in _GO124_VULNERABLE.items() if answers.get(key) == value
    ]
    if not chosen:
        return []
    return [
        f"warning: go_version=1.24 with {' and '.join(chosen)} pins dependency releases with known "
        "vulnerabilities (`make vuln` reports them; their fixes need Go 1.25): answer "
        "go_version=1.25 or later (goperf-scaffold update --data go_version=1.26)"
    ]
