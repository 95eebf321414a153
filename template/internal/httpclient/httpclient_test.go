package httpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func transportOf(t *testing.T, c *http.Client) *http.Transport {
	t.Helper()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("client transport is %T, want *http.Transport", c.Transport)
	}
	return tr
}

func TestNewAppliesDefaults(t *testing.T) {
	c := New(Config{})
	tr := transportOf(t, c)
	defer tr.CloseIdleConnections()

	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", c.Timeout, DefaultTimeout)
	}
	ints := []struct {
		name      string
		got, want int
	}{
		{"MaxConnsPerHost", tr.MaxConnsPerHost, DefaultMaxConnsPerHost},
		{"MaxIdleConnsPerHost", tr.MaxIdleConnsPerHost, DefaultMaxConnsPerHost},
		{"MaxIdleConns", tr.MaxIdleConns, 4 * DefaultMaxConnsPerHost},
	}
	for _, f := range ints {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	durations := []struct {
		name      string
		got, want time.Duration
	}{
		{"TLSHandshakeTimeout", tr.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout},
		{"ResponseHeaderTimeout", tr.ResponseHeaderTimeout, DefaultResponseHeaderTimeout},
		{"IdleConnTimeout", tr.IdleConnTimeout, DefaultIdleConnTimeout},
		{"ExpectContinueTimeout", tr.ExpectContinueTimeout, ExpectContinueTimeout},
	}
	for _, f := range durations {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if !tr.ForceAttemptHTTP2 {
		t.Error("ForceAttemptHTTP2 is off: HTTP/2 would be lost with the custom dialer")
	}
	if tr.Proxy == nil {
		t.Error("Proxy is nil: the clone should keep ProxyFromEnvironment")
	}
	if tr.DialContext == nil {
		t.Error("DialContext is nil: the dial timeout is not applied")
	}
}

func TestNewHonoursConfig(t *testing.T) {
	c := New(Config{
		Timeout:               -1, // off
		MaxConnsPerHost:       8,
		MaxIdleConns:          -1, // off
		ResponseHeaderTimeout: 2 * time.Second,
		IdleConnTimeout:       -1, // off
	})
	tr := transportOf(t, c)
	defer tr.CloseIdleConnections()
	if c.Timeout != 0 {
		t.Errorf("Timeout = %v, want 0 (no limit)", c.Timeout)
	}
	if tr.MaxConnsPerHost != 8 || tr.MaxIdleConnsPerHost != 8 {
		t.Errorf("MaxConnsPerHost, MaxIdleConnsPerHost = %d, %d; want 8, 8", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	}
	if tr.MaxIdleConns != 0 || tr.IdleConnTimeout != 0 {
		t.Errorf("MaxIdleConns, IdleConnTimeout = %d, %v; want 0, 0 (no limit)", tr.MaxIdleConns, tr.IdleConnTimeout)
	}
	if tr.ResponseHeaderTimeout != 2*time.Second {
		t.Errorf("ResponseHeaderTimeout = %v, want 2s", tr.ResponseHeaderTimeout)
	}
}

func TestNewClonesTLSConfig(t *testing.T) {
	cfg := &tls.Config{ServerName: "backend.internal", MinVersion: tls.VersionTLS12}
	c := New(Config{TLSClientConfig: cfg})
	tr := transportOf(t, c)
	defer tr.CloseIdleConnections()
	cfg.ServerName = "changed"
	if tr.TLSClientConfig == cfg || tr.TLSClientConfig.ServerName != "backend.internal" {
		t.Errorf("transport shares the caller's tls.Config; want a clone")
	}
}

// countingServer starts a server that counts the connections it accepts.
func countingServer(tb testing.TB, h http.Handler) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, &conns
}

// barrier holds each request until size requests are waiting, then lets
// them all go, so every round really has size requests in flight at once.
type barrier struct {
	mu      sync.Mutex
	size    int
	waiting int
	release chan struct{}
}

func newBarrier(size int) *barrier {
	return &barrier{size: size, release: make(chan struct{})}
}

func (b *barrier) wait(ctx context.Context) {
	b.mu.Lock()
	release := b.release
	b.waiting++
	if b.waiting == b.size {
		close(b.release)
		b.release = make(chan struct{})
		b.waiting = 0
	}
	b.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
	}
}

