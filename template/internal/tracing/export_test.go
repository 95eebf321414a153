package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// TestTheDefaultEndpointIsPlainHTTPOnPort4318: with no OTEL_EXPORTER_OTLP_* variable, spans are
// posted over plain HTTP (not https) to localhost:4318/v1/traces, as the specification says.
func TestTheDefaultEndpointIsPlainHTTPOnPort4318(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:4318")
	if err != nil {
		t.Skipf("port 4318 is taken (%v): a collector may be running here", err)
	}
	var mu sync.Mutex
	var got []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	cfg, _ := ConfigFromEnv(envOf(map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}))
	var log bytes.Buffer
	p, err := Start(context.Background(), "test", &cfg, slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Start(context.Background(), "work")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "POST /v1/traces" {
		t.Errorf("the collector received %v, want one POST /v1/traces; log:\n%s", got, log.String())
	}
}

// failingExporter fails every export until ok is set.
type failingExporter struct {
	tracetest.NoopExporter
	ok bool
}

func (f *failingExporter) ExportSpans(context.Context, []trace.ReadOnlySpan) error {
	if f.ok {
		return nil
	}
	return errors.New("connection refused")
}

// TestExportFailuresAreLoggedOncePerInterval: the first failed export is logged at once, the
// next ones at most once per exportLogInterval with their counts, the recovery once; the SDK
// is told of none (it would pass them to the global error handler).
func TestExportFailuresAreLoggedOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	inner := &failingExporter{}
	e := &loggedExporter{SpanExporter: inner, logger: slog.New(slog.NewJSONHandler(&buf, nil)), endpoint: "http://c:4318/v1/traces"}
	spans := make([]trace.ReadOnlySpan, 3)
	for range 3 {
		if err := e.ExportSpans(context.Background(), spans); err != nil {
			t.Fatalf("ExportSpans returned %v to the SDK", err)
		}
	}
	e.logged = e.logged.Add(-exportLogInterval) // an interval has passed
	_ = e.ExportSpans(context.Background(), spans)
	_ = e.ExportSpans(context.Background(), spans)
	inner.ok = true
	_ = e.ExportSpans(context.Background(), spans)
	_ = e.ExportSpans(context.Background(), spans)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		lines = append(lines, line)
	}
	want := []struct {
		msg             string
		failed, dropped float64
	}{
		{"trace export failed; spans dropped", 0, 3},
		{"trace export still failing", 4, 12},
		{"trace export recovered", 5, 15},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		l := lines[i]
		if l["msg"] != w.msg || l["dropped_spans"] != w.dropped || (w.failed > 0 && l["failed_exports"] != w.failed) {
			t.Errorf("line %d = %v; want %q with %v failed exports and %v dropped spans", i, l, w.msg, w.failed, w.dropped)
		}
	}
}

// TestALinkToASampledSpanSamplesARootSpan: the batch commit's rule. A span without parent
// linked to a sampled span is sampled whatever the ratio; without such a link, or with a
// parent, the configured sampler decides.
func TestALinkToASampledSpanSamplesARootSpan(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	cfg := Config{Sampler: "parentbased_traceidratio", SamplerRatio: 0}
	tp := trace.NewTracerProvider(trace.WithSampler(newSampler(&cfg)), trace.WithSyncer(exporter))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("test")

	sampled := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: [16]byte{1}, SpanID: [8]byte{1}, TraceFlags: oteltrace.FlagsSampled, Remote: true,
	})
	unsampled := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: [16]byte{2}, SpanID: [8]byte{2}, Remote: true})
	for _, c := range []struct {
		name   string
		parent oteltrace.SpanContext
		links  []oteltrace.SpanContext
		want   bool
	}{
		{"root linked to a sampled span", oteltrace.SpanContext{}, []oteltrace.SpanContext{unsampled, sampled}, true},
		{"root linked to unsampled spans", oteltrace.SpanContext{}, []oteltrace.SpanContext{unsampled}, false},
		{"root without links", oteltrace.SpanContext{}, nil, false},
		{"child of an unsampled parent", unsampled, []oteltrace.SpanContext{sampled}, false},
		{"child of a sampled parent", sampled, nil, true},
	} {
		ctx := oteltrace.ContextWithRemoteSpanContext(context.Background(), c.parent)
		var links []oteltrace.Link
		for _, l := range c.links {
			links = append(links, oteltrace.Link{SpanContext: l})
		}
		_, span := tracer.Start(ctx, c.name, oteltrace.WithLinks(links...))
		if got := span.SpanContext().IsSampled(); got != c.want {
			t.Errorf("%s: sampled = %v, want %v", c.name, got, c.want)
		}
		span.End()
	}
}

// TestDisabledRecordsNothing: OTEL_SDK_DISABLED=true makes no exporter and no span, and says so.
func TestDisabledRecordsNothing(t *testing.T) {
	var log bytes.Buffer
	p, err := Start(context.Background(), "test", &Config{Disabled: true}, slog.New(slog.NewJSONHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if p.sdk != nil {
		t.Error("a tracer provider of the SDK was made")
	}
	if _, span := p.Start(context.Background(), "work"); span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("a span was recorded")
	}
	if !strings.Contains(log.String(), `"msg":"tracing disabled: no span is recorded or exported","reason":"OTEL_SDK_DISABLED=true"`) {
		t.Errorf("log: %s", log.String())
	}
}
