package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTestProvider records spans in memory instead of exporting them.
func newTestProvider(t testing.TB) (*Provider, *tracetest.InMemoryExporter) {
	t.Helper()
	exporter := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	return &Provider{
		tp: sdk, sdk: sdk, tracer: sdk.Tracer("test"),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, exporter
}

func TestServerSpanIsNamedAfterTheRouteAndTheLogCarriesItsTraceID(t *testing.T) {
	p, exporter := newTestProvider(t)
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "inside")
		_, _ = io.WriteString(w, "ok")
	})
	req := httptest.NewRequest(http.MethodGet, "/items/42", http.NoBody)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a1ce929d0e0e4736-00f067aa0ba902b7-01")
	p.Handler(mux).ServeHTTP(httptest.NewRecorder(), req)

	spans := exporter.GetSpans()
	if len(spans) != 1 || spans[0].Name != "GET /items/{id}" {
		t.Fatalf("spans = %v, want one named after the pattern", spans)
	}
	if got := spans[0].SpanContext.TraceID().String(); got != "4bf92f3577b34da6a1ce929d0e0e4736" {
		t.Errorf("trace id %s: the caller's traceparent was not continued", got)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["trace_id"] != "4bf92f3577b34da6a1ce929d0e0e4736" || line["span_id"] != spans[0].SpanContext.SpanID().String() {
		t.Errorf("log line %v lacks the span's ids", line)
	}
}

func TestLogHandlerLeavesLinesWithoutSpanAlone(t *testing.T) {
	var buf bytes.Buffer
	slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("k", "v").WithGroup("g").InfoContext(context.Background(), "plain", "x", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if _, ok := line["trace_id"]; ok || line["k"] != "v" {
		t.Errorf("line = %v; want no trace_id and the With attributes kept", line)
	}
}

// BenchmarkHandler measures what a server span costs a request, beside the bare handler:
// sampled (otel: every request, as with OTEL_TRACES_SAMPLER=always_on) and not sampled
// (otel-unsampled: what the default sampler costs the requests it leaves out). The default
// ratio's mean cost is unsampled + DefaultSamplerRatio × (sampled − unsampled).
func BenchmarkHandler(b *testing.B) {
	p, _ := newTestProvider(b)
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /livez", bare)
	// Spans go to an exporter that drops them: the cost measured is the request path's.
	provider := func(sampler string) *Provider {
		sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
			sdktrace.WithSampler(newSampler(&Config{Sampler: sampler})))
		b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
		return &Provider{tp: sdk, sdk: sdk, tracer: sdk.Tracer("bench"), propagator: p.propagator}
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"otel", provider("always_on").Handler(mux)},
		{"otel-unsampled", provider("parentbased_traceidratio").Handler(mux)}, // ratio 0
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/livez", http.NoBody)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
