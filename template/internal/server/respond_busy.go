package server

import (
	"net/http"
	"strconv"
)

// retryAfterSeconds is what a 503 tells clients to wait: long enough for a queue to drain a
// little, short enough not to idle them.
const retryAfterSeconds = 1

// writeBusy answers 503 with Retry-After: the request was refused because a bounded queue is
// full, and the client should try again shortly.
func writeBusy(w http.ResponseWriter, metrics *Metrics, msg string) {
	metrics.Rejected.Add(1)
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	writeError(w, http.StatusServiceUnavailable, msg)
}
