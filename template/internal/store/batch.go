package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of BatchConfig.
const (
	// DefaultMaxBatch caps the rows of one transaction. A thousand rows
	// amortise one commit (one fsync) well while keeping a transaction short
	// enough not to stall readers or hold locks for long. It is also the most
	// events one call may carry (POST /v1/events accepts at most 1000).
	DefaultMaxBatch = 1000
	// DefaultMaxPendingBatches sets the default MaxPending as a multiple of
	// MaxBatch: enough to absorb a burst while one batch is being written and
	// retried, small enough to bound memory and the loss on a crash.
	DefaultMaxPendingBatches = 10
	// DefaultMaxPendingBytes bounds the memory of the rows accepted but not
	// yet committed when BatchConfig.MaxPendingBytes is zero. The service
	// derives its own bound from the memory limit (BATCH_MAX_PENDING_BYTES).
	DefaultMaxPendingBytes = 64 << 20
	// rowOverhead is what one pending row costs beside its kind and payload
	// bytes: its string header, its end offset and its share of the slices.
	rowOverhead = 48
)

// Retry policy for failures worth retrying (SQLITE_BUSY, a PostgreSQL restart,
// a dropped connection, an attempt cut off by its deadline). There is no
// attempt limit: the callers' contexts are the retry budget, so a restart that
// takes seconds is ridden out by callers that can wait that long, and a caller
// whose context ends stops waiting and stores nothing. Constants rather than
// knobs: the backoff doubles so that a recovering database is not hammered,
// and its cap keeps the wait after a recovery short.
const (
	retryBaseDelay = 10 * time.Millisecond
	retryMaxDelay  = 500 * time.Millisecond
	// attemptTimeout bounds an attempt whose callers have no deadline at all,
	// so that a database that stopped answering cannot hold the flusher
	// forever (a caller with a deadline bounds its attempts itself).
	attemptTimeout = 30 * time.Second
)

// ResolveTimeout bounds the time kept for learning whether a transaction
// whose COMMIT was cut off committed (PostgreSQL; SQLite needs no such step).
// The writer ends every attempt up to this long before the earliest deadline
// of its callers, and resolves until that deadline, so the answer still comes
// in time. When Close gives up, it is the most Close may take past its
// context's end.
const ResolveTimeout = time.Second

// maxFreeBatches is how many flushed batches keep their buffers for reuse: in
// steady state one batch fills while one is written, so a few cover bursts.
const maxFreeBatches = 4

// BatchConfig configures a BatchWriter. Zero fields take the documented
// defaults.
type BatchConfig struct {
	// MaxBatch caps the rows of one batch, that is of one transaction.
	// Default DefaultMaxBatch. A call is never split across batches, so a
	// call with more events than MaxBatch is refused with ErrTooLarge.
	MaxBatch int
	// MaxDelay is an optional linger. The default 0 commits as soon as the
	// flusher is free: the rows that arrive while one commit is in flight
	// form the next batch (group commit), so batches grow with the load and
	// no caller ever waits for company. Closed-loop callers then settle into
	// two groups that take turns, about half of them per commit. A positive
	// MaxDelay lets the free flusher wait, at most that long (from the end of
	// the last commit, or from the batch's first row), until the batch holds
	// as many calls as were answered or waiting when the last commit ended,
	// so that callers who write again at once share the next commit; it ends
	// early when the batch is full, and delays only the first write of a
	// writer that has committed nothing yet by the whole MaxDelay.
	MaxDelay time.Duration
	// MaxPending bounds the rows accepted but not yet committed; beyond it
	// TryWrite fails with ErrBusy and Write waits, in arrival order. Default
	// DefaultMaxPendingBatches*MaxBatch; never less than MaxBatch.
	MaxPending int
	// MaxPendingBytes bounds the same rows by their size (kind and payload
	// bytes, plus a small overhead per row), so that large payloads against a
	// stalled database are refused (ErrBusy) long before the process runs
	// out of memory, whatever MaxPending allows. A call larger than
	// MaxPendingBytes on its own is refused with ErrTooLarge. Default
	// DefaultMaxPendingBytes.
	MaxPendingBytes int64
	// Logger receives warnings about retried and failed batches. Default: the
	// logger the DB was opened with.
	Logger *slog.Logger
	// OnBusy, if set, is called each time TryWrite refuses events with
	// ErrBusy: the writer is shedding load (the service arms its flight
	// recorder then). It runs on the caller's goroutine, so it must be cheap
	// and must not block.
	OnBusy func()
}

