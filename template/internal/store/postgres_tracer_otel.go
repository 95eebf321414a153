package store

import (
	"context"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer returns the tracer of the PostgreSQL connections: a span per query, COPY and
// batch, as a child of the span in the caller's context. Its TracerProvider is the one of the
// span in ctx (run opens the database inside a span), as OpenTelemetry's own instrumentations
// do, so the store needs no tracing parameter and no global provider. Like every otelpgx span,
// a query is traced only under a recording span: the batch writer's commits run under their own
// span, linked to the requests they serve (batch_trace_otel.go).
func queryTracer(ctx context.Context) pgx.QueryTracer {
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(trace.SpanFromContext(ctx).TracerProvider()))
}
