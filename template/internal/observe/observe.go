// Package observe makes the service measurable where it runs: a Prometheus registry with the Go
// runtime (read from runtime/metrics) and process collectors, per-route RED metrics and the
// access log of the public server, collectors for the worker pool, the batch writer and the
// outbound client, and the handler of the metrics listener.
//
// Everything is registered on a prometheus.Registry the service owns; nothing touches
// client_golang's global default registry, so tests build as many as they like.
package observe

import (
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// runtimeMetrics selects the runtime/metrics the Go collector exports besides its defaults
// (goroutines, threads, GOMAXPROCS, GOMEMLIMIT, GOGC and the go_memstats_* family, which
// client_golang also derives from runtime/metrics, so no scrape stops the world):
// the live heap and the heap goal, the scheduling latency histogram, the GC pause histogram and
// the CPU classes from which the GC's share of CPU time is computed. All of runtime/metrics
// would be ~150 series, most of them godebug counters nobody graphs.
const runtimeMetrics = `^/(gc/heap/(goal|live):bytes|sched/latencies:seconds|sched/pauses/total/gc:seconds|cpu/classes/(gc/total|total|user|idle):cpu-seconds|sched/goroutines:goroutines)$`

// NewRegistry returns a registry holding the Go runtime collector and the process collector
// (resident memory, CPU seconds, open file descriptors).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(runtimeMetrics)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Timeouts of the metrics listener, set by run on its http.Server. A scrape is one small GET;
// Prometheus' default scrape timeout is 10s.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 15 * time.Second
	IdleTimeout       = 2 * time.Minute
	MaxHeaderBytes    = 16 << 10
	// maxConcurrentScrapes bounds the scrapes served at once (promhttp answers 503 beyond
	// it): two Prometheus replicas plus someone with curl, never an unbounded pile of
	// collections that each walk the runtime's metrics.
	maxConcurrentScrapes = 4
)

// NewMetricsHandler serves reg at GET /metrics and nothing else: every other path, the pprof
// ones included, is a 404. errorLog receives collection errors.
func NewMetricsHandler(reg *prometheus.Registry, errorLog *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(errorLog.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxConcurrentScrapes,
		Timeout:             WriteTimeout - time.Second,
		// Native histograms are sent to scrapers that ask for protobuf; the text format
		// carries the classic buckets, which every Prometheus reads.
		EnableOpenMetrics: true,
	}))
	return mux
}
