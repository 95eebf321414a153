package concurrency

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"goperf-scaffold/bench/concurrency/internal/httpclient"
)

// concurrency is the number of requests in flight in each op of
// BenchmarkHTTPClient, and the tuned client's per-host connection limit.
const concurrency = 64

// BenchmarkHTTPClient sends 64 concurrent GETs per op to one TLS server
// through the tuned client, through a clone of http.DefaultTransport with
// MaxIdleConnsPerHost raised to 64 (the fair baseline: the one setting a
// competent engineer changes first), and through an untouched clone (the
// naive baseline, which keeps only 2 idle connections per host). All trust
// the server through the same TLS config and finish every body with
// DrainAndClose. It reports requests per second, and the connections the
// server accepted per op and over the whole run.
func BenchmarkHTTPClient(b *testing.B) {
	payload := strings.Repeat("x", 2048)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, payload)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	// The standard transport closes surplus connections, some while the
	// server is still in the handshake; keep those log lines out of the
	// benchmark output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	serverTransport, ok := srv.Client().Transport.(*http.Transport)
	if !ok {
		b.Fatalf("httptest client transport is %T", srv.Client().Transport)
	}
	tlsConfig := serverTransport.TLSClientConfig // trusts the server's certificate

	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		b.Fatalf("http.DefaultTransport is %T", http.DefaultTransport)
	}
	clients := []struct {
		name string
		new  func() *http.Client
	}{
		{"tuned", func() *http.Client {
			return httpclient.New(httpclient.Config{MaxConnsPerHost: concurrency, TLSClientConfig: tlsConfig})
		}},
		{"standard-idle64", func() *http.Client {
			t := def.Clone()
			t.TLSClientConfig = tlsConfig.Clone()
			t.MaxIdleConnsPerHost = concurrency
			return &http.Client{Transport: t}
		}},
		{"standard", func() *http.Client {
			t := def.Clone()
			t.TLSClientConfig = tlsConfig.Clone()
			return &http.Client{Transport: t}
		}},
	}
	for _, c := range clients {
		b.Run("client="+c.name, func(b *testing.B) {
			client := c.new()
			defer client.CloseIdleConnections()
			conns.Store(0)
			runRequests(b, client, srv.URL)
			b.ReportMetric(float64(b.N*concurrency)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(conns.Load())/float64(b.N), "conns/op")
			b.ReportMetric(float64(conns.Load()), "conns/run")
		})
	}
}

// runRequests drives the b.Loop: per op, each of the long-lived senders
// sends one request, and the op ends when all have their responses.
func runRequests(b *testing.B, client *http.Client, url string) {
	ctx := context.Background()
	starts := make([]chan struct{}, concurrency)
	var sent, owners sync.WaitGroup
	for i := range starts {
		starts[i] = make(chan struct{})
		owners.Add(1)
		go func(start <-chan struct{}) {
			defer owners.Done()
			for range start {
				if err := get(ctx, client, url); err != nil {
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
	for _, start := range starts {
		close(start)
	}
	owners.Wait()
}

func get(ctx context.Context, c *http.Client, url string) (err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, httpclient.DrainAndClose(resp.Body)) }()
	if resp.StatusCode != http.StatusOK {
		return errors.New("status " + resp.Status)
	}
	return nil
}
