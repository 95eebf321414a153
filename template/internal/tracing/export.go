package tracing

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exportLogInterval is the least time between two log lines about exports that keep failing.
const exportLogInterval = time.Minute

// newExporter returns the OTLP/HTTP exporter of cfg. Every setting is given explicitly, so the
// exporter's own reading of the environment changes nothing (and its defaults, such as https
// for the default endpoint, do not apply).
func newExporter(ctx context.Context, cfg *Config, logger *slog.Logger) (sdktrace.SpanExporter, error) {
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	headers := cfg.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	compression := otlptracehttp.NoCompression
	if cfg.Gzip {
		compression = otlptracehttp.GzipCompression
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithHeaders(headers),
		otlptracehttp.WithTimeout(cfg.Timeout),
		otlptracehttp.WithCompression(compression),
	}
	if strings.HasPrefix(cfg.Endpoint, "https:") {
		opts = append(opts, otlptracehttp.WithTLSClientConfig(tlsCfg))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	return &loggedExporter{SpanExporter: exp, logger: logger, endpoint: redacted(cfg.Endpoint)}, nil
}

// tlsConfig loads the certificate files of cfg: the CAs that verify the collector and the
// client certificate, if any. Used with an https:// endpoint only (ConfigFromEnv refuses the
// files with an http:// one).
func tlsConfig(cfg *Config) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.Certificate != "" {
		pem, err := os.ReadFile(cfg.Certificate)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP certificate: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tracing: OTLP certificate %s: no PEM certificate in it", cfg.Certificate)
		}
	}
	if cfg.ClientCertificate != "" {
		cert, err := tls.LoadX509KeyPair(cfg.ClientCertificate, cfg.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// redacted is the endpoint without a password, for the logs.
func redacted(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// loggedExporter reports failed exports on the service's logger, as JSON lines like every
// other, instead of returning them to the SDK, which would hand them to OpenTelemetry's
// process-wide error handler (a plain-text line on stderr per failed batch). The first failure
// is logged at once, then at most one line per exportLogInterval while they go on, and one line
// when an export succeeds again; the counts cover the whole outage. The spans of a failed
// export are dropped (the exporter has already retried the failures worth retrying).
type loggedExporter struct {
	sdktrace.SpanExporter
	logger   *slog.Logger
	endpoint string

	mu       sync.Mutex
	failures int       // failed exports since the last success
	dropped  int       // their spans
	logged   time.Time // when the last line about them was written
}

func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		if e.failures > 0 {
			e.logger.LogAttrs(ctx, slog.LevelInfo, "trace export recovered", slog.String("endpoint", e.endpoint),
				slog.Int("failed_exports", e.failures), slog.Int("dropped_spans", e.dropped))
			e.failures, e.dropped = 0, 0
		}
		return nil
	}
	e.failures++
	e.dropped += len(spans)
	switch now := time.Now(); {
	case e.failures == 1:
		e.logged = now
		e.logger.LogAttrs(ctx, slog.LevelWarn, "trace export failed; spans dropped", slog.String("endpoint", e.endpoint),
			slog.Int("dropped_spans", len(spans)), slog.Any("error", err))
	case now.Sub(e.logged) >= exportLogInterval:
		e.logged = now
		e.logger.LogAttrs(ctx, slog.LevelWarn, "trace export still failing", slog.String("endpoint", e.endpoint),
			slog.Int("failed_exports", e.failures), slog.Int("dropped_spans", e.dropped), slog.Any("error", err))
	}
	// Reported above: the SDK would pass an error on to the global handler.
	return nil
}
