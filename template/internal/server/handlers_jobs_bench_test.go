package server

import (
	"net/http"
	"testing"
)

// BenchmarkJobsCreate queues a zero-length demo job per op: decoding, the pool's TrySubmit and
// the 202 answer.
func BenchmarkJobsCreate(b *testing.B) {
	h := newBenchHandler(b, false, nil)
	benchmarkRoute(b, h, http.MethodPost, "/v1/jobs", []byte(`{"duration_ms":0}`), http.StatusAccepted)
}
