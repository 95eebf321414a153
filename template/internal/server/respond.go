package server

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// retryAfterSeconds is what a 503 tells clients to wait: long enough for a queue to drain a
// little, short enough not to idle them.
const retryAfterSeconds = 1

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write means the client left
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeBusy answers 503 with Retry-After: the request was refused because a bounded queue is
// full, and the client should try again shortly.
func writeBusy(w http.ResponseWriter, metrics *Metrics, msg string) {
	metrics.Rejected.Add(1)
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	writeError(w, http.StatusServiceUnavailable, msg)
}
