package store

import "context"

// batchSpan would trace one batch commit; a service generated without tracing has none (with
// tracing=otel, batch_trace_otel.go replaces this file). Every method is a no-op.
type batchSpan struct{}

func startBatchSpan([]*call, int) batchSpan { return batchSpan{} }

// context returns ctx: there is no span to carry.
func (batchSpan) context(ctx context.Context) context.Context { return ctx }

func (batchSpan) attempted(error) {}

func (batchSpan) end() {}