// BatchStats are cumulative counters of a BatchWriter, for expvar.
type BatchStats struct {
	Batches   int64 `json:"batches"`   // batches committed
	Rows      int64 `json:"rows"`      // rows committed
	Retries   int64 `json:"retries"`   // attempts repeated after a failure worth retrying
	Failures  int64 `json:"failures"`  // batches given up on a permanent error; their callers got it
	Expired   int64 `json:"expired"`   // calls whose deadline passed before their rows committed (not stored)
	Abandoned int64 `json:"abandoned"` // calls whose caller left (context cancelled) before their rows committed (not stored)
	Refused   int64 `json:"refused"`   // calls whose events the database refused for their content (ErrRefused)
	Unknown   int64 `json:"unknown"`   // calls told that the outcome of their commit is unknown
	Rejected  int64 `json:"rejected"`  // TryWrite calls refused with ErrBusy

	Pending      int   `json:"pending"`       // rows accepted and not yet committed or given up
	PendingBytes int64 `json:"pending_bytes"` // their size, as MaxPendingBytes counts it
}

// BatchWriter commits the events of many concurrent callers together. One
// flusher goroutine writes one batch at a time: as soon as it is free it
// takes every row that arrived while it was busy (up to MaxBatch) and commits
// them in one transaction. Under load the batches grow by themselves and one
// commit (one fsync) acknowledges many callers; a lone caller is committed at
// once. Close stops the flusher and waits for it.
//
// What a caller's error means:
//   - ErrBusy, ErrClosed, ErrTooLarge, ErrInvalidEvent, or ctx.Err() while
//     Write waited for room: nothing was queued and nothing is stored.
//   - an error wrapping ErrUnavailable and ctx.Err(): ctx ended before the
//     events committed (the database was down, slow or busy); they were
//     withdrawn and are not stored. A caller whose context ends while its
//     batch's commit is in flight waits for that attempt to end, so that the
//     answer is true either way; attempts end before the earliest deadline of
//     their callers.
//   - an error wrapping ErrOutcomeUnknown: the connection failed during
//     COMMIT and the outcome could not be learnt (PostgreSQL only).
//   - an error wrapping ErrRefused: the database refused these events for
//     their content; the batch was split so that the other callers' events
//     committed without them.
//   - ErrClosed (wrapped): Close gave up before the events committed.
//   - any other error: the batch failed for good; none of its events is stored.
//
// A batch that committed is never written again, so nothing is stored twice.
type BatchWriter struct {
	drv      driver
	cfg      BatchConfig
	logger   *slog.Logger
	observer BatchObserver // nil: none

	// ctx is the flusher's context. It is cancelled only when Close runs out
	// of time, to interrupt the batch in flight and fail the rest.
	ctx    context.Context
	cancel context.CancelFunc
	// resolving bounds the resolution of a cut-off COMMIT: it ends
	// ResolveTimeout after ctx, when Close runs out of time.
	resolving     context.Context
	stopResolving context.CancelFunc
	wake          chan struct{} // capacity 1: a batch opened or filled up
	stop          chan struct{} // closed when Close begins
	done          chan struct{} // closed when the flusher has returned

	closeOnce sync.Once

	mu       sync.Mutex
	closing  bool
	draining bool         // commit without lingering (shutdown began)
	queue    []*batch     // FIFO; only the last batch can still take rows
	free     []*batch     // flushed batches whose buffers are reused
	pending  int          // rows queued or in flight
	pendingB int64        // their size (MaxPendingBytes)
	waiters  []*admission // Write calls waiting for room, in arrival order
	// expected and freeAt steer the linger (MaxDelay): the calls that were
	// answered or waiting when the last commit ended, and when it ended.
	expected int
	freeAt   time.Time

	batches, rows, retries, failures, expired, abandoned, refused, unknown, rejected atomic.Int64

	// outage and broken are the flusher's records of consecutive attempts
	// that failed for a reason worth retrying, or for good, for logging
	// them once per interval rather than once per attempt.
	outage, broken outageLog
}

