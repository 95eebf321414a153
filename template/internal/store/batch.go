package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of BatchConfig.
const (
	// DefaultMaxBatch is the batch size that triggers a flush. A thousand
	// rows amortise one commit (one fsync) well while keeping a transaction
	// short enough not to stall readers or hold locks for long.
	DefaultMaxBatch = 1000
	// DefaultMaxDelay is the longest a row waits for its batch to fill, and
	// so the latency a lone write pays for batching. Two milliseconds is
	// about one commit (one fsync) on SSD storage: waiting much longer than a
	// commit takes only slows callers that wait for their acknowledgement,
	// and under load batches grow anyway while the previous one is written.
	DefaultMaxDelay = 2 * time.Millisecond
	// DefaultMaxPendingBatches sets the default MaxPending as a multiple of
	// MaxBatch: enough to absorb a burst while one batch is being written and
	// retried, small enough to bound memory and the loss on a crash.
	DefaultMaxPendingBatches = 10
)

// Retry policy for transient failures (SQLITE_BUSY, PostgreSQL serialization
// failures, dropped connections). Constants rather than knobs: the attempt
// timeout bounds how long one stuck connection can hold the flusher, and the
// backoff doubles so that a database that is briefly overloaded is not hammered.
const (
	maxAttempts    = 5
	retryBaseDelay = 10 * time.Millisecond
	retryMaxDelay  = 500 * time.Millisecond
	attemptTimeout = 30 * time.Second
)

// maxFreeBatches is how many flushed batches keep their buffers for reuse: in
// steady state one batch fills while one is written, so a few cover bursts.
const maxFreeBatches = 4

// BatchConfig configures a BatchWriter. Zero fields take the documented
// defaults.
type BatchConfig struct {
	// MaxBatch is the number of pending rows that makes the writer flush at
	// once. Default DefaultMaxBatch. A single call with more events than
	// MaxBatch is written as one batch of its own: a call is never split.
	MaxBatch int
	// MaxDelay is the longest the first row of a batch waits before the batch
	// is flushed, full or not. Default DefaultMaxDelay.
	MaxDelay time.Duration
	// MaxPending bounds the rows accepted but not yet committed; beyond it
	// TryWrite fails with ErrBusy and Write waits. Default
	// DefaultMaxPendingBatches*MaxBatch; never less than MaxBatch.
	MaxPending int
	// Logger receives warnings about retried and failed batches. Default: the
	// logger the DB was opened with.
	Logger *slog.Logger
}

// BatchStats are cumulative counters of a BatchWriter, for expvar.
type BatchStats struct {
	Batches  int64 `json:"batches"`  // batches committed
	Rows     int64 `json:"rows"`     // rows committed
	Retries  int64 `json:"retries"`  // attempts repeated after a transient error
	Failures int64 `json:"failures"` // batches given up; their callers got the error
	Rejected int64 `json:"rejected"` // TryWrite calls refused with ErrBusy
	Pending  int   `json:"pending"`  // rows accepted and not yet committed or failed
}

// BatchWriter groups events from many callers into transactions. It flushes a
// batch when MaxBatch rows are pending or MaxDelay has passed since the
// batch's first row, whichever comes first, and writes one batch at a time
// from a single goroutine that Close stops and waits for.
//
// What a caller's error means:
//   - ErrBusy, ErrClosed, ErrTooLarge, ErrInvalidEvent, or ctx.Err() when ctx
//     had ended before the events were queued (or while Write waited for
//     room): nothing was queued and nothing will be stored.
//   - ctx.Err() when ctx ends after the events were queued: the call returns
//     at once, but the events stay queued and are written (or fail) with
//     their batch, exactly once. The caller must treat the outcome as unknown.
//   - an error wrapping ErrOutcomeUnknown: the connection failed during COMMIT
//     and the outcome could not be learnt (PostgreSQL only).
//   - any other error: the batch did not commit; none of its events is stored.
//
// Rows are never withdrawn from a batch, and a batch that committed is never
// written again, so nothing is stored twice.
type BatchWriter struct {
	drv    driver
	cfg    BatchConfig
	logger *slog.Logger

	// ctx is the flusher's context. It is cancelled only when Close runs out
	// of time, to interrupt the batch in flight and fail the rest.
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: a batch opened or filled up
	stop   chan struct{} // closed when Close begins
	done   chan struct{} // closed when the flusher has returned

	closeOnce sync.Once

	mu          sync.Mutex
	closing     bool
	draining    bool     // flush batches as soon as they have rows (shutdown began)
	queue       []*batch // FIFO; only the last batch can still take rows
	free        []*batch // flushed batches whose buffers are reused
	pending     int      // rows queued or in flight
	roomWaiters int      // Write calls waiting for pending to shrink
	room        chan struct{}

	batches, rows, retries, failures, rejected atomic.Int64
}

