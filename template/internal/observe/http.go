package observe

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AccessLog says which requests get an access-log line.
type AccessLog int

// The access-log modes (ACCESS_LOG).
const (
	// AccessLogOff writes no access-log line.
	AccessLogOff AccessLog = iota
	// AccessLogErrors writes a WARN line for every failed (5xx) or slow request only.
	AccessLogErrors
	// AccessLogAll writes an INFO line for every request (sampled by AccessLogSample) and a WARN
	// line for every failed or slow one.
	AccessLogAll
)

// ParseAccessLog reads off, errors or all.
func ParseAccessLog(s string) (AccessLog, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return AccessLogOff, true
	case "errors":
		return AccessLogErrors, true
	case "all":
		return AccessLogAll, true
	}
	return 0, false
}

// String returns the name ParseAccessLog reads.
func (a AccessLog) String() string {
	switch a {
	case AccessLogOff:
		return "off"
	case AccessLogErrors:
		return "errors"
	default:
		return "all"
	}
}

// HTTPConfig configures NewHTTP. Only Registry is required.
type HTTPConfig struct {
	// Registry receives the server's metrics; nil measures nothing (METRICS_ADDR=off): the
	// middleware then only times requests for the access log and OnSlow.
	Registry prometheus.Registerer
	// Logger writes the access log.
	Logger *slog.Logger
	// AccessLog selects the requests that are logged.
	AccessLog AccessLog
	// AccessLogSample is the share (0, 1] of the ordinary requests AccessLogAll logs; failed
	// and slow requests are always logged.
	AccessLogSample float64
	// SlowThreshold marks a request as slow: it is logged at WARN and passed to OnSlow.
	// Zero turns slow-request handling off.
	SlowThreshold time.Duration
	// OnSlow, if set, is called after a slow request has been answered (the flight recorder
	// snapshots its window then). It must not block.
	OnSlow func(ctx context.Context, route string, elapsed time.Duration)
}

// HTTP measures the requests of one server: requests by route pattern, method and status
// class, a latency histogram by route pattern and method, and the requests in flight. The
// route label is the ServeMux pattern that matched, never the raw path ("unmatched" for 404s
// and 405s), so any number of distinct URLs adds no series.
//
// Per request it does no map write and builds no label string: the label children of a
// pattern are created once, the first time the pattern is seen, and found again through a
// read-only map that is replaced (copied) only when a new pattern appears.
type HTTP struct {
	cfg      HTTPConfig
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight atomic.Int64

	routes atomic.Pointer[map[string]*routeMetrics]
	mu     sync.Mutex // serialises additions to routes

	// recorders recycles the response recorders, so that measuring a request allocates
	// nothing. A recorder goes back only after the handler has returned, and net/http
	// forbids handlers to use their ResponseWriter after that.
	recorders sync.Pool
}

// unmatchedRoute is the route label of requests no pattern matched (404, 405).
const unmatchedRoute = "unmatched"

// methods are the method label values; any other method is counted as "other".
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}

// classes are the status class label values, by hundreds digit.
var classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	}
	return len(methods) - 1
}

// routeMetrics holds the label children of one route pattern, one set per method, created
// when the method is first seen on the route.
type routeMetrics struct {
	route   string
	methods [len(methods)]atomic.Pointer[methodMetrics]
}

type methodMetrics struct {
	codes    [len(classes)]prometheus.Counter
	duration prometheus.Observer
}

// NewHTTP creates the server metrics and registers them.
func NewHTTP(cfg HTTPConfig) *HTTP {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccessLogSample <= 0 || cfg.AccessLogSample > 1 {
		cfg.AccessLogSample = 1
	}
	h := &HTTP{
		cfg: cfg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total",
			Help: "Requests answered by the public server, by route pattern, method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "http_server_request_duration_seconds",
			Help:                            "Time from the request reaching the handler to the handler returning, by route pattern and method.",
			Buckets:                         latencyBuckets(maxRequestDuration),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"route", "method"}),
	}
	empty := map[string]*routeMetrics{}
	h.routes.Store(&empty)
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(h.requests, h.duration, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "http_server_requests_in_flight",
			Help: "Requests the public server is handling now.",
		}, func() float64 { return float64(h.inFlight.Load()) }))
	}
	return h
}

