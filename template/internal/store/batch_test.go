package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// errFakeTransient and errFakePermanent are the failures fakeDriver injects.
var (
	errFakeTransient = errors.New("fake transient failure")
	errFakeContent   = errors.New("fake refusal of a row's content")
	errFakePermanent = errors.New("fake permanent failure")
)

// fakeDriver stands in for the database driver, or wraps a real one, so that
// tests can count, delay and fail batches.
type fakeDriver struct {
	inner driver // optional: the real database behind the fake
	// fail returns the error to inject into the n-th insertBatch call
	// (counting from 1), or nil to let it through.
	fail func(n int) error
	// gate, if set, makes every insertBatch wait for one value from it, or
	// for its context to end unless ignoreCtx is set (a commit that finishes
	// whatever the deadline).
	gate      chan struct{}
	ignoreCtx bool
	// keepRows records the payloads committed, for payloads.
	keepRows bool
	// poisonKind, if set, makes every batch holding a row of that kind fail
	// as the database refuses a row's content.
	poisonKind string
	// resolveFn, if set, answers resolve.
	resolveFn func(ctx context.Context, err error) error

	mu        sync.Mutex
	calls     int
	flushes   []flushRecord
	stored    int64
	deadlines []time.Time // of every attempt's context
	rows      []string    // payloads committed, in order
}

type flushRecord struct {
	at   time.Time
	rows int
}

func (f *fakeDriver) insertBatch(ctx context.Context, rows *rowBuffer, resolveCtx context.Context) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	if d, ok := ctx.Deadline(); ok {
		f.deadlines = append(f.deadlines, d)
	}
	f.mu.Unlock()
	if f.gate != nil {
		if f.ignoreCtx {
			<-f.gate
		} else {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return err
		}
	}
	if f.poisonKind != "" && slices.Contains(rows.kinds, f.poisonKind) {
		return fmt.Errorf("insert: %w", errFakeContent)
	}
	if f.inner != nil {
		if err := f.inner.insertBatch(ctx, rows, resolveCtx); err != nil {
			return err
		}
	}
	f.mu.Lock()
	for i := range rows.len() * btoi(f.keepRows) {
		f.rows = append(f.rows, string(rows.payload(i)))
	}
	f.flushes = append(f.flushes, flushRecord{at: time.Now(), rows: rows.len()})
	f.stored += int64(rows.len())
	f.mu.Unlock()
	return nil
}

func (f *fakeDriver) resolve(ctx context.Context, err error) error {
	if f.resolveFn != nil {
		return f.resolveFn(ctx, err)
	}
	if f.inner != nil {
		return f.inner.resolve(ctx, err)
	}
	return err
}

func (f *fakeDriver) release() {
	if f.inner != nil {
		f.inner.release()
	}
}

func (f *fakeDriver) insertTx(ctx context.Context, rows *rowBuffer) error {
	return f.insertBatch(ctx, rows, ctx)
}

func (f *fakeDriver) transient(err error) bool {
	return errors.Is(err, errFakeTransient) || (f.inner != nil && f.inner.transient(err))
}

func (f *fakeDriver) refusedContent(err error) bool {
	return errors.Is(err, errFakeContent) || (f.inner != nil && f.inner.refusedContent(err))
}

func (f *fakeDriver) ping(ctx context.Context) error {
	if f.inner != nil {
		return f.inner.ping(ctx)
	}
	return nil
}

func (f *fakeDriver) countEvents(ctx context.Context) (int64, error) {
	if f.inner != nil {
		return f.inner.countEvents(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stored, nil
}

func (f *fakeDriver) close() error { return nil }

func (f *fakeDriver) records() []flushRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]flushRecord(nil), f.flushes...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (f *fakeDriver) payloads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rows...)
}

func (f *fakeDriver) attemptDeadlines() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.deadlines...)
}

func (f *fakeDriver) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// events returns n valid events whose payloads carry tag and their index.
func events(n int, tag string) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = Event{Kind: "test", Payload: json.RawMessage(`{"tag":"` + tag + `","i":` + strconv.Itoa(i) + `}`)}
	}
	return out
}

func countEvents(tb testing.TB, db *DB) int64 {
	tb.Helper()
	n, err := db.CountEvents(context.Background())
	if err != nil {
		tb.Fatalf("CountEvents: %v", err)
	}
	return n
}

func closeWriter(tb testing.TB, w *BatchWriter) {
	tb.Helper()
	if err := w.Close(context.Background()); err != nil {
		tb.Errorf("Close: %v", err)
	}
}

