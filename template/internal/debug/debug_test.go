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
	NewHandler(vars).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/vars", nil))
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
	for _, key := range []string{"cmdline", "memstats"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("missing %q", key)
		}
	}
}

func TestPprofEndpoints(t *testing.T) {
	srv := httptest.NewServer(NewHandler(new(expvar.Map).Init()))
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
	srv := httptest.NewServer(NewHandler(new(expvar.Map).Init()))
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