// batch is one future transaction.
type batch struct {
	rows     rowBuffer
	calls    []*call   // in row order
	first    time.Time // when its first row was queued
	full     bool      // takes no more rows: commit without lingering
	inFlight bool      // taken by the flusher: callers wait for its verdict
}

// call is one Write or TryWrite in a batch. Its fields are guarded by the
// writer's mutex until done is closed; err is written once, before that.
type call struct {
	ctx       context.Context
	span      rowSpan
	bytes     int64 // the size MaxPendingBytes counts
	withdrawn bool  // the caller left before the batch was taken: skip its rows
	err       error
	done      chan struct{}
}

// admission is a Write waiting for room. When its rows fit, the writer queues
// them (call) and closes ready; when Close begins instead, it sets closed.
// Both fields are guarded by the writer's mutex.
type admission struct {
	ctx    context.Context
	events []Event
	bytes  int64
	ready  chan struct{}
	call   *call
	closed bool
}

// NewBatchWriter returns a writer that stores events in db and starts its
// flusher goroutine. Call Close to flush and stop it.
func NewBatchWriter(db *DB, cfg BatchConfig) *BatchWriter {
	if cfg.Logger == nil {
		cfg.Logger = db.logger
	}
	return newObservedBatchWriter(db.drv, cfg, db.observer)
}

func newBatchWriter(drv driver, cfg BatchConfig) *BatchWriter {
	return newObservedBatchWriter(drv, cfg, nil)
}

// newObservedBatchWriter is newBatchWriter with an observer (nil: none).
func newObservedBatchWriter(drv driver, cfg BatchConfig, observer BatchObserver) *BatchWriter {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	cfg.MaxDelay = max(cfg.MaxDelay, 0)
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPendingBatches * cfg.MaxBatch
	}
	cfg.MaxPending = max(cfg.MaxPending, cfg.MaxBatch)
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resolving, stopResolving := context.WithCancel(context.Background())
	w := &BatchWriter{
		drv:      drv,
		cfg:      cfg,
		logger:   cfg.Logger,
		observer: observer,
		ctx:      ctx,
		cancel:   cancel,
		outage: outageLog{logger: cfg.Logger, level: slog.LevelWarn,
			first: "database write failed; retrying while callers wait", again: "database write still failing"},
		broken: outageLog{logger: cfg.Logger, level: slog.LevelError,
			first: "database write failed for good; callers answered with the error", again: "database writes still failing for good"},
		resolving:     resolving,
		stopResolving: stopResolving,
		wake:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
	}
	go w.run()
	return w
}

// TryWrite queues events without waiting for room: it returns ErrBusy at once
// when they do not fit among the MaxPending rows (or other writes already
// wait for room). Otherwise it waits until the transaction holding the events
// has committed and returns nil, or returns why they were not stored (see
// BatchWriter). ctx bounds the whole call, retries included.
func (w *BatchWriter) TryWrite(ctx context.Context, events []Event) error {
	return w.write(ctx, events, false)
}

// Write is TryWrite that waits, while ctx allows, for room in the buffer
// instead of returning ErrBusy. Waiting writes are admitted in arrival order,
// so a large write is not starved by a stream of small ones.
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
	if len(events) > w.cfg.MaxBatch {
		return fmt.Errorf("%w: %d events, but one batch holds at most %d (MaxBatch): send them in several calls",
			ErrTooLarge, len(events), w.cfg.MaxBatch)
	}
	size := callBytes(events)
	if size > w.cfg.MaxPendingBytes {
		return fmt.Errorf("%w: %d bytes of events, but at most %d may wait for a commit (MaxPendingBytes)",
			ErrTooLarge, size, w.cfg.MaxPendingBytes)
	}
	if err := ctx.Err(); err != nil {
		return err // nothing queued: a caller that has already given up stores nothing
	}
	c, err := w.enqueue(ctx, events, size, waitForRoom)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
	}
	if w.withdraw(c) {
		return w.unavailable(ctx, nil)
	}
	<-c.done // the batch's commit is in flight: wait for the true answer
	return c.err
}

