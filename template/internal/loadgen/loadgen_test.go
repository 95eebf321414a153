package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// fakeServiceEnv makes the test binary act as the service that -serve starts (see
// TestMain): it serves on HTTP_ADDR until SIGTERM, or exits at once with status 3 when the
// variable says "crash".
const fakeServiceEnv = "LOADGEN_TEST_FAKE_SERVICE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeServiceEnv); mode != "" {
		os.Exit(runFakeService(mode))
	}
	goleak.VerifyTestMain(m)
}

// runFakeService is the served binary of the -serve tests: /readyz and /livez answer 200 with
// the value of FAKE_ECHO (an expanded -serve-env) in a header; SIGTERM ends it with status 0.
func runFakeService(mode string) int {
	if mode == "crash" {
		fmt.Println("fake service: giving up at once")
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Echo", os.Getenv("FAKE_ECHO")) }
	mux.HandleFunc("GET /readyz", ok)
	mux.HandleFunc("GET /livez", ok)
	srv := &http.Server{Addr: os.Getenv("HTTP_ADDR"), Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Println("fake service:", err)
		return 1
	}
	// Tell the test what it was started with, now that SIGTERM stopped it.
	seen := "echo=" + os.Getenv("FAKE_ECHO") + " drain=" + os.Getenv("SHUTDOWN_DRAIN_DELAY")
	if err := os.WriteFile(os.Getenv("FAKE_MARKER"), []byte(seen), 0o600); err != nil {
		return 1
	}
	return 0
}

// fakeService answers the service's public and debug routes the way the real service does,
// and records how each request was formed.
type fakeService struct {
	hits        sync.Map // "METHOD /path" -> *atomic.Int64
	badRequests atomic.Int64
	readyAfter  atomic.Int64 // /readyz answers 503 this many times first
	profileSecs atomic.Int64
}

func (f *fakeService) count(key string) int64 {
	v, ok := f.hits.Load(key)
	if !ok {
		return 0
	}
	n, _ := v.(*atomic.Int64)
	return n.Load()
}

func (f *fakeService) handler(t *testing.T) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	hit := func(r *http.Request) {
		v, _ := f.hits.LoadOrStore(r.Method+" "+r.URL.Path, new(atomic.Int64))
		n, _ := v.(*atomic.Int64)
		n.Add(1)
	}
	ok := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hit(r)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		}
	}
	mux.HandleFunc("GET /livez", ok(http.StatusOK))
	mux.HandleFunc("GET /v1/fanout", ok(http.StatusOK))
	mux.HandleFunc("GET /v1/events/count", ok(http.StatusOK))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		hit(r)
		if f.readyAfter.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		hit(r)
		var job struct {
			DurationMS *int64 `json:"duration_ms"`
		}
		if json.NewDecoder(r.Body).Decode(&job) != nil || job.DurationMS == nil {
			f.badRequests.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		hit(r)
		var events []struct {
			Kind    string          `json:"kind"`
			Payload json.RawMessage `json:"payload"`
		}
		if json.NewDecoder(r.Body).Decode(&events) != nil || len(events) != 3 || events[0].Kind == "" ||
			r.Header.Get("Content-Type") != "application/json" {
			f.badRequests.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		hit(r)
		secs := r.URL.Query().Get("seconds")
		if secs != "1" {
			http.Error(w, "unexpected seconds="+secs, http.StatusBadRequest)
			return
		}
		f.profileSecs.Store(1)
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte("pretend protobuf"))
		_ = zw.Close()
	})
	return mux
}

func startFake(t *testing.T) (*fakeService, *httptest.Server) {
	t.Helper()
	f := &fakeService{}
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	return f, srv
}

// runLoadgen runs the command with args and returns its stdout; it fails the test on error.
func runLoadgen(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runLoadgenErr(t, args...)
	if err != nil {
		t.Fatalf("loadgen %v: %v", args, err)
	}
	return out
}

func runLoadgenErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Run(t.Context(), append([]string{"loadgen"}, args...), "livez", &stdout, &stderr)
	return stdout.String(), err
}

