package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkFanout calls four loopback upstreams per op through the tuned client, as
// GET /v1/fanout does in production: the fan-out, four round trips and the JSON answer.
func BenchmarkFanout(b *testing.B) {
	upstreams := make([]string, 4)
	for i := range upstreams {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}))
		b.Cleanup(srv.Close)
		upstreams[i] = srv.URL
	}
	h := newBenchHandler(b, false, func(d *Deps) {
		d.Upstreams = upstreams
		d.FanoutTimeout = 5 * time.Second
		d.FanoutLimit = len(upstreams)
	})
	benchmarkRoute(b, h, http.MethodGet, "/v1/fanout", nil, http.StatusOK)
}