// PendingBytesForMemoryLimit returns the MaxPendingBytes a service whose memory limit
// (GOMEMLIMIT) is limit should use: an eighth of it, at least 4 MiB and at most
// DefaultMaxPendingBytes (with no limit, math.MaxInt64, the most). An eighth leaves the rest
// to the requests being read and decoded, the connections and the garbage collector's
// headroom, so that overload is refused with 503 long before the process nears the limit.
func PendingBytesForMemoryLimit(limit int64) int64 {
	return min(max(limit/8, 4<<20), DefaultMaxPendingBytes)
}

// callBytes is the size of events as MaxPendingBytes counts it.
func callBytes(events []Event) int64 {
	var n int64
	for _, e := range events {
		n += int64(len(e.Kind)+len(e.Payload)) + rowOverhead
	}
	return n
}

// unavailable is the error of a call whose ctx ended, or whose deadline
// passed, before its rows committed; last is the batch's latest failure, if
// any. A caller that left (its context was cancelled rather than timed out)
// counts as abandoned, not as a database that was too slow.
func (w *BatchWriter) unavailable(ctx context.Context, last error) error {
	cause := ctx.Err()
	switch {
	case cause == nil: // the deadline passed; its timer has not fired yet
		cause = context.DeadlineExceeded
		w.expired.Add(1)
	case errors.Is(cause, context.Canceled):
		w.abandoned.Add(1)
	default:
		w.expired.Add(1)
	}
	if last != nil {
		return fmt.Errorf("%w: not committed before the caller's context ended: %w; last attempt: %w",
			ErrUnavailable, cause, last)
	}
	return fmt.Errorf("%w: not committed before the caller's context ended: %w", ErrUnavailable, cause)
}

// withdraw takes c's rows out of its batch if the flusher has not taken the
// batch yet, and reports whether it did.
func (w *BatchWriter) withdraw(c *call) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-c.done:
		return false
	default:
	}
	for _, b := range w.queue {
		if b.inFlight || !slices.Contains(b.calls, c) {
			continue
		}
		c.withdrawn = true
		w.releaseLocked(c)
		w.admitLocked()
		return true
	}
	return false
}

// enqueue queues events, or waits for room for them (waitForRoom), and
// returns the call the caller waits on.
func (w *BatchWriter) enqueue(ctx context.Context, events []Event, size int64, waitForRoom bool) (*call, error) {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	if len(w.waiters) == 0 && w.fitsLocked(len(events), size) {
		c := w.addLocked(ctx, events, size)
		w.mu.Unlock()
		return c, nil
	}
	if !waitForRoom {
		w.mu.Unlock()
		w.rejected.Add(1)
		if w.cfg.OnBusy != nil {
			w.cfg.OnBusy()
		}
		return nil, ErrBusy
	}
	a := &admission{ctx: ctx, events: events, bytes: size, ready: make(chan struct{})}
	w.waiters = append(w.waiters, a)
	w.mu.Unlock()
	select {
	case <-a.ready:
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case a.call != nil:
		return a.call, nil // queued: write withdraws it if ctx has ended
	case a.closed:
		return nil, ErrClosed
	}
	w.waiters = slices.DeleteFunc(w.waiters, func(x *admission) bool { return x == a })
	return nil, ctx.Err()
}

// fitsLocked reports whether rows more rows of size bytes fit among the
// pending ones. Callers hold w.mu.
func (w *BatchWriter) fitsLocked(rows int, size int64) bool {
	return w.pending+rows <= w.cfg.MaxPending && w.pendingB+size <= w.cfg.MaxPendingBytes
}

// releaseLocked stops counting c's rows as pending. Callers hold w.mu.
func (w *BatchWriter) releaseLocked(c *call) {
	w.pending -= c.span.hi - c.span.lo
	w.pendingB -= c.bytes
}

// addLocked copies events into the open batch (opening one if needed),
// counts them as pending and returns their call. Callers hold w.mu.
func (w *BatchWriter) addLocked(ctx context.Context, events []Event, size int64) *call {
	n := len(events)
	signal := false
	var b *batch
	if last := len(w.queue) - 1; last >= 0 && !w.queue[last].full {
		if w.queue[last].rows.len()+n <= w.cfg.MaxBatch {
			b = w.queue[last]
		} else {
			// The call does not fit: the open batch is complete, the call
			// starts the next one. Calls are never split.
			w.queue[last].full = true
			signal = true
		}
	}
	if b == nil {
		b = w.newBatch()
		w.queue = append(w.queue, b)
		signal = true // the flusher may be idle
	}
	c := &call{ctx: ctx, span: rowSpan{lo: b.rows.len()}, bytes: size, done: make(chan struct{})}
	b.rows.add(events)
	c.span.hi = b.rows.len()
	b.calls = append(b.calls, c)
	w.pending += n
	w.pendingB += size
	if b.rows.len() >= w.cfg.MaxBatch {
		b.full = true
		signal = true
	}
	if len(b.calls) == w.expected {
		signal = true // a lingering flusher has what it waits for
	}
	if signal {
		w.poke()
	}
	return c
}

