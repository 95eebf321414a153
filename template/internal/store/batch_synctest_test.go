//go:build go1.25

package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run the writer inside a synctest bubble: time is fake and only
// advances when every goroutine in the bubble is blocked, so when batches are
// committed, and how deadlines bound retries, is checked to the nanosecond
// without a single real sleep. More of them: group_commit_synctest_test.go.

// writeAsync starts a Write and returns the channel its result arrives on.
func writeAsync(w *BatchWriter, n int, tag string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- w.Write(context.Background(), events(n, tag)) }()
	return done
}

func TestFlushWhenBatchIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 10, MaxDelay: time.Hour})
		defer closeWriter(t, w)
		start := time.Now()

		var results []<-chan error
		for i := range 9 {
			results = append(results, writeAsync(w, 1, strconv.Itoa(i)))
		}
		synctest.Wait()
		if got := fake.records(); len(got) != 0 {
			t.Fatalf("flushed %v with 9 of 10 rows and no time passed, want nothing", got)
		}
		results = append(results, writeAsync(w, 1, "tenth"))
		synctest.Wait()
		got := fake.records()
		if len(got) != 1 || got[0].rows != 10 || !got[0].at.Equal(start) {
			t.Fatalf("flushes = %v, want one of 10 rows at once", got)
		}
		for _, r := range results {
			if err := <-r; err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
	})
}

func TestFlushAfterMaxDelayFromFirstRow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		const delay = 50 * time.Millisecond
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 100, MaxDelay: delay})
		defer closeWriter(t, w)
		start := time.Now()

		first := writeAsync(w, 2, "first")
		time.Sleep(30 * time.Millisecond)
		second := writeAsync(w, 1, "second")
		time.Sleep(delay - 30*time.Millisecond - time.Nanosecond)
		synctest.Wait()
		if got := fake.records(); len(got) != 0 {
			t.Fatalf("flushed %v before MaxDelay had passed since the first row", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		got := fake.records()
		if len(got) != 1 || got[0].rows != 3 || !got[0].at.Equal(start.Add(delay)) {
			t.Fatalf("flushes = %v, want one of 3 rows exactly MaxDelay after the first row", got)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	})
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{gate: make(chan struct{})} // never opens: a hung database
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 2, MaxDelay: time.Hour})

		inFlight := writeAsync(w, 2, "in-flight")
		synctest.Wait()
		queued := writeAsync(w, 1, "queued")
		synctest.Wait()

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
		}
		for name, r := range map[string]<-chan error{"in-flight": inFlight, "queued": queued} {
			if err := <-r; !errors.Is(err, ErrClosed) {
				t.Fatalf("%s Write = %v, want an error wrapping ErrClosed", name, err)
			}
		}
		if err := w.Close(context.Background()); err != nil {
			t.Fatalf("Close after the flusher stopped = %v, want nil", err)
		}
	})
}

func TestDrainFlushesWithoutWaitingForMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := &fakeDriver{}
		w := newBatchWriter(fake, BatchConfig{MaxBatch: 100, MaxDelay: time.Hour})
		defer closeWriter(t, w)
		start := time.Now()

		first := writeAsync(w, 3, "before")
		synctest.Wait()
		if got := fake.records(); len(got) != 0 {
			t.Fatalf("flushed %v before MaxDelay, want nothing yet", got)
		}
		w.Drain()
		synctest.Wait()
		if err := <-first; err != nil {
			t.Fatalf("Write: %v", err)
		}
		// Writes are still accepted while draining, and flushed at once.
		if err := <-writeAsync(w, 2, "after"); err != nil {
			t.Fatalf("Write while draining: %v", err)
		}
		got := fake.records()
		if len(got) != 2 || !got[0].at.Equal(start) || !got[1].at.Equal(start) {
			t.Fatalf("flushes = %v, want two immediate flushes (no fake time passed)", got)
		}
	})
}