func TestDrivesEveryEndpointAndReportsPercentiles(t *testing.T) {
	f, srv := startFake(t)
	out := runLoadgen(t, "-url", srv.URL, "-endpoints", "livez,readyz,jobs:2,fanout,events,count",
		"-events-per-request", "3", "-duration", "300ms", "-warmup", "50ms", "-concurrency", "3", "-json")

	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.Responses == 0 || rep.Requests != rep.Responses || len(rep.Errors) != 0 {
		t.Fatalf("want only answered requests, got %+v", rep)
	}
	total := 0
	for _, n := range rep.Status {
		total += n
	}
	if total != rep.Responses {
		t.Errorf("status counts add up to %d, want %d", total, rep.Responses)
	}
	for _, endpoint := range []string{"livez", "readyz", "jobs", "fanout", "events", "count"} {
		if len(rep.ByEndpoint[endpoint]) == 0 {
			t.Errorf("endpoint %s was never measured: %v", endpoint, rep.ByEndpoint)
		}
	}
	if got := rep.ByEndpoint["jobs"]["202"]; got == 0 {
		t.Errorf("jobs answered 202 %d times", got)
	}
	l := rep.LatencyMS
	if l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
		t.Errorf("percentiles out of order: %+v", l)
	}
	if rep.Throughput <= 0 || rep.Seconds <= 0 {
		t.Errorf("throughput %v over %vs", rep.Throughput, rep.Seconds)
	}
	if n := f.badRequests.Load(); n != 0 {
		t.Errorf("%d requests had a malformed body", n)
	}
	// Weight 2 sends jobs about twice as often as fanout.
	if jobs, fanout := f.count("POST /v1/jobs"), f.count("GET /v1/fanout"); jobs < fanout {
		t.Errorf("jobs:2 sent %d jobs but %d fan-outs", jobs, fanout)
	}
}

