//go:build faultinject

package server

import (
	"context"
	"net/http"
)

// addFaultRoutes registers test-only routes that fail on purpose, for the end-to-end suite:
// a handler panic and a panicking worker-pool task. Compiled only with -tags faultinject.
func addFaultRoutes(mux *http.ServeMux, deps *Deps) {
	mux.HandleFunc("POST /test/panic", func(http.ResponseWriter, *http.Request) {
		panic("faultinject: handler panic")
	})
	mux.HandleFunc("POST /test/pool-panic", func(w http.ResponseWriter, _ *http.Request) {
		err := deps.Pool.TrySubmit(func(context.Context) { panic("faultinject: task panic") })
		if err == nil {
			writeJSON(w, http.StatusAccepted, struct {
				Status string `json:"status"`
			}{Status: "accepted"})
			return
		}
		writeError(w, http.StatusServiceUnavailable, err.Error())
	})
}
