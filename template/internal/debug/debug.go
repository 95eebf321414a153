// Package debug serves the private diagnostics listener: pprof profiles, expvar variables and
// flight-recorder snapshots.
// It builds its own ServeMux and registers every handler explicitly, so nothing reaches the
// public listener (and nothing depends on http.DefaultServeMux).
package debug

import (
	"encoding/json"
	"expvar"
	"math"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// MaxProfileDuration is the longest CPU profile, execution trace or delta profile the listener
// allows. net/http/pprof extends the write deadline by whatever `seconds` asks for, so without
// this cap one request could hold the process's only CPU-profiling slot for hours.
const MaxProfileDuration = 120 * time.Second

// NewHandler returns the private mux: /debug/pprof/*, /debug/vars and /debug/flightrecorder.
// vars holds the service's own variables (GOMAXPROCS, GOMEMLIMIT, pool and writer
// statistics); it is served beside expvar's standard "cmdline" entry and "runtime_metrics",
// the runtime's own metrics. args is the command line; both endpoints that show it show it
// redacted (RedactArgs). flight serves GET (a flight-recorder snapshot), POST (arm the
// recorder) and DELETE (disarm it) of /debug/flightrecorder; nil answers 404 (no recorder).
func NewHandler(vars *expvar.Map, args []string, flight http.Handler) http.Handler {
	args = RedactArgs(args)
	mux := http.NewServeMux()
	mux.Handle("GET /debug/pprof/", limitSeconds(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/cmdline", cmdlineHandler(args))
	mux.Handle("GET /debug/pprof/profile", limitSeconds(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/trace", limitSeconds(http.HandlerFunc(pprof.Trace)))
	mux.Handle("GET /debug/vars", varsHandler(vars, args))
	if flight == nil {
		flight = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the flight recorder is off (FLIGHT_RECORDER=off, or a Go 1.24 build)", http.StatusNotFound)
		})
	}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		mux.Handle(method+" /debug/flightrecorder", flight)
	}
	return mux
}

// redacted replaces a secret in RedactArgs' output.
const redacted = "xxxxx"

// RedactArgs returns a copy of args that can be shown to operators: the password of every URL
// (postgres://user:secret@host/db, as in -database-url) and the value of password=, secret=
// and similar parameters are replaced with "xxxxx". Nothing else changes.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = redactParams(redactURL(arg))
	}
	return out
}

// redactParams hides the value of every key=value pair in s whose key names a secret:
// libpq's password parameters (in a URL's query or in key=value form) and common spellings.
// A value ends at white space, '&' or ';'.
func redactParams(s string) string {
	var b strings.Builder
	for i := 0; ; {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		eq += i
		key := eq
		for key > i && isKeyByte(s[key-1]) {
			key--
		}
		end := eq + 1
		for end < len(s) && !strings.ContainsRune(" \t\n&;", rune(s[end])) {
			end++
		}
		b.WriteString(s[i : eq+1])
		switch strings.ToLower(s[key:eq]) {
		case "password", "passwd", "pwd", "sslpassword", "secret", "token":
			b.WriteString(redacted)
		default:
			b.WriteString(s[eq+1 : end])
		}
		i = end
	}
}

func isKeyByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// redactURL hides the password of a URL in arg, which may be "-flag=URL" or the URL alone.
func redactURL(arg string) string {
	prefix, value := "", arg
	if strings.HasPrefix(arg, "-") {
		if name, v, ok := strings.Cut(arg, "="); ok {
			prefix, value = name+"=", v
		}
	}
	if !strings.Contains(value, "://") {
		return arg
	}
	u, err := url.Parse(value)
	if err != nil {
		// Unparsable: keep the scheme, hide the rest rather than guess what is secret.
		scheme, _, _ := strings.Cut(value, "://")
		return prefix + scheme + "://" + redacted
	}
	if _, hasPassword := u.User.Password(); !hasPassword {
		return arg
	}
	u.User = url.UserPassword(u.User.Username(), redacted)
	return prefix + u.String()
}

