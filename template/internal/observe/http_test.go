package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testMux is a small API: a fast route, a failing route and a slow route.
func testMux(slow time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("POST /v1/items/{id}", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(slow)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, http.NoBody))
	return rec
}

func TestRequestsAreCountedByRoutePatternMethodAndClass(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTP(HTTPConfig{Registry: reg})
	h := m.Middleware(testMux(0))
	for range 3 {
		serve(h, http.MethodGet, "/livez")
	}
	serve(h, http.MethodPost, "/v1/items/1")
	serve(h, http.MethodPost, "/v1/items/2")
	serve(h, http.MethodGet, "/nothing-here")

	for _, c := range []struct {
		route, method, code string
		want                float64
	}{
		{"/livez", "GET", "2xx", 3},
		{"/livez", "GET", "5xx", 0}, // created at zero, so error ratios have a series
		{"/v1/items/{id}", "POST", "5xx", 2},
		{"unmatched", "GET", "4xx", 1},
	} {
		got := testutil.ToFloat64(m.requests.WithLabelValues(c.route, c.method, c.code))
		if got != c.want {
			t.Errorf("requests{route=%q,method=%q,code=%q} = %v, want %v", c.route, c.method, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != 3 {
		t.Errorf("duration histograms = %d, want 3 (one per route and method)", n)
	}
}

func TestUnknownPathsAddNoSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTP(HTTPConfig{Registry: reg})
	h := m.Middleware(testMux(0))
	serve(h, http.MethodGet, "/livez")
	serve(h, http.MethodGet, "/first-unknown")
	before := countSeries(t, reg)
	for i := range 1000 {
		serve(h, http.MethodGet, fmt.Sprintf("/unknown/%d?q=%d", i, i))
		serve(h, http.MethodDelete, fmt.Sprintf("/livez/%d", i)) // 404 for another method
	}
	serve(h, "BREW", "/coffee") // an unknown method is "other", once
	after := countSeries(t, reg)
	// DELETE and BREW on "unmatched" add their method's children once; paths add nothing.
	if want := before + 2*(len(classes)+1); after != want {
		t.Errorf("series went from %d to %d after 2000 requests to unknown paths; want %d", before, after, want)
	}
}

func countSeries(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		n += len(f.GetMetric())
	}
	return n
}

func TestInFlightIsTheRequestsBeingServed(t *testing.T) {
	m := NewHTTP(HTTPConfig{Registry: prometheus.NewRegistry()})
	entered, release := make(chan struct{}), make(chan struct{})
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	done := make(chan struct{})
	go func() { defer close(done); serve(h, http.MethodGet, "/") }()
	<-entered
	if got := m.inFlight.Load(); got != 1 {
		t.Errorf("in flight during a request = %d, want 1", got)
	}
	close(release)
	<-done
	if got := m.inFlight.Load(); got != 0 {
		t.Errorf("in flight after it = %d, want 0", got)
	}
}

type logLine struct {
	Level, Msg, Method, Route, Path, RequestID string
	Status                                     int
	Bytes                                      int64
	DurationMS                                 float64 `json:"duration_ms"`
}

func logLines(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var lines []logLine
	for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestAccessLogModes(t *testing.T) {
	for _, c := range []struct {
		mode AccessLog
		want []string // messages, in order
	}{
		{AccessLogOff, nil},
		{AccessLogErrors, []string{"request failed", "slow request"}},
		{AccessLogAll, []string{"request", "request failed", "slow request"}},
	} {
		t.Run(c.mode.String(), func(t *testing.T) {
			var buf bytes.Buffer
			m := NewHTTP(HTTPConfig{
				Logger:        slog.New(slog.NewJSONHandler(&buf, nil)),
				AccessLog:     c.mode,
				SlowThreshold: 20 * time.Millisecond,
			})
			h := m.Middleware(testMux(30 * time.Millisecond))
			serve(h, http.MethodGet, "/livez")
			serve(h, http.MethodPost, "/v1/items/7")
			serve(h, http.MethodGet, "/slow")
			lines := logLines(t, &buf)
			var got []string
			for _, l := range lines {
				got = append(got, l.Msg)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("logged %q, want %q", got, c.want)
			}
			for _, l := range lines {
				if l.Route == "" || l.Method == "" || l.Status == 0 || l.DurationMS <= 0 {
					t.Errorf("line lacks a field: %+v", l)
				}
				if l.Msg == "request failed" && (l.Level != "WARN" || l.Status != 500 || l.Route != "/v1/items/{id}" || l.Path != "/v1/items/7") {
					t.Errorf("failed request logged as %+v", l)
				}
				if l.Msg == "request" && (l.Level != "INFO" || l.Bytes != 2) {
					t.Errorf("ordinary request logged as %+v", l)
				}
			}
		})
	}
}

func TestAccessLogCarriesTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	m := NewHTTP(HTTPConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), AccessLog: AccessLogAll})
	req := httptest.NewRequest(http.MethodGet, "/livez", http.NoBody)
	req.Header.Set("X-Request-Id", "abc-123")
	m.Middleware(testMux(0)).ServeHTTP(httptest.NewRecorder(), req)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["request_id"] != "abc-123" {
		t.Errorf("request_id = %v, want the X-Request-Id header", line["request_id"])
	}
}

