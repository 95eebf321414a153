package debug

import (
	"encoding/json"
	"expvar"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestVarsServesOwnMapAndStandardEntries(t *testing.T) {
	vars := new(expvar.Map).Init()
	vars.Set("gomaxprocs", expvar.Func(func() any { return 3 }))
	rec := httptest.NewRecorder()
	NewHandler(vars, []string{"svc"}, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/vars", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if string(doc["gomaxprocs"]) != "3" {
		t.Errorf("gomaxprocs = %s", doc["gomaxprocs"])
	}
	for _, key := range []string{"cmdline", "runtime_metrics"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("missing %q", key)
		}
	}
	if _, ok := doc["memstats"]; ok {
		t.Error(`"memstats" is served: runtime.ReadMemStats stops the world; runtime_metrics replaces it`)
	}
	var rm map[string]any
	if err := json.Unmarshal(doc["runtime_metrics"], &rm); err != nil {
		t.Fatalf("runtime_metrics: %v", err)
	}
	for _, key := range []string{"gc_heap_goal_bytes", "sched_goroutines_goroutines", "gc_gomemlimit_bytes"} {
		if _, ok := rm[key]; !ok {
			t.Errorf("runtime_metrics has no %q", key)
		}
	}
	if lat, ok := rm["sched_latencies_seconds"].(map[string]any); !ok || lat["count"] == nil || lat["p99"] == nil {
		t.Errorf("sched_latencies_seconds = %v, want a histogram summary", rm["sched_latencies_seconds"])
	}
}

func TestRuntimeMetricNamesAreSnakeCase(t *testing.T) {
	for name := range RuntimeMetrics() {
		for i, r := range name {
			ok := r == '_' && i > 0 || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && i > 0
			if !ok {
				t.Fatalf("runtime metric key %q is not snake_case", name)
			}
		}
	}
	for in, want := range map[string]string{
		"/gc/heap/goal:bytes":                       "gc_heap_goal_bytes",
		"/cpu/classes/gc/mark/assist:cpu-seconds":   "cpu_classes_gc_mark_assist_cpu_seconds",
		"/godebug/non-default-behavior/x509:events": "godebug_non_default_behavior_x509_events",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlightRecorderRoute(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler(new(expvar.Map).Init(), nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "FLIGHT_RECORDER=off") {
		t.Errorf("without a recorder: %d %q; want 404 saying it is off", rec.Code, rec.Body)
	}
	snapshot := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "trace") })
	rec = httptest.NewRecorder()
	NewHandler(new(expvar.Map).Init(), nil, snapshot).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "trace" {
		t.Errorf("with a recorder: %d %q; want its snapshot", rec.Code, rec.Body)
	}
	// Arming (POST) and disarming (DELETE) reach the recorder's handler too; nothing else does.
	flight := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Method+" "+r.URL.RawQuery) })
	mux := NewHandler(new(expvar.Map).Init(), nil, flight)
	for target, want := range map[string]string{
		http.MethodPost + " /debug/flightrecorder?for=2m": "POST for=2m",
		http.MethodDelete + " /debug/flightrecorder":      "DELETE ",
	} {
		method, path, _ := strings.Cut(target, " ")
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Errorf("%s = %d %q; want the recorder's handler", target, rec.Code, rec.Body)
		}
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /debug/flightrecorder = %d, want 405", rec.Code)
	}
}

func TestPprofEndpoints(t *testing.T) {
	srv := httptest.NewServer(NewHandler(new(expvar.Map).Init(), []string{"svc"}, nil))
	defer srv.Close()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
		if path == "/debug/pprof/" && !strings.Contains(string(body), "goroutine") {
			t.Errorf("index does not list profiles")
		}
	}
}

func TestProfileDurationIsCapped(t *testing.T) {
	srv := httptest.NewServer(NewHandler(new(expvar.Map).Init(), []string{"svc"}, nil))
	defer srv.Close()
	for _, path := range []string{"/debug/pprof/profile?seconds=600", "/debug/pprof/trace?seconds=121", "/debug/pprof/heap?seconds=3600", "/debug/pprof/profile?seconds=-1", "/debug/pprof/profile?seconds=x"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %d; want 400 (over MaxProfileDuration or malformed)", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("a 1 s CPU profile = %d with %d bytes; want 200 and a profile", resp.StatusCode, len(body))
	}
}

func TestCommandLineIsServedRedacted(t *testing.T) {
	args := []string{"svc", "-database-url=postgres://app:s3cret@db:5432/app?sslmode=require", "-database-url",
		"postgresql://app:p%40ss@db/app", "-log-level=debug"}
	srv := httptest.NewServer(NewHandler(new(expvar.Map).Init(), args, nil))
	defer srv.Close()
	for _, path := range []string{"/debug/vars", "/debug/pprof/cmdline"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, secret := range []string{"s3cret", "p%40ss", "p@ss"} {
			if strings.Contains(string(body), secret) {
				t.Errorf("%s reveals the password %q: %s", path, secret, body)
			}
		}
		for _, kept := range []string{"app:xxxxx@db:5432/app", "-log-level=debug"} {
			if !strings.Contains(string(body), kept) {
				t.Errorf("%s lost %q: %s", path, kept, body)
			}
		}
	}
}

func TestRedactArgs(t *testing.T) {
	for in, want := range map[string]string{
		"-database-url=postgres://u:pw@h/db":               "-database-url=postgres://u:xxxxx@h/db",
		"postgres://u:pw@h/db":                             "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?sslmode=disable&password=pw":    "postgres://u@h/db?sslmode=disable&password=xxxxx",
		"-database-url=host=h user=u password=pw dbname=d": "-database-url=host=h user=u password=xxxxx dbname=d",
		"postgres://u:pw@h:port/db":                        "postgres://xxxxx",
		"file:data/app.db?_pragma=busy_timeout(5000)":      "file:data/app.db?_pragma=busy_timeout(5000)",
		"-http-addr=:8080":                                 "-http-addr=:8080",
		"-token=abc":                                       "-token=xxxxx",
	} {
		if got := RedactArgs([]string{in})[0]; got != want {
			t.Errorf("RedactArgs(%q) = %q, want %q", in, got, want)
		}
	}
}