// batch is one future transaction.
type batch struct {
	rows   rowBuffer
	first  time.Time // when its first row was queued
	full   bool      // takes no more rows: flush without waiting for MaxDelay
	result *batchResult
}

// batchResult is shared by every caller whose events are in one batch. err is
// written once, before done is closed.
type batchResult struct {
	done chan struct{}
	err  error
}

// NewBatchWriter returns a writer that stores events in db and starts its
// flusher goroutine. Call Close to flush and stop it.
func NewBatchWriter(db *DB, cfg BatchConfig) *BatchWriter {
	if cfg.Logger == nil {
		cfg.Logger = db.logger
	}
	return newBatchWriter(db.drv, cfg)
}

func newBatchWriter(drv driver, cfg BatchConfig) *BatchWriter {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPendingBatches * cfg.MaxBatch
	}
	cfg.MaxPending = max(cfg.MaxPending, cfg.MaxBatch)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &BatchWriter{
		drv:    drv,
		cfg:    cfg,
		logger: cfg.Logger,
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		room:   make(chan struct{}),
	}
	go w.run()
	return w
}

// TryWrite queues events without waiting for room: it returns ErrBusy at once
// when MaxPending rows are already waiting. Otherwise it waits until the
// transaction holding the events has committed and returns nil, or returns
// the batch's error, or ctx.Err() if ctx ends first (see BatchWriter for what
// that means). It returns ErrClosed once Close has begun.
func (w *BatchWriter) TryWrite(ctx context.Context, events []Event) error {
	return w.write(ctx, events, false)
}

// Write is TryWrite that waits, while ctx allows, for room in the buffer
// instead of returning ErrBusy.
func (w *BatchWriter) Write(ctx context.Context, events []Event) error {
	return w.write(ctx, events, true)
}

func (w *BatchWriter) write(ctx context.Context, events []Event, waitForRoom bool) error {
	if len(events) == 0 {
		return nil
	}
	if err := validateEvents(events); err != nil {
		return err
	}
	if len(events) > w.cfg.MaxPending {
		return fmt.Errorf("%w: %d events, MaxPending is %d", ErrTooLarge, len(events), w.cfg.MaxPending)
	}
	if err := ctx.Err(); err != nil {
		return err // nothing queued: a caller that has already given up stores nothing
	}
	res, err := w.enqueue(ctx, events, waitForRoom)
	if err != nil {
		return err
	}
	select {
	case <-res.done:
		return res.err
	case <-ctx.Done():
		select {
		case <-res.done: // the batch finished too: report its real outcome
			return res.err
		default:
			return ctx.Err()
		}
	}
}

// enqueue copies events into the open batch (opening one if needed) and
// returns the result the caller waits for.
func (w *BatchWriter) enqueue(ctx context.Context, events []Event, waitForRoom bool) (*batchResult, error) {
	n := len(events)
	w.mu.Lock()
	for {
		if w.closing {
			w.mu.Unlock()
			return nil, ErrClosed
		}
		if w.pending+n <= w.cfg.MaxPending {
			break
		}
		if !waitForRoom {
			w.mu.Unlock()
			w.rejected.Add(1)
			return nil, ErrBusy
		}
		w.roomWaiters++
		room := w.room
		w.mu.Unlock()
		var err error
		select {
		case <-room:
		case <-w.stop:
		case <-ctx.Done():
			err = ctx.Err()
		}
		w.mu.Lock()
		w.roomWaiters--
		if err != nil {
			w.mu.Unlock()
			return nil, err
		}
	}

	signal := false
	var b *batch
	if last := len(w.queue) - 1; last >= 0 && !w.queue[last].full {
		if w.queue[last].rows.len()+n <= w.cfg.MaxBatch {
			b = w.queue[last]
		} else {
			// The call does not fit: close the open batch so that it is
			// flushed now, and start the next one. Calls are never split.
			w.queue[last].full = true
			signal = true
		}
	}
	if b == nil {
		b = w.newBatch()
		w.queue = append(w.queue, b)
		signal = true // the flusher must start the MaxDelay clock
	}
	b.rows.add(events)
	w.pending += n
	if b.rows.len() >= w.cfg.MaxBatch {
		b.full = true
		signal = true
	}
	res := b.result
	w.mu.Unlock()

	if signal {
		select {
		case w.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return res, nil
}

// newBatch returns an empty batch, reusing a flushed one when possible.
// Callers hold w.mu.
func (w *BatchWriter) newBatch() *batch {
	var b *batch
	if k := len(w.free); k > 0 {
		b = w.free[k-1]
		w.free[k-1] = nil
		w.free = w.free[:k-1]
	} else {
		b = &batch{}
	}
	b.first = time.Now()
	b.full = false
	b.result = &batchResult{done: make(chan struct{})}
	return b
}

// run is the flusher goroutine: it writes batches one at a time until Close
// has begun and nothing is left.
func (w *BatchWriter) run() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		b, wait, exit := w.next()
		if exit {
			return
		}
		if b != nil {
			w.flush(b)
			continue
		}
		var tick <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-w.wake:
		case <-tick:
		case <-w.stop:
		}
		timer.Stop()
	}
}

