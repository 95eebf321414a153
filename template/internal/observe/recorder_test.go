package observe

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRecorderCollectorReadsStatsAtScrape(t *testing.T) {
	stats := RecorderStats{Recording: true, Arms: 2, Written: 3, Failed: 1, Suppressed: 40}
	r := NewRecorder(func() RecorderStats { return stats })
	want := `
# HELP flightrecorder_armed Whether the flight recorder records the execution trace now (1) or not (0): always with FLIGHT_RECORDER=on; with auto from a slow request or load shedding until FLIGHT_RECORDER_ARM_FOR passes without one.
# TYPE flightrecorder_armed gauge
flightrecorder_armed 1
# HELP flightrecorder_arms_total Times the flight recorder started recording (FLIGHT_RECORDER=auto).
# TYPE flightrecorder_arms_total counter
flightrecorder_arms_total 2
# HELP flightrecorder_snapshots_total Slow requests by what became of their snapshot: written to FLIGHT_RECORDER_DIR, failed, or suppressed (not recording when the request began, or within FLIGHT_RECORDER_INTERVAL of the last).
# TYPE flightrecorder_snapshots_total counter
flightrecorder_snapshots_total{result="failed"} 1
flightrecorder_snapshots_total{result="suppressed"} 40
flightrecorder_snapshots_total{result="written"} 3
`
	if err := testutil.CollectAndCompare(r, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	stats.Recording = false // disarmed: a later scrape sees it
	if err := testutil.CollectAndCompare(r, strings.NewReader(strings.Replace(want, "flightrecorder_armed 1\n", "flightrecorder_armed 0\n", 1)), "flightrecorder_armed"); err != nil {
		t.Error(err)
	}
	if err := prometheus.NewPedanticRegistry().Register(r); err != nil {
		t.Errorf("the recorder collector is not a valid collector: %v", err)
	}
}
