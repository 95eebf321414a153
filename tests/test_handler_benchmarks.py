"""Every route of the generated service has a handler benchmark, and every profile's benchmarks
run: the handler benchmarks (through the middleware) and BenchmarkLoad (the whole service under
the load generator), briefly, as `make bench-smoke` runs them in the generated CI."""

from __future__ import annotations

import re

import pytest

from .conftest import PROFILES, Rendered, need, run

pytestmark = pytest.mark.go

_ROUTE = re.compile(r'mux\.Handle\("(GET|POST|PUT|PATCH|DELETE) (/[^"]*)"')
_BENCH_REQUEST = re.compile(r'benchmarkRoute\(b, \w+, http\.Method(\w+), "(/[^"]*)"')


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_route_has_a_handler_benchmark(
    name: str, rendered_profiles: dict[str, Rendered]
) -> None:
    server = rendered_profiles[name].path / "internal" / "server"
    routes = set(_ROUTE.findall((server / "routes.go").read_text()))
    assert ("GET", "/livez") in routes
    benchmarked = set()
    for path in server.glob("*_bench_test.go"):
        benchmarked |= {(m.upper(), p) for m, p in _BENCH_REQUEST.findall(path.read_text())}
    assert routes <= benchmarked, f"routes without a benchmark: {sorted(routes - benchmarked)}"


@pytest.mark.parametrize("name", list(PROFILES))
def test_benchmarks_run_in_every_profile(
    name: str, rendered_profiles: dict[str, Rendered], request: pytest.FixtureRequest
) -> None:
    need("go")
    project = rendered_profiles[name]
    env = project.go_env()
    if project.database == "postgres":
        env["TEST_POSTGRES_URL"] = request.getfixturevalue("postgres_url")
    out = run(
        [
            "go",
            "test",
            "-short",
            "-run",
            "^$",
            "-bench",
            ".",
            "-benchtime",
            "3x",
            "-benchmem",
            "./internal/server",
            "./cmd/svc",
        ],
        project.path,
        env=env,
        timeout=1200,
    ).stdout
    ran = set(re.findall(r"^Benchmark(\w+)-\d+\s", out, flags=re.MULTILINE))
    expected = {"Livez", "Readyz", "Load"}
    if project.answers.get("examples", True):
        expected |= {"JobsCreate", "Fanout"}
        if project.database != "none":
            expected |= {"DecodeEvents", "EventsCreate", "EventsCount"}
    assert expected <= ran, f"did not run: {sorted(expected - ran)}\n{out}"
    load = re.search(r"^BenchmarkLoad-\d+\s.*\s([\d.]+) req/s", out, flags=re.MULTILINE)
    assert load, out
    assert float(load.group(1)) > 0, out
    assert "allocs/op" in out
