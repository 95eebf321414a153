"""Measure what observability costs a generated service: metrics, the access log, the flight
recorder and OpenTelemetry tracing, side by side in one run.

    python scripts/bench_observability.py                # the full run (about 15 minutes)
    python scripts/bench_observability.py --quick        # every step once, briefly (CI)
    python scripts/bench_observability.py --rounds 7 --seconds 10 --out results.json

It renders two services from this working tree (the defaults, and the defaults with
tracing=otel), builds them and their load generator, then

1. runs the middleware's handler benchmark (`BenchmarkMiddleware`, b.Loop + ReportAllocs) and
   the tracing handler benchmark: ns and allocations per request;
2. drives GET /livez and POST /v1/events at 64 connections with the load generator, for every
   variant in turn, in interleaved rounds (round i starts at variant i), recording the load
   average before each run. Each run starts the binary on free loopback ports with the
   variant's environment, warms it up, then measures req/s, p99 and the service's own CPU time
   per request (user + system, from /proc/PID/stat around the measured window): on a machine
   shared with other work, throughput swings with the neighbours' load, while the CPU the
   service spends per request barely does, so the overhead is read from that column;
3. prints medians with their spread (min-max) and each variant's ratio to the baseline, as
   markdown, and writes everything as JSON (--out).

The OTLP exporter of the otel variant sends to a receiver in this process that accepts and
drops the spans, so the export is real but costs the service only what a local collector would.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
ENDPOINTS = ("livez", "events")


@dataclass(frozen=True)
class Variant:
    name: str
    binary: str  # "none" or "otel": which build
    env: dict[str, str]
    what: str


OFF = {"METRICS_ADDR": "off", "ACCESS_LOG": "off", "FLIGHT_RECORDER": "off"}
VARIANTS: tuple[Variant, ...] = (
    Variant("off", "none", OFF, "metrics, access log and flight recorder off (baseline)"),
    Variant(
        "metrics",
        "none",
        {**OFF, "METRICS_ADDR": "127.0.0.1:0"},
        "metrics on (scraped by nobody: the cost is in the request path)",
    ),
    Variant(
        "metrics+log",
        "none",
        {**OFF, "METRICS_ADDR": "127.0.0.1:0", "ACCESS_LOG": "errors"},
        "metrics and the access log at its default (errors)",
    ),
    Variant(
        "metrics+log=all",
        "none",
        {**OFF, "METRICS_ADDR": "127.0.0.1:0", "ACCESS_LOG": "all"},
        "metrics and a log line for every request",
    ),
    Variant(
        "defaults",
        "none",
        {"METRICS_ADDR": "127.0.0.1:0"},
        "the shipped defaults: metrics, access log errors, flight recorder auto (not recording)",
    ),
    Variant(
        "recorder=on",
        "none",
        {"METRICS_ADDR": "127.0.0.1:0", "FLIGHT_RECORDER": "on"},
        "the shipped defaults with the flight recorder always on (FLIGHT_RECORDER=on)",
    ),
    Variant(
        "defaults+otel",
        "otel",
        {"METRICS_ADDR": "127.0.0.1:0", "OTEL_TRACES_SAMPLER": "always_on"},
        "tracing=otel build, every request traced and exported to a local receiver",
    ),
)


@dataclass
class Run:
    variant: str
    endpoint: str
    round: int
    rps: float
    p99_ms: float
    cpu_us: float  # the service's CPU microseconds per answered request
    load1: float
    errors: int


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    handler: dict[str, dict[str, float]] = field(default_factory=dict)
    uptime: list[str] = field(default_factory=list)


def sh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, "GOTOOLCHAIN": "local", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def render(work: Path, name: str, **answers: str) -> Path:
    src = work / "template-src"
    if not src.exists():
        src.mkdir()
        shutil.copy(ROOT / "copier.yml", src / "copier.yml")
        shutil.copytree(ROOT / "template", src / "template")
        shutil.copytree(ROOT / "includes", src / "includes")
    dst = work / name
    copier.run_copy(
        str(src), dst, data={"project_name": "svc", **answers}, defaults=True, quiet=True
    )
    return dst


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def uptime() -> str:
    return sh(["uptime"], ROOT).strip()


class Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every export and keeps nothing."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


_BENCH_LINE = re.compile(
    r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op"
)


def handler_benchmarks(
    project: Path, package: str, count: int, benchtime: str
) -> dict[str, dict[str, float]]:
    out = sh(
        ["go", "test", "-run", "^$", "-bench", ".", "-benchmem",
         f"-count={count}", f"-benchtime={benchtime}", package],
        project,
    )  # fmt: skip
    samples: dict[str, list[tuple[float, float, float]]] = {}
    for line in out.splitlines():
        m = _BENCH_LINE.match(line)
        if m:
            samples.setdefault(m.group(1), []).append(
                (float(m.group(2)), float(m.group(3)), float(m.group(4)))
            )
    return {
        name: {
            "ns_per_op": statistics.median(s[0] for s in vals),
            "bytes_per_op": statistics.median(s[1] for s in vals),
            "allocs_per_op": statistics.median(s[2] for s in vals),
        }
        for name, vals in samples.items()
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Bench:
    """What every run of one invocation shares."""

    loadgen: Path
    work: Path
    seconds: float
    warmup: float
    otlp: dict[str, str]


def load_run(
    bench: Bench, binary: Path, variant: Variant, endpoint: str
) -> tuple[dict[str, Any], float]:
    """One measured run: the service started fresh, warmed up, measured, stopped. Returns the
    load generator's report and the service's CPU seconds over the measured window."""
    run_dir = Path(tempfile.mkdtemp(dir=bench.work, prefix="run-"))
    extra = bench.otlp if variant.binary == "otel" else {}
    loadgen, seconds, warmup = bench.loadgen, bench.seconds, bench.warmup
    env = {
        **os.environ,
        "HTTP_ADDR": "127.0.0.1:0",
        "DEBUG_ADDR": "127.0.0.1:0",
        "SHUTDOWN_DRAIN_DELAY": "0s",
        "DATABASE_URL": f"file:{run_dir / 'bench.db'}",
        "FLIGHT_RECORDER_DIR": str(run_dir / "flightrecorder"),
        **variant.env,
        **extra,
    }
    log_path = run_dir / "service.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            for line in log_path.read_text(errors="replace").splitlines():
                if '"public listener started"' in line:
                    url = "http://" + json.loads(line)["addr"]
            if proc.poll() is not None:
                raise SystemExit(f"{binary} exited: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        common = ["-url", url, "-endpoints", endpoint, "-concurrency", str(CONCURRENCY), "-json"]
        sh(
            [str(loadgen), *common, "-wait", "10s", "-warmup", "0s", "-duration", f"{warmup}s"],
            ROOT,
        )
        before = cpu_seconds(proc.pid)
        report: dict[str, Any] = json.loads(
            sh([str(loadgen), *common, "-warmup", "0s", "-duration", f"{seconds}s"], ROOT)
        )
        cpu = cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(run_dir, ignore_errors=True)
    return report, cpu


def summarize(results: Results, variants: tuple[Variant, ...]) -> str:
    lines = []
    for endpoint in ENDPOINTS:
        rows = [r for r in results.runs if r.endpoint == endpoint]
        if not rows:
            continue
        base = statistics.median(r.rps for r in rows if r.variant == variants[0].name)
        base_cpu = statistics.median(r.cpu_us for r in rows if r.variant == variants[0].name)
        lines.append(
            f"\n{endpoint} at {CONCURRENCY} connections ({len(rows) // len(variants)} rounds)\n"
        )
        lines.append(
            "| variant | CPU µs/req median | min-max | vs off | req/s median | min-max | vs off "
            "| p99 ms median | min-max |"
        )
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for v in variants:
            vr = [r for r in rows if r.variant == v.name]
            rps = [r.rps for r in vr]
            p99 = [r.p99_ms for r in vr]
            cpu = [r.cpu_us for r in vr]
            lines.append(
                f"| {v.name} | {statistics.median(cpu):.1f} | {min(cpu):.1f}-{max(cpu):.1f} "
                f"| {statistics.median(cpu) / base_cpu:.3f} "
                f"| {statistics.median(rps):,.0f} | {min(rps):,.0f}-{max(rps):,.0f} "
                f"| {statistics.median(rps) / base:.3f} | {statistics.median(p99):.2f} "
                f"| {min(p99):.2f}-{max(p99):.2f} |"
            )
    lines.append("\nhandler benchmarks (median of the counts)\n")
    lines.append("| benchmark | ns/op | B/op | allocs/op |")
    lines.append("| --- | --- | --- | --- |")
    for name, counts in results.handler.items():
        ns, size, allocs = counts["ns_per_op"], counts["bytes_per_op"], counts["allocs_per_op"]
        lines.append(f"| {name} | {ns:.0f} | {size:.0f} | {allocs:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, tuple[Variant, ...], tuple[str, ...]]:
    """The options, the variants to run (the first is the baseline) and the endpoints."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round of everything (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--variants",
        help="comma-separated variants to run (default: all; the first is the baseline): "
        + ", ".join(v.name for v in VARIANTS),
    )
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="livez, events or both")
    args = parser.parse_args(argv)
    variants = VARIANTS
    if args.variants:
        by_name = {v.name: v for v in VARIANTS}
        unknown = [n for n in args.variants.split(",") if n not in by_name]
        if unknown:
            parser.error(f"unknown variants: {', '.join(unknown)}")
        variants = tuple(by_name[n] for n in args.variants.split(","))
    endpoints = tuple(e for e in args.endpoints.split(",") if e)
    if not set(endpoints) <= set(ENDPOINTS):
        parser.error(f"--endpoints takes {', '.join(ENDPOINTS)}")
    return args, variants, endpoints


