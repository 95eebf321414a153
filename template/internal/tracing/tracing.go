// Package tracing sets up OpenTelemetry for the service: a tracer provider that exports spans
// over OTLP/HTTP, configured by the standard OTEL_* environment variables
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME, OTEL_SDK_DISABLED, …),
// server and client instrumentation with otelhttp, and a log handler that puts the trace id
// of a request into its log lines.
//
// Nothing is installed globally: the provider and the propagator are handed to each
// instrumentation explicitly, so tests start as many services as they like. The SDK reports
// export failures through OpenTelemetry's process-wide error handler, which is left as it is:
// they appear on stderr.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
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

// Start creates the tracer provider. The exporter reads the OTEL_EXPORTER_OTLP_* variables
// (the endpoint defaults to http://localhost:4318, an OpenTelemetry Collector beside the
// pod); the sampler reads OTEL_TRACES_SAMPLER (default: parentbased_always_on); the resource
// reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the defaults below.
// OTEL_SDK_DISABLED=true keeps the instrumentation but records nothing.
func Start(ctx context.Context, service string, logger *slog.Logger) (*Provider, error) {
	p := &Provider{
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
	if disabled, _ := strconv.ParseBool(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED"))); disabled {
		p.tp = tracenoop.NewTracerProvider()
		p.tracer = p.tp.Tracer(service)
		logger.InfoContext(ctx, "tracing disabled by OTEL_SDK_DISABLED")
		return p, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
		resource.WithProcessRuntimeVersion(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		_ = exporter.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	p.sdk = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	p.tp = p.sdk
	p.tracer = p.tp.Tracer(service)
	logger.InfoContext(ctx, "tracing started", "exporter", "otlp/http")
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
// sampled span, so a log line leads to its trace and back.
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
