package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// The generated service's public listener settings (template/internal/server/server.go.jinja);
// TestSettingsMatchTheTemplate fails when the two drift apart.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// maxBodyBytes is the generated service's default request body cap (MAX_BODY_BYTES).
	maxBodyBytes = 1 << 20
)

// The fixed bodies, encoded once: what a competent engineer writes for a health check.
const (
	livezBody  = `{"status":"ok"}` + "\n"
	readyzBody = `{"status":"ready"}` + "\n"
)

// newHandler returns the routes; with a body cap, every request body is limited as the
// generated service limits it (a declared oversized body is refused unread).
func newHandler(bodyCap bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", fixedJSON(livezBody))
	mux.HandleFunc("GET /readyz", fixedJSON(readyzBody))
	if !bodyCap {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		mux.ServeHTTP(w, r)
	})
}

// fixedJSON answers 200 with body as JSON. io.WriteString uses the ResponseWriter's
// WriteString, so the constant is written without a conversion to []byte.
func fixedJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// newServer returns the server of one mode: "fair" has the generated service's timeouts,
// header limit and body cap; "bare" is http.Server's zero values around the same routes.
func newServer(mode string) (*http.Server, error) {
	switch mode {
	case "fair":
		return &http.Server{
			Handler:           newHandler(true),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
		}, nil
	case "bare":
		return &http.Server{Handler: newHandler(false)}, nil //nolint:gosec // the bare baseline has no timeouts on purpose
	default:
		return nil, fmt.Errorf("-mode must be fair or bare, got %q", mode)
	}
}
