package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPoolCollectorReadsStatsAtScrape(t *testing.T) {
	stats := PoolStats{Submitted: 10, Completed: 7, Rejected: 3, Panicked: 1, Queued: 2, Running: 1}
	p := NewPool(func() PoolStats { return stats })
	p.ObserveTask(5 * time.Millisecond)
	p.ObserveTask(50 * time.Millisecond)
	want := `
# HELP workerpool_tasks_queued Accepted tasks waiting for a worker.
# TYPE workerpool_tasks_queued gauge
workerpool_tasks_queued 2
# HELP workerpool_tasks_rejected_total Submissions refused because the queue was full or the pool closing (each is a 503).
# TYPE workerpool_tasks_rejected_total counter
workerpool_tasks_rejected_total 3
`
	if err := testutil.CollectAndCompare(p, strings.NewReader(want), "workerpool_tasks_queued", "workerpool_tasks_rejected_total"); err != nil {
		t.Error(err)
	}
	stats.Rejected = 5 // a later scrape sees the pool as it is then
	if err := testutil.CollectAndCompare(p, strings.NewReader(strings.ReplaceAll(want, "total 3", "total 5")), "workerpool_tasks_queued", "workerpool_tasks_rejected_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(p, "workerpool_task_duration_seconds"); n != 1 {
		t.Errorf("task duration histograms = %d, want 1", n)
	}
	if err := prometheus.NewPedanticRegistry().Register(p); err != nil {
		t.Errorf("the pool collector is not a valid collector: %v", err)
	}
}

func TestBatchCollectorReadsStatsAndObservesCommits(t *testing.T) {
	b := NewBatches(func() BatchStats {
		return BatchStats{
			Batches: 4, Rows: 40, Retries: 1, Failures: 2, Rejected: 3, Pending: 5,
			Expired: 6, Abandoned: 7, Refused: 8, Unknown: 9, PendingBytes: 1024,
		}
	})
	b.ObserveBatch(10, 2*time.Millisecond, nil)
	b.ObserveBatch(30, 3*time.Millisecond, nil)
	b.ObserveBatch(30, time.Second, errors.New("disk full"))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(b)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		m := f.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			got[f.GetName()] = m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			got[f.GetName()] = m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			got[f.GetName()] = float64(m.GetHistogram().GetSampleCount())
		}
	}
	want := map[string]float64{
		"batchwriter_batches_total": 4, "batchwriter_rows_total": 40, "batchwriter_retries_total": 1,
		"batchwriter_failures_total": 2, "batchwriter_rejected_total": 3, "batchwriter_pending_rows": 5,
		"batchwriter_expired_total": 6, "batchwriter_abandoned_total": 7, "batchwriter_refused_total": 8,
		"batchwriter_outcome_unknown_total": 9, "batchwriter_pending_bytes": 1024,
		"batchwriter_batch_rows":              2, // committed batches only
		"batchwriter_commit_duration_seconds": 3, // every attempt
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
}

func TestClientMetricsPerHostAndConnections(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer failing.Close()

	reg := prometheus.NewPedanticRegistry()
	c := NewClient(reg)
	transport := &http.Transport{}
	dialer := &net.Dialer{}
	transport.DialContext = c.CountConnections(dialer.DialContext)
	client := &http.Client{Transport: c.RoundTripper(transport)}
	get := func(url string) {
		resp, err := client.Get(url)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	for range 3 {
		get(ok.URL)
	}
	get(failing.URL)
	get("http://127.0.0.1:1/") // nothing listens on port 1: no response at all

	okHost := strings.TrimPrefix(ok.URL, "http://")
	failHost := strings.TrimPrefix(failing.URL, "http://")
	for _, c2 := range []struct {
		host, code string
		want       float64
	}{{okHost, "2xx", 3}, {failHost, "5xx", 1}, {"127.0.0.1:1", "error", 1}} {
		if got := testutil.ToFloat64(c.requests.WithLabelValues(c2.host, c2.code)); got != c2.want {
			t.Errorf("client requests{host=%s,code=%s} = %v, want %v", c2.host, c2.code, got, c2.want)
		}
	}
	if got := c.open.Load(); got != 2 {
		t.Errorf("open connections = %d, want 2 (one kept alive per server)", got)
	}
	transport.CloseIdleConnections()
	if got := c.open.Load(); got != 0 {
		t.Errorf("open connections after closing the idle ones = %d, want 0", got)
	}
	if got := testutil.ToFloat64(c.dials); got != 2 {
		t.Errorf("dials = %v, want 2 (keep-alive reuses the first connection)", got)
	}
}

func TestClientHostsAreBounded(t *testing.T) {
	c := NewClient(prometheus.NewRegistry())
	for i := range 3 * maxClientHosts {
		c.host(fmt.Sprintf("host-%d:80", i))
	}
	if n := len(*c.hosts.Load()); n != maxClientHosts+1 {
		t.Errorf("hosts tracked = %d, want %d and \"other\"", n, maxClientHosts)
	}
	if c.host("host-99:80") != c.host(otherHost) {
		t.Error("a host past the bound is not counted as other")
	}
}

// TestClientHostCapHoldsUnderConcurrency: the host label stays within maxClientHosts hosts
// and "other" when many goroutines call hosts never seen before at once, as a fan-out to
// arbitrary URLs does.
func TestClientHostCapHoldsUnderConcurrency(t *testing.T) {
	for round := range 20 {
		reg := prometheus.NewPedanticRegistry()
		c := NewClient(reg)
		const goroutines = 4 * maxClientHosts
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c.host(fmt.Sprintf("host-%d:80", g)).outcomes[1].Inc()
			}()
		}
		close(start)
		wg.Wait()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		hosts := map[string]bool{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "host" {
						hosts[l.GetValue()] = true
					}
				}
			}
		}
		if len(hosts) > maxClientHosts+1 || !hosts[otherHost] {
			t.Fatalf("round %d: %d host label values (other among them: %t), want at most %d hosts and %q",
				round, len(hosts), hosts[otherHost], maxClientHosts, otherHost)
		}
	}
}

func TestRoundTripperPassesErrorsThrough(t *testing.T) {
	c := NewClient(nil)
	want := errors.New("no route")
	rt := c.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, want }))
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://upstream.example/", http.NoBody)
	if _, err := rt.RoundTrip(req); !errors.Is(err, want) { //nolint:bodyclose // no response
		t.Errorf("RoundTrip error = %v, want %v", err, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