// next removes and returns the batch to flush now. If there is none it
// returns how long until the oldest batch is due (0: no batch at all), and
// exit once Close has begun and nothing is left.
func (w *BatchWriter) next() (b *batch, wait time.Duration, exit bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nil, 0, w.closing
	}
	head := w.queue[0]
	if !head.full && !w.closing && !w.draining {
		if wait := time.Until(head.first.Add(w.cfg.MaxDelay)); wait > 0 {
			return nil, wait, false
		}
	}
	// Pop the head. Once out of the queue no caller can add rows to it, so
	// the flusher reads it without the lock.
	copy(w.queue, w.queue[1:])
	w.queue[len(w.queue)-1] = nil
	w.queue = w.queue[:len(w.queue)-1]
	return head, 0, false
}

// flush writes b, recycles it and reports the outcome to its callers, in
// that order, so that a caller that sees its result also sees Stats count it.
func (w *BatchWriter) flush(b *batch) {
	n := b.rows.len()
	err := w.commit(b)
	if err == nil {
		w.batches.Add(1)
		w.rows.Add(int64(n))
	} else {
		w.failures.Add(1)
		w.logger.LogAttrs(w.ctx, slog.LevelError, "batch write failed",
			slog.Int("rows", n), slog.Any("error", err))
	}
	res := b.result

	w.mu.Lock()
	w.pending -= n
	b.rows.reset()
	b.result = nil
	if len(w.free) < maxFreeBatches {
		w.free = append(w.free, b)
	}
	if w.roomWaiters > 0 {
		close(w.room)
		w.room = make(chan struct{})
	}
	w.mu.Unlock()

	res.err = err
	close(res.done)
}

// commit writes b in one transaction, retrying transient failures with
// exponential backoff up to maxAttempts times.
func (w *BatchWriter) commit(b *batch) error {
	delay := retryBaseDelay
	for attempt := 1; ; attempt++ {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("%w before the batch was written: %w", ErrClosed, err)
		}
		ctx, cancel := context.WithTimeout(w.ctx, attemptTimeout)
		err := w.drv.insertBatch(ctx, &b.rows)
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			return fmt.Errorf("write batch of %d events: %w", b.rows.len(), err)
		}
		if w.ctx.Err() != nil {
			return fmt.Errorf("%w while the batch was being written (not committed): %w", ErrClosed, err)
		}
		retryable := timedOut || w.drv.transient(err)
		if !retryable || attempt == maxAttempts {
			return fmt.Errorf("write batch of %d events (attempt %d): %w", b.rows.len(), attempt, err)
		}
		w.retries.Add(1)
		w.logger.LogAttrs(w.ctx, slog.LevelWarn, "batch write failed, retrying",
			slog.Int("rows", b.rows.len()), slog.Int("attempt", attempt),
			slog.Duration("backoff", delay), slog.Any("error", err))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
		delay = min(2*delay, retryMaxDelay)
	}
}

// Drain makes the writer flush every batch as soon as it has rows instead of
// waiting up to MaxDelay for it to fill, while still accepting writes. Call it
// when shutdown begins: the requests still in flight are then acknowledged
// promptly, before the HTTP server's shutdown deadline, whatever MaxDelay is.
// Drain is idempotent; Close implies it.
func (w *BatchWriter) Drain() {
	w.mu.Lock()
	w.draining = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close stops intake (later writes return ErrClosed), writes every batch still
// pending and waits for the flusher to return. If ctx ends first, Close
// cancels the batch in flight, fails the remaining ones with an error wrapping
// ErrClosed, waits for the flusher and returns ctx's error. Close may be
// called more than once and from several goroutines.
func (w *BatchWriter) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		close(w.stop)
	})
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return fmt.Errorf("close batch writer: %w", ctx.Err())
	}
}

// Stats returns the writer's counters.
func (w *BatchWriter) Stats() BatchStats {
	w.mu.Lock()
	pending := w.pending
	w.mu.Unlock()
	return BatchStats{
		Batches:  w.batches.Load(),
		Rows:     w.rows.Load(),
		Retries:  w.retries.Load(),
		Failures: w.failures.Load(),
		Rejected: w.rejected.Load(),
		Pending:  pending,
	}
}
