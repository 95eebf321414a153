package store

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// batchTracerName is the instrumentation scope of the batch writer's spans.
const batchTracerName = "internal/store"

// batchSpan traces one batch commit: a span of its own, linked to the spans of the requests
// whose events it carries (one commit serves many requests, so they are links, not a parent),
// with the database's spans of each attempt beneath it. It is started only when one of those
// requests is sampled; the service's sampler then records it (internal/tracing's
// linkedSampler). Its TracerProvider is the one of those requests' spans, so the store needs no
// tracing parameter and no global provider.
type batchSpan struct {
	span     trace.Span
	attempts int
	err      error
}

// startBatchSpan starts the span of a commit of rows rows for calls, or returns a batchSpan
// without span when none of the calls' spans is sampled.
func startBatchSpan(calls []*call, rows int) batchSpan {
	var links []trace.Link
	var tp trace.TracerProvider
	for _, c := range calls {
		span := trace.SpanFromContext(c.ctx)
		if sc := span.SpanContext(); sc.IsSampled() {
			links = append(links, trace.Link{SpanContext: sc})
			if tp == nil {
				tp = span.TracerProvider()
			}
		}
	}
	if tp == nil {
		return batchSpan{}
	}
	_, span := tp.Tracer(batchTracerName).Start(context.Background(), "batch commit",
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("batch.rows", rows), attribute.Int("batch.calls", len(calls))))
	return batchSpan{span: span}
}

// context returns ctx carrying the span, so that the database's spans of an attempt are its
// children.
func (s *batchSpan) context(ctx context.Context) context.Context {
	if s.span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, s.span)
}

// attempted records the outcome of one attempt (nil: committed).
func (s *batchSpan) attempted(err error) {
	s.attempts++
	s.err = err
	if s.span != nil && err != nil {
		s.span.RecordError(err)
	}
}

// end ends the span: an error status if the last attempt failed.
func (s *batchSpan) end() {
	if s.span == nil {
		return
	}
	s.span.SetAttributes(attribute.Int("batch.attempts", s.attempts))
	if s.err != nil {
		s.span.SetStatus(codes.Error, s.err.Error())
	}
	s.span.End()
}
