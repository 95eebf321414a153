package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Handler benchmarks: one per route, each through NewHandler, so the middleware every request
// passes is measured with the handler. One request value is reused and the ResponseWriter
// keeps nothing, so allocs/op are the handler chain's own (the server's per-connection work is
// the same for every handler and is measured under load instead: BenchmarkLoad in cmd/).
// They are stubs to extend: give every route you add a benchmark beside it, then `make bench`
// and `make bench-gate` watch it.

func BenchmarkLivez(b *testing.B) {
	h := newBenchHandler(b, false, nil)
	benchmarkRoute(b, h, http.MethodGet, "/livez", nil, http.StatusOK)
}

// BenchmarkReadyz includes the readiness check's database ping when the service has a database.
func BenchmarkReadyz(b *testing.B) {
	h := newBenchHandler(b, true, nil)
	benchmarkRoute(b, h, http.MethodGet, "/readyz", nil, http.StatusOK)
}

// benchmarkRoute serves method target with body (nil: none) through h once per iteration and
// fails unless every answer has status want.
func benchmarkRoute(b *testing.B, h http.Handler, method, target string, body []byte, want int) {
	b.Helper()
	req := httptest.NewRequest(method, target, nil)
	w := &discardResponse{header: make(http.Header)}
	var reqBody benchBody
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		if body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			reqBody.Reset(body)
			req.Body, req.ContentLength = &reqBody, int64(len(body))
		}
		h.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("%s %s = %d, want %d", method, target, w.status, want)
		}
	}
}

// benchBody is a request body that can be rewound for the next iteration without allocating.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

// discardResponse is the cheapest http.ResponseWriter: it keeps the status and drops the body.
// httptest.ResponseRecorder would add its own allocations to every iteration.
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
