// Package httpclient builds the outbound HTTP client of the service: the
// standard transport with its connection pool sized for concurrent calls to
// a few hosts, and timeouts on every phase of a request.
//
// http.DefaultClient has no timeout at all, and http.DefaultTransport keeps
// only two idle connections per host: a service with more than two
// concurrent calls to one backend closes and re-dials (and, over TLS,
// re-handshakes) a connection for nearly every call. New fixes both, and
// changes nothing else: it starts from a clone of http.DefaultTransport, so
// proxy settings from the environment and HTTP/2 keep working.
//
// Always finish with a response body through DrainAndClose: the transport
// reuses a connection only once its body has been read to the end. Calling
// it from a deferred closure also satisfies the bodyclose linter:
//
//	resp, err := client.Do(req)
//	if err != nil {
//		return err
//	}
//	defer func() { _ = httpclient.DrainAndClose(resp.Body) }()
package httpclient

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// Defaults applied by New to zero Config fields, and the settings that are
// not in Config. To change one of those, set it on the *http.Transport of
// the returned client before its first request.
const (
	// DefaultMaxConnsPerHost caps connections to one host (the standard
	// default is no cap). A cap turns a traffic spike into queueing in
	// the client instead of a flood of new connections at the backend.
	DefaultMaxConnsPerHost = 64

	// DefaultTimeout bounds a whole exchange, body included (the standard
	// default is none: a server that stops sending holds the goroutine
	// and the connection forever).
	DefaultTimeout = 30 * time.Second

	// DefaultDialTimeout bounds establishing a TCP connection (the
	// standard transport allows 30s). Within one data centre a connect
	// either succeeds in milliseconds or the host is gone; failing fast
	// leaves the caller time to retry elsewhere.
	DefaultDialTimeout = 5 * time.Second

	// KeepAlive is the TCP keep-alive probe interval, the same as the
	// standard transport's 30s (a bare net.Dialer uses 15s). It finds
	// pooled connections that died silently, such as ones a NAT dropped.
	KeepAlive = 30 * time.Second

	// DefaultTLSHandshakeTimeout bounds the TLS handshake (standard: 10s).
	// A handshake takes a few round trips; one that needs seconds is
	// stuck, and waiting longer only ties up a connection slot.
	DefaultTLSHandshakeTimeout = 5 * time.Second

	// DefaultResponseHeaderTimeout bounds the wait for response headers
	// after the request is written (standard: none). It catches a backend
	// that accepted the connection but hangs, long before DefaultTimeout.
	DefaultResponseHeaderTimeout = 10 * time.Second

	// DefaultIdleConnTimeout closes a pooled connection left idle this
	// long (standard: 90s). Load balancers commonly drop idle connections
	// after 60s; closing ours first avoids sending a request on a
	// connection the other side is closing.
	DefaultIdleConnTimeout = 55 * time.Second

	// ExpectContinueTimeout is how long a request with
	// "Expect: 100-continue" waits for the server's go-ahead before
	// sending its body anyway: the standard transport's 1s, set
	// explicitly because a bare Transport would send the body at once.
	ExpectContinueTimeout = time.Second

	// MaxDrain is the most DrainAndClose reads from a body before closing
	// it. Reading a short remainder saves the connection; a long one
	// costs more to read than a new connection (or TLS handshake) does.
	MaxDrain = 64 << 10
)

