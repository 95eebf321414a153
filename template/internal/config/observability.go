package config

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Observability is the part of Config that makes the service measurable: the metrics
// listener, the access log and the flight recorder.
type Observability struct {
	// MetricsAddr is the listener that serves only GET /metrics for Prometheus (METRICS_ADDR,
	// -metrics-addr); empty when disabled with "off".
	MetricsAddr string
	// AccessLog is off, errors (5xx and slow requests) or all (ACCESS_LOG).
	AccessLog string
	// AccessLogSample is the share of ordinary requests logged when AccessLog is all
	// (ACCESS_LOG_SAMPLE, 0 < x <= 1); failed and slow requests are always logged.
	AccessLogSample float64
	// SlowRequestThreshold marks a request as slow: logged at WARN and, with the flight
	// recorder recording, snapshotted (SLOW_REQUEST_THRESHOLD; 0 turns it off).
	SlowRequestThreshold time.Duration
	// FlightRecorder says when the last seconds of the execution trace are kept in memory
	// (FLIGHT_RECORDER): "auto" (armed by a slow request or load shedding, for
	// FlightRecorderArmFor), "on" (always) or "off".
	FlightRecorder string
	// FlightRecorderArmFor is how long a trigger keeps FLIGHT_RECORDER=auto's recorder
	// recording (FLIGHT_RECORDER_ARM_FOR).
	FlightRecorderArmFor time.Duration
	// FlightRecorderDir receives the snapshots of slow requests (FLIGHT_RECORDER_DIR).
	FlightRecorderDir string
	// FlightRecorderWindow is the trace the recorder keeps (FLIGHT_RECORDER_WINDOW).
	FlightRecorderWindow time.Duration
	// FlightRecorderMaxBytes caps the recorder's memory and each snapshot
	// (FLIGHT_RECORDER_MAX_BYTES, bytes or with KiB/MiB/GiB).
	FlightRecorderMaxBytes uint64
	// FlightRecorderInterval is the least time between two slow-request snapshots
	// (FLIGHT_RECORDER_INTERVAL).
	FlightRecorderInterval time.Duration
	// FlightRecorderMaxFiles is how many snapshots FlightRecorderDir keeps (FLIGHT_RECORDER_MAX_FILES).
	FlightRecorderMaxFiles int
}

// Defaults of the observability settings.
const (
	// DefaultMetricsAddr listens on every interface: Prometheus scrapes the pod from outside.
	// The listener serves /metrics only; pprof stays on the loopback debug listener.
	DefaultMetricsAddr = ":9090"
	// DefaultAccessLog logs failed and slow requests only. A line for every request cost
	// +49% CPU per request on GET /livez and +14% on POST /v1/events in goperf-scaffold's
	// measurements (docs/benchmarks-observability.md), "errors" nothing measurable; errors
	// and slow requests are the lines read in an incident, and the metrics count the rest.
	DefaultAccessLog = "errors"
	// DefaultSlowRequestThreshold was chosen by measurement: the demo mix at 64 connections
	// on two CPUs loaded 7x over had p99 190 ms and max 465 ms, so 500 ms is crossed by a
	// stuck request, not a busy service; it is a quarter of the fan-out's 2 s deadline, so a
	// request that times out upstream is always caught (docs/benchmarks-observability.md).
	DefaultSlowRequestThreshold = 500 * time.Millisecond
	// DefaultFlightRecorderDir is under the temporary directory; deploy/k8s mounts a volume
	// there, since the container's root file system is read-only.
	DefaultFlightRecorderDir = "flightrecorder"
	// DefaultFlightRecorderWindow, DefaultFlightRecorderMaxBytes, DefaultFlightRecorderInterval,
	// DefaultFlightRecorderMaxFiles and DefaultFlightRecorderArmFor are internal/flightrec's
	// defaults, which say why.
	DefaultFlightRecorderWindow   = 5 * time.Second
	DefaultFlightRecorderMaxBytes = 8 << 20
	DefaultFlightRecorderInterval = time.Minute
	DefaultFlightRecorderMaxFiles = 5
	DefaultFlightRecorderArmFor   = 5 * time.Minute
)

// observabilityFlags holds the raw values Load checks after parsing.
type observabilityFlags struct {
	metricsAddr, flightRecorder, maxBytes, sample string
}

