package tracing

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the settings, as the OpenTelemetry specification gives them, but for the sampler.
const (
	// DefaultEndpoint is where spans go without OTEL_EXPORTER_OTLP_ENDPOINT: an OpenTelemetry
	// Collector beside the process, over plain HTTP (the specification's default for OTLP/HTTP;
	// the Go exporter's own default would be https).
	DefaultEndpoint = "http://localhost:4318"
	// DefaultSampler is parent-based: a request that arrives with a traceparent keeps its
	// caller's decision, so a trace is whole or absent; a request that starts a trace is
	// sampled with probability DefaultSamplerRatio.
	DefaultSampler = "parentbased_traceidratio"
	// DefaultSamplerRatio samples 1 in 20 of the traces this service starts. The instrumentation
	// costs every request about 34 allocations, sampled or not; a sampled request costs 6 more
	// and 3 KB (BenchmarkHandler: otel against otel-unsampled), plus its export: encoding, the
	// upload, the collector's and the backend's storage. At 5% that is a fraction of an
	// allocation per request on average, while a service at 20 requests per second still records
	// a trace every second, enough to see every route's shape within minutes (1% would leave a
	// quiet service with a trace a minute or fewer). A caller's sampled traceparent is always
	// honoured, whatever the ratio; OTEL_TRACES_SAMPLER_ARG changes it.
	DefaultSamplerRatio = 0.05
	// DefaultTimeout bounds one export request (the specification's 10 s).
	DefaultTimeout = 10 * time.Second
	// tracesPath is appended to OTEL_EXPORTER_OTLP_ENDPOINT, never to the per-signal URL.
	tracesPath = "v1/traces"
)

// Config is the tracing configuration read from the standard OTEL_* environment variables.
// ConfigFromEnv fills it; Start uses it. The exporter is given every value explicitly, so what
// Config says is what happens (the OpenTelemetry SDK still reads OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_* and the OTEL_*_LIMIT variables itself).
type Config struct {
	// Disabled is OTEL_SDK_DISABLED=true: no exporter, no span recorded; the caller's
	// traceparent still passes through to upstream calls.
	Disabled bool
	// Exporter is "otlp" (OTLP/HTTP with protobuf) or "none" (spans are made, for the trace ids
	// in the logs and the traceparent of upstream calls, but sent nowhere): OTEL_TRACES_EXPORTER.
	Exporter string
	// Endpoint is the full URL spans are posted to: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is,
	// or OTEL_EXPORTER_OTLP_ENDPOINT followed by /v1/traces, or DefaultEndpoint's. Its scheme
	// decides TLS (https) or plain text (http).
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_[TRACES_]HEADERS).
	Headers map[string]string
	// Timeout bounds one export request (OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, milliseconds).
	Timeout time.Duration
	// Gzip compresses export requests (OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION=gzip).
	Gzip bool
	// Certificate is a PEM file of the CAs that verify the collector (…_CERTIFICATE);
	// ClientCertificate and ClientKey are PEM files of the client's certificate for mTLS
	// (…_CLIENT_CERTIFICATE, …_CLIENT_KEY). Empty: the system's roots, no client certificate.
	Certificate, ClientCertificate, ClientKey string
	// Sampler is one of the names of OTEL_TRACES_SAMPLER; SamplerRatio is the probability of
	// the traceidratio samplers (OTEL_TRACES_SAMPLER_ARG).
	Sampler      string
	SamplerRatio float64
	// Warnings are settings read leniently, as the specification asks (a boolean that is
	// neither true nor false is false); Start logs them.
	Warnings []string
}

// samplerNames lists the values of OTEL_TRACES_SAMPLER this service understands.
const samplerNames = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"