// poke wakes the flusher if it is idle or lingering.
func (w *BatchWriter) poke() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// admitLocked queues waiting Write calls, in arrival order, while their rows
// fit. Callers hold w.mu.
func (w *BatchWriter) admitLocked() {
	for len(w.waiters) > 0 && !w.closing && w.fitsLocked(len(w.waiters[0].events), w.waiters[0].bytes) {
		a := w.waiters[0]
		w.waiters[0] = nil
		w.waiters = w.waiters[1:]
		a.call = w.addLocked(a.ctx, a.events, a.bytes)
		close(a.ready)
	}
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
	b.inFlight = false
	return b
}

// idleRelease is how long the flusher waits, with nothing to write, before it
// lets the driver give back what it keeps for the next batch (PostgreSQL: a
// connection with a transaction already open). Under load that saves a round
// trip per batch; an idle writer must not hold it, since an open transaction
// holds back VACUUM.
const idleRelease = 100 * time.Millisecond

// run is the flusher goroutine: it writes batches one at a time until Close
// has begun and nothing is left.
func (w *BatchWriter) run() {
	defer close(w.done)
	defer w.drv.release()
	lingerTimer := time.NewTimer(time.Hour)
	lingerTimer.Stop()
	defer lingerTimer.Stop()
	idleTimer := time.NewTimer(time.Hour)
	idleTimer.Stop()
	defer idleTimer.Stop()
	holding := false // the driver may keep something from the last batch
	for {
		b, linger, exit := w.next()
		if exit {
			return
		}
		if b != nil {
			w.flush(b)
			holding = true
			continue
		}
		var tick, idle <-chan time.Time
		if linger > 0 {
			lingerTimer.Reset(linger)
			tick = lingerTimer.C
		}
		if holding {
			idleTimer.Reset(idleRelease)
			idle = idleTimer.C
		}
		select {
		case <-w.wake:
		case <-tick:
		case <-idle:
			w.drv.release()
			holding = false
		case <-w.stop:
		}
		lingerTimer.Stop()
		idleTimer.Stop()
	}
}

// next takes the batch to commit now. If there is none it returns how long
// the oldest batch still lingers (0: no batch at all), and exit once Close
// has begun and nothing is left.
func (w *BatchWriter) next() (b *batch, linger time.Duration, exit bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) > 0 {
		head := w.queue[0]
		if w.cfg.MaxDelay > 0 && !head.full && !w.closing && !w.draining &&
			(w.expected == 0 || len(head.calls) < w.expected) {
			// Linger from the first row, or from the end of the last commit
			// if the row waited for it.
			from := head.first
			if w.freeAt.After(from) {
				from = w.freeAt
			}
			if wait := time.Until(from.Add(w.cfg.MaxDelay)); wait > 0 {
				return nil, wait, false
			}
		}
		w.queue[0] = nil
		w.queue = w.queue[1:]
		// From now on no caller adds rows to head or withdraws from it: the
		// flusher owns it until it delivers every call's verdict.
		head.inFlight = true
		if w.dropWithdrawnLocked(head) > 0 {
			return head, 0, false
		}
		w.recycleLocked(head)
	}
	return nil, 0, w.closing
}

// dropWithdrawnLocked removes the rows of withdrawn calls from b and returns
// how many calls remain. Callers hold w.mu.
func (w *BatchWriter) dropWithdrawnLocked(b *batch) int {
	live := b.calls[:0]
	for _, c := range b.calls {
		if !c.withdrawn {
			live = append(live, c)
		}
	}
	if len(live) == len(b.calls) {
		return len(live)
	}
	clear(b.calls[len(live):])
	b.calls = live
	spans := make([]*rowSpan, len(live))
	for i, c := range live {
		spans[i] = &c.span
	}
	b.rows.keep(spans)
	return len(live)
}