func TestAccessLogSampleThinsOrdinaryRequestsOnly(t *testing.T) {
	var buf bytes.Buffer
	m := NewHTTP(HTTPConfig{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), AccessLog: AccessLogAll, AccessLogSample: 0.1})
	h := m.Middleware(testMux(0))
	for range 2000 {
		serve(h, http.MethodGet, "/livez")
	}
	for range 10 {
		serve(h, http.MethodPost, "/v1/items/1")
	}
	ordinary, failed := 0, 0
	for _, l := range logLines(t, &buf) {
		if l.Status == 500 {
			failed++
		} else {
			ordinary++
		}
	}
	if failed != 10 {
		t.Errorf("failed requests logged = %d, want all 10", failed)
	}
	if ordinary < 100 || ordinary > 300 { // 200 expected; 6 standard deviations either side
		t.Errorf("ordinary requests logged = %d of 2000 at a 0.1 sample", ordinary)
	}
}

func TestOnSlowGetsSlowRequestsOnly(t *testing.T) {
	var slow atomic.Int32
	var route atomic.Value
	m := NewHTTP(HTTPConfig{
		SlowThreshold: 20 * time.Millisecond,
		OnSlow: func(_ context.Context, r string, elapsed time.Duration) {
			slow.Add(1)
			route.Store(r)
			if elapsed < 20*time.Millisecond {
				t.Errorf("OnSlow with %s", elapsed)
			}
		},
	})
	h := m.Middleware(testMux(30 * time.Millisecond))
	serve(h, http.MethodGet, "/livez")
	serve(h, http.MethodGet, "/slow")
	if slow.Load() != 1 || route.Load() != "/slow" {
		t.Errorf("OnSlow calls = %d (route %v), want 1 for /slow", slow.Load(), route.Load())
	}
}

func TestFlushAndUnwrapReachTheWriter(t *testing.T) {
	m := NewHTTP(HTTPConfig{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "part")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
	}))
	rec := serve(h, http.MethodGet, "/")
	if !rec.Flushed {
		t.Error("the flush did not reach the underlying writer")
	}
}

func TestMetricsHandlerServesOnlyMetrics(t *testing.T) {
	reg := NewRegistry()
	NewHTTP(HTTPConfig{Registry: reg})
	srv := httptest.NewServer(NewMetricsHandler(reg, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, name := range []string{
		"go_goroutines", "go_gc_heap_goal_bytes", "go_gc_heap_live_bytes", "go_sched_latencies_seconds_bucket",
		"go_sched_pauses_total_gc_seconds_bucket", "go_cpu_classes_gc_total_cpu_seconds_total",
		"go_sched_gomaxprocs_threads", "go_gc_gomemlimit_bytes", "process_resident_memory_bytes",
		"process_open_fds", "http_server_requests_in_flight",
	} {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for _, path := range []string{"/", "/debug/pprof/", "/debug/vars", "/metrics/x"} {
		if code, _ := get(path); code != http.StatusNotFound {
			t.Errorf("GET %s on the metrics handler = %d, want 404", path, code)
		}
	}
}

// BenchmarkMiddleware measures what the metrics (and the access log at its default) add to a
// request, beside the bare handler: compare the ns/op and allocs/op of the sub-benchmarks.
func BenchmarkMiddleware(b *testing.B) {
	mux := testMux(0)
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"metrics", NewHTTP(HTTPConfig{Registry: prometheus.NewRegistry()}).Middleware(mux)},
		{"metrics+log=errors", NewHTTP(HTTPConfig{
			Registry: prometheus.NewRegistry(), AccessLog: AccessLogErrors, SlowThreshold: time.Second,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		}).Middleware(mux)},
		{"metrics+log=all", NewHTTP(HTTPConfig{
			Registry: prometheus.NewRegistry(), AccessLog: AccessLogAll, SlowThreshold: time.Second,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		}).Middleware(mux)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/livez", http.NoBody)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark measures the
// middleware rather than httptest's recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
