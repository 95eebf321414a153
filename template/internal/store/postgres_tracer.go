package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// queryTracer is the tracer of the PostgreSQL connections: none in a service generated
// without tracing (tracing=otel puts OpenTelemetry spans here).
func queryTracer(context.Context) pgx.QueryTracer { return nil }
