package observe

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BatchStats is the snapshot of a batch writer that the writer collector reads at each scrape
// (run fills it from store.BatchWriter.Stats).
type BatchStats struct {
	Batches, Rows, Retries, Failures, Rejected int64
	// Expired, Abandoned, Refused and Unknown count calls answered without a commit: deadline
	// passed, caller left, content refused by the database, outcome unknown.
	Expired, Abandoned, Refused, Unknown int64
	Pending                              int
	PendingBytes                         int64
}

// Batches exports a batch writer's counters, read from its Stats at scrape time, and the size
// and commit latency of its batches, observed by ObserveBatch.
type Batches struct {
	stats          func() BatchStats
	size           prometheus.Histogram
	commitDuration prometheus.Histogram

	batches, rows, retries, failures, rejected, pending *prometheus.Desc
	expired, abandoned, refused, unknown, pendingBytes  *prometheus.Desc
}

// NewBatches returns the collector. Hand it to the store as its batch observer and register it.
func NewBatches(stats func() BatchStats) *Batches {
	return &Batches{
		stats: stats,
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "batchwriter_batch_rows",
			Help: "Rows per committed batch.",
			// One row (an idle writer) up to the default cap of 1000 rows.
			Buckets:                         []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                            "batchwriter_commit_duration_seconds",
			Help:                            "Time one attempt to write and commit a batch took until its outcome was known (a cut-off COMMIT's resolution included), failed attempts included.",
			Buckets:                         latencyBuckets(maxCommitDuration),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}),
		batches:  prometheus.NewDesc("batchwriter_batches_total", "Batches committed.", nil, nil),
		rows:     prometheus.NewDesc("batchwriter_rows_total", "Rows committed.", nil, nil),
		retries:  prometheus.NewDesc("batchwriter_retries_total", "Attempts repeated after a transient error.", nil, nil),
		failures: prometheus.NewDesc("batchwriter_failures_total", "Batches given up on; their callers got the error.", nil, nil),
		rejected: prometheus.NewDesc("batchwriter_rejected_total", "Writes refused because the buffer was full (each is a 503).", nil, nil),
		pending:  prometheus.NewDesc("batchwriter_pending_rows", "Rows accepted and not yet committed.", nil, nil),
		expired: prometheus.NewDesc("batchwriter_expired_total",
			"Writes whose deadline passed before their rows committed (not stored; a slow or unavailable database).", nil, nil),
		abandoned: prometheus.NewDesc("batchwriter_abandoned_total",
			"Writes whose caller left before their rows committed (not stored; not a database fault).", nil, nil),
		refused: prometheus.NewDesc("batchwriter_refused_total",
			"Writes whose events the database refused for their content (the other writes of their batch committed).", nil, nil),
		unknown: prometheus.NewDesc("batchwriter_outcome_unknown_total",
			"Writes told that the outcome of their commit is unknown (the connection failed during COMMIT).", nil, nil),
		pendingBytes: prometheus.NewDesc("batchwriter_pending_bytes", "Size of the rows accepted and not yet committed.", nil, nil),
	}
}

// ObserveBatch records one attempt to write a batch of rows that took d; err is its outcome
// (nil: committed, so that the size histogram counts what batchwriter_batches_total counts).
func (b *Batches) ObserveBatch(rows int, d time.Duration, err error) {
	b.commitDuration.Observe(d.Seconds())
	if err == nil {
		b.size.Observe(float64(rows))
	}
}

// Describe implements prometheus.Collector.
func (b *Batches) Describe(ch chan<- *prometheus.Desc) {
	b.size.Describe(ch)
	b.commitDuration.Describe(ch)
	for _, d := range []*prometheus.Desc{
		b.batches, b.rows, b.retries, b.failures, b.rejected, b.pending,
		b.expired, b.abandoned, b.refused, b.unknown, b.pendingBytes,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (b *Batches) Collect(ch chan<- prometheus.Metric) {
	b.size.Collect(ch)
	b.commitDuration.Collect(ch)
	s := b.stats()
	ch <- prometheus.MustNewConstMetric(b.batches, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(b.rows, prometheus.CounterValue, float64(s.Rows))
	ch <- prometheus.MustNewConstMetric(b.retries, prometheus.CounterValue, float64(s.Retries))
	ch <- prometheus.MustNewConstMetric(b.failures, prometheus.CounterValue, float64(s.Failures))
	ch <- prometheus.MustNewConstMetric(b.rejected, prometheus.CounterValue, float64(s.Rejected))
	ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(b.expired, prometheus.CounterValue, float64(s.Expired))
	ch <- prometheus.MustNewConstMetric(b.abandoned, prometheus.CounterValue, float64(s.Abandoned))
	ch <- prometheus.MustNewConstMetric(b.refused, prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(b.unknown, prometheus.CounterValue, float64(s.Unknown))
	ch <- prometheus.MustNewConstMetric(b.pendingBytes, prometheus.GaugeValue, float64(s.PendingBytes))
}
