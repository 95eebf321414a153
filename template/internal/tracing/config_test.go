package tracing

import (
	"maps"
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) func(string) string {
	return func(key string) string { return kv[key] }
}

func TestConfigDefaults(t *testing.T) {
	cfg, problems := ConfigFromEnv(envOf(nil))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if cfg.Disabled || cfg.Exporter != "otlp" || cfg.Endpoint != "http://localhost:4318/v1/traces" ||
		cfg.Timeout != 10*time.Second || cfg.Gzip || len(cfg.Headers) != 0 {
		t.Errorf("exporter defaults: %+v", cfg)
	}
	if cfg.Sampler != "parentbased_traceidratio" || cfg.SamplerRatio != DefaultSamplerRatio {
		t.Errorf("sampler %s %v, want parentbased_traceidratio %v", cfg.Sampler, cfg.SamplerRatio, DefaultSamplerRatio)
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, c := range []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"base endpoint gets /v1/traces", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/"},
			func(c Config) bool { return c.Endpoint == "https://collector:4318/v1/traces" }},
		{"base endpoint with a path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://gw/otlp"},
			func(c Config) bool { return c.Endpoint == "http://gw/otlp/v1/traces" }},
		{"per-signal endpoint as it is, and first", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:9000/t",
		}, func(c Config) bool { return c.Endpoint == "http://b:9000/t" }},
		{"headers, decoded; per-signal first", map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":        "x=1",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "Authorization=Bearer%20abc, X-Tenant = t1 ,",
		}, func(c Config) bool {
			return maps.Equal(c.Headers, map[string]string{"Authorization": "Bearer abc", "X-Tenant": "t1"})
		}},
		{"timeout and compression", map[string]string{
			"OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "GZIP",
		}, func(c Config) bool { return c.Timeout == 2500*time.Millisecond && c.Gzip }},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "None"},
			func(c Config) bool { return c.Exporter == "none" }},
		{"protocol http/protobuf", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			func(c Config) bool { return c.Exporter == "otlp" }},
		{"disabled", map[string]string{"OTEL_SDK_DISABLED": "TRUE"},
			func(c Config) bool { return c.Disabled && len(c.Warnings) == 0 }},
		{"a boolean neither true nor false is false, with a warning", map[string]string{"OTEL_SDK_DISABLED": "yes"},
			func(c Config) bool {
				return !c.Disabled && len(c.Warnings) == 1 && strings.Contains(c.Warnings[0], "OTEL_SDK_DISABLED")
			}},
		{"default sampler with a ratio", map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.25"},
			func(c Config) bool { return c.Sampler == "parentbased_traceidratio" && c.SamplerRatio == 0.25 }},
		{"a ratio sampler named without a ratio samples all", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio"},
			func(c Config) bool { return c.Sampler == "traceidratio" && c.SamplerRatio == 1 }},
		{"always_on ignores the argument", map[string]string{"OTEL_TRACES_SAMPLER": "Always_On", "OTEL_TRACES_SAMPLER_ARG": "x"},
			func(c Config) bool { return c.Sampler == "always_on" }},
		{"parentbased_always_off", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_off"},
			func(c Config) bool { return c.Sampler == "parentbased_always_off" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, problems := ConfigFromEnv(envOf(c.env))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			if !c.check(cfg) {
				t.Errorf("%+v", cfg)
			}
		})
	}
}

// TestInvalidSettingsAreOneLineEach: every invalid value is one problem, on one line, naming
// its variable, and a header's value is never repeated.
func TestInvalidSettingsAreOneLineEach(t *testing.T) {
	for key, value := range map[string]string{
		"OTEL_TRACES_SAMPLER":                   "parentbased_jaeger_remote",
		"OTEL_TRACES_SAMPLER_ARG":               "1.5",
		"OTEL_TRACES_EXPORTER":                  "console",
		"OTEL_EXPORTER_OTLP_PROTOCOL":           "grpc",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":    "http/json",
		"OTEL_EXPORTER_OTLP_ENDPOINT":           "collector:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    "ftp://collector/x",
		"OTEL_EXPORTER_OTLP_HEADERS":            "secret-token-value",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS":     "k=secret%zz",
		"OTEL_EXPORTER_OTLP_TIMEOUT":            "10s",
		"OTEL_EXPORTER_OTLP_COMPRESSION":        "zstd",
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/etc/cert.pem", // without its key
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        "/etc/ca.pem",   // with the default http:// endpoint
	} {
		t.Run(key, func(t *testing.T) {
			env := map[string]string{key: value}
			if key == "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE" {
				env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector:4318"
			}
			_, problems := ConfigFromEnv(envOf(env))
			if len(problems) != 1 {
				t.Fatalf("%s=%s: %d problems, want 1: %v", key, value, len(problems), problems)
			}
			msg := problems[0].Error()
			if !strings.Contains(msg, key) || strings.Contains(msg, "\n") || strings.Contains(msg, "secret") {
				t.Errorf("%s=%s: %q; want one line naming the variable, without a header's value", key, value, msg)
			}
		})
	}
}
