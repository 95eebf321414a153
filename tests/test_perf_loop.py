"""The generated project's performance loop, for real and kept short: `make build`, `make bench`
and `make bench-compare` with the pinned benchstat, the load generator against the running
service, `make pgo` (profile the project's own code, then rebuild with it), `make pgo-compare`."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ._service import start
from .conftest import Rendered, go_env, need, run

pytestmark = pytest.mark.go

# Two tiny `go test -bench` result files: benchstat needs a few samples per side.
OLD_RESULTS = """goos: linux
goarch: amd64
pkg: example.com/svc/internal/workerpool
BenchmarkSubmit-2   \t 1000000\t      1000 ns/op\t      16 B/op\t       1 allocs/op
BenchmarkSubmit-2   \t 1000000\t      1010 ns/op\t      16 B/op\t       1 allocs/op
BenchmarkSubmit-2   \t 1000000\t       990 ns/op\t      16 B/op\t       1 allocs/op
BenchmarkSubmit-2   \t 1000000\t      1005 ns/op\t      16 B/op\t       1 allocs/op
BenchmarkSubmit-2   \t 1000000\t       995 ns/op\t      16 B/op\t       1 allocs/op
"""
NEW_RESULTS = OLD_RESULTS.replace(" 1000 ns/op", "  800 ns/op").replace("1010 ns/op", " 810 ns/op")
NEW_RESULTS = NEW_RESULTS.replace(" 990 ns/op", " 790 ns/op").replace("1005 ns/op", " 805 ns/op")
NEW_RESULTS = NEW_RESULTS.replace(" 995 ns/op", " 795 ns/op")


def make(project: Path, *args: str, timeout: float = 900) -> str:
    """Run a make target of the generated project; return its combined output."""
    need("make")
    need("bash")
    proc = run([need("make"), "--no-print-directory", *args], project, timeout=timeout)
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def workdir(
    rendered_profiles: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A private git copy of the default project: these tests write bin/, bench-results/,
    profiles/ and default.pgo, which the other tests' copy must not see."""
    return git_copy(rendered_profiles["default"], tmp_path_factory.mktemp("perf"))


