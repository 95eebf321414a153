//go:build go1.25

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// flushedRows returns the row count of every batch fake committed, in order.
func flushedRows(fake *fakeDriver) []int {
	var rows []int
	for _, r := range fake.records() {
		rows = append(rows, r.rows)
	}
	return rows
}

func TestCallIsNeverSplitAcrossBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		const delay = 10 * time.Millisecond
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 10, MaxDelay: delay})
		defer closeWriter(t, w)
		start := time.Now()

		a := writeAsync(w, 7, "a")
		synctest.Wait()
		b := writeAsync(w, 5, "b") // does not fit: a's batch is flushed now, b starts the next
		synctest.Wait()
		time.Sleep(delay) // b's batch is flushed when its linger ends
		synctest.Wait()
		for _, r := range []<-chan error{a, b} {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		// Larger than a batch may be: refused at once, nothing queued.
		if err := <-writeAsync(w, 11, "c"); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Write of 11 events with MaxBatch 10 = %v, want ErrTooLarge", err)
		}
		got := fake.records()
		want := []flushRecord{{at: start, rows: 7}, {at: start.Add(delay), rows: 5}}
		if len(got) != len(want) {
			t.Fatalf("flushes = %v, want %v", got, want)
		}
		for i := range want {
			if got[i].rows != want[i].rows || !got[i].at.Equal(want[i].at) {
				t.Fatalf("flushes = %v, want %v", got, want)
			}
		}
	})
}

// TestLoneWriteIsCommittedAtOnce: without a linger (the default) a write to
// an idle writer is committed with no wait at all.
func TestLoneWriteIsCommittedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		w := newBatchWriter(fake, BatchConfig{})
		defer closeWriter(t, w)
		start := time.Now()
		for i := range 3 {
			if err := w.Write(context.Background(), events(1, strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		got := fake.records()
		if len(got) != 3 {
			t.Fatalf("flushes = %v, want three one-row commits", got)
		}
		for _, r := range got {
			if r.rows != 1 || !r.at.Equal(start) {
				t.Fatalf("flushes = %v, want three one-row commits with no fake time passing", got)
			}
		}
	})
}

// TestRowsArrivingDuringACommitFormTheNextBatch is group commit: while one
// commit is in flight the rows that arrive wait, and are committed together
// the moment it ends; MaxBatch caps each batch, and calls are never split.
func TestRowsArrivingDuringACommitFormTheNextBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{})}
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 10})
		defer closeWriter(t, w)

		results := []<-chan error{writeAsync(w, 1, "first")}
		synctest.Wait() // the first row is in flight, held by the gate
		for i := range 5 {
			results = append(results, writeAsync(w, 3, strconv.Itoa(i)))
			synctest.Wait()
		}
		for range 3 {
			fake.gate <- struct{}{}
			synctest.Wait()
		}
		for _, r := range results {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		if rows, want := flushedRows(fake), []int{1, 9, 6}; !slices.Equal(rows, want) {
			t.Fatalf("batches of %v rows, want %v (three calls of 3 fill a batch of at most 10)", rows, want)
		}
	})
}

// TestWaitingWritesAreAdmittedInOrder: a large Write waiting for room is not
// overtaken by small writes, which would otherwise starve it.
func TestWaitingWritesAreAdmittedInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{}), keepRows: true}
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 10, MaxPending: 10})
		defer closeWriter(t, w)

		first := writeAsync(w, 5, "first")
		synctest.Wait()
		big := writeAsync(w, 8, "big") // 5 + 8 > 10: waits
		synctest.Wait()
		if err := w.TryWrite(context.Background(), events(1, "small")); !errors.Is(err, ErrBusy) {
			t.Fatalf("TryWrite behind a waiting Write = %v, want ErrBusy although one row would fit", err)
		}
		small := writeAsync(w, 1, "small") // waits behind big
		synctest.Wait()
		close(fake.gate)
		for _, r := range []<-chan error{first, big, small} {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		var tags []string
		for _, p := range fake.payloads() {
			var v struct{ Tag string }
			if err := json.Unmarshal([]byte(p), &v); err != nil {
				t.Fatal(err)
			}
			if len(tags) == 0 || tags[len(tags)-1] != v.Tag {
				tags = append(tags, v.Tag)
			}
		}
		if want := []string{"first", "big", "small"}; !slices.Equal(tags, want) {
			t.Fatalf("rows committed in the order %v, want %v", tags, want)
		}
	})
}

