package observe

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is the snapshot of a worker pool that the pool collector reads at each scrape
// (run fills it from workerpool.Pool.Stats).
type PoolStats struct {
	Submitted, Completed, Rejected, Panicked uint64
	Queued, Running                          int
}

// Pool exports a worker pool's counters, read from its Stats at scrape time, and the
// duration of its tasks, observed by ObserveTask.
type Pool struct {
	stats        func() PoolStats
	taskDuration prometheus.Histogram

	submitted, completed, rejected, panicked, queued, running *prometheus.Desc
}

// NewPool returns the collector; register it once stats can be read. ObserveTask may be
// handed to the pool before that.
func NewPool(stats func() PoolStats) *Pool {
	return &Pool{
		stats: stats,
		taskDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                            "workerpool_task_duration_seconds",
			Help:                            "Time a worker spent running one task.",
			Buckets:                         latencyBuckets(maxTaskDuration),
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}),
		submitted: prometheus.NewDesc("workerpool_tasks_submitted_total", "Tasks the pool accepted.", nil, nil),
		completed: prometheus.NewDesc("workerpool_tasks_completed_total", "Tasks that finished, panicked ones included.", nil, nil),
		rejected:  prometheus.NewDesc("workerpool_tasks_rejected_total", "Submissions refused because the queue was full or the pool closing (each is a 503).", nil, nil),
		panicked:  prometheus.NewDesc("workerpool_tasks_panicked_total", "Tasks that panicked; the pool recovered and went on.", nil, nil),
		queued:    prometheus.NewDesc("workerpool_tasks_queued", "Accepted tasks waiting for a worker.", nil, nil),
		running:   prometheus.NewDesc("workerpool_tasks_running", "Tasks running now.", nil, nil),
	}
}

// ObserveTask records the duration of one task; the pool calls it after every task.
func (p *Pool) ObserveTask(d time.Duration) { p.taskDuration.Observe(d.Seconds()) }

// Describe implements prometheus.Collector.
func (p *Pool) Describe(ch chan<- *prometheus.Desc) {
	p.taskDuration.Describe(ch)
	for _, d := range []*prometheus.Desc{p.submitted, p.completed, p.rejected, p.panicked, p.queued, p.running} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *Pool) Collect(ch chan<- prometheus.Metric) {
	p.taskDuration.Collect(ch)
	s := p.stats()
	ch <- prometheus.MustNewConstMetric(p.submitted, prometheus.CounterValue, float64(s.Submitted))
	ch <- prometheus.MustNewConstMetric(p.completed, prometheus.CounterValue, float64(s.Completed))
	ch <- prometheus.MustNewConstMetric(p.rejected, prometheus.CounterValue, float64(s.Rejected))
	ch <- prometheus.MustNewConstMetric(p.panicked, prometheus.CounterValue, float64(s.Panicked))
	ch <- prometheus.MustNewConstMetric(p.queued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(p.running, prometheus.GaugeValue, float64(s.Running))
}
