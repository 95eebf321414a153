// Package tracing sets up OpenTelemetry for the service: a tracer provider that exports spans
// over OTLP/HTTP, configured by the standard OTEL_* environment variables (ConfigFromEnv says
// which), server and client instrumentation with otelhttp, and a log handler that puts the trace
// id of a request into its log lines.
//
// Nothing is installed globally: the provider and the propagator are handed to each
// instrumentation explicitly, so tests start as many services as they like, and failed exports
// are logged on the service's logger rather than through OpenTelemetry's process-wide error
// handler.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Provider is the service's tracing: its tracer provider and the propagator of incoming and
// outgoing trace context (W3C traceparent and baggage).
type Provider struct {
	tp         trace.TracerProvider
	sdk        *sdktrace.TracerProvider // nil when OTEL_SDK_DISABLED=true
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Start creates the tracer provider of cfg (see ConfigFromEnv) and logs what it did: the
// exporter, endpoint and sampler, or that tracing is disabled. The resource reads
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the defaults below.
func Start(ctx context.Context, service string, cfg *Config, logger *slog.Logger) (*Provider, error) {
	p := &Provider{
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	for _, w := range cfg.Warnings {
		logger.WarnContext(ctx, "tracing setting ignored", "problem", w)
	}
	if cfg.Disabled {
		// The instrumentation stays: a caller's traceparent still reaches the upstreams.
		p.tp = tracenoop.NewTracerProvider()
		p.tracer = p.tp.Tracer(service)
		logger.InfoContext(ctx, "tracing disabled: no span is recorded or exported", "reason", "OTEL_SDK_DISABLED=true")
		return p, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
		resource.WithProcessRuntimeVersion(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	sampler := newSampler(cfg)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	attrs := []any{"exporter", cfg.Exporter, "sampler", cfg.Sampler}
	if strings.HasSuffix(cfg.Sampler, "traceidratio") {
		attrs = append(attrs, "sampler_ratio", cfg.SamplerRatio)
	}
	if cfg.Exporter == "otlp" {
		exporter, err := newExporter(ctx, cfg, logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exporter))
		attrs = append(attrs, "protocol", "http/protobuf", "endpoint", redacted(cfg.Endpoint))
	}
	// With OTEL_TRACES_EXPORTER=none spans are still made (trace ids in the logs, traceparent
	// upstream) and dropped as they end.
	p.sdk = sdktrace.NewTracerProvider(opts...)
	p.tp = p.sdk
	p.tracer = p.tp.Tracer(service)
	logger.InfoContext(ctx, "tracing started", attrs...)
	return p, nil
}

// Start begins a span of the service's own (for work that is not a request, such as start-up).
func (p *Provider) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	return p.tracer.Start(ctx, name)
}

// Handler wraps the public handler in a server span per request, continuing the caller's
// trace from its traceparent header. The span is named after the route pattern once the
// ServeMux has matched it ("GET /v1/fanout"), never the raw path.
func (p *Provider) Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(p.tp),
		otelhttp.WithPropagators(p.propagator),
		// Prometheus has the server's metrics already (internal/observe).
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}),
	)
}

// Transport wraps an outbound transport in a client span per request, a child of the span in
// the request's context, and sends the trace context upstream.
func (p *Provider) Transport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(p.tp),
		otelhttp.WithPropagators(p.propagator),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
	)
}

// Shutdown exports the spans still buffered and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// LogHandler adds trace_id and span_id to every record logged with a context that holds a
// span, sampled or not: the trace id joins the log lines of one request across services even
// when its trace was not sampled, and leads to the trace when it was.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error { //nolint:gocritic // slog.Handler's signature
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