// TestRetriesUntilTheCallersDeadline: failures worth retrying are retried
// with backoff for as long as the caller waits, and no longer; the caller
// gets ErrUnavailable, nothing is stored, and the writer serves the next call.
func TestRetriesUntilTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		down.Store(true)
		fake := &fakeDriver{fail: func(int) error {
			if down.Load() {
				return errFakeTransient
			}
			return nil
		}}
		w := newBatchWriter(fake, BatchConfig{})
		defer closeWriter(t, w)
		start := time.Now()

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		err := w.Write(ctx, events(1, "doomed"))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errFakeTransient) {
			t.Fatalf("Write = %v, want ErrUnavailable wrapping the deadline and the last failure", err)
		}
		if elapsed := time.Since(start); elapsed != 3*time.Second {
			t.Fatalf("Write returned after %v of fake time, want exactly its 3s deadline", elapsed)
		}
		// Backoff of 10, 20, 40, ... 500, 500, ... ms: ten attempts in 3 s.
		if calls := fake.callCount(); calls < 8 {
			t.Fatalf("%d attempts in 3 s, want the retries to go on until the deadline", calls)
		}
		if st := w.Stats(); st.Expired != 1 || st.Failures != 0 || st.Rows != 0 || st.Pending != 0 {
			t.Fatalf("Stats = %+v, want 1 expired call and nothing stored", st)
		}
		down.Store(false)
		if err := w.Write(context.Background(), events(1, "after")); err != nil {
			t.Fatalf("Write once the database is back: %v", err)
		}
	})
}

// TestAttemptEndsBeforeTheEarliestDeadline: a database that stops answering
// (a black hole) cannot hold the flusher past its callers' deadline; the
// attempt ends early enough to resolve a cut-off COMMIT in time.
func TestAttemptEndsBeforeTheEarliestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{})} // never opens
		w := newBatchWriter(fake, BatchConfig{})
		start := time.Now()

		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		err := w.Write(ctx, events(1, "black-holed"))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Write = %v, want ErrUnavailable", err)
		}
		if elapsed := time.Since(start); elapsed != 4*time.Second {
			t.Fatalf("Write returned after %v, want exactly its 4s deadline", elapsed)
		}
		deadlines := fake.attemptDeadlines()
		if len(deadlines) == 0 || !deadlines[0].Equal(start.Add(4*time.Second-ResolveTimeout)) {
			t.Fatalf("attempt deadlines %v, want the first at the caller's deadline minus ResolveTimeout", deadlines)
		}
		closeWriter(t, w) // the flusher is free: Close does not wait
		if got := time.Since(start); got != 4*time.Second {
			t.Fatalf("Close returned at %v, want at once", got)
		}
	})
}

// TestCommitThatOutlivesTheDeadlineIsReportedTruthfully: when the commit in
// flight completes after the caller's deadline, the caller waits for it and
// learns that its events are stored.
func TestCommitThatOutlivesTheDeadlineIsReportedTruthfully(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{}), ignoreCtx: true}
		w := newBatchWriter(fake, BatchConfig{})
		defer closeWriter(t, w)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		result := make(chan error, 1)
		go func() { result <- w.Write(ctx, events(2, "late")) }()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		select {
		case err := <-result:
			t.Fatalf("Write returned %v before its commit finished", err)
		default:
		}
		fake.gate <- struct{}{}
		if err := <-result; err != nil {
			t.Fatalf("Write whose commit finished after its deadline = %v, want nil", err)
		}
		if st := w.Stats(); st.Rows != 2 {
			t.Fatalf("Stats = %+v, want the 2 rows committed", st)
		}
	})
}

