package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// benchEvents is a POST /v1/events body of n small events, as a JSON array.
func benchEvents(n int) []byte {
	events := make([]string, n)
	for i := range events {
		events[i] = `{"kind":"click","payload":{"user":` + strconv.Itoa(i) + `,"page":"/home","ms":125}}`
	}
	return []byte("[" + strings.Join(events, ",") + "]")
}

// BenchmarkDecodeEvents parses and validates a body of 10 events: the CPU-bound part of
// POST /v1/events.
func BenchmarkDecodeEvents(b *testing.B) {
	body := benchEvents(10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEvents(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventsCreate stores 10 events per op and waits for their commit, one request at a
// time: the latency of one acknowledged write (the batch writer's delay plus one commit).
func BenchmarkEventsCreate(b *testing.B) {
	h := newBenchHandler(b, true, nil)
	benchmarkRoute(b, h, http.MethodPost, "/v1/events", benchEvents(10), http.StatusAccepted)
}

// BenchmarkEventsCount counts the stored events (an empty table: the query's fixed cost).
func BenchmarkEventsCount(b *testing.B) {
	h := newBenchHandler(b, true, nil)
	benchmarkRoute(b, h, http.MethodGet, "/v1/events/count", nil, http.StatusOK)
}
