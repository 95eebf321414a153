package config

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadObservability loads kv with a DATABASE_URL that every database answer accepts.
func loadObservability(t *testing.T, kv map[string]string) (Config, error) {
	t.Helper()
	kv["DATABASE_URL"] = "postgres://localhost:5432/app"
	return Load([]string{"svc"}, envOf(kv), io.Discard)
}

func TestObservabilityDefaults(t *testing.T) {
	tmp := t.TempDir()
	cfg, err := loadObservability(t, map[string]string{"TMPDIR": tmp})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != ":9090" || cfg.AccessLog != DefaultAccessLog || cfg.AccessLogSample != 1 {
		t.Errorf("metrics %q, access log %q/%v; want the defaults", cfg.MetricsAddr, cfg.AccessLog, cfg.AccessLogSample)
	}
	if cfg.SlowRequestThreshold != DefaultSlowRequestThreshold || cfg.FlightRecorder != DefaultFlightRecorder ||
		cfg.FlightRecorderArmFor != DefaultFlightRecorderArmFor {
		t.Errorf("slow threshold %s, flight recorder %q armed for %s; want the defaults",
			cfg.SlowRequestThreshold, cfg.FlightRecorder, cfg.FlightRecorderArmFor)
	}
	if cfg.FlightRecorderDir != filepath.Join(tmp, "flightrecorder") || cfg.FlightRecorderMaxBytes != DefaultFlightRecorderMaxBytes ||
		cfg.FlightRecorderWindow != DefaultFlightRecorderWindow {
		t.Errorf("flight recorder dir %q, max bytes %d, window %s", cfg.FlightRecorderDir, cfg.FlightRecorderMaxBytes, cfg.FlightRecorderWindow)
	}
}

func TestObservabilitySettings(t *testing.T) {
	cfg, err := loadObservability(t, map[string]string{
		"METRICS_ADDR": "off", "ACCESS_LOG": "ALL", "ACCESS_LOG_SAMPLE": "0.25",
		"SLOW_REQUEST_THRESHOLD": "0", "FLIGHT_RECORDER": "off", "FLIGHT_RECORDER_MAX_BYTES": "2MiB",
		"FLIGHT_RECORDER_INTERVAL": "10s", "FLIGHT_RECORDER_MAX_FILES": "2", "FLIGHT_RECORDER_WINDOW": "3s",
		"FLIGHT_RECORDER_ARM_FOR": "90s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "" || cfg.AccessLog != "all" || cfg.AccessLogSample != 0.25 || cfg.SlowRequestThreshold != 0 {
		t.Errorf("got metrics %q, access log %q/%v, slow %s", cfg.MetricsAddr, cfg.AccessLog, cfg.AccessLogSample, cfg.SlowRequestThreshold)
	}
	if cfg.FlightRecorder != "off" || cfg.FlightRecorderMaxBytes != 2<<20 || cfg.FlightRecorderInterval != 10*time.Second ||
		cfg.FlightRecorderMaxFiles != 2 || cfg.FlightRecorderWindow != 3*time.Second || cfg.FlightRecorderArmFor != 90*time.Second {
		t.Errorf("flight recorder settings not taken: %+v", cfg.Observability)
	}
}

func TestFlightRecorderModes(t *testing.T) {
	for in, want := range map[string]string{"auto": "auto", "AUTO": "auto", "on": "on", "true": "on", "1": "on", "OFF": "off", "0": "off"} {
		cfg, err := loadObservability(t, map[string]string{"FLIGHT_RECORDER": in})
		if err != nil || cfg.FlightRecorder != want {
			t.Errorf("FLIGHT_RECORDER=%q: %q, %v; want %q", in, cfg.FlightRecorder, err, want)
		}
	}
}

func TestInvalidObservabilitySettingsAreReported(t *testing.T) {
	_, err := loadObservability(t, map[string]string{
		"METRICS_ADDR": "9090", "ACCESS_LOG": "verbose", "ACCESS_LOG_SAMPLE": "2",
		"SLOW_REQUEST_THRESHOLD": "-1s", "FLIGHT_RECORDER": "maybe", "FLIGHT_RECORDER_MAX_BYTES": "1KiB",
		"FLIGHT_RECORDER_INTERVAL": "0s", "FLIGHT_RECORDER_MAX_FILES": "0", "FLIGHT_RECORDER_ARM_FOR": "0s",
	})
	if err == nil {
		t.Fatal("Load accepted invalid observability settings")
	}
	for _, name := range []string{
		"METRICS_ADDR", "ACCESS_LOG ", "ACCESS_LOG_SAMPLE", "SLOW_REQUEST_THRESHOLD", "FLIGHT_RECORDER ",
		"FLIGHT_RECORDER_MAX_BYTES", "FLIGHT_RECORDER_INTERVAL", "FLIGHT_RECORDER_MAX_FILES", "FLIGHT_RECORDER_ARM_FOR",
	} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", strings.TrimSpace(name), err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"1048576": 1 << 20, "16MiB": 16 << 20, "512 KiB": 512 << 10, "1GiB": 1 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1TB", "99999999999999999999GiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}