// Config tunes New. Zero fields take the defaults above; a negative value
// turns that limit off (net/http's zero), except where a field says
// otherwise.
type Config struct {
	// Timeout bounds a whole request, reading the body included
	// (http.Client.Timeout). See DefaultTimeout. A per-request context
	// deadline can only shorten it.
	Timeout time.Duration

	// DialTimeout bounds connecting (net.Dialer.Timeout). See
	// DefaultDialTimeout.
	DialTimeout time.Duration

	// TLSHandshakeTimeout, ResponseHeaderTimeout and IdleConnTimeout set
	// the http.Transport fields of the same name. See the Default
	// constants.
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	IdleConnTimeout       time.Duration

	// MaxConnsPerHost caps connections per host, counting those in use,
	// being dialled and idle. See DefaultMaxConnsPerHost.
	MaxConnsPerHost int

	// MaxIdleConnsPerHost is how many idle connections per host are kept
	// for reuse. Zero or less means MaxConnsPerHost (DefaultMaxConnsPerHost
	// if that is unlimited). The standard default of 2 makes a client with
	// more than two concurrent requests to a host close the extra
	// connections as each response completes and dial them again for the
	// next requests.
	MaxIdleConnsPerHost int

	// MaxIdleConns caps idle connections over all hosts. Zero means four
	// hosts' worth (4 × MaxIdleConnsPerHost); the standard default of 100
	// would cap the pool below two hosts' worth at the per-host default.
	MaxIdleConns int

	// TLSClientConfig, if set, is cloned into the transport (for private
	// CAs or client certificates). Nil keeps the standard TLS settings.
	TLSClientConfig *tls.Config
}

// New returns a client with a tuned transport. Each call builds a new
// transport with its own connection pool, so create one client per process
// (or per backend) and share it: http.Client is safe for concurrent use.
func New(cfg Config) *http.Client {
	cfg = withDefaults(cfg)
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: KeepAlive}

	var t *http.Transport
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		t = def.Clone() // proxy from environment, HTTP/2, sane buffer sizes
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t.DialContext = dialer.DialContext
	// A custom DialContext turns off the transport's automatic HTTP/2;
	// ForceAttemptHTTP2 (already true on the default transport) turns it
	// back on.
	t.ForceAttemptHTTP2 = true
	t.MaxConnsPerHost = cfg.MaxConnsPerHost
	t.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	t.MaxIdleConns = cfg.MaxIdleConns
	t.TLSHandshakeTimeout = cfg.TLSHandshakeTimeout
	t.ResponseHeaderTimeout = cfg.ResponseHeaderTimeout
	t.IdleConnTimeout = cfg.IdleConnTimeout
	t.ExpectContinueTimeout = ExpectContinueTimeout
	if cfg.TLSClientConfig != nil {
		t.TLSClientConfig = cfg.TLSClientConfig.Clone()
	}
	return &http.Client{Transport: t, Timeout: cfg.Timeout}
}

func withDefaults(c Config) Config {
	c.Timeout = orDefault(c.Timeout, DefaultTimeout)
	c.DialTimeout = orDefault(c.DialTimeout, DefaultDialTimeout)
	c.TLSHandshakeTimeout = orDefault(c.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	c.ResponseHeaderTimeout = orDefault(c.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	c.IdleConnTimeout = orDefault(c.IdleConnTimeout, DefaultIdleConnTimeout)
	c.MaxConnsPerHost = orDefault(c.MaxConnsPerHost, DefaultMaxConnsPerHost)
	if c.MaxIdleConnsPerHost <= 0 {
		// net/http reads 0 as its default of 2, so there is no "off" here.
		c.MaxIdleConnsPerHost = c.MaxConnsPerHost
		if c.MaxIdleConnsPerHost == 0 {
			c.MaxIdleConnsPerHost = DefaultMaxConnsPerHost
		}
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = 4 * c.MaxIdleConnsPerHost
	}
	c.MaxIdleConns = max(c.MaxIdleConns, 0)
	return c
}

// orDefault maps a Config value to its transport value: zero takes def, a
// negative value becomes net/http's 0 ("no limit"), others pass through.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// DrainAndClose reads what is left of body, up to MaxDrain bytes, and
// closes it. Closing a body before its end makes the transport discard the
// connection (Go does not drain on Close), so the next request pays for a
// new dial and, over TLS, a new handshake. A body longer than MaxDrain is
// closed without reading the rest: that connection is given up on purpose.
// The error is from reading or closing; the response itself was received.
func DrainAndClose(body io.ReadCloser) error {
	if body == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, io.LimitReader(body, MaxDrain))
	return errors.Join(err, body.Close())
}
