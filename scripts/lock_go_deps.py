"""Resolve the generated projects' Go dependencies and write them to includes/gomod/.

The template renders go.mod and go.sum from these files, one pair per dependency profile
(`go_deps_key` in copier.yml: Go version x database x GOMAXPROCS strategy x tracing), so that every
generated project builds offline-complete without `go mod tidy`. Run after changing imports in
template/ or to take newer dependency versions:

    python scripts/lock_go_deps.py            # all profiles
    python scripts/lock_go_deps.py go1.26-sqlite-runtime go1.26-sqlite-runtime-otel

For each profile it renders the template, lets `go mod tidy` pick the newest versions of the
service's dependencies, adds the pinned developer tools (`tool` lines in go.mod, run with
`go tool NAME`), then `go get go@<version>` downgrades modules that need a newer Go than the profile
declares. The tools are pinned per Go version because a downgrade would otherwise drop them
(golang.org/x/perf has no tagged releases to fall back to).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "includes" / "gomod"
GO_VERSIONS = ("1.24", "1.25", "1.26")
DATABASES = ("sqlite", "postgres", "none")
MAXPROCS = ("runtime", "automaxprocs")
# tracing=none adds no suffix to the key (and no OpenTelemetry module); otel adds "-otel".
TRACING = ("none", "otel")

# Developer tools every generated project runs with `go tool` (make bench-compare, make vuln,
# CI): package path -> {profile Go version: version}. Each pin is the newest release whose
# go.mod accepts that Go version; raise them together with the template.
TOOLS: dict[str, dict[str, str]] = {
    "golang.org/x/perf/cmd/benchstat": {
        "1.26": "v0.0.0-20260908200009-22c9c6c9d4da",  # go 1.26.0
        "1.25": "v0.0.0-20260709024250-82a0b07e230d",  # go 1.25.0
        "1.24": "v0.0.0-20260112171951-5abaabe9f1bd",  # go 1.24.0
    },
    "golang.org/x/vuln/cmd/govulncheck": {
        "1.26": "v1.9.0",  # go 1.26.0
        "1.25": "v1.7.0",  # go 1.25.0
        "1.24": "v1.1.4",  # go 1.22.0 (v1.2.0 and later need go 1.25)
    },
}


def profiles() -> list[tuple[str, str, str, str]]:
    """Every (go_version, database, gomaxprocs, tracing) combination the questions allow."""
    return [
        (go, db, mp, tr)
        for go, db, mp, tr in itertools.product(GO_VERSIONS, DATABASES, MAXPROCS, TRACING)
        if not (go == "1.24" and mp == "runtime")
    ]


def key(go: str, db: str, mp: str, tracing: str = "none") -> str:
    return f"go{go}-{db}-{mp}" + ("-otel" if tracing == "otel" else "")


def go(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", *args], cwd=cwd, env=env, check=True)


def template_copy(work: Path) -> Path:
    """A plain-directory copy of the template, so Copier renders the working tree as it is."""
    src = work / "template-src"
    if not src.exists():
        src.mkdir()
        shutil.copy(ROOT / "copier.yml", src / "copier.yml")
        shutil.copytree(ROOT / "template", src / "template")
        shutil.copytree(ROOT / "includes", src / "includes")
    return src


def lock(go_version: str, database: str, gomaxprocs: str, tracing: str, work: Path) -> None:
    name = key(go_version, database, gomaxprocs, tracing)
    dst = work / name
    data = {
        "project_name": "lock",
        "module_path": "example.com/lock",
        "go_version": go_version,
        "database": database,
        "examples": True,
        "tracing": tracing,
    }
    if go_version != "1.24":
        data["gomaxprocs"] = gomaxprocs
    copier.run_copy(str(template_copy(work)), dst, data=data, defaults=True, quiet=True)
    (dst / "go.mod").write_text(f"module example.com/lock\n\ngo {go_version}\n")
    (dst / "go.sum").unlink(missing_ok=True)
    # The service's own dependencies first, at their newest: added after the tools, they would
    # stay at whatever older version a tool happens to require.
    go("mod", "tidy", cwd=dst)
    go("get", "-tool", *(f"{pkg}@{pins[go_version]}" for pkg, pins in TOOLS.items()), cwd=dst)
    go("mod", "tidy", cwd=dst)
    go("get", f"go@{go_version}.0", "toolchain@none", cwd=dst)
    go("mod", "tidy", cwd=dst)
    mod = (dst / "go.mod").read_text().split("\n", 1)[1].lstrip("\n")
    check_tools(mod, go_version)
    OUT.mkdir(parents=True, exist_ok=True)
    if tracing != "otel" and "go.opentelemetry.io/" in mod:
        raise SystemExit(f"{name}: tracing=none must not require OpenTelemetry modules")
    (OUT / f"{name}.mod").write_text(mod)
    shutil.copy(dst / "go.sum", OUT / f"{name}.sum")
    print(f"locked {name}", flush=True)


def check_tools(mod: str, go_version: str) -> None:
    """Fail when the Go downgrade dropped or moved a pinned tool."""
    for pkg, pins in TOOLS.items():
        module = "/".join(pkg.split("/")[:3])
        if f"tool {pkg}" not in mod and f"\t{pkg}\n" not in mod:
            raise SystemExit(f"go {go_version}: the tool line for {pkg} is missing from go.mod")
        if f"{module} {pins[go_version]}" not in mod:
            raise SystemExit(f"go {go_version}: {module} is not at the pinned {pins[go_version]}")


def main(argv: list[str]) -> int:
    wanted = set(argv)
    with tempfile.TemporaryDirectory(prefix="goperf-lock-") as tmp:
        for go_version, database, gomaxprocs, tracing in profiles():
            if wanted and key(go_version, database, gomaxprocs, tracing) not in wanted:
                continue
            lock(go_version, database, gomaxprocs, tracing, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
