// Package debug serves the private diagnostics listener: pprof profiles and expvar variables.
// It builds its own ServeMux and registers every handler explicitly, so nothing reaches the
// public listener (and nothing depends on http.DefaultServeMux).
package debug

import (
	"encoding/json"
	"expvar"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"time"
)

// MaxProfileDuration is the longest CPU profile, execution trace or delta profile the listener
// allows. net/http/pprof extends the write deadline by whatever `seconds` asks for, so without
// this cap one request could hold the process's only CPU-profiling slot for hours.
const MaxProfileDuration = 120 * time.Second

// NewHandler returns the private mux: /debug/pprof/* and /debug/vars. vars holds the service's
// own variables (GOMAXPROCS, GOMEMLIMIT, pool and writer statistics); it is served beside the
// standard "cmdline" and "memstats" entries, so tools that read expvar's format work unchanged.
func NewHandler(vars *expvar.Map) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /debug/pprof/", limitSeconds(http.HandlerFunc(pprof.Index)))
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.Handle("GET /debug/pprof/profile", limitSeconds(http.HandlerFunc(pprof.Profile)))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/trace", limitSeconds(http.HandlerFunc(pprof.Trace)))
	mux.Handle("GET /debug/vars", varsHandler(vars))
	return mux
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

// varsHandler writes the expvar JSON document for vars. It does not use expvar.Handler, which
// serves the process-wide registry; the service keeps its variables in a map it owns.
func varsHandler(vars *expvar.Map) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		doc := map[string]json.RawMessage{}
		if b, err := json.Marshal(os.Args); err == nil {
			doc["cmdline"] = b
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if b, err := json.Marshal(&ms); err == nil {
			doc["memstats"] = b
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