// TestExpiredQueuedCallerIsAnsweredAtItsDeadline: a caller queued behind a
// hung commit is answered at its own deadline, not when the commit ends, and
// its rows are left out of the next batch.
func TestExpiredQueuedCallerIsAnsweredAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{}), ignoreCtx: true}
		w := newBatchWriter(fake, BatchConfig{})
		defer closeWriter(t, w)
		start := time.Now()

		first := writeAsync(w, 1, "first")
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		expiring := make(chan error, 1)
		go func() { expiring <- w.Write(ctx, events(3, "expiring")) }()
		other := writeAsync(w, 1, "other")
		synctest.Wait()
		err := <-expiring
		if elapsed := time.Since(start); !errors.Is(err, ErrUnavailable) || elapsed != 2*time.Second {
			t.Fatalf("queued Write = %v after %v, want ErrUnavailable at its 2s deadline", err, elapsed)
		}
		for range 2 {
			fake.gate <- struct{}{}
		}
		for _, r := range []<-chan error{first, other} {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		if rows, want := flushedRows(fake), []int{1, 1}; !slices.Equal(rows, want) {
			t.Fatalf("batches of %v rows, want %v (the expired rows left out)", rows, want)
		}
	})
}

// TestLingerWaitsOnlyForCallersComingBack: with a linger (MaxDelay), the
// first batch of a new writer waits the whole MaxDelay; after that the
// flusher waits only until the callers it has just answered write again, so
// closed-loop callers share every commit instead of taking turns, and no
// later write waits for the timer.
func TestLingerWaitsOnlyForCallersComingBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		const delay = time.Millisecond
		w := newBatchWriter(fake, BatchConfig{MaxDelay: delay})
		defer closeWriter(t, w)
		start := time.Now()

		const writers, rounds = 4, 3
		errs := make(chan error, writers*rounds)
		for g := range writers {
			go func() {
				for i := range rounds {
					errs <- w.Write(context.Background(), events(1, strconv.Itoa(g*rounds+i)))
				}
			}()
		}
		for range writers * rounds {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got := fake.records()
		if len(got) != rounds {
			t.Fatalf("flushes = %v, want %d commits of %d rows", got, rounds, writers)
		}
		for _, r := range got {
			if r.rows != writers || !r.at.Equal(start.Add(delay)) {
				t.Fatalf("flushes = %v, want every commit of %d rows at %v (only the first waits)", got, writers, delay)
			}
		}
	})
}

// TestUnknownOutcomeIsResolvedForTheCallersWhoCanWait: when a COMMIT is cut
// off and the database cannot tell its outcome before the earliest deadline,
// that caller learns that the outcome is unknown; the writer goes on asking
// for the callers who still wait, and retries the batch without the rows of
// the caller who left once it learns that nothing committed.
func TestUnknownOutcomeIsResolvedForTheCallersWhoCanWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errCutOff := fmt.Errorf("%w: connection lost during COMMIT", ErrOutcomeUnknown)
		errRolledBack := errors.New("commit cut off, transaction rolled back")
		answer := make(chan struct{}) // the database answers again
		fake := &fakeDriver{
			fail: func(n int) error {
				if n == 1 {
					return errCutOff
				}
				return nil
			},
			resolveFn: func(ctx context.Context, err error) error {
				select {
				case <-answer:
					return errRolledBack
				case <-ctx.Done():
					return err
				}
			},
		}
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 10, MaxDelay: time.Millisecond})
		defer closeWriter(t, w)
		start := time.Now()

		short, cancelShort := context.WithTimeout(context.Background(), time.Second)
		defer cancelShort()
		long, cancelLong := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelLong()
		shortErr, longErr := make(chan error, 1), make(chan error, 1)
		go func() { shortErr <- w.Write(short, events(3, "short")) }()
		go func() { longErr <- w.Write(long, events(2, "long")) }()

		err := <-shortErr
		if !errors.Is(err, ErrOutcomeUnknown) || time.Since(start) != time.Second {
			t.Fatalf("caller with a 1s deadline got %v after %v, want ErrOutcomeUnknown at its deadline", err, time.Since(start))
		}
		time.Sleep(time.Second)
		close(answer)
		if err := <-longErr; err != nil {
			t.Fatalf("caller with a 10s deadline = %v, want nil once the retry committed", err)
		}
		if rows := flushedRows(fake); !slices.Equal(rows, []int{2}) {
			t.Fatalf("committed batches of %v rows, want one of 2 (the rows of the caller who left are dropped)", rows)
		}
		if st := w.Stats(); st.Rows != 2 || st.Retries != 1 {
			t.Fatalf("Stats = %+v, want 2 rows after 1 retry", st)
		}
	})
}
