package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpProxy forwards loopback TCP connections to a PostgreSQL server and plays
// its outages: down (every connection closed, new ones refused, as while a
// server restarts) and black hole (connections accepted, bytes swallowed both
// ways, no answer ever, as when a host or a network path hangs).
type tcpProxy struct {
	addr, target string

	mu     sync.Mutex
	ln     net.Listener
	holed  bool
	closed bool
	pairs  map[*proxyPair]struct{}
	wg     sync.WaitGroup
}

// proxyPair is one client connection and, unless it was accepted during a
// black hole, its connection to the server.
type proxyPair struct {
	client, server net.Conn
	holed          atomic.Bool // saw the black hole: never forwards again
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, pairs: map[*proxyPair]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// serve accepts on ln until it is closed.
func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.start(c)
		}
	}()
}

// start forwards the new client connection c, or swallows it in a black hole.
func (p *tcpProxy) start(c net.Conn) {
	pair := &proxyPair{client: c}
	p.mu.Lock()
	holed, closed := p.holed, p.closed
	p.mu.Unlock()
	if !holed && !closed {
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			return
		}
		pair.server = s
	}
	pair.holed.Store(holed)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pair.closeBoth()
		return
	}
	p.pairs[pair] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pipe(pair, pair.client, pair.server)
	}()
	if pair.server != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(pair, pair.server, pair.client)
		}()
	}
}

// pipe copies src to dst until either fails, dropping everything once the
// pair has seen a black hole; then it closes the pair.
func (p *tcpProxy) pipe(pair *proxyPair, src, dst net.Conn) {
	defer func() {
		p.mu.Lock()
		delete(p.pairs, pair)
		p.mu.Unlock()
		pair.closeBoth()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pair.seesHole(p) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// seesHole reports whether pair must swallow its bytes.
func (pair *proxyPair) seesHole(p *tcpProxy) bool {
	if pair.holed.Load() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holed {
		pair.holed.Store(true)
	}
	return p.holed || pair.server == nil
}

func (pair *proxyPair) closeBoth() {
	_ = pair.client.Close()
	if pair.server != nil {
		_ = pair.server.Close()
	}
}

// down closes the listener and every connection, as a restarting server does.
func (p *tcpProxy) down() {
	p.mu.Lock()
	_ = p.ln.Close()
	for pair := range p.pairs {
		pair.closeBoth()
	}
	p.mu.Unlock()
}

// up listens again on the same address.
func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// blackHole stops forwarding: every connection, old and new, swallows what it
// receives and answers nothing.
func (p *tcpProxy) blackHole() {
	p.mu.Lock()
	p.holed = true
	p.mu.Unlock()
}

// restore forwards again. The connections that saw the black hole are closed:
// whatever they carried was lost.
func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.holed = false
	for pair := range p.pairs {
		if pair.holed.Load() || pair.server == nil {
			pair.closeBoth()
		}
	}
	p.mu.Unlock()
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	p.closed = true
	_ = p.ln.Close()
	for pair := range p.pairs {
		pair.closeBoth()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// throughProxy returns databaseURL with its host and port replaced by the
// proxy's.
func throughProxy(t *testing.T, databaseURL string) (*tcpProxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newTCPProxy(t, u.Host)
	u.Host = p.addr
	return p, u.String()
}

// TestPostgresRestartIsRiddenOut: while callers write with a 10 s deadline
// each, the server goes away for two seconds (connections closed, new ones
// refused) and comes back. No call fails: the writer retries until the server
// answers again; every acknowledged row is stored exactly once.
func TestPostgresRestartIsRiddenOut(t *testing.T) {
	direct := testSchemaURL(t)
	proxy, viaProxy := throughProxy(t, direct)
	db := openTestDBAt(t, viaProxy)
	check := openTestDBAt(t, direct)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)

	const writers = 8
	var acked, spanned atomic.Int64
	var epoch atomic.Int32 // 0 before the outage, 1 during, 2 after
	var stop atomic.Bool
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				began := epoch.Load()
				err := w.Write(ctx, events(1, fmt.Sprintf("w%d-%d", g, i)))
				cancel()
				if err != nil {
					errs <- err
					return
				}
				acked.Add(1)
				if began == 0 && epoch.Load() == 2 {
					spanned.Add(1) // waited through the whole outage
				}
			}
		}()
	}
	waitFor(func() bool { return acked.Load() >= 50 })
	epoch.Store(1)
	proxy.down()
	time.Sleep(2 * time.Second) // the outage
	epoch.Store(2)
	proxy.up(t)
	before := acked.Load()
	waitFor(func() bool { return acked.Load() >= before+50 || len(errs) > 0 })
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write during a two-second restart: %v", err)
	}
	if got, want := countEvents(t, check), acked.Load(); got != want {
		t.Fatalf("table holds %d rows, %d were acknowledged", got, want)
	}
	if spanned.Load() == 0 {
		t.Fatal("no call was in flight across the outage, so the outage was not tested")
	}
	t.Logf("%d calls waited through the outage; %+v", spanned.Load(), w.Stats())
}

// TestPostgresBlackHoleIsBoundedByTheDeadline: the server stops answering
// without closing anything. A caller with a 2 s deadline is answered by then
// (not stored, or outcome unknown), and nothing of it is in fact stored; the
// writer is not held past that deadline, so a caller with a 10 s deadline is
// served as soon as the server answers again.
func TestPostgresBlackHoleIsBoundedByTheDeadline(t *testing.T) {
	direct := testSchemaURL(t)
	proxy, viaProxy := throughProxy(t, direct)
	db := openTestDBAt(t, viaProxy)
	check := openTestDBAt(t, direct)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)
	if err := w.Write(context.Background(), events(1, "before")); err != nil {
		t.Fatal(err)
	}

	proxy.blackHole()
	start := time.Now()
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	shortErr := make(chan error, 1)
	go func() { shortErr <- w.Write(short, events(3, "short")) }()
	long, cancelLong := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelLong()
	longErr := make(chan error, 1)
	go func() { longErr <- w.Write(long, events(1, "long")) }()

	err := <-shortErr
	elapsed := time.Since(start)
	// ErrUnavailable if the black hole swallowed the attempt before COMMIT
	// was sent; ErrOutcomeUnknown if it swallowed the round trip carrying
	// COMMIT (the usual case, since a busy writer sends a batch's rows and its
	// COMMIT together), as the server cannot be asked. Either is a 503.
	if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Write during a black hole = %v, want ErrUnavailable or ErrOutcomeUnknown at its deadline", err)
	}
	// Its deadline, plus slack for a machine busy with other work: the
	// point is that the answer does not wait for the database.
	if elapsed > 5*time.Second {
		t.Fatalf("Write with a 2s deadline returned after %v", elapsed)
	}
	proxy.restore()
	if err := <-longErr; err != nil {
		t.Fatalf("Write with a 10s deadline, black hole over after about 2s = %v, want nil", err)
	}
	if got := countEvents(t, check); got != 2 {
		t.Fatalf("table holds %d rows, want 2 (before and long; nothing of the expired call)", got)
	}
}
