package observe

import "github.com/prometheus/client_golang/prometheus"

// RecorderStats is the state of the flight recorder that the recorder collector reads at each
// scrape (run fills it from flightrec.Recorder.Stats).
type RecorderStats struct {
	// Recording is true while the runtime records the execution trace (armed).
	Recording bool
	// Arms counts the times FLIGHT_RECORDER=auto's recorder started recording.
	Arms uint64
	// Written, Failed and Suppressed count the slow requests by what became of their snapshot.
	Written, Failed, Suppressed uint64
}

// Recorder exports the flight recorder's state: whether it records, how often it was armed,
// and what became of each slow request's snapshot.
type Recorder struct {
	stats func() RecorderStats

	armed, arms, snapshots *prometheus.Desc
}

// NewRecorder returns the collector; stats is read at each scrape.
func NewRecorder(stats func() RecorderStats) *Recorder {
	return &Recorder{
		stats: stats,
		armed: prometheus.NewDesc("flightrecorder_armed",
			"Whether the flight recorder records the execution trace now (1) or not (0): always with "+
				"FLIGHT_RECORDER=on; with auto from a slow request or load shedding until FLIGHT_RECORDER_ARM_FOR passes without one.",
			nil, nil),
		arms: prometheus.NewDesc("flightrecorder_arms_total",
			"Times the flight recorder started recording (FLIGHT_RECORDER=auto).", nil, nil),
		snapshots: prometheus.NewDesc("flightrecorder_snapshots_total",
			"Slow requests by what became of their snapshot: written to FLIGHT_RECORDER_DIR, failed, or "+
				"suppressed (not recording when the request began, or within FLIGHT_RECORDER_INTERVAL of the last).",
			[]string{"result"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.armed
	ch <- r.arms
	ch <- r.snapshots
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	s := r.stats()
	armed := 0.0
	if s.Recording {
		armed = 1
	}
	ch <- prometheus.MustNewConstMetric(r.armed, prometheus.GaugeValue, armed)
	ch <- prometheus.MustNewConstMetric(r.arms, prometheus.CounterValue, float64(s.Arms))
	ch <- prometheus.MustNewConstMetric(r.snapshots, prometheus.CounterValue, float64(s.Written), "written")
	ch <- prometheus.MustNewConstMetric(r.snapshots, prometheus.CounterValue, float64(s.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(r.snapshots, prometheus.CounterValue, float64(s.Suppressed), "suppressed")
}
