"""The HTTP section's CPU-profile attribution sorts each sample by what it was doing. The
stacks below are real ones from a profile of a generated service under /livez load
(`go tool pprof -traces`), shortened where the frames add nothing."""

from __future__ import annotations

import math

import pytest

from bench.report._http_attribution import CATEGORIES, Pair, classify, shares

TRACES = """File: svc
Type: cpu
Duration: 8s, Total samples = 3.04s (38.00%)
-----------+-------------------------------------------------------
     2.81s   internal/runtime/syscall/linux.Syscall6
             syscall.RawSyscall6
             syscall.Syscall
             syscall.write
             net.(*conn).Write
             bufio.(*Writer).Flush
             net/http.(*response).finishRequest
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      10ms   runtime.traceEnabled (inline)
             runtime.(*sweepLocked).sweep
             runtime.sweepone
             runtime.bgsweep
-----------+-------------------------------------------------------
      30ms   example.com/svc/internal/server.fixedJSON.write
             example.com/svc/internal/server.addRoutes.handleLivez.func1
             net/http.HandlerFunc.ServeHTTP
             net/http.(*ServeMux).ServeHTTP
             example.com/svc/internal/server.NewHandler.recoverPanics.func2
             net/http.HandlerFunc.ServeHTTP
             main.run.(*observability).handler.(*HTTP).Middleware.func9
             net/http.serverHandler.ServeHTTP
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      20ms   github.com/prometheus/client_golang/prometheus.(*histogramCounts).observe
             github.com/prometheus/client_golang/prometheus.(*histogram).Observe
             main.run.(*observability).handler.(*HTTP).Middleware.func9
             net/http.HandlerFunc.ServeHTTP
             net/http.serverHandler.ServeHTTP
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      40ms   runtime.traceStack
             runtime.traceLocker.stack (inline)
             runtime.traceLocker.GoPark
             runtime.park_m
             runtime.mcall
-----------+-------------------------------------------------------
     500us   runtime.(*traceBuf).varint
             runtime.traceWriter.event
             runtime.traceLocker.GoSysCall
             runtime.reentersyscall
             runtime.entersyscall
             syscall.Syscall
             syscall.read
-----------+-------------------------------------------------------
      60ms   runtime.scanObject
             runtime.gcDrain
             runtime.gcBgMarkWorker.func2
             runtime.systemstack
-----------+-------------------------------------------------------
      70ms   net/textproto.(*Reader).readLineSlice
             net/http.readRequest
             net/http.(*conn).readRequest
             net/http.(*conn).serve
-----------+-------------------------------------------------------
"""


def test_each_sample_goes_to_the_part_it_was_spent_in() -> None:
    got = shares(TRACES)
    assert set(got) == {key for key, _ in CATEGORIES}
    expected = {
        "syscalls": 2.81,
        "gc": 0.07,  # the background sweeper (its traceEnabled check is no trace event) + marking
        "handlers": 0.03,  # under the middleware, but inside the handler chain
        "metrics_log": 0.02,  # the middleware's own code: the histogram
        "recorder": 0.0405,  # stacks of trace events, even inside a system call's entry
        "rest": 0.07,
    }
    for key, seconds in expected.items():
        assert math.isclose(got[key], seconds, abs_tol=1e-9), (key, got)


def test_samples_the_parser_cannot_read_fail_the_attribution_instead_of_skewing_it() -> None:
    """The shares are fractions of what was parsed, so they always add up to 100 %; pprof's own
    total in the header is the independent check that no sample was dropped on the way."""
    mangled = TRACES.replace("     2.81s   internal/runtime", "     2.81 s  internal/runtime")
    with pytest.raises(ValueError, match=r"attributed 0\.230 s of the profile's 3\.040 s"):
        shares(mangled)
    with pytest.raises(ValueError, match="Total samples"):
        shares(TRACES.replace("Total samples", "Samples"))


@pytest.mark.parametrize(
    ("stack", "part"),
    [
        (["runtime/trace.(*FlightRecorder).WriteTo", "main.snapshot"], "recorder"),
        (["example.com/svc/internal/flightrec.(*Recorder).snapshot"], "recorder"),
        (["runtime.tracebackPCs", "runtime.gentraceback", "runtime.sigprof"], "rest"),
        (["example.com/svc/internal/observe.(*HTTP).logRequest"], "metrics_log"),
    ],
)
def test_the_rules_tell_apart_names_that_look_alike(stack: list[str], part: str) -> None:
    assert classify(stack) == part


def test_a_pair_compares_its_rounds_one_by_one() -> None:
    pair = Pair(first=[30.0, 40.0, 20.0], second=[33.0, 44.0, 24.0])
    spread = pair.ratio()
    assert (spread.median, spread.low, spread.high) == pytest.approx((1.1, 1.1, 1.2))
    # 3 of 3 rounds one way: p = 2 * (1/2)^3
    assert pair.sign_test() == "3 of 3 (p=0.250)"
    mixed = Pair(first=[10.0] * 8, second=[11.0] * 7 + [9.0])
    assert mixed.sign_test() == "7 of 8 (p=0.070)"