// recycleLocked keeps b's buffers for a later batch. Callers hold w.mu.
func (w *BatchWriter) recycleLocked(b *batch) {
	b.rows.reset()
	clear(b.calls)
	b.calls = b.calls[:0]
	if len(w.free) < maxFreeBatches {
		w.free = append(w.free, b)
	}
}

// flush commits b, retrying failures worth retrying while any of its callers
// still waits, and delivers every call's verdict. With tracing, the commit is
// a span linked to the spans of its callers' requests (batch_trace*.go).
func (w *BatchWriter) flush(b *batch) {
	span := startBatchSpan(b.calls, b.rows.len())
	defer span.end()
	delay := retryBaseDelay
	var last error
	for attempt := 1; ; attempt++ {
		// Callers whose context has ended or whose deadline has passed get
		// their answer now: not stored. So no attempt starts for a caller
		// whose deadline is already behind it.
		deadline, live := w.expire(b, last, false)
		if live == 0 {
			w.finish(b, nil)
			return
		}
		if w.ctx.Err() != nil {
			w.finish(b, fmt.Errorf("%w before the batch was written", ErrClosed))
			return
		}
		rows := b.rows.len()
		start := time.Now()
		// An attempt cut off by its deadline is worth another one.
		retryable, err := w.attempt(span.context(w.ctx), b, deadline)
		if errors.Is(err, ErrOutcomeUnknown) {
			err = w.resolve(span.context(w.resolving), b, err) // may answer some callers: their rows leave b
			// So is a COMMIT cut off by a failing connection that proved not
			// to have committed, whatever the error.
			retryable = true
		}
		// Observed once the outcome is known, so that a cut-off COMMIT
		// settled as committed is a committed batch to the observer too.
		if w.observer != nil {
			w.observer.ObserveBatch(rows, time.Since(start), err)
		}
		span.attempted(err)
		if err == nil {
			w.batches.Add(1)
			w.rows.Add(int64(rows))
			w.outage.recovered(w.ctx)
			w.broken.recovered(w.ctx)
			w.finish(b, nil)
			return
		}
		last = err
		switch {
		case errors.Is(err, ErrOutcomeUnknown):
			w.unknown.Add(int64(len(b.calls)))
			w.finish(b, fmt.Errorf("write batch of %d events: %w", b.rows.len(), err))
			return
		case w.ctx.Err() != nil:
			w.finish(b, fmt.Errorf("%w while the batch was being written (not committed): %w", ErrClosed, err))
			return
		case w.drv.refusedContent(err):
			if len(b.calls) > 1 {
				// Find the guilty calls by halving: everyone else commits.
				w.split(b)
				return
			}
			w.refused.Add(1)
			w.logger.LogAttrs(w.ctx, slog.LevelInfo, "events refused by the database",
				slog.Int("rows", b.rows.len()), slog.Any("error", err))
			w.finish(b, fmt.Errorf("%w: %w", ErrRefused, err))
			return
		case !retryable && !w.drv.transient(err):
			w.failures.Add(1)
			w.broken.failed(w.ctx, err, b.rows.len(), w.expired.Load())
			w.finish(b, fmt.Errorf("write batch of %d events (attempt %d): %w", b.rows.len(), attempt, err))
			return
		}
		w.retries.Add(1)
		w.outage.failed(w.ctx, err, b.rows.len(), w.expired.Load())
		// Back off, but not past the earliest deadline: that caller is
		// answered at the top of the loop, and an attempt never starts
		// without waiting.
		wait := delay
		if !deadline.IsZero() {
			wait = min(wait, time.Until(deadline))
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
			}
		}
		delay = min(2*delay, retryMaxDelay)
	}
}

// split commits the calls of b, which the database refused for the content
// of some row, in two halves, one after the other. A half that fails for its
// content again is halved again, so the calls whose events the database
// refuses fail alone (ErrRefused) and every other call commits in this flush.
func (w *BatchWriter) split(b *batch) {
	w.mu.Lock()
	mid := len(b.calls) / 2
	first := w.subBatchLocked(b, b.calls[:mid])
	second := w.subBatchLocked(b, b.calls[mid:])
	w.recycleLocked(b) // its rows and calls now belong to the halves
	w.mu.Unlock()
	w.flush(first)
	w.flush(second)
}

