package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLivez measures the baseline's handler chain for GET /livez, the same way the
// generated project's BenchmarkLivez measures its own (internal/server/handlers_bench_test.go):
// one request value reused, a ResponseWriter that keeps nothing, so allocs/op are the
// handler's own. Compare with `benchstat -col /server`.
func BenchmarkLivez(b *testing.B) {
	for _, c := range []struct {
		name    string
		bodyCap bool
	}{{"fair", true}, {"bare", false}} {
		b.Run("server="+c.name, func(b *testing.B) {
			benchmarkGet(b, newHandler(c.bodyCap), "/livez")
		})
	}
}

func benchmarkGet(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	w := &discardResponse{header: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		req.Body = http.NoBody
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("GET %s = %d", target, w.status)
		}
	}
}

// discardResponse is the cheapest http.ResponseWriter: it keeps the status and drops the body.
type discardResponse struct {
	header http.Header
	status int
}

func (d *discardResponse) Header() http.Header { return d.header }

func (d *discardResponse) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}

func (d *discardResponse) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(p), nil
}

// WriteString lets io.WriteString skip its []byte conversion, as net/http's own writer does.
func (d *discardResponse) WriteString(s string) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(s), nil
}