// get sends one GET and finishes the body with finish.
func get(ctx context.Context, c *http.Client, url string, finish func(io.ReadCloser) error) (err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, finish(resp.Body)) }()
	if resp.StatusCode != http.StatusOK {
		return errors.New("status " + resp.Status)
	}
	return nil
}

// TestTunedClientReusesConnections sends 20 rounds of 64 concurrent
// requests. The tuned client keeps its connections between rounds and so
// never opens more than its per-host limit; the standard transport keeps
// only two idle connections per host and re-dials the rest every round.
func TestTunedClientReusesConnections(t *testing.T) {
	const concurrency, rounds = 64, 20
	run := func(t *testing.T, c *http.Client) int64 {
		b := newBarrier(concurrency)
		srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.wait(r.Context())
			_, _ = io.WriteString(w, strings.Repeat("x", 2048))
		}))
		ctx := context.Background()
		for range rounds {
			var wg sync.WaitGroup
			for range concurrency {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := get(ctx, c, srv.URL, DrainAndClose); err != nil {
						t.Errorf("GET: %v", err)
					}
				}()
			}
			wg.Wait()
		}
		c.CloseIdleConnections()
		return conns.Load()
	}

	tuned := run(t, New(Config{MaxConnsPerHost: concurrency}))
	def, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t.Fatalf("http.DefaultTransport is %T", http.DefaultTransport)
	}
	standard := run(t, &http.Client{Transport: def.Clone()})
	t.Logf("connections opened for %d requests: tuned %d, standard transport %d", concurrency*rounds, tuned, standard)

	if tuned > concurrency {
		t.Errorf("tuned client opened %d connections, more than its per-host limit of %d", tuned, concurrency)
	}
	if standard <= tuned {
		t.Errorf("standard transport opened %d connections, tuned %d: expected the standard one to open more", standard, tuned)
	}
}

// TestDrainAndCloseKeepsTheConnection reads no body at all and checks that
// DrainAndClose still lets the next request reuse the connection, while a
// bare Close costs one connection per request.
func TestDrainAndCloseKeepsTheConnection(t *testing.T) {
	const requests = 5
	body := strings.Repeat("y", 16<<10)
	run := func(finish func(io.ReadCloser) error) int64 {
		srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, body)
		}))
		c := New(Config{})
		defer c.CloseIdleConnections()
		for range requests {
			if err := get(context.Background(), c, srv.URL, finish); err != nil {
				t.Fatal(err)
			}
		}
		return conns.Load()
	}
	if got := run(DrainAndClose); got != 1 {
		t.Errorf("DrainAndClose: %d requests opened %d connections, want 1", requests, got)
	}
	if got := run(io.ReadCloser.Close); got != requests {
		t.Errorf("bare Close: %d requests opened %d connections, want %d (one each)", requests, got, requests)
	}
}

// endlessBody is a body that never ends and records what was read.
type endlessBody struct {
	read   int64
	closed bool
}

func (b *endlessBody) Read(p []byte) (int, error) {
	b.read += int64(len(p))
	return len(p), nil
}

func (b *endlessBody) Close() error {
	b.closed = true
	return nil
}

func TestDrainAndCloseStopsAtMaxDrain(t *testing.T) {
	b := &endlessBody{}
	if err := DrainAndClose(b); err != nil {
		t.Fatalf("DrainAndClose = %v", err)
	}
	if b.read != MaxDrain || !b.closed {
		t.Errorf("read %d bytes, closed=%v; want %d bytes and closed", b.read, b.closed, MaxDrain)
	}
}

type failingBody struct{ readErr, closeErr error }

func (b failingBody) Read([]byte) (int, error) { return 0, b.readErr }
func (b failingBody) Close() error             { return b.closeErr }

func TestDrainAndCloseReportsErrors(t *testing.T) {
	errRead, errClose := errors.New("read"), errors.New("close")
	err := DrainAndClose(failingBody{readErr: errRead, closeErr: errClose})
	if !errors.Is(err, errRead) || !errors.Is(err, errClose) {
		t.Errorf("DrainAndClose = %v, want both the read and the close error", err)
	}
	if err := DrainAndClose(failingBody{readErr: io.EOF}); err != nil {
		t.Errorf("DrainAndClose at EOF = %v, want nil", err)
	}
	if err := DrainAndClose(nil); err != nil {
		t.Errorf("DrainAndClose(nil) = %v, want nil", err)
	}
}
