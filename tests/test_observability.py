"""Observability of the generated service, proven with real parts: a real Prometheus server
scrapes the metrics listener and answers every query of the shipped dashboard and alert rules;
promtool checks the rules; the flight recorder snapshots slow requests (one per interval, a
bounded directory) into files `go tool trace` parses; the manifests wire it all up."""

from __future__ import annotations

import http.server
import itertools
import json
import math
import random
import re
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._service import Service, request, start
from .conftest import PROFILES, Rendered, need, run

pytestmark = [pytest.mark.go]

K8S_PROFILES = [name for name, a in PROFILES.items() if a.get("kubernetes", True)]
# What Grafana substitutes in the dashboard's queries, for querying Prometheus directly.
RATE_INTERVAL = "20s"
SCRAPE_INTERVAL = "1s"


# ---- the shipped queries ------------------------------------------------------------------


def dashboard_queries(project: Path) -> list[str]:
    dashboard = json.loads((project / "deploy" / "observability" / "dashboard.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def alert_rules(project: Path) -> list[dict[str, Any]]:
    rule = yaml.safe_load(
        (project / "deploy" / "observability" / "prometheusrule.yaml").read_text()
    )
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


_THRESHOLD = re.compile(r"^(?P<query>.*\S)\s*>\s*[0-9.e+-]+\s*$", re.DOTALL)


def alert_query(expr: str) -> str:
    """An alert's expression without its threshold: every shipped alert is `<query> > <n>`."""
    match = _THRESHOLD.match(expr.strip())
    assert match, f"alert expression is not `<query> > <threshold>`: {expr}"
    return match.group("query")


def for_prometheus(query: str) -> str:
    """A dashboard query with Grafana's variables filled in."""
    return query.replace("$__rate_interval", RATE_INTERVAL).replace("$job", ".+")


# ---- a real Prometheus ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prometheus(tmp: Path, target: str, rules: Path) -> Iterator[str]:
    """A Prometheus server of the test's own on 127.0.0.1 (its own config, data directory and
    port), scraping `target` every second and evaluating `rules`; yields its URL."""
    binary = need("prometheus")
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "svc", "static_configs": [{"targets": [target]}]},
                ],
            }
        )
    )
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request("GET", url + "/-/ready", timeout=2).status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            time.sleep(0.2)
        else:
            raise AssertionError("Prometheus did not become ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    resp = request("GET", prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    body = resp.json()
    assert resp.status == 200, (expr, body)
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for_scrapes(prom: str, n: int = 3) -> None:
    """Wait until Prometheus has scraped the service n more times (one `up` sample each)."""
    scrapes = 'count_over_time(up{job="svc"}[1h])'

    def count() -> float:
        return sum(float(r["value"][1]) for r in query(prom, scrapes))

    start = count()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if count() >= start + n:
            return
        time.sleep(0.3)
    raise AssertionError("Prometheus does not scrape the service")


# ---- helpers for the service --------------------------------------------------------------


@contextmanager
def upstream(delay: float = 0.0) -> Iterator[str]:
    """A loopback HTTP server answering 200 after `delay` seconds; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/up"
    finally:
        server.shutdown()
        server.server_close()


def stop(svc: Service) -> None:
    svc.signal()
    assert svc.wait(timeout=60) == 0, svc.logs[-5:]


def traffic(svc: Service, seconds: float) -> dict[int, int]:
    """A mix of every public endpoint for `seconds`, with a job flood that fills the worker
    pool's queue (503s) and requests to unknown paths; returns the status counts."""
    events = json.dumps([{"kind": "obs", "payload": {"i": i}} for i in range(5)]).encode()
    calls = [
        ("GET", "/livez", None),
        ("GET", "/readyz", None),
        ("POST", "/v1/events", events),
        ("GET", "/v1/events/count", None),
        ("GET", "/v1/fanout", None),
        ("POST", "/v1/jobs", b'{"duration_ms": 200}'),
        ("GET", "/no-such-page", None),
    ]
    counts: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:
            method, path, body = calls[i % len(calls)]
            i += 1
            status = request(method, svc.public + path, body, timeout=10).status
            with lock:
                counts[status] = counts.get(status, 0) + 1

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(worker, k) for k in range(8)]:
            f.result()
    return counts


def series_in_scrape(svc: Service) -> int:
    body = request("GET", svc.metrics + "/metrics").body.decode()
    return sum(1 for line in body.splitlines() if line and not line.startswith("#"))


