package server

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverPanics turns a handler panic into a 500 and a log line with the stack; the process
// keeps serving. http.ErrAbortHandler is re-raised: it is net/http's way to abort a response.
func recoverPanics(next http.Handler, logger *slog.Logger, metrics *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.Requests.Add(1)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			metrics.Panics.Add(1)
			logger.Error("handler panic recovered", "method", r.Method, "path", r.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at maxBytes. A declared Content-Length over the cap is refused
// before anything is read; an undeclared one fails with *http.MaxBytesError when the handler
// reads past the cap, which handlers turn into 413.
func limitBody(next http.Handler, maxBytes int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBytes {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		if r.Body != http.NoBody { // net/http's body of a request without one: nothing to cap
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// closeWhenDraining answers every request with "Connection: close" once shutdown has begun, so
// that each client opens a new connection, which the load balancer sends to another replica,
// instead of reusing this one until the listener closes. Unlike http.Server's
// SetKeepAlivesEnabled(false), it closes no idle connection under a client that is about to
// send on it: the client is told in the response, so there is no race.
func closeWhenDraining(next http.Handler, readiness *Readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readiness.Draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
