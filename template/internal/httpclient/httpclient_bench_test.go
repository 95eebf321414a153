package httpclient

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// BenchmarkConcurrentRequests sends 64 concurrent GETs per op to one local
// server, through the tuned client and through a clone of the standard
// transport, and reports requests per second and connections opened.
func BenchmarkConcurrentRequests(b *testing.B) {
	const concurrency = 64
	body := strings.Repeat("x", 2048)
	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		b.Fatalf("http.DefaultTransport is %T", http.DefaultTransport)
	}
	clients := []struct {
		name   string
		client func() *http.Client
	}{
		{"tuned", func() *http.Client { return New(Config{MaxConnsPerHost: concurrency}) }},
		{"standard", func() *http.Client { return &http.Client{Transport: def.Clone()} }},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			srv, conns := countingServer(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, body)
			}))
			client := c.client()
			defer client.CloseIdleConnections()
			ctx := context.Background()

			// Long-lived senders, each told per op to send one request.
			starts := make([]chan struct{}, concurrency)
			var sent, owners sync.WaitGroup
			for i := range starts {
				starts[i] = make(chan struct{})
				owners.Add(1)
				go func(start <-chan struct{}) {
					defer owners.Done()
					for range start {
						if err := get(ctx, client, srv.URL, DrainAndClose); err != nil {
							b.Error(err)
						}
						sent.Done()
					}
				}(starts[i])
			}

			b.ReportAllocs()
			for b.Loop() {
				sent.Add(concurrency)
				for _, start := range starts {
					start <- struct{}{}
				}
				sent.Wait()
			}
			b.ReportMetric(float64(b.N*concurrency)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(conns.Load())/float64(b.N), "conns/op")

			for _, start := range starts {
				close(start)
			}
			owners.Wait()
		})
	}
}

// BenchmarkDrainAndClose measures draining a short remainder of a body.
func BenchmarkDrainAndClose(b *testing.B) {
	const remainder = 4 << 10
	data := strings.Repeat("z", remainder)
	r := strings.NewReader(data)
	body := io.NopCloser(r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		if err := DrainAndClose(body); err != nil {
			b.Fatal(err)
		}
	}
}