// waitFor polls cond until it holds. It measures no time: a test that never
// gets there is stopped by go test's own -timeout.
func waitFor(cond func() bool) {
	deadline := time.Now().Add(waitForLimit)
	for !cond() {
		if time.Now().After(deadline) {
			// A lost call shows up here, with a stack, rather than as go test's
			// ten-minute timeout.
			panic(fmt.Sprintf("waitFor: condition still false after %s", waitForLimit))
		}
		time.Sleep(time.Millisecond)
	}
}

// waitForLimit bounds waitFor: far beyond anything the tests wait for.
const waitForLimit = 30 * time.Second

func TestWriteReturnsAfterCommit(t *testing.T) {
	db := openTestDB(t)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)

	if err := w.Write(context.Background(), events(3, "a")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := countEvents(t, db); got != 3 {
		t.Fatalf("after an acknowledged Write of 3 events the table holds %d rows, want 3", got)
	}
	if err := w.TryWrite(context.Background(), events(2, "b")); err != nil {
		t.Fatalf("TryWrite: %v", err)
	}
	if got := countEvents(t, db); got != 5 {
		t.Fatalf("after an acknowledged TryWrite the table holds %d rows, want 5", got)
	}
	st := w.Stats()
	if st.Rows != 5 || st.Pending != 0 || st.Failures != 0 {
		t.Fatalf("Stats = %+v, want 5 rows, none pending, no failures", st)
	}
}

// TestConcurrentWritersThenClose is the package's central promise: with many
// writers racing each other and Close, the table ends up holding exactly the
// rows whose calls returned nil, no more and no fewer.
func TestConcurrentWritersThenClose(t *testing.T) {
	db := openTestDB(t)
	// Small limits so that batches fill, calls straddle batches, TryWrite
	// meets a full buffer and Write waits for room.
	w := NewBatchWriter(db, BatchConfig{MaxBatch: 16, MaxDelay: time.Millisecond, MaxPending: 48})

	const writers = 24
	var acked, busy, closed atomic.Int64
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				evs := events(1+(g+i)%5, fmt.Sprintf("g%d-%d", g, i))
				var err error
				if (g+i)%2 == 0 {
					err = w.TryWrite(context.Background(), evs)
				} else {
					err = w.Write(context.Background(), evs)
				}
				switch {
				case err == nil:
					acked.Add(int64(len(evs)))
				case errors.Is(err, ErrBusy):
					busy.Add(1)
				case errors.Is(err, ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("writer %d: unexpected error: %v", g, err)
					return
				}
			}
		}()
	}
	// Let traffic build up, then close while every writer is still writing.
	waitFor(func() bool { return w.Stats().Rows >= 500 })
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	if got, want := countEvents(t, db), acked.Load(); got != want {
		t.Fatalf("table holds %d rows, %d were acknowledged", got, want)
	}
	if closed.Load() != writers {
		t.Fatalf("%d writers saw ErrClosed, want all %d", closed.Load(), writers)
	}
	st := w.Stats()
	if st.Rows != acked.Load() || st.Pending != 0 || st.Failures != 0 {
		t.Fatalf("Stats = %+v, want Rows = %d acknowledged, none pending, no failures", st, acked.Load())
	}
	t.Logf("acknowledged %d rows in %d batches; %d ErrBusy", acked.Load(), st.Batches, busy.Load())
}

func TestCloseFlushesPendingAndIsIdempotent(t *testing.T) {
	db := openTestDB(t)
	// Neither trigger can fire on its own: only Close flushes.
	w := NewBatchWriter(db, BatchConfig{MaxBatch: 1000, MaxDelay: time.Hour})

	const callers = 10
	errs := make(chan error, callers)
	for i := range callers {
		go func() { errs <- w.Write(context.Background(), events(2, strconv.Itoa(i))) }()
	}
	waitFor(func() bool { return w.Stats().Pending == 2*callers })
	if got := countEvents(t, db); got != 0 {
		t.Fatalf("%d rows stored before any flush trigger, want 0", got)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatalf("Write pending at Close: %v", err)
		}
	}
	if got := countEvents(t, db); got != 2*callers {
		t.Fatalf("after Close the table holds %d rows, want %d", got, 2*callers)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, write := range map[string]func(context.Context, []Event) error{"Write": w.Write, "TryWrite": w.TryWrite} {
		if err := write(context.Background(), events(1, "late")); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if got := countEvents(t, db); got != 2*callers {
		t.Fatalf("writes after Close changed the table to %d rows", got)
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, fail: func(n int) error {
		if n <= 2 {
			return fmt.Errorf("attempt %d: %w", n, errFakeTransient)
		}
		return nil
	}}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)

	if err := w.Write(context.Background(), events(4, "retry")); err != nil {
		t.Fatalf("Write after two transient failures: %v", err)
	}
	if got := countEvents(t, db); got != 4 {
		t.Fatalf("table holds %d rows, want 4 (written once)", got)
	}
	if st := w.Stats(); st.Retries != 2 || st.Batches != 1 || st.Failures != 0 {
		t.Fatalf("Stats = %+v, want 2 retries of 1 committed batch", st)
	}
}