// registerObservability adds the observability flags, with their environment variables as defaults.
// flightRecorderDefault is "auto" or "off" (off where the Go release has no flight recorder);
// tmpDir is where the snapshot directory goes by default. The check it returns validates the
// settings once the flags are parsed.
func (o *Observability) registerObservability(fs *flag.FlagSet, env *envReader, flightRecorderDefault, tmpDir string) func() []error {
	raw := &observabilityFlags{}
	fs.StringVar(&raw.metricsAddr, "metrics-addr", env.str("METRICS_ADDR", DefaultMetricsAddr), `Prometheus /metrics listen address, or "off" (METRICS_ADDR)`)
	fs.StringVar(&o.AccessLog, "access-log", env.str("ACCESS_LOG", DefaultAccessLog), "access log: off, errors (5xx and slow requests) or all (ACCESS_LOG)")
	fs.StringVar(&raw.sample, "access-log-sample", env.str("ACCESS_LOG_SAMPLE", "1"), "share of ordinary requests logged with ACCESS_LOG=all, 0 < x <= 1 (ACCESS_LOG_SAMPLE)")
	fs.DurationVar(&o.SlowRequestThreshold, "slow-request-threshold", env.duration("SLOW_REQUEST_THRESHOLD", DefaultSlowRequestThreshold), "a request this slow is logged and snapshotted; 0 = off (SLOW_REQUEST_THRESHOLD)")
	fs.StringVar(&raw.flightRecorder, "flight-recorder", env.str("FLIGHT_RECORDER", flightRecorderDefault), "execution-trace flight recorder: auto (after a slow request or load shedding), on or off (FLIGHT_RECORDER)")
	fs.DurationVar(&o.FlightRecorderArmFor, "flight-recorder-arm-for", env.duration("FLIGHT_RECORDER_ARM_FOR", DefaultFlightRecorderArmFor), "with FLIGHT_RECORDER=auto, how long a slow request or load shedding keeps the recorder recording (FLIGHT_RECORDER_ARM_FOR)")
	fs.StringVar(&o.FlightRecorderDir, "flight-recorder-dir", env.str("FLIGHT_RECORDER_DIR", filepath.Join(tmpDir, DefaultFlightRecorderDir)), "directory for snapshots of slow requests (FLIGHT_RECORDER_DIR)")
	fs.DurationVar(&o.FlightRecorderWindow, "flight-recorder-window", env.duration("FLIGHT_RECORDER_WINDOW", DefaultFlightRecorderWindow), "trace the flight recorder keeps (FLIGHT_RECORDER_WINDOW)")
	fs.StringVar(&raw.maxBytes, "flight-recorder-max-bytes", env.str("FLIGHT_RECORDER_MAX_BYTES", "8MiB"), "memory cap of the flight recorder, e.g. 8MiB (FLIGHT_RECORDER_MAX_BYTES)")
	fs.DurationVar(&o.FlightRecorderInterval, "flight-recorder-interval", env.duration("FLIGHT_RECORDER_INTERVAL", DefaultFlightRecorderInterval), "least time between two slow-request snapshots (FLIGHT_RECORDER_INTERVAL)")
	fs.IntVar(&o.FlightRecorderMaxFiles, "flight-recorder-max-files", env.integer("FLIGHT_RECORDER_MAX_FILES", DefaultFlightRecorderMaxFiles), "snapshots kept in FLIGHT_RECORDER_DIR (FLIGHT_RECORDER_MAX_FILES)")
	return func() []error { return o.checkObservability(raw) }
}

// checkObservability validates the parsed values and fills the fields that need parsing.
func (o *Observability) checkObservability(raw *observabilityFlags) []error {
	var problems []error
	if !strings.EqualFold(raw.metricsAddr, "off") {
		o.MetricsAddr = raw.metricsAddr
		if err := checkAddr("METRICS_ADDR", o.MetricsAddr); err != nil {
			problems = append(problems, err)
		}
	}
	switch strings.ToLower(o.AccessLog) {
	case "off", "errors", "all":
		o.AccessLog = strings.ToLower(o.AccessLog)
	default:
		problems = append(problems, fmt.Errorf("ACCESS_LOG %q: want off, errors or all", o.AccessLog))
	}
	sample, err := strconv.ParseFloat(strings.TrimSpace(raw.sample), 64)
	if err != nil || !(sample > 0 && sample <= 1) {
		problems = append(problems, fmt.Errorf("ACCESS_LOG_SAMPLE %q: want a number greater than 0 and at most 1", raw.sample))
	}
	o.AccessLogSample = sample
	problems = appendIf(problems, o.SlowRequestThreshold < 0, "SLOW_REQUEST_THRESHOLD must not be negative, got %s", o.SlowRequestThreshold)
	switch strings.ToLower(strings.TrimSpace(raw.flightRecorder)) {
	case "auto":
		o.FlightRecorder = "auto"
	case "on", "true", "1":
		o.FlightRecorder = "on"
	case "off", "false", "0":
		o.FlightRecorder = "off"
	default:
		problems = append(problems, fmt.Errorf("FLIGHT_RECORDER %q: want auto, on or off", raw.flightRecorder))
	}
	problems = appendIf(problems, o.FlightRecorderArmFor <= 0, "FLIGHT_RECORDER_ARM_FOR must be positive, got %s", o.FlightRecorderArmFor)
	problems = appendIf(problems, strings.TrimSpace(o.FlightRecorderDir) == "", "FLIGHT_RECORDER_DIR must not be empty")
	problems = appendIf(problems, o.FlightRecorderWindow <= 0, "FLIGHT_RECORDER_WINDOW must be positive, got %s", o.FlightRecorderWindow)
	if n, err := parseBytes(raw.maxBytes); err != nil || n < 1<<20 {
		problems = append(problems, fmt.Errorf("FLIGHT_RECORDER_MAX_BYTES %q: want a size of at least 1MiB, e.g. 8MiB", raw.maxBytes))
	} else {
		o.FlightRecorderMaxBytes = n
	}
	problems = appendIf(problems, o.FlightRecorderInterval <= 0, "FLIGHT_RECORDER_INTERVAL must be positive, got %s", o.FlightRecorderInterval)
	problems = appendIf(problems, o.FlightRecorderMaxFiles <= 0, "FLIGHT_RECORDER_MAX_FILES must be positive, got %d", o.FlightRecorderMaxFiles)
	return problems
}

// parseBytes reads a byte count: a plain number, or one with a KiB, MiB or GiB suffix.
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	mult := uint64(1)
	for suffix, m := range map[string]uint64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suffix)), m
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<63)/mult {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return n * mult, nil
}