// subBatchLocked returns an in-flight batch holding calls and copies of
// their rows from b. Callers hold w.mu.
func (w *BatchWriter) subBatchLocked(b *batch, calls []*call) *batch {
	h := w.newBatch()
	h.full, h.inFlight = true, true
	for _, c := range calls {
		lo := h.rows.len()
		for i := c.span.lo; i < c.span.hi; i++ {
			h.rows.addRow(b.rows.kinds[i], b.rows.payload(i))
		}
		c.span = rowSpan{lo: lo, hi: h.rows.len()}
		h.calls = append(h.calls, c)
	}
	return h
}

// addRow appends one row whose payload is not empty.
func (r *rowBuffer) addRow(kind string, payload []byte) {
	r.kinds = append(r.kinds, kind)
	r.data = append(r.data, payload...)
	r.ends = append(r.ends, len(r.data))
}

// outageInterval is how often, at most, a run of failing attempts is logged.
const outageInterval = 10 * time.Second

// outageLog logs a run of failed attempts (an outage) without a line per
// attempt or per request: the first failure at once, then a summary at most
// once per outageInterval, and the recovery. Only the flusher uses it.
type outageLog struct {
	logger       *slog.Logger
	level        slog.Level
	first, again string    // the messages of the first line and of the later ones
	since        time.Time // the first failure of the run; zero: none
	lastLine     time.Time
	attempts     int64 // failed attempts in the run
	expired0     int64 // the writer's expired count when the run began
}

// failed records one failed attempt of a batch of rows; expired is the
// writer's expired count now.
func (o *outageLog) failed(ctx context.Context, err error, rows int, expired int64) {
	now := time.Now()
	o.attempts++
	if o.since.IsZero() {
		o.since, o.lastLine, o.expired0 = now, now, expired
		o.logger.LogAttrs(ctx, o.level, o.first, slog.Int("rows", rows), slog.Any("error", err))
		return
	}
	if now.Sub(o.lastLine) < outageInterval {
		return
	}
	o.lastLine = now
	o.logger.LogAttrs(ctx, o.level, o.again,
		slog.Duration("for", now.Sub(o.since)),
		slog.Int64("failed_attempts", o.attempts),
		slog.Int64("expired_calls", expired-o.expired0),
		slog.Any("last_error", err))
}

// recovered ends a run of failures with one line, if there was one.
func (o *outageLog) recovered(ctx context.Context) {
	if o.since.IsZero() {
		return
	}
	o.logger.LogAttrs(ctx, slog.LevelInfo, "database write recovered",
		slog.Duration("after", time.Since(o.since)),
		slog.Int64("failed_attempts", o.attempts))
	o.since, o.attempts = time.Time{}, 0
}

// resolve goes on asking the database, under parent (w.resolving with the
// batch's span), for the outcome of b's cut-off COMMIT (err) while some of b's
// callers still wait; those whose context ends first are told that the outcome
// is unknown. It returns nil if the transaction committed, ErrOutcomeUnknown if
// nobody waits any more (or Close gave up), or the reason it did not commit.
func (w *BatchWriter) resolve(parent context.Context, b *batch, err error) error {
	for errors.Is(err, ErrOutcomeUnknown) {
		deadline, live := w.expire(b, err, true)
		if live == 0 || w.ctx.Err() != nil {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(attemptTimeout)
		}
		ctx, cancel := context.WithDeadline(parent, deadline)
		err = w.drv.resolve(ctx, err)
		cancel()
	}
	return err
}

// expire answers the calls of b whose context has ended or whose deadline
// has passed, drops their rows,
// and returns the earliest deadline among the remaining calls (zero if none
// has one) and how many remain. The answer is ErrUnavailable wrapping last,
// or, if unknown is set, last itself: the outcome of b's commit is unknown.
func (w *BatchWriter) expire(b *batch, last error, unknown bool) (deadline time.Time, live int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	removed := 0
	now := time.Now()
	for _, c := range b.calls {
		// The deadline counts even before the context's timer fires: the
		// caller is past it, and an attempt for it would start in the past.
		if d, ok := c.ctx.Deadline(); c.ctx.Err() == nil && (!ok || now.Before(d)) {
			continue
		}
		c.withdrawn = true
		if unknown {
			c.err = fmt.Errorf("write batch of %d events: %w", b.rows.len(), last)
			w.unknown.Add(1)
		} else {
			c.err = w.unavailable(c.ctx, last)
		}
		w.releaseLocked(c)
		removed++
		close(c.done)
	}
	if removed > 0 {
		w.dropWithdrawnLocked(b)
		w.admitLocked()
	}
	for _, c := range b.calls {
		if d, ok := c.ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
	}
	return deadline, len(b.calls)
}