def main(argv: list[str]) -> int:
    args, variants, endpoints = parse_args(argv)
    rounds, seconds, warmup, count, benchtime = args.rounds, args.seconds, 2.0, 6, "1s"
    if args.quick:
        rounds, seconds, warmup, count, benchtime = 1, 1.0, 0.2, 1, "2000x"

    results = Results()
    with tempfile.TemporaryDirectory(prefix="goperf-bench-obs-") as tmp:
        work = Path(tmp)
        print("rendering and building the services", file=sys.stderr, flush=True)
        projects = {"none": render(work, "plain"), "otel": render(work, "otel", tracing="otel")}
        binaries = {}
        for key, project in projects.items():
            binaries[key] = work / f"svc-{key}"
            sh(["go", "build", "-o", str(binaries[key]), "./cmd/svc"], project)
        loadgen = work / "loadgen"
        sh(["go", "build", "-o", str(loadgen), "./cmd/loadgen"], projects["none"])

        print("handler benchmarks", file=sys.stderr, flush=True)
        results.handler = handler_benchmarks(
            projects["none"], "./internal/observe/", count, benchtime
        )
        results.handler |= handler_benchmarks(
            projects["otel"], "./internal/tracing/", count, benchtime
        )

        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        receiver.daemon_threads = True
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}"}
        bench = Bench(loadgen=loadgen, work=work, seconds=seconds, warmup=warmup, otlp=otlp)
        try:
            results.uptime.append(uptime())
            for rnd in range(rounds):
                order = variants[rnd % len(variants) :] + variants[: rnd % len(variants)]
                for endpoint in endpoints:
                    for v in order:
                        before = load1()
                        rep, cpu = load_run(bench, binaries[v.binary], v, endpoint)
                        run = Run(
                            variant=v.name,
                            endpoint=endpoint,
                            round=rnd,
                            rps=float(rep["throughput_rps"]),
                            p99_ms=float(rep["latency_ms"]["p99"]),
                            cpu_us=cpu * 1e6 / max(int(rep["responses"]), 1),
                            load1=before,
                            errors=sum(int(n) for n in rep.get("errors", {}).values()),
                        )
                        results.runs.append(run)
                        print(
                            f"round {rnd + 1}/{rounds} {endpoint:6} {v.name:16} "
                            f"{run.rps:10,.0f} req/s p99 {run.p99_ms:7.2f} ms "
                            f"{run.cpu_us:6.1f} CPU µs/req  load {before:.2f}",
                            file=sys.stderr,
                            flush=True,
                        )
                results.uptime.append(uptime())
        finally:
            receiver.shutdown()
            receiver.server_close()

    print(summarize(results, variants))
    print("\nuptime: " + " | ".join(results.uptime))
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "runs": [r.__dict__ for r in results.runs],
                    "handler": results.handler,
                    "uptime": results.uptime,
                    "variants": {v.name: v.what for v in variants},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
