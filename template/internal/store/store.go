// Package store owns the service's database: it opens and configures the
// connection pools, applies the embedded migrations, and writes events through
// a BatchWriter, which commits the rows of many concurrent callers together
// (group commit).
//
// The acknowledgement contract is the point of the package: BatchWriter.Write
// and BatchWriter.TryWrite return nil only after the transaction holding the
// caller's events has committed. Every other result means the events were not
// stored, except an error wrapping ErrOutcomeUnknown. A caller's events are
// never split: they commit together in one transaction or not at all, and a
// committed transaction is never written again.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Sentinel errors returned by the batch writer. Compare with errors.Is.
var (
	// ErrBusy means TryWrite found no room for the events: MaxPending rows are
	// already waiting. Nothing was queued; the caller may retry later (an HTTP
	// handler answers 503 with Retry-After).
	ErrBusy = errors.New("store: batch writer busy")
	// ErrClosed means the writer has begun to close, so the events were not
	// queued, or (wrapped) that Close gave up before their batch was written.
	ErrClosed = errors.New("store: batch writer closed")
	// ErrTooLarge means one call carried more events than one batch may hold
	// (BatchConfig.MaxBatch), so it can never be written. Nothing was queued.
	ErrTooLarge = errors.New("store: too many events in one call")
	// ErrInvalidEvent means an event failed validation before it was queued
	// (empty kind, invalid UTF-8 or JSON). Nothing from that call was queued.
	ErrInvalidEvent = errors.New("store: invalid event")
	// ErrOutcomeUnknown means the connection failed while the batch's COMMIT
	// was in flight and the commit status could not be determined afterwards.
	// The events may or may not be stored; the caller must not assume either.
	ErrOutcomeUnknown = errors.New("store: commit outcome unknown")
	// ErrRefused means the database refused the content of the call's events
	// (PostgreSQL: a data exception, an integrity constraint or a size limit;
	// SQLite: a constraint): the same events would fail again. The writer
	// found them out by splitting the batch they shared with other calls, so
	// those others committed. Nothing of this call was stored; the caller must
	// change the events (an HTTP handler answers 422).
	ErrRefused = errors.New("store: events refused by the database")
	// ErrUnavailable means the database did not commit the events before the
	// caller's context ended: it did not answer, or kept failing with errors
	// worth retrying (a restart, a lost connection, a held lock). The error
	// also wraps the context's error and the last database error. Nothing was
	// stored; the caller may retry later (an HTTP handler answers 503).
	ErrUnavailable = errors.New("store: database unavailable")
)

// Event is one row of the events table. Payload must hold one JSON value; an
// empty Payload is stored as JSON null. The JSON form is the one POST
// /v1/events accepts: {"kind": "...", "payload": {...}}.
type Event struct {
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	drv    driver
	logger *slog.Logger
	// observer, if set (WithBatchObserver), is told about the batches of the
	// writers on this DB.
	observer BatchObserver
}

// driver is the seam between the database-independent code in this package
// and the one database driver the service was generated with. Tests wrap it to
// inject failures without touching package state.
type driver interface {
	// insertBatch writes all rows in one transaction. A nil error means the
	// transaction committed; any other result means it did not, except for an
	// error wrapping ErrOutcomeUnknown. If the connection fails while COMMIT
	// is in flight, the driver learns whether the transaction committed while
	// resolveCtx allows (which may outlast ctx, whose end may be the cause).
	insertBatch(ctx context.Context, rows *rowBuffer, resolveCtx context.Context) error
	// resolve goes on learning, while ctx allows, the outcome of the commit
	// that err, an error of insertBatch wrapping ErrOutcomeUnknown, left
	// open: nil if it committed, ErrOutcomeUnknown again if still unknown,
	// any other error if it did not commit.
	resolve(ctx context.Context, err error) error
	// release gives back what insertBatch keeps for the next batch (an open
	// connection and transaction); the writer calls it when idle or stopping.
	release()
	// insertTx writes rows the way a handler without a batch writer would:
	// one row as one autocommitted INSERT, more rows in one transaction of
	// their own, no retries. It backs DB.Insert, the unbatched baseline.
	insertTx(ctx context.Context, rows *rowBuffer) error
	// transient reports whether err is worth retrying: the transaction did
	// not commit and the same batch may succeed a moment later.
	transient(err error) bool
	// refusedContent reports whether the database refused err's transaction
	// for the content of a row: it did not commit, the same rows would fail
	// again, and a batch without them may succeed.
	refusedContent(err error) bool
	ping(ctx context.Context) error
	countEvents(ctx context.Context) (int64, error)
	close() error
}

