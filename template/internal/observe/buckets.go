package observe

import "time"

// The longest each measured operation can take, where the classic buckets of its latency
// histogram end (anything longer is in +Inf only: it ran past its own deadline).
const (
	// maxRequestDuration is the public server's WriteTimeout (internal/server), which bounds a
	// handler and its response; every route's own deadline ends before it (POST /v1/events'
	// EVENTS_WRITE_TIMEOUT, GET /v1/fanout's FANOUT_TIMEOUT).
	maxRequestDuration = 30 * time.Second
	// maxClientDuration is the outbound client's whole-exchange timeout
	// (httpclient.DefaultTimeout); the call is measured up to its response headers.
	maxClientDuration = 30 * time.Second
	// maxCommitDuration bounds one attempt to commit a batch, the resolution of a cut-off
	// COMMIT included: it ends by its callers' earliest deadline, EVENTS_WRITE_TIMEOUT, which
	// the service keeps below the public server's WriteTimeout.
	maxCommitDuration = 30 * time.Second
	// maxTaskDuration is the longest demo job the worker pool runs (POST /v1/jobs accepts
	// duration_ms up to 10 s).
	maxTaskDuration = 10 * time.Second
)

// firstBucket is the upper bound of the smallest classic bucket: above what the cheapest
// route's handler takes (GET /livez, a few µs), and small enough that the quantiles of
// sub-millisecond routes resolve (a 1 ms first bucket put 49 997 of 50 000 /livez requests in
// it, so its p99 read "at most 1 ms" while clients saw 25 ms).
const firstBucket = 10 * time.Microsecond

// latencyBuckets returns the classic buckets, in seconds, of a latency histogram whose
// operation takes at most longest: the 1-2.5-5 series from firstBucket (10 µs, 25 µs, 50 µs,
// 100 µs, …), within which histogram_quantile interpolates within a factor of 2.5, up to half
// of longest, and then longest itself. For 30 s that is 20 buckets (21 with +Inf), for 10 s 19.
// Scrapers that read native histograms get the distribution at 10% resolution instead.
func latencyBuckets(longest time.Duration) []float64 {
	var buckets []float64
	for decade := firstBucket; decade <= longest/2; decade *= 10 {
		for _, b := range []time.Duration{decade, decade * 5 / 2, decade * 5} {
			if b <= longest/2 {
				buckets = append(buckets, b.Seconds())
			}
		}
	}
	return append(buckets, longest.Seconds())
}
