package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// recorder holds one worker's measurements, so workers never share memory while running.
type recorder struct {
	latencies []time.Duration
	statuses  map[string]map[int]int // endpoint -> HTTP status -> count
	errors    map[string]int
}

func newRecorder() *recorder {
	return &recorder{statuses: map[string]map[int]int{}, errors: map[string]int{}}
}

func (r *recorder) add(endpoint string, status int, err error, latency time.Duration) {
	if err != nil && status == 0 {
		r.errors[errorKind(err)]++
		return
	}
	r.latencies = append(r.latencies, latency)
	if r.statuses[endpoint] == nil {
		r.statuses[endpoint] = map[int]int{}
	}
	r.statuses[endpoint][status]++
}

// errorKind shortens a transport error to what went wrong, without the URL, so that errors
// of one kind are counted together.
func errorKind(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if uerr.Timeout() {
			return "timeout"
		}
		err = uerr.Err
	}
	return err.Error()
}

// report is what one run measured after the warm-up.
type report struct {
	Target      string                    `json:"target"`
	Endpoints   string                    `json:"endpoints"`
	Concurrency int                       `json:"concurrency"`
	Rate        float64                   `json:"rate"`
	Seconds     float64                   `json:"seconds"`
	Requests    int                       `json:"requests"`
	Responses   int                       `json:"responses"`
	Throughput  float64                   `json:"throughput_rps"`
	Status      map[string]int            `json:"status"`
	ByEndpoint  map[string]map[string]int `json:"by_endpoint"`
	Errors      map[string]int            `json:"errors"`
	LatencyMS   latencySummary            `json:"latency_ms"`
	CPUProfile  string                    `json:"cpu_profile,omitempty"`
}

// latencySummary holds the latency percentiles of the requests that got a response.
type latencySummary struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func newReport(cfg *config, recorders []*recorder, elapsed time.Duration) *report {
	rep := &report{
		Target:      cfg.baseURL,
		Endpoints:   cfg.endpoints,
		Concurrency: cfg.concurrency,
		Rate:        cfg.rate,
		Seconds:     elapsed.Seconds(),
		Status:      map[string]int{},
		ByEndpoint:  map[string]map[string]int{},
		Errors:      map[string]int{},
		CPUProfile:  cfg.cpuProfile,
	}
	var latencies []time.Duration
	for _, rec := range recorders {
		if rec == nil {
			continue
		}
		latencies = append(latencies, rec.latencies...)
		for endpoint, statuses := range rec.statuses {
			if rep.ByEndpoint[endpoint] == nil {
				rep.ByEndpoint[endpoint] = map[string]int{}
			}
			for status, n := range statuses {
				code := strconv.Itoa(status)
				rep.Status[code] += n
				rep.ByEndpoint[endpoint][code] += n
				rep.Responses += n
			}
		}
		for kind, n := range rec.errors {
			rep.Errors[kind] += n
			rep.Requests += n
		}
	}
	rep.Requests += rep.Responses
	if rep.Seconds > 0 {
		// Throughput counts answered requests: a refused connection fails fast and would
		// otherwise look like service capacity.
		rep.Throughput = float64(rep.Responses) / rep.Seconds
	}
	slices.Sort(latencies)
	rep.LatencyMS = latencySummary{
		P50: millis(percentile(latencies, 50)),
		P90: millis(percentile(latencies, 90)),
		P99: millis(percentile(latencies, 99)),
		Max: millis(percentile(latencies, 100)),
	}
	return rep
}

// percentile returns the nearest-rank p-th percentile of sorted (0 when it is empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// writeText prints the report for a person.
func (rep *report) writeText(w io.Writer) error {
	mode := "closed loop"
	if rep.Rate > 0 {
		mode = fmt.Sprintf("%g req/s scheduled (latency counts from the scheduled time)", rep.Rate)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "target       %s  endpoints %s\n", rep.Target, rep.Endpoints)
	fmt.Fprintf(&b, "load         %d in flight at most, %s\n", rep.Concurrency, mode)
	fmt.Fprintf(&b, "requests     %d in %.2fs, %d answered = %.1f/s\n", rep.Requests, rep.Seconds, rep.Responses, rep.Throughput)
	fmt.Fprintf(&b, "status       %s\n", countsText(rep.Status))
	for _, endpoint := range slices.Sorted(maps.Keys(rep.ByEndpoint)) {
		fmt.Fprintf(&b, "  %-10s %s\n", endpoint, countsText(rep.ByEndpoint[endpoint]))
	}
	fmt.Fprintf(&b, "errors       %s\n", countsText(rep.Errors))
	l := rep.LatencyMS
	fmt.Fprintf(&b, "latency      p50 %.3fms  p90 %.3fms  p99 %.3fms  max %.3fms\n", l.P50, l.P90, l.P99, l.Max)
	if rep.CPUProfile != "" {
		fmt.Fprintf(&b, "cpu profile  %s\n", rep.CPUProfile)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeBench prints the report as one line of the Go benchmark format, so that runs of two
// builds can be compared with benchstat (medians, confidence intervals, significance).
func (rep *report) writeBench(w io.Writer, name string) error {
	l := rep.LatencyMS
	_, err := fmt.Fprintf(w, "Benchmark%s %d %.1f req/s %.0f p50-ns %.0f p90-ns %.0f p99-ns\n",
		name, max(rep.Requests, 1), rep.Throughput, l.P50*1e6, l.P90*1e6, l.P99*1e6)
	return err
}

// countsText prints counts as "key: n" pairs in key order.
func countsText(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, k+": "+strconv.Itoa(counts[k]))
	}
	return strings.Join(parts, "  ")
}