// Open opens the database named by databaseURL, configures it for batched
// writes and applies the embedded migrations that are not applied yet. A nil
// logger discards log output.
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(databaseURL) == "" {
		return nil, errors.New("open database: empty database URL")
	}
	drv, err := openDriver(ctx, databaseURL, logger)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return &DB{drv: drv, logger: logger}, nil
}

// Insert writes events at once in a transaction of their own (a single event
// as one autocommitted INSERT), without batching and without retries: what a
// request handler without a BatchWriter does. It is the baseline the
// benchmarks compare the BatchWriter with; under concurrent callers a
// BatchWriter commits far fewer transactions for the same rows.
func (db *DB) Insert(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := validateEvents(events); err != nil {
		return err
	}
	var rows rowBuffer
	rows.add(events)
	if err := db.drv.insertTx(ctx, &rows); err != nil {
		return fmt.Errorf("insert %d events: %w", len(events), err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.drv.ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// CountEvents returns the number of stored events. It counts the whole table,
// so it is meant for tests, demos and health pages, not for hot paths.
func (db *DB) CountEvents(ctx context.Context) (int64, error) {
	n, err := db.drv.countEvents(ctx)
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// Close closes the database. Close every BatchWriter that uses db first, so
// that their pending events are written.
func (db *DB) Close() error {
	if err := db.drv.close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// jsonNull is what an event with an empty Payload stores.
const jsonNull = "null"

// rowBuffer holds the rows of one batch. Payload bytes are copied into one
// shared byte slice, so a caller may reuse its buffers as soon as its call
// returns (even when it returns early because its context ended), and the
// slices are reused from batch to batch without reallocation.
type rowBuffer struct {
	kinds []string
	ends  []int // payload i is data[ends[i-1]:ends[i]]
	data  []byte
}

// maxRetainedPayloadBytes caps the payload storage a reset buffer keeps for
// reuse, so that one huge batch does not pin its memory forever.
const maxRetainedPayloadBytes = 4 << 20

func (r *rowBuffer) len() int { return len(r.kinds) }

func (r *rowBuffer) add(events []Event) {
	for _, e := range events {
		r.kinds = append(r.kinds, e.Kind)
		if len(e.Payload) == 0 {
			r.data = append(r.data, jsonNull...)
		} else {
			r.data = append(r.data, e.Payload...)
		}
		r.ends = append(r.ends, len(r.data))
	}
}

func (r *rowBuffer) payload(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.data[start:r.ends[i]]
}

// keep compacts r in place to the rows in spans (ascending, disjoint,
// [lo, hi) row indexes) and moves each span to its new position.
func (r *rowBuffer) keep(spans []*rowSpan) {
	rows, size := 0, 0
	for _, s := range spans {
		lo := rows
		for i := s.lo; i < s.hi; i++ {
			start := 0
			if i > 0 {
				start = r.ends[i-1] // not yet overwritten: rows <= i
			}
			size += copy(r.data[size:], r.data[start:r.ends[i]]) // moves down (memmove)
			r.kinds[rows] = r.kinds[i]
			r.ends[rows] = size
			rows++
		}
		s.lo, s.hi = lo, rows
	}
	clear(r.kinds[rows:])
	r.kinds = r.kinds[:rows]
	r.ends = r.ends[:rows]
	r.data = r.data[:size]
}

// rowSpan is the rows [lo, hi) of one call in a rowBuffer.
type rowSpan struct{ lo, hi int }

func (r *rowBuffer) reset() {
	clear(r.kinds) // drop the string references so the GC can free them
	r.kinds = r.kinds[:0]
	r.ends = r.ends[:0]
	if cap(r.data) > maxRetainedPayloadBytes {
		r.data = nil
	} else {
		r.data = r.data[:0]
	}
}