// route returns the metrics of a ServeMux pattern ("" for no match), creating them the first
// time the pattern is seen.
func (h *HTTP) route(pattern string) *routeMetrics {
	if rm, ok := (*h.routes.Load())[pattern]; ok {
		return rm
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.routes.Load()
	if rm, ok := old[pattern]; ok {
		return rm
	}
	rm := &routeMetrics{route: routeLabel(pattern)}
	next := make(map[string]*routeMetrics, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[pattern] = rm
	h.routes.Store(&next)
	return rm
}

// routeLabel turns a ServeMux pattern into the route label: "GET /v1/jobs" -> "/v1/jobs" (the
// method has a label of its own), "" -> "unmatched".
func routeLabel(pattern string) string {
	if pattern == "" {
		return unmatchedRoute
	}
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		return strings.TrimSpace(rest)
	}
	return pattern
}

// method returns the children of method m on rm, creating them (every status class at
// zero, so that ratios and rate() see a series before the first error) on first use.
func (h *HTTP) method(rm *routeMetrics, m int) *methodMetrics {
	if mm := rm.methods[m].Load(); mm != nil {
		return mm
	}
	mm := &methodMetrics{duration: h.duration.WithLabelValues(rm.route, methods[m])}
	for i, class := range classes {
		mm.codes[i] = h.requests.WithLabelValues(rm.route, methods[m], class)
	}
	if !rm.methods[m].CompareAndSwap(nil, mm) {
		return rm.methods[m].Load() // another request created the same children first
	}
	return mm
}

// Middleware measures every request that next serves. next must be (or end in) the
// *http.ServeMux whose pattern is reported: ServeMux records the pattern it matched on the
// request, which the middleware reads once next returns.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.inFlight.Add(1)
		rec, _ := h.recorders.Get().(*responseRecorder)
		if rec == nil {
			rec = new(responseRecorder)
		}
		rec.ResponseWriter, rec.status, rec.bytes = w, 0, 0
		defer func() {
			h.inFlight.Add(-1)
			rec.ResponseWriter = nil
			h.recorders.Put(rec)
		}()

		next.ServeHTTP(rec, r)

		elapsed := time.Since(start)
		status := rec.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		rm := h.route(r.Pattern)
		if h.cfg.Registry != nil {
			mm := h.method(rm, methodIndex(r.Method))
			if class := status/100 - 1; class >= 0 && class < len(classes) {
				mm.codes[class].Inc()
			}
			mm.duration.Observe(elapsed.Seconds())
		}

		slow := h.cfg.SlowThreshold > 0 && elapsed >= h.cfg.SlowThreshold
		if h.cfg.AccessLog != AccessLogOff {
			h.logRequest(r, rm.route, status, rec.bytes, elapsed, slow)
		}
		if slow && h.cfg.OnSlow != nil {
			h.cfg.OnSlow(r.Context(), rm.route, elapsed)
		}
	})
}

// logRequest writes the access-log line of one request, if the mode and the sample ask for it.
func (h *HTTP) logRequest(r *http.Request, route string, status int, bytes int64, elapsed time.Duration, slow bool) {
	level, msg := slog.LevelInfo, "request"
	switch {
	case status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable:
		// 503 is shedding or a database outage answered with Retry-After: expected under
		// overload, counted in the metrics, and logged by the component that sheds (the batch
		// writer once per interval). A WARN line per refused request would flood the log
		// exactly when it is needed.
		level, msg = slog.LevelWarn, "request failed"
	case slow:
		level, msg = slog.LevelWarn, "slow request"
	case h.cfg.AccessLog != AccessLogAll:
		return
	case h.cfg.AccessLogSample < 1 && rand.Float64() >= h.cfg.AccessLogSample: //nolint:gosec // sampling, not security
		return
	}
	ctx := r.Context()
	if !h.cfg.Logger.Enabled(ctx, level) {
		return
	}
	h.cfg.Logger.LogAttrs(ctx, level, msg,
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("request_id", r.Header.Get("X-Request-Id")),
	)
}

// responseRecorder notes the status and the body size a handler writes.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rr *responseRecorder) WriteHeader(code int) {
	if rr.status == 0 && code >= http.StatusOK {
		rr.status = code // informational 1xx answers are followed by the real one
	}
	rr.ResponseWriter.WriteHeader(code)
}

func (rr *responseRecorder) Write(b []byte) (int, error) {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	n, err := rr.ResponseWriter.Write(b)
	rr.bytes += int64(n)
	return n, err
}

// Flush passes a flush on, so streaming handlers keep working behind the middleware.
func (rr *responseRecorder) Flush() {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	_ = http.NewResponseController(rr.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer (deadlines, hijacking).
func (rr *responseRecorder) Unwrap() http.ResponseWriter { return rr.ResponseWriter }