// cmdlineHandler serves args NUL-separated, as net/http/pprof's Cmdline does with os.Args.
func cmdlineHandler(args []string) http.Handler {
	body := strings.Join(args, "\x00")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(body))
	})
}

// Timeouts of the private listener, set by run on its http.Server: short for reading a request
// (only operators call it). The write timeout covers ordinary responses; the pprof handlers
// extend it for the duration a profile asks for, which limitSeconds caps.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = time.Minute
	MaxHeaderBytes    = 16 << 10
)

// limitSeconds refuses a `seconds` parameter that is not a whole number of seconds between 0
// and MaxProfileDuration with 400, before the profile starts.
func limitSeconds(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw := r.URL.Query().Get("seconds"); raw != "" {
			sec, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || sec < 0 || time.Duration(sec)*time.Second > MaxProfileDuration {
				http.Error(w, "seconds must be a whole number from 0 to "+
					strconv.Itoa(int(MaxProfileDuration.Seconds())), http.StatusBadRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// varsHandler writes the expvar JSON document for vars, with args as "cmdline". It does not
// use expvar.Handler, which serves the process-wide registry, the raw os.Args and
// runtime.ReadMemStats, which stops the world; the service keeps its variables in a map it owns
// and reads the runtime through runtime/metrics.
func varsHandler(vars *expvar.Map, args []string) http.Handler {
	cmdline, _ := json.Marshal(args) // []string always marshals
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		doc := map[string]json.RawMessage{"cmdline": cmdline}
		if b, err := json.Marshal(RuntimeMetrics()); err == nil {
			doc["runtime_metrics"] = b
		}
		vars.Do(func(kv expvar.KeyValue) {
			doc[kv.Key] = json.RawMessage(kv.Value.String())
		})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		_ = enc.Encode(doc) // the client went away; nothing else to do
	})
}

// RuntimeMetrics reads every metric runtime/metrics supports, without stopping the world, keyed
// by its name in snake_case ("/gc/heap/goal:bytes" becomes "gc_heap_goal_bytes"). Counters and
// gauges are numbers; histograms (scheduling latency, GC pauses) are summarised as their
// count and 50th, 90th and 99th percentile upper bounds.
func RuntimeMetrics() map[string]any {
	descs := metrics.All()
	samples := make([]metrics.Sample, len(descs))
	for i := range descs {
		samples[i].Name = descs[i].Name
	}
	metrics.Read(samples)
	out := make(map[string]any, len(samples))
	for _, s := range samples {
		name := snakeCase(s.Name)
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[name] = s.Value.Uint64()
		case metrics.KindFloat64:
			if v := s.Value.Float64(); !math.IsInf(v, 0) && !math.IsNaN(v) { // JSON has neither
				out[name] = v
			}
		case metrics.KindFloat64Histogram:
			out[name] = summarize(s.Value.Float64Histogram())
		case metrics.KindBad:
			// Not supported by this runtime; leave it out.
		}
	}
	return out
}

// snakeCase maps a runtime/metrics name to a snake_case key.
func snakeCase(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	underscore := false
	for _, r := range strings.TrimPrefix(name, "/") {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			underscore = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
			underscore = false
		case !underscore:
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// histogramSummary is a runtime/metrics histogram in a few numbers: how many values, and the
// upper bound of the bucket each percentile falls in (seconds for the time histograms).
type histogramSummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
}

func summarize(h *metrics.Float64Histogram) histogramSummary {
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	s := histogramSummary{Count: total}
	if total == 0 {
		return s
	}
	quantile := func(q float64) float64 {
		want := uint64(q * float64(total))
		var seen uint64
		for i, c := range h.Counts {
			seen += c
			if seen > want {
				if upper := h.Buckets[i+1]; !math.IsInf(upper, 0) {
					return upper
				}
				if lower := h.Buckets[i]; !math.IsInf(lower, 0) {
					return lower // the last bucket is unbounded: report its lower bound
				}
				return 0
			}
		}
		return 0 // not reached: the counts add up to total
	}
	s.P50, s.P90, s.P99 = quantile(0.5), quantile(0.9), quantile(0.99)
	return s
}
