"""Resolve the generated projects' Go dependencies and write them to includes/gomod/.

The template renders go.mod and go.sum from these files, one pair per dependency profile
(`go_deps_key` in copier.yml: Go version x database x GOMAXPROCS strategy), so that every
generated project builds offline-complete without `go mod tidy`. Run after changing imports in
template/ or to take newer dependency versions:

    python scripts/lock_go_deps.py            # all profiles
    python scripts/lock_go_deps.py go1.26-sqlite-runtime

For each profile it renders the template, lets `go mod tidy` pick the newest versions, then
`go get go@<version>` downgrades modules that need a newer Go than the profile declares.
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


def profiles() -> list[tuple[str, str, str]]:
    """Every (go_version, database, gomaxprocs) combination the questions allow."""
    return [
        (go, db, mp)
        for go, db, mp in itertools.product(GO_VERSIONS, DATABASES, MAXPROCS)
        if not (go == "1.24" and mp == "runtime")
    ]


def key(go: str, db: str, mp: str) -> str:
    return f"go{go}-{db}-{mp}"


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


def lock(go_version: str, database: str, gomaxprocs: str, work: Path) -> None:
    dst = work / key(go_version, database, gomaxprocs)
    data = {
        "project_name": "lock",
        "module_path": "example.com/lock",
        "go_version": go_version,
        "database": database,
        "examples": True,
    }
    if go_version != "1.24":
        data["gomaxprocs"] = gomaxprocs
    copier.run_copy(str(template_copy(work)), dst, data=data, defaults=True, quiet=True)
    (dst / "go.mod").write_text(f"module example.com/lock\n\ngo {go_version}\n")
    (dst / "go.sum").unlink(missing_ok=True)
    go("mod", "tidy", cwd=dst)
    go("get", f"go@{go_version}.0", "toolchain@none", cwd=dst)
    go("mod", "tidy", cwd=dst)
    mod = (dst / "go.mod").read_text().split("\n", 1)[1].lstrip("\n")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{key(go_version, database, gomaxprocs)}.mod").write_text(mod)
    shutil.copy(dst / "go.sum", OUT / f"{key(go_version, database, gomaxprocs)}.sum")
    print(f"locked {key(go_version, database, gomaxprocs)}", flush=True)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    with tempfile.TemporaryDirectory(prefix="goperf-lock-") as tmp:
        for go_version, database, gomaxprocs in profiles():
            if wanted and key(go_version, database, gomaxprocs) not in wanted:
                continue
            lock(go_version, database, gomaxprocs, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