def git_copy(project: Rendered, parent: Path) -> Path:
    """A copy of a rendered project in a git repository of its own (one commit)."""
    need("go")
    git = need("git")
    dst = parent / "svc"
    shutil.copytree(project.path, dst, ignore=shutil.ignore_patterns(".git"))
    ident = ["-c", "user.name=perf", "-c", "user.email=perf@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "generated"]):
        run([git, *args], dst)
    return dst


def make_recipe(project: Path, target: str) -> str:
    """The rule of a make target in a project's Makefile, from its `target:` line to the next
    blank line."""
    found = re.search(
        rf"^{re.escape(target)}:.*?(?=\n\n)", (project / "Makefile").read_text(), re.M | re.S
    )
    assert found, f"no {target} target in {project / 'Makefile'}"
    return found.group(0)


def head_commit(project: Path) -> str:
    return run([need("git"), "rev-parse", "--short", "HEAD"], project).stdout.strip()


def build_settings(workdir: Path) -> dict[str, str]:
    info = run(["go", "version", "-m", "bin/svc"], workdir).stdout
    return dict(re.findall(r"^\s+build\s+(\S+?)=(.*)$", info, flags=re.MULTILINE))


def cpu_samples(project: Path, profile: Path) -> int:
    """The number of CPU samples in a pprof profile, from `go tool pprof -raw`."""
    raw = run(["go", "tool", "pprof", "-raw", str(profile)], project).stdout
    samples = raw.split("\nSamples:\n", 1)[1].split("\nLocations\n", 1)[0]
    return sum(int(n) for n in re.findall(r"^\s*(\d+)\s+\d+: ", samples, flags=re.MULTILINE))


def test_make_build_is_static_and_trimmed_and_without_pgo_until_there_is_a_profile(
    workdir: Path,
) -> None:
    make(workdir, "build")
    settings = build_settings(workdir)
    assert "-pgo" not in settings, settings  # a new project ships no profile
    assert settings.get("CGO_ENABLED") == "0"
    assert settings.get("-trimpath") == "true"


def test_make_bench_names_results_after_the_commit(workdir: Path) -> None:
    quick = [
        "BENCH=BenchmarkStats",
        "BENCH_PKGS=./internal/workerpool",
        "BENCH_COUNT=1",
        "BENCH_TIME=10x",
    ]
    make(workdir, "bench", *quick)
    results = workdir / "bench-results" / f"{head_commit(workdir)}.txt"
    assert "BenchmarkStats" in results.read_text()

    # An uncommitted change gets its own file, so before/after never overwrite each other.
    readme = workdir / "README.md"
    readme.write_text(readme.read_text() + "\nedited\n")
    try:
        make(workdir, "bench", *quick)
    finally:
        run([need("git"), "checkout", "--", "README.md"], workdir)
    assert (workdir / "bench-results" / f"{head_commit(workdir)}-dirty.txt").is_file()


def test_make_bench_compare_uses_the_pinned_benchstat(workdir: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text(OLD_RESULTS)
    new.write_text(NEW_RESULTS)
    out = make(workdir, "bench-compare", f"OLD={old}", f"NEW={new}")
    assert "go tool benchstat" in out
    assert "sec/op" in out
    assert "Submit" in out
    assert re.search(r"-20\.\d+%", out), f"benchstat should report the 20% drop:\n{out}"

    usage = subprocess.run(
        [need("make"), "--no-print-directory", "bench-compare"],
        cwd=workdir,
        env=go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode != 0
    assert "usage: make bench-compare OLD=" in usage.stderr


@pytest.mark.parametrize("name", ["default", "no-extras", "go1.24-automaxprocs"])
def test_pinned_tools_run_in_every_go_version(
    name: str, rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    """The go.mod tool lines resolve, build and run in each Go-version profile (1.26, 1.25,
    1.24): benchstat compares, govulncheck reports the pinned version (its scan needs the
    network database, which the reliability tests replace with a local one)."""
    project = rendered_profiles[name]
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text(OLD_RESULTS)
    new.write_text(NEW_RESULTS)
    out = run(["go", "tool", "benchstat", str(old), str(new)], project.path).stdout
    assert "sec/op" in out
    version = run(["go", "tool", "govulncheck", "-version"], project.path).stdout
    pinned = re.search(r"golang\.org/x/vuln (v\S+)", (project.path / "go.mod").read_text())
    assert pinned, "go.mod requires golang.org/x/vuln"
    assert f"Scanner: govulncheck@{pinned.group(1)}" in version


@pytest.mark.e2e
def test_loadgen_drives_the_service_and_prints_percentiles(
    built_binaries: dict[str, Path], rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    project = rendered_profiles["default"]
    loadgen = tmp_path / "loadgen"
    run(["go", "build", "-o", str(loadgen), "./cmd/loadgen"], project.path)
    svc = start(
        built_binaries["default"], {"DATABASE_URL": f"file:{tmp_path / 'load.db'}"}, cwd=tmp_path
    )
    try:
        quick = ["-url", svc.public, "-duration", "1s", "-warmup", "200ms", "-concurrency", "4"]
        text = run([str(loadgen), *quick], tmp_path).stdout
        assert re.search(r"latency +p50 [\d.]+ms +p90 [\d.]+ms +p99 [\d.]+ms", text), text
        assert re.search(r"requests +\d+ in [\d.]+s, \d+ answered = [\d.]+/s", text), text

        report = json.loads(run([str(loadgen), *quick, "-json"], tmp_path).stdout)
        assert report["responses"] > 0
        assert report["errors"] == {}
        # The default mix: every demo endpoint of this profile, each answered as designed.
        assert report["by_endpoint"]["jobs"].keys() <= {"202", "503"}
        assert report["by_endpoint"]["events"].keys() <= {"202", "503"}
        assert set(report["by_endpoint"]["fanout"]) == {"200"}
        latency = report["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    finally:
        svc.signal()
        assert svc.wait() == 0
        svc.stop()


@pytest.mark.e2e
def test_make_pgo_profiles_the_project_then_rebuilds_with_it(
    workdir: Path, rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    pgo_file = workdir / "cmd" / "svc" / "default.pgo"
    assert not pgo_file.exists()
    out = make(workdir, "pgo", "PROFILE_SECONDS=2", "PROFILE_WARMUP=500ms")
    profiles = sorted((workdir / "profiles").glob("cpu-*.pprof"))
    assert len(profiles) == 1, out
    assert profiles[0].read_bytes()[:2] == b"\x1f\x8b", "a gzip-compressed pprof profile"
    assert "p99" in out  # the load generator's report of the profiled window
    assert f"using {profiles[0].relative_to(workdir)} as cmd/svc/default.pgo" in out
    assert re.search(r"build\s+-pgo=default\.pgo", out), out
    assert build_settings(workdir).get("-pgo") == "default.pgo"
    # The profile is the project's own: its functions are this module's.
    top = run(["go", "tool", "pprof", "-top", "-nodecount=400", str(pgo_file)], workdir).stdout
    assert "Type: cpu" in top
    assert "example.com/svc/internal/" in top, top

    # With PGO_MERGE=1 a later profile is merged into the committed one. `make pgo` then
    # rebuilds with the merged profile, which recompiles the standard library and every
    # dependency once more: the merge runs in a copy of the minimal profile (the same pgo rule,
    # checked below; no SQLite driver to recompile), whose committed default.pgo is the one
    # above. The new profile is the default project's own, recorded with that default.pgo.
    minimal = git_copy(rendered_profiles["minimal"], tmp_path)
    assert make_recipe(minimal, "pgo") == make_recipe(workdir, "pgo")
    minimal_pgo = minimal / "cmd" / "svc" / "default.pgo"
    shutil.copyfile(pgo_file, minimal_pgo)
    before = minimal_pgo.read_bytes()
    out = make(workdir, "profile", "PROFILE_SECONDS=1", "PROFILE_WARMUP=0s")
    newest = max((workdir / "profiles").glob("cpu-*.pprof"), key=lambda p: p.stat().st_mtime)
    out = make(minimal, "pgo", f"PROFILE={newest}", "PGO_MERGE=1")
    assert f"merging {newest} into cmd/svc/default.pgo" in out
    assert re.search(r"build\s+-pgo=default\.pgo", out), out
    merged = minimal_pgo.read_bytes()
    assert merged != before
    assert gzip.decompress(merged), "the merged profile is a gzip-compressed pprof profile"
    top = run(["go", "tool", "pprof", "-top", "-nodecount=400", str(minimal_pgo)], minimal).stdout
    assert "example.com/svc/internal/" in top, top
    first, second = cpu_samples(minimal, profiles[0]), cpu_samples(minimal, newest)
    assert first > 0
    assert second > 0
    assert cpu_samples(minimal, minimal_pgo) == first + second, "the merge holds both's samples"

    # By default a new profile replaces default.pgo, so that paths gone cold age out. The
    # rebuild is cheap: the first profile's standard library is in the build cache already.
    out = make(minimal, "pgo", f"PROFILE={profiles[0]}")
    assert f"using {profiles[0]} as cmd/svc/default.pgo, replacing the old profile" in out, out
    assert minimal_pgo.read_bytes() == profiles[0].read_bytes()
    assert re.search(r"build\s+-pgo=default\.pgo", out), out


def test_make_test_never_builds_the_pgo_variant(workdir: Path) -> None:
    out = make(workdir, "-n", "test", "race", "bench-smoke")
    go_tests = [line for line in out.splitlines() if line.startswith("go test")]
    assert len(go_tests) == 3, out
    assert all("-pgo=off" in line for line in go_tests), out


@pytest.mark.e2e
def test_make_pgo_compare_alternates_the_builds(workdir: Path) -> None:
    out = make(workdir, "pgo-compare", "PGO_RUNS=2", "PGO_RUN_SECONDS=1", "PROFILE_WARMUP=0s")
    runs = re.findall(r"^run (\d)/2: (nopgo|pgo)$", out, flags=re.MULTILINE)
    assert runs == [("1", "nopgo"), ("1", "pgo"), ("2", "pgo"), ("2", "nopgo")]
    for variant in ("pgo", "nopgo"):
        # Named after the commit, "-dirty" if an earlier test changed default.pgo.
        (results,) = (workdir / "bench-results").glob(f"pgo-{head_commit(workdir)}*-{variant}.txt")
        lines = results.read_text().splitlines()
        assert len(lines) == 2
        assert all(line.startswith("BenchmarkLoad ") for line in lines)
    assert "req/s" in out
    assert "p99-ns" in out or "p99-sec" in out
