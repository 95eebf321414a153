package server

import (
	"math/rand/v2"
	"net/http"
	"strconv"
)

// Retry-After bounds, in seconds. The least is long enough for a queue to drain a little; the
// spread keeps clients refused at the same moment (a database outage refuses them all at once)
// from coming back at the same moment, which would meet a recovering database with a stampede.
const (
	retryAfterMinSeconds = 1
	retryAfterMaxSeconds = 3
)

// retryAfter returns a Retry-After value drawn evenly from the bounds above.
func retryAfter() string {
	return strconv.Itoa(retryAfterMinSeconds + rand.IntN(retryAfterMaxSeconds-retryAfterMinSeconds+1)) //nolint:gosec // jitter, not security
}

// writeBusy answers 503 with Retry-After: the request was refused because a bounded queue is
// full, and the client should try again shortly.
func writeBusy(w http.ResponseWriter, metrics *Metrics, msg string) {
	metrics.Rejected.Add(1)
	w.Header().Set("Retry-After", retryAfter())
	writeError(w, http.StatusServiceUnavailable, msg)
}
