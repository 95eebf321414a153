"""Every Makefile target of every answer profile: declared phony, expands without error into
the commands it promises, names only packages, tools and binaries the project has, and the
cheap ones that need nothing but Go run for real and leave the project as generated.

Where each target runs for real:
- every profile: help, tidy, fmt, loadgen, clean (here); vet, race and lint
  (tests/test_generated_build.py runs them through `make`);
- the default profile: build, profile, pgo, pgo-compare's recipe, bench-compare
  (tests/test_perf_loop.py), bench-gate (tests/test_bench_gate.py), bench-smoke (the report);
- nowhere: run and load (they serve or drive a server until stopped; the e2e tests run the
  same binary), tools (downloads golangci-lint; scripts/test.sh installs the same pinned
  version), vuln (needs vuln.go.dev; tests/reliability/test_vulnerabilities.py runs the same
  govulncheck against an offline database), db-up/db-down (need Docker). For these the dry run
  below is the check: what it would run, and that everything it names exists.

A template conditional that eats a newline shows up in the dry run (0.2.1: `go mod
download.PHONY: clean` in every sqlite and database-free project)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import PROFILES, Rendered, need, run

pytestmark = pytest.mark.go

# Targets run for real in every profile: quick, offline once the module cache is warm, and each
# must leave the generated project exactly as it was (a tidy that rewrites go.sum or a fmt that
# reformats a file is a template defect).
RUN_FOR_REAL = ("help", "tidy", "fmt", "loadgen", "clean")

# What each target's dry run must contain (for the project svc): the command that does its job.
WOULD_RUN = {
    "help": ["grep -hE"],
    "run": ["go run ./cmd/svc"],
    "build": ["CGO_ENABLED=0 go build", "-trimpath", "-o bin/svc ./cmd/svc"],
    "test": ["go test -pgo=off ./..."],
    "race": ["go test -pgo=off -race ./..."],
    "vet": ["go vet ./..."],
    "lint": ["golangci-lint run ./..."],
    "tools": ["go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2."],
    "vuln": ["go tool govulncheck ./..."],
    "fmt": ["gofmt -w ."],
    "tidy": ["go mod tidy", "go mod download"],
    "db-up": ["docker run", "-p 127.0.0.1:55432:5432", "pg_isready"],
    "db-down": ["docker rm -f svc-postgres"],
    "clean": ["rm -rf bin"],
    "bench": ["go test -run='^$' -bench=", "-benchmem", "-count=10", "| tee bench-results/"],
    "bench-smoke": ["-short", "-bench=.", "-benchtime=10x ./..."],
    "bench-compare": ["go tool benchstat"],
    "bench-gate": ["go run ./cmd/benchgate -base"],
    "loadgen": ["go build -o bin/loadgen ./cmd/loadgen"],
    "load": ["bin/loadgen -url"],
    "profile": ["bin/loadgen -serve bin/svc", "-cpuprofile"],
    "pgo": ["cmd/svc/default.pgo", "go build", "-o bin/svc ./cmd/svc"],
    "pgo-compare": ["-pgo=off -o bin/svc-nopgo", "go tool benchstat"],
}

# `go tool` names that come with Go itself rather than a tool directive in go.mod.
GO_BUILTIN_TOOLS = {"pprof", "trace", "cover", "vet", "fix", "nm", "objdump", "addr2line"}


def check_what_it_would_run(target: str, dry: str, project: Path) -> None:
    """The dry run holds the target's commands; every package, tool and binary it names exists
    (a package under cmd/, a tool declared in go.mod, a binary built earlier in the recipe)."""
    for fragment in WOULD_RUN[target]:
        assert fragment in dry, f"make {target} would not run {fragment!r}:\n{dry}"
    for package in re.findall(r"\./cmd/([A-Za-z0-9_-]+)", dry):
        main = project / "cmd" / package
        assert any("package main" in f.read_text() for f in main.glob("*.go")), (target, package)
    go_mod = (project / "go.mod").read_text()
    declared = {line.strip().rsplit("/", 1)[-1] for line in _tool_block(go_mod)}
    for tool in re.findall(r"\bgo tool ([a-z0-9-]+)", dry):
        assert tool in declared | GO_BUILTIN_TOOLS, (
            f"make {target} runs go tool {tool}: not in go.mod"
        )
    built = set(re.findall(r"-o bin/([A-Za-z0-9_-]+)", dry))
    for binary in re.findall(r"(?:^|\s)bin/([A-Za-z0-9_-]+) -", dry, re.MULTILINE):
        assert binary in built, f"make {target} runs bin/{binary} without building it"


def _tool_block(go_mod: str) -> list[str]:
    block = re.search(r"^tool \(\n(.*?)^\)", go_mod, re.MULTILINE | re.DOTALL)
    single = re.findall(r"^tool (\S+)$", go_mod, re.MULTILINE)
    return [*(block.group(1).split() if block else []), *single]


TARGET_LINE = re.compile(r"^([a-z][a-z0-9-]*):(?!=).*##", re.MULTILINE)


def documented_targets(makefile: str) -> list[str]:
    """The targets `make help` lists: every `name: ... ## help` line."""
    return TARGET_LINE.findall(makefile)


def snapshot(project: Path) -> dict[str, bytes]:
    """The bytes of go.mod, go.sum and every .go file, by relative path."""
    files = [project / "go.mod", project / "go.sum", *project.rglob("*.go")]
    return {str(f.relative_to(project)): f.read_bytes() for f in files if f.is_file()}


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_makefile_target_expands_and_the_cheap_ones_run(
    profile: str, rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    make = need("make")
    need("go")
    rendered = rendered_profiles[profile]
    project = tmp_path / "project"
    shutil.copytree(rendered.path, project)
    makefile = (project / "Makefile").read_text()
    targets = documented_targets(makefile)
    assert {"help", "build", "test", "tidy", "clean"} <= set(targets), targets
    assert not set(targets) - WOULD_RUN.keys(), (
        f"no expectation for {set(targets) - WOULD_RUN.keys()}"
    )
    assert ("db-up" in targets) == (rendered.database == "postgres"), targets

    phony = set(re.findall(r"^\.PHONY:\s*(.+)$", makefile, re.MULTILINE))
    declared = {name for line in phony for name in line.split()}
    assert not set(targets) - declared, f"targets not declared .PHONY: {set(targets) - declared}"

    env = rendered.go_env()
    for target in targets:
        dry = run([make, "--no-print-directory", "-n", target], project, env=env)
        assert "{%" not in dry.stdout, (target, dry.stdout)
        assert "{{" not in dry.stdout, (target, dry.stdout)
        # A recipe line glued to the next rule (a lost newline) shows up as ".PHONY" in a
        # command.
        assert ".PHONY" not in dry.stdout, (target, dry.stdout)
        check_what_it_would_run(target, dry.stdout, project)

    before = snapshot(project)
    for target in RUN_FOR_REAL:
        run([make, "--no-print-directory", target], project, env=env)
    after = snapshot(project)
    assert not (project / "bin").exists(), "make clean left bin/"
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"make {' '.join(RUN_FOR_REAL)} changed the generated project: {changed}"