func TestTextReport(t *testing.T) {
	_, srv := startFake(t)
	out := runLoadgen(t, "-url", srv.URL, "-endpoints", "livez", "-duration", "100ms", "-warmup", "0s")
	for _, want := range []string{"requests ", "status       200: ", "livez", "errors       none",
		"latency      p50 ", " p90 ", " p99 "} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchLineIsBenchstatInput(t *testing.T) {
	_, srv := startFake(t)
	out := runLoadgen(t, "-url", srv.URL, "-endpoints", "livez", "-duration", "100ms", "-warmup", "0s",
		"-bench-name", "Load")
	line := regexp.MustCompile(`^BenchmarkLoad [1-9][0-9]* [0-9.]+ req/s [0-9]+ p50-ns [0-9]+ p90-ns [0-9]+ p99-ns\n$`)
	if !line.MatchString(out) {
		t.Errorf("not a benchmark line: %q", out)
	}
}

func TestRateModeKeepsToTheSchedule(t *testing.T) {
	_, srv := startFake(t)
	out := runLoadgen(t, "-url", srv.URL, "-endpoints", "livez", "-rate", "200", "-duration", "300ms",
		"-warmup", "0s", "-concurrency", "4", "-json")
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// The pacer releases one request every 5ms from the start: never more than that.
	if limit := int(200*rep.Seconds) + 1; rep.Requests == 0 || rep.Requests > limit {
		t.Errorf("sent %d requests in %.3fs at 200/s, want 1..%d", rep.Requests, rep.Seconds, limit)
	}
}

func TestCPUProfileCoversTheMeasuredWindow(t *testing.T) {
	f, srv := startFake(t)
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	out := runLoadgen(t, "-url", srv.URL, "-debug-url", srv.URL, "-endpoints", "livez",
		"-duration", "1s", "-warmup", "0s", "-cpuprofile", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("profile is not gzip: %v", err)
	}
	body, _ := io.ReadAll(zr)
	if string(body) != "pretend protobuf" || f.profileSecs.Load() != 1 {
		t.Errorf("profile %q fetched with seconds=%d", body, f.profileSecs.Load())
	}
	if !strings.Contains(out, "cpu profile  "+path) {
		t.Errorf("report does not name the profile:\n%s", out)
	}
}

func TestCPUProfileErrorPageFails(t *testing.T) {
	_, srv := startFake(t)
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	// seconds=2 is refused by the fake, as the real debug listener refuses a bad value.
	_, err := runLoadgenErr(t, "-url", srv.URL, "-debug-url", srv.URL, "-endpoints", "livez",
		"-duration", "2s", "-warmup", "0s", "-cpuprofile", path)
	if err == nil || !strings.Contains(err.Error(), "answered 400") {
		t.Fatalf("want the debug listener's 400, got %v", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Errorf("a failed profile left %s behind", path)
	}
}

func TestWaitsForReadiness(t *testing.T) {
	f, srv := startFake(t)
	f.readyAfter.Store(3)
	runLoadgen(t, "-url", srv.URL, "-endpoints", "livez", "-duration", "50ms", "-warmup", "0s", "-wait", "10s")
	if n := f.count("GET /readyz"); n < 4 {
		t.Errorf("readiness polled %d times, want at least 4", n)
	}

	f.readyAfter.Store(1 << 40)
	_, err := runLoadgenErr(t, "-url", srv.URL, "-endpoints", "livez", "-duration", "50ms", "-wait", "200ms")
	if err == nil || !strings.Contains(err.Error(), "/readyz did not answer 200") {
		t.Fatalf("want a readiness error, got %v", err)
	}
}

func TestNoServiceIsAnError(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	out, err := runLoadgenErr(t, "-url", "http://"+addr, "-endpoints", "livez", "-duration", "100ms",
		"-warmup", "0s", "-timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "got a response") {
		t.Fatalf("want an error, got %v", err)
	}
	if !strings.Contains(out, "errors ") || strings.Contains(out, "errors       none") {
		t.Errorf("report does not count the failures:\n%s", out)
	}
}

func TestFreeAddrsAreDistinctLoopbackAddresses(t *testing.T) {
	out := runLoadgen(t, "-free-addrs", "2")
	addrs := strings.Fields(out)
	if len(addrs) != 2 || addrs[0] == addrs[1] {
		t.Fatalf("want two distinct addresses, got %q", out)
	}
	for _, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("not a loopback address with a port: %q", addr)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-concurrency", "0"}, "-concurrency"},
		{[]string{"-endpoints", "nope"}, `unknown endpoint "nope"`},
		{[]string{"-endpoints", "jobs:0"}, "weight"},
		{[]string{"-endpoints", " , "}, "at least one endpoint"},
		{[]string{"-url", "ftp://example.com"}, "-url must be"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-duration", "0s"}, "-duration"},
		{[]string{"-cpuprofile", "x.pprof", "-duration", "500ms"}, "at least 1s"},
		{[]string{"-json", "-bench-name", "X"}, "-bench-name"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		_, err := runLoadgenErr(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error containing %q, got %v", tc.args, tc.want, err)
		}
	}
	if _, err := runLoadgenErr(t, "-h"); err != nil {
		t.Errorf("-h: %v", err)
	}
}

func TestMixIsInterleavedByWeight(t *testing.T) {
	mix, err := parseMix("jobs:3,count,events:2", knownScenarios(1))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sc := range mix {
		names = append(names, sc.name)
	}
	if got, want := strings.Join(names, ","), "jobs,count,events,jobs,events,jobs"; got != want {
		t.Errorf("mix %s, want %s", got, want)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 200; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 100, 90: 180, 99: 198, 100: 200, 0: 1} {
		if got := percentile(sorted, p); got != want*time.Millisecond {
			t.Errorf("p%v = %v, want %v", p, got, want*time.Millisecond)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func TestServeStartsTheServiceLoadsItAndStopsIt(t *testing.T) {
	t.Setenv(fakeServiceEnv, "serve")
	marker := filepath.Join(t.TempDir(), "tmp-seen")
	t.Setenv("FAKE_MARKER", marker)
	var stdout, stderr bytes.Buffer
	err := Run(t.Context(), []string{"loadgen", "-serve", os.Args[0], "-serve-env", "FAKE_ECHO={http}|{tmp}",
		"-endpoints", "livez", "-duration", "200ms", "-warmup", "0s", "-json"}, "livez", &stdout, &stderr)
	if err != nil {
		t.Fatalf("loadgen -serve: %v\n%s", err, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Responses == 0 || rep.Target == "" || !strings.HasPrefix(rep.Target, "http://127.0.0.1:") {
		t.Fatalf("the load did not reach the served binary on a loopback address: %+v", rep)
	}
	if stderr.Len() != 0 {
		t.Errorf("a clean run prints no service log, got:\n%s", stderr.String())
	}
	seen, err := os.ReadFile(marker) // written by the service when SIGTERM stopped it
	if err != nil {
		t.Fatalf("the served binary was not stopped by SIGTERM: %v", err)
	}
	echo, drain, _ := strings.Cut(strings.TrimPrefix(string(seen), "echo="), " drain=")
	addr, tmp, _ := strings.Cut(echo, "|")
	if "http://"+addr != rep.Target || drain != "0s" {
		t.Errorf("service saw FAKE_ECHO=%q SHUTDOWN_DRAIN_DELAY=%q; want {http} = %s and 0s", echo, drain, rep.Target)
	}
	if _, err := os.Stat(tmp); tmp == "" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the throwaway folder {tmp}=%q is not removed after the run (%v)", tmp, err)
	}
}

func TestServeReportsAServiceThatDiesWithItsLog(t *testing.T) {
	t.Setenv(fakeServiceEnv, "crash")
	var stdout, stderr bytes.Buffer
	err := Run(t.Context(), []string{"loadgen", "-serve", os.Args[0], "-endpoints", "livez",
		"-duration", "100ms", "-wait", "2s"}, "livez", &stdout, &stderr)
	if err == nil {
		t.Fatal("a service that exits at once must fail the run")
	}
	if !strings.Contains(stderr.String(), "fake service: giving up at once") {
		t.Errorf("the service's log is not shown:\n%s", stderr.String())
	}
}

func TestServeRefusesAddressFlags(t *testing.T) {
	_, err := runLoadgenErr(t, "-serve", "/bin/true", "-url", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "-serve picks the service's addresses itself") {
		t.Fatalf("want the -serve/-url error, got %v", err)
	}
	_, err = runLoadgenErr(t, "-serve-env", "A=b")
	if err == nil || !strings.Contains(err.Error(), "-serve-env needs -serve") {
		t.Fatalf("want the -serve-env error, got %v", err)
	}
}
