package config

import (
	"io"
	"strings"
	"testing"
)

func TestTracingSettingsAreLoaded(t *testing.T) {
	cfg, err := Load([]string{"svc"}, envOf(map[string]string{
		"DATABASE_URL":                anyDatabaseURL,
		"OTEL_TRACES_SAMPLER":         "traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":     "0.5",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tracing.Sampler != "traceidratio" || cfg.Tracing.SamplerRatio != 0.5 || cfg.Tracing.Endpoint != "https://collector:4318/v1/traces" {
		t.Errorf("tracing settings not taken: %+v", cfg.Tracing)
	}
}

// TestInvalidTracingSettingsAreReportedWithTheOthers: a bad OTEL_* value stops the start with
// the other invalid settings, one line each.
func TestInvalidTracingSettingsAreReportedWithTheOthers(t *testing.T) {
	_, err := Load([]string{"svc"}, envOf(map[string]string{
		"DATABASE_URL":            anyDatabaseURL,
		"HTTP_ADDR":               "nowhere",
		"OTEL_TRACES_SAMPLER":     "sometimes",
		"OTEL_TRACES_EXPORTER":    "zipkin",
		"OTEL_TRACES_SAMPLER_ARG": "2",
	}), io.Discard)
	if err == nil {
		t.Fatal("Load accepted invalid tracing settings")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, name := range []string{"HTTP_ADDR", "OTEL_TRACES_SAMPLER ", "OTEL_TRACES_EXPORTER"} {
		found := 0
		for _, l := range lines {
			if strings.Contains(l, name) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%d lines name %s, want 1: %v", found, strings.TrimSpace(name), err)
		}
	}
}