# ---- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", K8S_PROFILES)
def test_promtool_checks_the_shipped_rules(
    name: str, rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    project = rendered_profiles[name].path
    rule = yaml.safe_load(
        (project / "deploy" / "observability" / "prometheusrule.yaml").read_text()
    )
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump(rule["spec"]))
    out = run([need("promtool"), "check", "rules", str(rules_file)], tmp_path).stdout
    assert "SUCCESS" in out, out
    names = {r["alert"] for r in alert_rules(project)}
    for topic in (
        "error_ratio",
        "p99_latency",
        "gc_cpu",
        "heap_near_memory_limit",
        "pool_rejecting",
    ):
        assert any(topic in n for n in names), f"no alert on {topic}: {names}"
    if rendered_profiles[name].database != "none":
        assert any("batch_writer_rejecting" in n for n in names)


@pytest.mark.e2e
def test_real_prometheus_answers_every_dashboard_and_alert_query(
    built_binaries: dict[str, Path], rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    """Prometheus scrapes the metrics listener during a burst of traffic; then every query of
    the dashboard and every alert's query (histogram_quantile p99 included) returns data, the
    p99 of /livez under light load resolves below a millisecond, and a thousand requests to
    random unknown paths add no series."""
    project = rendered_profiles["default"].path
    rules = tmp_path / "rules.yml"
    spec = yaml.safe_load(
        (project / "deploy" / "observability" / "prometheusrule.yaml").read_text()
    )
    rules.write_text(yaml.safe_dump(spec["spec"]))
    with upstream() as up:
        svc = start(
            built_binaries["default"],
            {
                "DATABASE_URL": f"file:{tmp_path / 'obs.db'}",
                "UPSTREAM_URLS": f"{up},{up}?second",
                # One worker and a short queue: the job flood is refused with 503s, so the
                # rejection and error-ratio queries have something to show.
                "WORKERS": "1",
                "QUEUE_SIZE": "2",
                # The heap alert compares with GOMEMLIMIT, which a container would set.
                "GOMEMLIMIT": "512MiB",
            },
            cwd=tmp_path,
        )
        try:
            target = svc.metrics.removeprefix("http://")
            with prometheus(tmp_path, target, rules) as prom:
                wait_for_scrapes(prom)
                assert query(prom, 'up{job="svc"}')[0]["value"][1] == "1"
                counts = traffic(svc, 8)
                assert counts.get(503, 0) > 0, counts
                assert counts.get(202, 0) > 0, counts
                wait_for_scrapes(prom)

                empty = []
                queries = [for_prometheus(q) for q in dashboard_queries(project)]
                queries += [alert_query(r["expr"]) for r in alert_rules(project)]
                assert any(q.startswith("histogram_quantile(0.99") for q in queries)
                for q in queries:
                    if not query(prom, q):
                        empty.append(q)
                assert empty == [], f"queries without data after the traffic: {empty}"
                # The alert rules load into Prometheus and are evaluated without error.
                groups = request("GET", prom + "/api/v1/rules").json()["data"]["groups"]
                evaluated = [r for g in groups for r in g["rules"]]
                assert len(evaluated) == len(alert_rules(project))
                assert all(r["health"] == "ok" for r in evaluated), evaluated

                # The latency buckets resolve below a millisecond: the median of /livez under
                # light load (its handler takes microseconds) falls well below the 0.5 ms a
                # coarse first bucket (0-1 ms) would interpolate to. The median, not the p99:
                # a loaded machine may stall a few requests, never half of them. The query's
                # window reaches 2 s before them, into the scrapes after the traffic had ended,
                # so it counts these requests only.
                light_from = time.monotonic()
                for _ in range(500):
                    assert request("GET", svc.public + "/livez").status == 200
                # Cardinality: unknown paths are all the route "unmatched".
                request("GET", svc.public + "/warm-up-unknown")
                wait_for_scrapes(prom)
                window = math.ceil(time.monotonic() - light_from) + 2
                livez_p50 = query(
                    prom,
                    "histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_"
                    f'seconds_bucket{{job="svc",route="/livez",method="GET"}}[{window}s])))',
                )
                assert livez_p50, "no /livez latency after the light load"
                p50 = float(livez_p50[0]["value"][1])
                assert 0 < p50 < 0.00025, f"/livez median {p50}s: the buckets do not resolve it"
                before_scrape = series_in_scrape(svc)
                before = query(prom, 'count({job="svc"})')[0]["value"][1]
                for _ in range(1000):
                    path = "/" + "/".join(
                        str(random.randrange(10**9)) for _ in range(random.randint(1, 3))
                    )
                    assert request("GET", svc.public + path).status == 404
                wait_for_scrapes(prom)
                assert series_in_scrape(svc) == before_scrape
                assert query(prom, 'count({job="svc"})')[0]["value"][1] == before
                unmatched = query(
                    prom, 'http_server_requests_total{route="unmatched",code="4xx",method="GET"}'
                )
                assert float(unmatched[0]["value"][1]) >= 1000
        finally:
            stop(svc)


def snapshot_lines(svc: Service) -> list[dict[str, Any]]:
    return [line for line in svc.logs if line.get("msg") == "flight recorder snapshot written"]


def parse_time(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(line["time"]).replace("Z", "+00:00")).timestamp()


def assert_parses_as_execution_trace(path: Path, tmp_path: Path) -> float:
    """`go tool trace` reads the whole file (a truncated or foreign file exits non-zero);
    returns the wall-clock time (Unix seconds) of the trace's first event."""
    out = tmp_path / (path.name + ".parsed")
    with out.open("wb") as sink:
        proc = subprocess.run(
            [need("go"), "tool", "trace", "-d=parsed", str(path)],
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    with out.open() as parsed:
        head = [next(parsed, "") for _ in range(50)]
    syncs = [line for line in head if " Sync " in line and " Wall=" in line]
    assert syncs, head[:5]
    assert out.stat().st_size > 10_000, "the snapshot holds almost no events"
    # The first Sync event carries the wall clock: "... Wall=2026-12-07T20:32:10.685066519Z".
    wall = syncs[0].split(" Wall=", 1)[1].split()[0]
    return datetime.fromisoformat(wall.replace("Z", "+00:00")).timestamp()


def recorder_stats(svc: Service) -> dict[str, Any]:
    """The flight recorder's state and counters, from /debug/vars."""
    stats: dict[str, Any] = request("GET", svc.debug + "/debug/vars").json()["flightrecorder"]
    return stats


def wait_until_judged(svc: Service, slow_requests: int, timeout: float = 30) -> dict[str, Any]:
    """Polls the recorder's counters until every one of `slow_requests` slow requests has been
    judged (snapshot written, failed or suppressed); returns the counters."""
    deadline = time.monotonic() + timeout
    while True:
        stats = recorder_stats(svc)
        judged = sum(stats[f"snapshots_{k}"] for k in ("written", "failed", "suppressed"))
        if judged >= slow_requests:
            assert judged == slow_requests, f"more slow requests judged than sent: {stats}"
            return stats
        assert time.monotonic() < deadline, (
            f"only {judged} of {slow_requests} slow requests judged within {timeout}s: {stats}"
        )
        time.sleep(0.05)


def flood_of_slow_requests(svc: Service, snapshots: Path, seconds: float) -> tuple[int, int]:
    """Six clients send GET /v1/fanout (slow) for `seconds`; returns the requests sent and the
    most snapshot files the directory held at any moment meanwhile."""
    deadline = time.monotonic() + seconds
    most_files = 0

    def flood() -> int:
        sent = 0
        while time.monotonic() < deadline:
            assert request("GET", svc.public + "/v1/fanout", timeout=30).status == 200
            sent += 1
        return sent

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(flood) for _ in range(6)]
        while not all(f.done() for f in futures):
            names = [p for p in snapshots.iterdir() if p.suffix == ".trace"]
            most_files = max(most_files, len(names))
            time.sleep(0.05)
        sent = sum(f.result() for f in futures)
    return sent, most_files


@pytest.mark.e2e
def test_sustained_slow_upstream_is_snapshotted_with_the_default_settings(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """With every setting at its default (FLIGHT_RECORDER=auto) nothing records until a request
    crosses SLOW_REQUEST_THRESHOLD; that request arms the recorder, and a slow upstream that
    stays slow is caught: a later slow request is snapshotted, the file parses with `go tool
    trace` and its window begins before that request did. The debug listener streams the
    window while armed, disarms it, and refuses a bad duration."""
    snapshots = tmp_path / "flightrecorder"  # the start helper's FLIGHT_RECORDER_DIR
    with upstream(delay=0.6) as slow:  # past the default threshold, 500 ms
        svc = start(
            built_binaries["default"],
            {"DATABASE_URL": f"file:{tmp_path / 'auto.db'}", "UPSTREAM_URLS": slow},
            cwd=tmp_path,
        )
        try:
            assert svc.wait_for_log("flight recorder started")["mode"] == "auto"
            for _ in range(5):
                assert request("GET", svc.public + "/livez").status == 200
            stats = recorder_stats(svc)
            assert (stats["recording"], stats["arms"]) == (False, 0), stats
            resp = request("GET", svc.debug + "/debug/flightrecorder")
            assert resp.status == 409, resp
            assert b"POST /debug/flightrecorder" in resp.body, resp

            # The upstream stays slow: three requests one after another. The first arms the
            # recorder (its own beginning was not recorded); the next that began while armed
            # is snapshotted; the rest fall within FLIGHT_RECORDER_INTERVAL.
            for _ in range(3):
                assert request("GET", svc.public + "/v1/fanout").status == 200
            stats = wait_until_judged(svc, 3)
            assert (stats["recording"], stats["arms"]) == (True, 1), stats
            assert (stats["snapshots_written"], stats["snapshots_suppressed"]) == (1, 2), stats
            armed = svc.wait_for_log("flight recorder armed")
            assert armed["trigger"] == "slow_request", armed
            (line,) = snapshot_lines(svc)
            file = Path(line["file"])
            assert file.parent == snapshots
            assert sorted(p.name for p in snapshots.iterdir()) == [file.name]
            # The window holds the whole request: it begins before the request did (the
            # request's access-log line, written when it ended, gives its beginning).
            (access,) = [
                a
                for a in svc.logs
                if a.get("msg") == "slow request" and a.get("duration_ms") == line["duration_ms"]
            ]
            began = parse_time(access) - access["duration_ms"] / 1000
            window_began = assert_parses_as_execution_trace(file, tmp_path)
            assert window_began <= began, (window_began, began)

            # On demand while armed; then disarmed from the debug listener.
            resp = request("GET", svc.debug + "/debug/flightrecorder", timeout=30)
            assert resp.status == 200
            assert resp.body.startswith(b"go 1."), resp.body[:16]
            resp = request("POST", svc.debug + "/debug/flightrecorder?for=2h")
            assert resp.status == 400, resp
            assert resp.body.count(b"\n") == 1, resp.body
            resp = request("DELETE", svc.debug + "/debug/flightrecorder")
            assert resp.status == 200, resp
            assert resp.json()["recording"] is False, resp
            assert svc.wait_for_log("flight recorder disarmed")["reason"].startswith("disarmed")
            assert request("GET", svc.debug + "/debug/flightrecorder").status == 409
            metrics = request("GET", svc.metrics + "/metrics").body.decode()
            assert "flightrecorder_armed 0" in metrics
            assert 'flightrecorder_snapshots_total{result="written"} 1' in metrics
        finally:
            stop(svc)


@pytest.mark.e2e
def test_flight_recorder_snapshots_slow_requests_once_per_interval(
    built_binaries: dict[str, Path], tmp_path: Path
) -> None:
    """FLIGHT_RECORDER=on records all the time: a deliberately slow upstream drives GET
    /v1/fanout past SLOW_REQUEST_THRESHOLD; exactly one snapshot per interval, named in the
    log; under a flood of slow requests the directory never holds more than
    FLIGHT_RECORDER_MAX_FILES snapshots."""
    interval = 2.0
    snapshots = tmp_path / "snapshots"
    with upstream(delay=0.3) as slow:
        svc = start(
            built_binaries["default"],
            {
                "DATABASE_URL": f"file:{tmp_path / 'fr.db'}",
                "UPSTREAM_URLS": slow,
                "SLOW_REQUEST_THRESHOLD": "200ms",
                "FLIGHT_RECORDER": "on",
                "FLIGHT_RECORDER_DIR": str(snapshots),
                "FLIGHT_RECORDER_INTERVAL": f"{interval}s",
                "FLIGHT_RECORDER_MAX_FILES": "2",
                "FLIGHT_RECORDER_MAX_BYTES": "2MiB",
            },
            cwd=tmp_path,
        )
        try:
            assert svc.wait_for_log("flight recorder started")["mode"] == "on"
            # Fast requests are never judged (the middleware reports only slow ones, before
            # the answer is sent), so the counters show none at once.
            for _ in range(20):
                assert request("GET", svc.public + "/livez").status == 200
            stats = wait_until_judged(svc, 0)
            assert (stats["recording"], stats["snapshots_written"]) == (True, 0), stats

            # Five slow requests within one interval: one snapshot.
            with ThreadPoolExecutor(5) as pool:
                statuses = list(
                    pool.map(lambda _: request("GET", svc.public + "/v1/fanout").status, range(5))
                )
            assert statuses == [200] * 5
            stats = wait_until_judged(svc, 5)
            assert (stats["snapshots_written"], stats["snapshots_suppressed"]) == (1, 4), stats
            (first,) = snapshot_lines(svc)
            assert first["route"] == "/v1/fanout"
            assert first["duration_ms"] >= 200
            file = Path(first["file"])
            assert file.parent == snapshots
            assert sorted(p.name for p in snapshots.iterdir()) == [file.name]
            assert file.read_bytes().startswith(b"go 1.")

            # A flood of slow requests for several intervals: one snapshot per interval, the
            # directory bounded.
            sent, most_files = flood_of_slow_requests(svc, snapshots, 4 * interval)
            stats = wait_until_judged(svc, 5 + sent)
            lines = snapshot_lines(svc)
            assert len(lines) == stats["snapshots_written"], (lines, stats)
            times = [parse_time(line) for line in lines]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert all(gap >= interval - 0.05 for gap in gaps), gaps
            assert 1 + 4 - 1 <= len(lines) <= 1 + 4 + 1, lines
            assert most_files <= 2
            kept = sorted(p for p in snapshots.iterdir())
            assert [p.suffix for p in kept] == [".trace", ".trace"], kept
            assert {p.name for p in kept} <= {Path(line["file"]).name for line in lines}
        finally:
            stop(svc)


def test_go124_profile_documents_its_missing_flight_recorder(
    rendered_profiles: dict[str, Rendered],
) -> None:
    project = rendered_profiles["go1.24-automaxprocs"].path
    assert not (project / "internal" / "flightrec" / "ring_runtime.go").exists()
    assert (project / "internal" / "flightrec" / "ring_unsupported.go").exists()
    readme = (project / "README.md").read_text()
    assert "Go 1.24" in readme
    assert "FLIGHT_RECORDER" in readme


@pytest.mark.parametrize("name", K8S_PROFILES)
def test_manifests_wire_up_metrics_scraping(
    name: str, rendered_profiles: dict[str, Rendered]
) -> None:
    """The pod declares the metrics port with scrape annotations; the public Service does not
    carry it; the optional ServiceMonitor scrapes it through a headless Service of its own."""
    project = rendered_profiles[name]
    deployment = yaml.safe_load((project.path / "deploy" / "k8s" / "deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "metrics": 9090}
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    assert annotations["prometheus.io/path"] == "/metrics"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["METRICS_ADDR"] == ":9090"
    if project.go_version != "1.24":
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert mounts["flightrecorder"] == env["FLIGHT_RECORDER_DIR"], "snapshots need a volume"

    service = yaml.safe_load((project.path / "deploy" / "k8s" / "service.yaml").read_text())
    assert all(p["targetPort"] != "metrics" and p["port"] != 9090 for p in service["spec"]["ports"])

    docs = list(
        yaml.safe_load_all(
            (project.path / "deploy" / "observability" / "servicemonitor.yaml").read_text()
        )
    )
    metrics_service = next(d for d in docs if d["kind"] == "Service")
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    pod_labels = template["metadata"]["labels"]
    assert metrics_service["spec"]["clusterIP"] == "None"
    assert metrics_service["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in metrics_service["spec"]["ports"]] == ["metrics"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        metrics_service["metadata"]["labels"].items()
    )
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]
    kustomization = yaml.safe_load(
        (project.path / "deploy" / "observability" / "kustomization.yaml").read_text()
    )
    assert sorted(kustomization["resources"]) == ["prometheusrule.yaml", "servicemonitor.yaml"]
    assert kustomization["configMapGenerator"][0]["files"] == ["dashboard.json"]


def test_tracing_none_has_no_opentelemetry_module(rendered_profiles: dict[str, Rendered]) -> None:
    for project in rendered_profiles.values():
        go_mod = (project.path / "go.mod").read_text()
        otel = project.answers.get("tracing", "none") == "otel"
        assert ("go.opentelemetry.io/" in go_mod) == otel, project.name
        assert (project.path / "internal" / "tracing").exists() == otel, project.name
        assert "github.com/prometheus/client_golang" in go_mod