// attempt writes b once, under parent (w.ctx with the batch's span), and
// reports whether its time ran out. It ends before deadline (the earliest of
// its callers'), leaving time to resolve a COMMIT that the end cut off; a
// COMMIT cut off earlier is resolved until deadline.
func (w *BatchWriter) attempt(parent context.Context, b *batch, deadline time.Time) (timedOut bool, err error) {
	if deadline.IsZero() {
		deadline = time.Now().Add(attemptTimeout + ResolveTimeout)
	}
	// A quarter of the remaining time, at most ResolveTimeout, is kept for
	// learning the fate of a COMMIT that the attempt's end cuts off.
	reserve := max(0, min(ResolveTimeout, time.Until(deadline)/4))
	ctx, cancel := context.WithDeadline(parent, deadline.Add(-reserve))
	defer cancel()
	resolveCtx, cancelResolve := context.WithDeadline(w.resolving, deadline)
	defer cancelResolve()
	err = w.drv.insertBatch(ctx, &b.rows, resolveCtx)
	return err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded), err
}

// finish delivers err (nil: committed) to every call left in b, releases its
// rows and recycles it.
func (w *BatchWriter) finish(b *batch, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range b.calls {
		w.releaseLocked(c)
		c.err = err
		close(c.done)
	}
	w.admitLocked()
	// Callers acknowledged now that wait for their answer before writing
	// again (closed loop) come back at once; a linger waits for them.
	w.expected = len(b.calls)
	for _, q := range w.queue {
		w.expected += len(q.calls)
	}
	w.freeAt = time.Now()
	w.recycleLocked(b)
}

// Drain makes the writer commit every batch without lingering (MaxDelay),
// while still accepting writes. Call it when shutdown begins: the requests
// still in flight are then acknowledged promptly, before the HTTP server's
// shutdown deadline. Drain is idempotent; Close implies it.
func (w *BatchWriter) Drain() {
	w.mu.Lock()
	w.draining = true
	w.mu.Unlock()
	w.poke()
}

// Close stops intake (later writes return ErrClosed), writes every batch still
// pending and waits for the flusher to return. If ctx ends first, Close
// cancels the batch in flight, fails the remaining ones with an error wrapping
// ErrClosed, waits for the flusher (at most ResolveTimeout more) and returns
// ctx's error. Close may be called more than once and from several goroutines.
func (w *BatchWriter) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closing = true
		for _, a := range w.waiters {
			a.closed = true
			close(a.ready)
		}
		w.waiters = nil
		w.mu.Unlock()
		close(w.stop)
	})
	select {
	case <-w.done:
		w.cancel()
		w.stopResolving()
		return nil
	case <-ctx.Done():
		w.cancel()
		// A COMMIT cut off now still gets ResolveTimeout to be resolved.
		t := time.AfterFunc(ResolveTimeout, w.stopResolving)
		<-w.done
		t.Stop()
		w.stopResolving()
		return fmt.Errorf("close batch writer: %w", ctx.Err())
	}
}

// Stats returns the writer's counters.
func (w *BatchWriter) Stats() BatchStats {
	w.mu.Lock()
	pending, pendingB := w.pending, w.pendingB
	w.mu.Unlock()
	return BatchStats{
		Batches:      w.batches.Load(),
		Rows:         w.rows.Load(),
		Retries:      w.retries.Load(),
		Failures:     w.failures.Load(),
		Expired:      w.expired.Load(),
		Abandoned:    w.abandoned.Load(),
		Refused:      w.refused.Load(),
		Unknown:      w.unknown.Load(),
		Rejected:     w.rejected.Load(),
		Pending:      pending,
		PendingBytes: pendingB,
	}
}
