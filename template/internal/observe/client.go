package observe

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxClientHosts bounds the host label of the outbound metrics: calls to further hosts are
// counted under "other", so a client pointed at arbitrary URLs cannot grow the series.
const maxClientHosts = 32

// otherHost is the host label once maxClientHosts hosts have been seen.
const otherHost = "other"

// Client measures an outbound HTTP client: requests by upstream host and outcome, their
// latency by host, and the client's open connections.
type Client struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	open     atomic.Int64
	dials    prometheus.Counter

	hosts atomic.Pointer[map[string]*hostMetrics]
	mu    sync.Mutex // serialises additions to hosts
}

type hostMetrics struct {
	outcomes [len(classes) + 1]prometheus.Counter // the status classes, then "error"
	duration prometheus.Observer
}

// NewClient creates the client metrics and registers them on reg (nil: not exported).
func NewClient(reg prometheus.Registerer) *Client {
	c := &Client{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_client_requests_total",
			Help: "Outbound requests by upstream host and outcome (status class, or error when no response came).",
		}, []string{"host", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "http_client_request_duration_seconds",
			Help:                            "Time from sending an outbound request to its response headers (or its failure), by upstream host.",
			Buckets:                         latencyBuckets(maxClientDuration),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"host"}),
		dials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "http_client_dials_total",
			Help: "Connections the outbound client opened; a rate close to the request rate means connections are not reused.",
		}),
	}
	empty := map[string]*hostMetrics{}
	c.hosts.Store(&empty)
	if reg != nil {
		reg.MustRegister(c.requests, c.duration, c.dials, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "http_client_connections_open",
			Help: "Connections of the outbound client that are open now, idle or in use.",
		}, func() float64 { return float64(c.open.Load()) }))
	}
	return c
}

// host returns the metrics of an upstream host, creating them the first time the host is seen,
// or those of "other" once maxClientHosts hosts have their own. The bound is decided under the
// mutex, on the map that the addition replaces: deciding it on the lock-free snapshot let
// callers that raced past a nearly full map each add their host.
func (c *Client) host(host string) *hostMetrics {
	hosts := *c.hosts.Load()
	if hm, ok := hosts[host]; ok {
		return hm
	}
	if hm, ok := hosts[otherHost]; ok && len(hosts) > maxClientHosts {
		return hm // full: the fast path of every further host
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.hosts.Load()
	if hm, ok := old[host]; ok {
		return hm
	}
	if len(old) >= maxClientHosts {
		host = otherHost
		if hm, ok := old[host]; ok {
			return hm
		}
	}
	hm := &hostMetrics{duration: c.duration.WithLabelValues(host)}
	for i, class := range classes {
		hm.outcomes[i] = c.requests.WithLabelValues(host, class)
	}
	hm.outcomes[len(classes)] = c.requests.WithLabelValues(host, "error")
	next := make(map[string]*hostMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[host] = hm
	c.hosts.Store(&next)
	return hm
}

// RoundTripper measures every request next sends.
func (c *Client) RoundTripper(next http.RoundTripper) http.RoundTripper {
	return roundTripper{next: next, c: c}
}

type roundTripper struct {
	next http.RoundTripper
	c    *Client
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := rt.next.RoundTrip(req)
	hm := rt.c.host(req.URL.Host)
	hm.duration.Observe(time.Since(start).Seconds())
	outcome := len(classes) // error
	if err == nil {
		if class := resp.StatusCode/100 - 1; class >= 0 && class < len(classes) {
			outcome = class
		}
	}
	hm.outcomes[outcome].Inc()
	return resp, err
}

// DialContext is the signature of net.Dialer.DialContext and http.Transport.DialContext.
type DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

// CountConnections wraps a transport's dial function so that the connections it opens are
// counted until they are closed.
func (c *Client) CountConnections(dial DialContext) DialContext {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.dials.Inc()
		c.open.Add(1)
		return &countedConn{Conn: conn, open: &c.open}, nil
	}
}

// countedConn decrements the open-connection count once, on its first Close.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (cc *countedConn) Close() error {
	if cc.closed.CompareAndSwap(false, true) {
		cc.open.Add(-1)
	}
	return cc.Conn.Close()
}
