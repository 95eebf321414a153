"""Every answer profile renders into a Go project that is formatted, tidy, vetted, linted and
passes its own tests under the race detector."""

from __future__ import annotations

import re

import pytest

from .conftest import GO_TEST_PARALLEL, PROFILES, Rendered, go_env, need, run

pytestmark = pytest.mark.go
profile_names = list(PROFILES)


@pytest.fixture(params=profile_names)
def project(request: pytest.FixtureRequest, rendered_profiles: dict[str, Rendered]) -> Rendered:
    return rendered_profiles[request.param]


def test_rendered_files_follow_answers(project: Rendered) -> None:
    p, a = project.path, project.answers
    assert (p / "cmd" / "svc" / "main.go").is_file()
    assert (p / ".copier-answers.yml").is_file()
    assert (p / "Dockerfile").exists() == a.get("docker", True)
    assert (p / "deploy" / "k8s" / "deployment.yaml").exists() == a.get("kubernetes", True)
    assert (p / ".github" / "workflows" / "ci.yml").exists() == (a.get("ci", "github") == "github")
    assert (p / "internal" / "store").exists() == (project.database != "none")
    examples = a.get("examples", True)
    assert (p / "internal" / "server" / "handlers_jobs.go").exists() == examples
    go_mod = (p / "go.mod").read_text()
    assert go_mod.startswith("module example.com/svc\n")
    assert f"go {a.get('go_version', '1.26')}" in go_mod
    automaxprocs = a.get("go_version") == "1.24" or a.get("gomaxprocs") == "automaxprocs"
    assert ("go.uber.org/automaxprocs" in go_mod) == automaxprocs
    # Nothing unrendered leaks into the output (Go composite literals may contain "{{").
    for f in p.rglob("*"):
        if f.is_file() and ".git" not in f.parts:
            assert not f.name.endswith(".jinja"), f"template file copied verbatim: {f}"
            assert "{%" not in f.name, f"unrendered file name: {f}"
            assert "{{" not in f.name, f"unrendered file name: {f}"
            text = f.read_text(errors="replace")
            for marker in (
                "{%",
                "{{ project_name",
                "{{ module_path",
                "{{ database",
                "{{ go_version",
            ):
                assert marker not in text, f"unrendered Jinja {marker!r} in {f}"


def test_gofmt_clean(project: Rendered) -> None:
    need("go")
    out = run(["gofmt", "-l", "."], project.path).stdout.strip()
    assert out == "", f"gofmt would reformat: {out}"


def test_go_mod_is_complete_and_tidy(project: Rendered) -> None:
    """go.mod and go.sum ship complete: a fresh project needs no `go mod tidy`."""
    need("go")
    run(["go", "mod", "tidy", "-diff"], project.path, env=project.go_env())
    run(["go", "mod", "verify"], project.path, env=project.go_env())


def test_built_by_its_own_go_version(project: Rendered) -> None:
    """The toolchain matrix is real: each profile's commands run that Go release."""
    need("go")
    reported = run(["go", "env", "GOVERSION"], project.path, env=project.go_env()).stdout
    assert reported.strip().startswith(f"go{project.go_version}."), reported


def make(project: Rendered, target: str, env: dict[str, str], timeout: float = 900) -> str:
    """Run the project's own Makefile target (what its README and CI tell a team to run), so
    that every profile exercises the target for real, not a command the suite typed itself."""
    return run(
        [need("make"), "--no-print-directory", target], project.path, env=env, timeout=timeout
    ).stdout


def test_go_vet(project: Rendered) -> None:
    need("go")
    out = make(project, "vet", project.go_env())
    assert "go vet ./..." in out


def test_go_test_race(project: Rendered, request: pytest.FixtureRequest) -> None:
    need("go")
    # GOFLAGS adds to `make race` what a CI run wants: no cached results, more packages at once.
    env = project.go_env(GOFLAGS=f"-count=1 -p={GO_TEST_PARALLEL[1]}")
    if project.database == "postgres":
        env["TEST_POSTGRES_URL"] = request.getfixturevalue("postgres_url")
    out = make(project, "race", env, timeout=1500)
    assert "go test -pgo=off -race ./..." in out
    assert "SKIPPED" not in out  # a PostgreSQL profile really ran its database tests


def test_golangci_lint(project: Rendered) -> None:
    need("go")
    need("golangci-lint")
    # golangci-lint type-checks with the Go it was built with; it runs under the machine's Go.
    out = make(project, "lint", go_env(), timeout=1200)
    assert "golangci-lint run ./..." in out


def test_fuzz_seed_corpora_run_as_tests(rendered_profiles: dict[str, Rendered]) -> None:
    """The request decoders' fuzz targets exist and their seed corpus passes."""
    need("go")
    project = rendered_profiles["default"]
    out = run(["go", "test", "-run", "^Fuzz", "-v", "./internal/server/"], project.path).stdout
    assert "--- PASS: FuzzDecodeEvents" in out
    assert "--- PASS: FuzzDecodeJob" in out


def test_no_init_no_blank_pprof_import(rendered_profiles: dict[str, Rendered]) -> None:
    for project in rendered_profiles.values():
        for f in project.path.rglob("*.go"):
            # Code only: comments may name what the code avoids.
            text = "\n".join(
                line for line in f.read_text().splitlines() if not line.lstrip().startswith("//")
            )
            assert "\nfunc init()" not in text, f"init() in {f}"
            assert '_ "net/http/pprof"' not in text, f"blank pprof import in {f}"
            assert "http.DefaultServeMux" not in text, f"DefaultServeMux used in {f}"


# Paths a generated README may name: files and folders of the project itself. default.pgo is
# the one the project makes later (`make pgo`).
_MADE_LATER = ("default.pgo",)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_README_PATH = re.compile(
    r"(?:^|[\s=])((?:deploy|cmd|internal|\.github)/[\w./-]*|Dockerfile|Makefile)\b"
)


def test_readme_names_only_files_the_project_has(project: Rendered) -> None:
    """The generated README never points at a file its answers left out (0.2.1 described the
    Dockerfile and deploy/observability in projects generated without them)."""
    readme = (project.path / "README.md").read_text()
    missing = sorted(
        {
            name
            for span in _CODE_SPAN.findall(readme)
            for name in _README_PATH.findall(span)
            if "<" not in name
            and not name.endswith(_MADE_LATER)
            and not (project.path / name.rstrip("/")).exists()
        }
    )
    assert not missing, f"README.md names files {project.name} does not have: {missing}"