// ConfigFromEnv reads the OTEL_* variables through getenv and returns every invalid one, each
// as a one-line error naming the variable (header values are never repeated: they often hold
// credentials).
func ConfigFromEnv(getenv func(string) string) (Config, []error) {
	env := func(key string) string { return strings.TrimSpace(getenv(key)) }
	// otlp returns the per-signal variable OTEL_EXPORTER_OTLP_TRACES_<name> if set, else the
	// general OTEL_EXPORTER_OTLP_<name>, and the name of the one it read.
	otlp := func(name string) (value, key string) {
		key = "OTEL_EXPORTER_OTLP_TRACES_" + name
		if v := env(key); v != "" {
			return v, key
		}
		key = "OTEL_EXPORTER_OTLP_" + name
		return env(key), key
	}
	var cfg Config
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	switch v := env("OTEL_SDK_DISABLED"); strings.ToLower(v) {
	case "true":
		cfg.Disabled = true
	case "", "false":
	default:
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("OTEL_SDK_DISABLED %q is neither true nor false: read as false", v))
	}

	switch v := env("OTEL_TRACES_EXPORTER"); strings.ToLower(v) {
	case "", "otlp":
		cfg.Exporter = "otlp"
	case "none":
		cfg.Exporter = "none"
	default:
		bad("OTEL_TRACES_EXPORTER %q: want otlp or none", v)
	}
	if v, key := otlp("PROTOCOL"); v != "" && v != "http/protobuf" {
		bad("%s %q: want http/protobuf, the one OTLP protocol this service speaks", key, v)
	}

	endpoint, err := endpointFromEnv(env)
	if err != nil {
		problems = append(problems, err)
	}
	cfg.Endpoint = endpoint

	if v, key := otlp("HEADERS"); v != "" {
		if cfg.Headers, err = parseHeaders(v); err != nil {
			bad("%s: %w", key, err)
		}
	}
	cfg.Timeout = DefaultTimeout
	if v, key := otlp("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Hour/time.Millisecond) {
			bad("%s %q: want a number of milliseconds, e.g. 10000", key, v)
		}
		cfg.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch v, key := otlp("COMPRESSION"); strings.ToLower(v) {
	case "", "none":
	case "gzip":
		cfg.Gzip = true
	default:
		bad("%s %q: want gzip or none", key, v)
	}
	var caKey, certKey, keyKey string
	cfg.Certificate, caKey = otlp("CERTIFICATE")
	cfg.ClientCertificate, certKey = otlp("CLIENT_CERTIFICATE")
	cfg.ClientKey, keyKey = otlp("CLIENT_KEY")
	if (cfg.ClientCertificate == "") != (cfg.ClientKey == "") {
		bad("%s and %s: set both or neither", certKey, keyKey)
	}
	if strings.HasPrefix(cfg.Endpoint, "http:") {
		for _, f := range []struct{ key, value string }{{caKey, cfg.Certificate}, {certKey, cfg.ClientCertificate}} {
			if f.value != "" {
				bad("%s is set but the endpoint %s is plain http: use https:// or unset it", f.key, redacted(cfg.Endpoint))
			}
		}
	}

	cfg.Sampler, cfg.SamplerRatio, err = samplerFromEnv(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		problems = append(problems, err)
	}
	return cfg, problems
}

// endpointFromEnv returns the URL spans are posted to, as the specification builds it for
// OTLP/HTTP: the per-signal variable as it is, or the general one with v1/traces appended.
func endpointFromEnv(env func(string) string) (string, error) {
	key, raw, signal := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), true
	if raw == "" {
		key, raw, signal = "OTEL_EXPORTER_OTLP_ENDPOINT", env("OTEL_EXPORTER_OTLP_ENDPOINT"), false
	}
	if raw == "" {
		raw = DefaultEndpoint
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL: want one such as http://otel-collector:4318", key)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s %q: want an http:// or https:// URL such as http://otel-collector:4318", key, u.Redacted())
	}
	if !signal {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + tracesPath
		u.RawPath = ""
	}
	return u.String(), nil
}

// samplerFromEnv checks OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. Unset, the sampler is
// DefaultSampler with the ratio in arg, or DefaultSamplerRatio. A traceidratio sampler named
// without an argument samples everything (ratio 1), as the specification says; the other
// samplers take no argument and ignore it.
func samplerFromEnv(name, arg string) (string, float64, error) {
	ratio := 1.0
	if name == "" {
		name, ratio = DefaultSampler, DefaultSamplerRatio
	}
	switch lower := strings.ToLower(name); lower {
	case "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return lower, 0, nil
	case "traceidratio", "parentbased_traceidratio":
		name = lower
	default:
		return "", 0, fmt.Errorf("OTEL_TRACES_SAMPLER %q: want %s", name, samplerNames)
	}
	if arg == "" {
		return name, ratio, nil
	}
	r, err := strconv.ParseFloat(arg, 64)
	if err != nil || !(r >= 0 && r <= 1) {
		return "", 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a sampling ratio from 0 to 1, e.g. %g", arg, DefaultSamplerRatio)
	}
	return name, r, nil
}

// parseHeaders reads the specification's key=value list, separated by commas, values
// percent-encoded. Its errors never quote a value.
func parseHeaders(s string) (map[string]string, error) {
	headers := make(map[string]string)
	for i, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !isToken(k) {
			return nil, fmt.Errorf("want name=value pairs separated by commas, e.g. authorization=Bearer%%20abc; item %d is not one", i+1)
		}
		value, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not percent-encoded properly", k)
		}
		headers[k] = value
	}
	return headers, nil
}

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