func TestPermanentFailureReachesEveryCallerOfTheBatch(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, fail: func(n int) error {
		if n == 1 {
			return errFakePermanent
		}
		return nil
	}}
	// Five one-event calls fill exactly one batch.
	w := newBatchWriter(fake, BatchConfig{MaxBatch: 5, MaxDelay: time.Hour})
	defer closeWriter(t, w)

	errs := make(chan error, 5)
	for i := range 5 {
		go func() { errs <- w.Write(context.Background(), events(1, strconv.Itoa(i))) }()
	}
	for range 5 {
		if err := <-errs; !errors.Is(err, errFakePermanent) {
			t.Fatalf("caller of the failed batch got %v, want the batch's error", err)
		}
	}
	if got := countEvents(t, db); got != 0 {
		t.Fatalf("table holds %d rows after a failed batch, want 0", got)
	}
	if st := w.Stats(); st.Failures != 1 || st.Retries != 0 || st.Rows != 0 {
		t.Fatalf("Stats = %+v, want 1 failure, no retry", st)
	}
	// The writer goes on after a failed batch (5 events: a full batch).
	if err := w.Write(context.Background(), events(5, "after")); err != nil {
		t.Fatalf("Write after a failed batch: %v", err)
	}
}

func TestTryWriteRefusesWhenFullAndWriteWaits(t *testing.T) {
	fake := &fakeDriver{gate: make(chan struct{})}
	var busy atomic.Int64 // OnBusy hears of each refusal, not of Write waiting for room
	w := newBatchWriter(fake, BatchConfig{MaxBatch: 4, MaxPending: 4, MaxDelay: time.Hour, OnBusy: func() { busy.Add(1) }})
	defer closeWriter(t, w)

	first := make(chan error, 1)
	go func() { first <- w.TryWrite(context.Background(), events(4, "first")) }()
	waitFor(func() bool { return fake.callCount() == 1 })

	if err := w.TryWrite(context.Background(), events(1, "busy")); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryWrite with a full buffer = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Write(ctx, events(1, "cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a full buffer and a cancelled context = %v, want context.Canceled", err)
	}
	second := make(chan error, 1)
	go func() { second <- w.Write(context.Background(), events(4, "second")) }() // a full batch

	fake.gate <- struct{}{} // let the first batch commit: room for the second
	if err := <-first; err != nil {
		t.Fatalf("first TryWrite: %v", err)
	}
	fake.gate <- struct{}{}
	if err := <-second; err != nil {
		t.Fatalf("waiting Write: %v", err)
	}
	if st := w.Stats(); st.Rows != 8 || st.Rejected != 1 || busy.Load() != 1 {
		t.Fatalf("Stats = %+v, OnBusy calls %d; want 8 rows, 1 rejection, 1 call", st, busy.Load())
	}
}

// TestCallerCancelledDuringCommitGetsTheTruth: a caller whose context ends
// while the commit of its batch is in flight waits for that commit, so that
// its answer is the truth: here the commit succeeds, so nil, and the rows are
// stored once.
func TestCallerCancelledDuringCommitGetsTheTruth(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, gate: make(chan struct{})}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Write(ctx, events(3, "in-flight")) }()
	waitFor(func() bool { return fake.callCount() == 1 })
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Write returned %v while its commit was still in flight", err)
	case <-time.After(10 * time.Millisecond):
	}
	close(fake.gate)
	if err := <-done; err != nil {
		t.Fatalf("Write whose commit succeeded after its context ended = %v, want nil", err)
	}
	if got := countEvents(t, db); got != 3 {
		t.Fatalf("table holds %d rows, want the 3 rows written once", got)
	}
}

// TestCallerCancelledWhileQueuedIsWithdrawn: a caller whose context ends
// before its batch is taken gets ErrUnavailable at once, and its rows are
// never written; its batch-mates are.
func TestCallerCancelledWhileQueuedIsWithdrawn(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, gate: make(chan struct{})}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)

	first := make(chan error, 1)
	go func() { first <- w.Write(context.Background(), events(1, "first")) }()
	waitFor(func() bool { return fake.callCount() == 1 }) // in flight, held by the gate

	ctx, cancel := context.WithCancel(context.Background())
	leaving := make(chan error, 1)
	go func() { leaving <- w.Write(ctx, events(2, "leaving")) }()
	staying := make(chan error, 1)
	go func() { staying <- w.Write(context.Background(), events(4, "staying")) }()
	waitFor(func() bool { return w.Stats().Pending == 7 })
	cancel()
	if err := <-leaving; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("queued Write whose context ended = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	close(fake.gate)
	for _, ch := range []chan error{first, staying} {
		if err := <-ch; err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if got := countEvents(t, db); got != 5 {
		t.Fatalf("table holds %d rows, want 5 (the withdrawn 2 never written)", got)
	}
	// A caller that leaves is abandoned, not expired: its database was not too slow.
	if st := w.Stats(); st.Abandoned != 1 || st.Expired != 0 || st.Pending != 0 || st.PendingBytes != 0 || st.Rows != 5 {
		t.Fatalf("Stats = %+v, want 1 abandoned call, none expired, 5 rows, nothing pending", st)
	}
}

func TestInvalidEventsAreRefused(t *testing.T) {
	fake := &fakeDriver{}
	w := newBatchWriter(fake, BatchConfig{MaxBatch: 2, MaxPending: 3})
	defer closeWriter(t, w)

	bad := map[string][]Event{
		"empty kind": {
			{Kind: "", Payload: json.RawMessage(`{}`)},
		},
		"invalid json": {
			{Kind: "k", Payload: json.RawMessage(`{"a":`)},
		},
		"bad utf-8": {
			{Kind: "k", Payload: json.RawMessage("\"\xff\"")},
		},
		"nul escape": {
			{Kind: "k", Payload: json.RawMessage(`"a\u0000b"`)},
		},
		"nul escape in a key": {
			{Kind: "k", Payload: json.RawMessage(`{"\u0000":1}`)},
		},
		"nul escape after an escaped backslash": {
			{Kind: "k", Payload: json.RawMessage(`["C:\\\u0000"]`)},
		},
		"nul in kind": {
			{Kind: "a\x00b"},
		},
		"one bad of two": {
			{Kind: "ok"},
			{Kind: "k", Payload: json.RawMessage(`nope`)},
		},
	}
	for name, evs := range bad {
		if err := w.Write(context.Background(), evs); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: Write = %v, want ErrInvalidEvent", name, err)
		}
	}
	if err := w.Write(context.Background(), events(3, "big")); !errors.Is(err, ErrTooLarge) ||
		!strings.Contains(err.Error(), "at most 2") {
		t.Errorf("Write of more events than MaxBatch = %v, want ErrTooLarge naming the limit", err)
	}
	// An escaped backslash followed by u0000 is text, not a NUL: valid.
	path := Event{Kind: "path", Payload: json.RawMessage(`{"path":"C:\\u0000"}`)}
	if err := w.Write(context.Background(), []Event{path}); err != nil {
		t.Errorf(`Write of {"path":"C:\\u0000"} = %v, want nil (no NUL in it)`, err)
	}
	if err := w.Write(context.Background(), nil); err != nil {
		t.Errorf("Write of no events = %v, want nil", err)
	}
	noPayload := Event{Kind: "no-payload"}
	if err := w.Write(context.Background(), []Event{noPayload}); err != nil {
		t.Errorf("Write of an event without payload = %v, want nil (stored as null)", err)
	}
	if n := fake.callCount(); n != 2 {
		t.Fatalf("driver saw %d batches, want only the 2 valid ones", n)
	}
}

// TestBuffersAreReused checks that a flush reuses the batch buffers: once
// warm, queueing and flushing a thousand events allocates no more than ten
// (the per-batch bookkeeping stays; per-row slices do not come back). It
// bypasses validation, whose encoding/json scanner pool the race detector
// deliberately empties at random.
func TestBuffersAreReused(t *testing.T) {
	allocs := func(n int) float64 {
		w := newBatchWriter(&fakeDriver{}, BatchConfig{MaxBatch: n})
		defer closeWriter(t, w)
		evs := events(n, "reuse")
		ctx := context.Background()
		return testing.AllocsPerRun(50, func() {
			c, err := w.enqueue(ctx, evs, callBytes(evs), true) // a full batch: flushed at once
			if err != nil {
				t.Fatal(err)
			}
			<-c.done
		})
	}
	small, large := allocs(10), allocs(1000)
	if large > small+2 {
		t.Fatalf("a write of 1000 events allocates %.0f times, of 10 events %.0f: buffers are not reused", large, small)
	}
	t.Logf("allocations per write: %.0f (10 events), %.0f (1000 events)", small, large)
}
