package workerpool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// discardLogger returns a logger that is enabled at every level, so the
// pool takes its full panic path (stack capture included), but formats and
// writes nothing.
func discardLogger() *slog.Logger {
	return slog.New(discardHandler{})
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// blocker occupies workers until released, so tests can fill the queue
// without racing the workers.
type blocker struct {
	started chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (b *blocker) task(context.Context) {
	b.started <- struct{}{}
	<-b.release
}

// occupy submits n blocking tasks and returns once all n are running.
func (b *blocker) occupy(t *testing.T, p *Pool, n int) {
	t.Helper()
	for range n {
		if err := p.Submit(context.Background(), b.task); err != nil {
			t.Fatalf("Submit(blocker) = %v", err)
		}
	}
	for i := range n {
		select {
		case <-b.started:
		case <-time.After(waitLimit):
			// A lost task fails here, with a message, not as go test's ten-minute timeout.
			t.Fatalf("only %d of %d blocking tasks started within %s", i, n, waitLimit)
		}
	}
}

// wait receives from ch, or fails the test after waitLimit naming what never happened.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s: not within %s", what, waitLimit)
	}
}

// waitLimit bounds every wait of these tests for something the pool must do: far beyond what
// a loaded machine needs, far below go test's own timeout.
const waitLimit = 30 * time.Second

func shutdown(t *testing.T, p *Pool) {
	t.Helper()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
}

func TestRunsEverySubmittedTask(t *testing.T) {
	p := New(Config{Workers: 4, QueueSize: 8})
	const n = 1000
	var ran atomic.Int64
	for range n {
		if err := p.Submit(context.Background(), func(context.Context) { ran.Add(1) }); err != nil {
			t.Fatalf("Submit = %v", err)
		}
	}
	shutdown(t, p)
	if got := ran.Load(); got != n {
		t.Fatalf("ran %d tasks, want %d", got, n)
	}
	st := p.Stats()
	want := Stats{Submitted: n, Completed: n}
	if st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
}

func TestDefaultsFollowGOMAXPROCS(t *testing.T) {
	p := New(Config{})
	workers := runtime.GOMAXPROCS(0)
	b := newBlocker()
	b.occupy(t, p, workers) // returns only if `workers` tasks run at once

	queued := 0
	for p.TrySubmit(func(context.Context) {}) == nil {
		queued++
	}
	if want := 64 * workers; queued != want {
		t.Errorf("queue took %d tasks, want %d (64 per worker)", queued, want)
	}
	if st := p.Stats(); st.Running != workers || st.Queued != queued {
		t.Errorf("Stats Running=%d Queued=%d, want %d and %d", st.Running, st.Queued, workers, queued)
	}
	close(b.release)
	shutdown(t, p)
}

func TestTrySubmitRejectsWhenQueueFull(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: 2})
	b := newBlocker()
	b.occupy(t, p, 1)

	var ran atomic.Int64
	count := func(context.Context) { ran.Add(1) }
	for i := range 2 {
		if err := p.TrySubmit(count); err != nil {
			t.Fatalf("TrySubmit #%d = %v, want nil", i, err)
		}
	}
	if err := p.TrySubmit(count); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TrySubmit on a full queue = %v, want ErrQueueFull", err)
	}
	close(b.release)
	shutdown(t, p)
	if got := ran.Load(); got != 2 {
		t.Fatalf("ran %d queued tasks, want 2", got)
	}
	if st := p.Stats(); st.Rejected != 1 || st.Submitted != 3 || st.Completed != 3 {
		t.Fatalf("Stats = %+v, want Rejected 1, Submitted 3, Completed 3", st)
	}
}

// OnQueueFull hears of every task TrySubmit sheds for a full queue, and of nothing else: not
// of accepted tasks, not of Submit waiting for room, not of refusals after Shutdown.
func TestOnQueueFullHearsOfEveryShedTask(t *testing.T) {
	var full atomic.Int64
	p := New(Config{Workers: 1, QueueSize: 1, OnQueueFull: func() { full.Add(1) }})
	b := newBlocker()
	b.occupy(t, p, 1)
	if err := p.TrySubmit(func(context.Context) {}); err != nil {
		t.Fatalf("TrySubmit into the free slot = %v", err)
	}
	for range 3 {
		if err := p.TrySubmit(func(context.Context) {}); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("TrySubmit on a full queue = %v, want ErrQueueFull", err)
		}
	}
	if got := full.Load(); got != 3 {
		t.Errorf("OnQueueFull calls = %d after 3 refused tasks, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := p.Submit(ctx, func(context.Context) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit on a full queue = %v, want its context's error", err)
	}
	close(b.release)
	shutdown(t, p)
	if err := p.TrySubmit(func(context.Context) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("TrySubmit after Shutdown = %v, want ErrClosed", err)
	}
	if got := full.Load(); got != 3 {
		t.Errorf("OnQueueFull calls = %d, want still 3: waiting and shutting down are not shedding", got)
	}
}

func TestNegativeQueueSizeMeansNoQueue(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: -1})
	b := newBlocker()
	b.occupy(t, p, 1)
	if err := p.TrySubmit(func(context.Context) {}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TrySubmit with the only worker busy = %v, want ErrQueueFull", err)
	}
	close(b.release)
	// Submit waits for the worker instead.
	ran := make(chan struct{})
	if err := p.Submit(context.Background(), func(context.Context) { close(ran) }); err != nil {
		t.Fatalf("Submit = %v", err)
	}
	wait(t, ran, "the task")
	shutdown(t, p)
}

// TestBlockedSubmittersAllGetThrough keeps a one-slot queue permanently
// full, so nearly every Submit waits for room: a lost wake-up would hang it.
func TestBlockedSubmittersAllGetThrough(t *testing.T) {
	for _, queue := range []int{1, -1} { // one slot, and no queue at all
		p := New(Config{Workers: 2, QueueSize: queue})
		const submitters, each = 16, 500
		var ran atomic.Int64
		var wg sync.WaitGroup
		for range submitters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := p.Submit(context.Background(), func(context.Context) { ran.Add(1) }); err != nil {
						t.Errorf("Submit = %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		shutdown(t, p)
		if got := ran.Load(); got != submitters*each {
			t.Fatalf("QueueSize %d: ran %d tasks, want %d", queue, got, submitters*each)
		}
	}
}

func TestSubmitReturnsWhenContextEnds(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: 1})
	b := newBlocker()
	b.occupy(t, p, 1)
	if err := p.TrySubmit(func(context.Context) {}); err != nil {
		t.Fatalf("TrySubmit = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	errc := make(chan error, 1)
	go func() {
		errc <- p.Submit(ctx, func(context.Context) { ran.Store(true) })
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit on a full queue with a cancelled context = %v, want context.Canceled", err)
	}
	close(b.release)
	shutdown(t, p)
	if ran.Load() {
		t.Fatal("a task whose Submit failed ran anyway")
	}
}

func TestShutdownWakesBlockedSubmit(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: 1})
	b := newBlocker()
	b.occupy(t, p, 1)
	if err := p.TrySubmit(func(context.Context) {}); err != nil {
		t.Fatalf("TrySubmit = %v", err)
	}

	var ran atomic.Bool
	errc := make(chan error, 1)
	go func() {
		errc <- p.Submit(context.Background(), func(context.Context) { ran.Store(true) })
	}()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- p.Shutdown(context.Background()) }()

	// The worker is still blocked, so the queue stays full: Submit can
	// only return because Shutdown closed the intake.
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Submit during Shutdown = %v, want ErrClosed", err)
	}
	close(b.release)
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if ran.Load() {
		t.Fatal("a task whose Submit failed ran anyway")
	}
}

func TestSubmitAfterShutdownIsRejected(t *testing.T) {
	p := New(Config{Workers: 2})
	shutdown(t, p)
	noop := func(context.Context) {}
	if err := p.TrySubmit(noop); !errors.Is(err, ErrClosed) {
		t.Errorf("TrySubmit after Shutdown = %v, want ErrClosed", err)
	}
	if err := p.Submit(context.Background(), noop); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Shutdown = %v, want ErrClosed", err)
	}
	if st := p.Stats(); st.Rejected != 2 || st.Submitted != 0 {
		t.Errorf("Stats = %+v, want Rejected 2, Submitted 0", st)
	}
}

func TestNilTaskIsRejected(t *testing.T) {
	p := New(Config{Workers: 1})
	defer shutdown(t, p)
	if err := p.TrySubmit(nil); !errors.Is(err, ErrNilTask) {
		t.Errorf("TrySubmit(nil) = %v, want ErrNilTask", err)
	}
	if err := p.Submit(context.Background(), nil); !errors.Is(err, ErrNilTask) {
		t.Errorf("Submit(nil) = %v, want ErrNilTask", err)
	}
}

func TestShutdownRunsQueuedTasks(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: 100})
	b := newBlocker()
	b.occupy(t, p, 1)
	var ran atomic.Int64
	for range 100 {
		if err := p.TrySubmit(func(context.Context) { ran.Add(1) }); err != nil {
			t.Fatalf("TrySubmit = %v", err)
		}
	}
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- p.Shutdown(context.Background()) }()
	close(b.release)
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if got := ran.Load(); got != 100 {
		t.Fatalf("Shutdown returned after %d of 100 queued tasks ran", got)
	}
}

func TestShutdownIsIdempotentAndConcurrent(t *testing.T) {
	p := New(Config{Workers: 2})
	b := newBlocker()
	b.occupy(t, p, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Shutdown(context.Background())
		}()
	}
	close(b.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Shutdown = %v", err)
		}
	}
	shutdown(t, p) // once more, after the pool has stopped
}

func TestShutdownDeadlineCancelsTaskContext(t *testing.T) {
	p := New(Config{Workers: 1, QueueSize: 4})

	started := make(chan struct{})
	var firstSaw, secondSaw error
	err := p.Submit(context.Background(), func(ctx context.Context) {
		close(started)
		<-ctx.Done() // a long task that honours its context
		firstSaw = ctx.Err()
	})
	if err != nil {
		t.Fatalf("Submit = %v", err)
	}
	err = p.Submit(context.Background(), func(ctx context.Context) { secondSaw = ctx.Err() })
	if err != nil {
		t.Fatalf("Submit = %v", err)
	}
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the shutdown deadline has already passed
	if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context = %v, want context.Canceled", err)
	}
	// Shutdown has waited for the workers, so both tasks have finished.
	if !errors.Is(firstSaw, context.Canceled) {
		t.Errorf("running task saw ctx.Err() = %v, want context.Canceled", firstSaw)
	}
	if !errors.Is(secondSaw, context.Canceled) {
		t.Errorf("queued task ran with ctx.Err() = %v, want context.Canceled", secondSaw)
	}
	if st := p.Stats(); st.Completed != 2 {
		t.Errorf("Stats.Completed = %d, want 2: an accepted task was dropped", st.Completed)
	}
}

func TestPanicIsRecoveredLoggedAndCounted(t *testing.T) {
	// The buffer is written by the worker and read after Shutdown, which
	// waits for the worker, so it needs no lock.
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	p := New(Config{Workers: 1, Logger: logger})

	if err := p.Submit(context.Background(), panickingTask); err != nil {
		t.Fatalf("Submit = %v", err)
	}
	ran := make(chan struct{})
	if err := p.Submit(context.Background(), func(context.Context) { close(ran) }); err != nil {
		t.Fatalf("Submit = %v", err)
	}
	wait(t, ran, "a task after the panic (the only worker must survive it)")
	shutdown(t, p)

	out := buf.String()
	for _, want := range []string{`"panic":"boom"`, `"stack":`, "panickingTask"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %s:\n%s", want, out)
		}
	}
	if st := p.Stats(); st.Panicked != 1 || st.Completed != 2 {
		t.Errorf("Stats = %+v, want Panicked 1, Completed 2", st)
	}
}

func panickingTask(context.Context) { panic("boom") }

func TestPoolSurvivesAFloodOfPanics(t *testing.T) {
	n := manyPanics
	if testing.Short() {
		n = 10_000
	}
	p := New(Config{Workers: 2, Logger: discardLogger()})
	for range n {
		if err := p.Submit(context.Background(), panickingTask); err != nil {
			t.Fatalf("Submit = %v", err)
		}
	}
	ran := make(chan struct{})
	if err := p.Submit(context.Background(), func(context.Context) { close(ran) }); err != nil {
		t.Fatalf("Submit after %d panics = %v", n, err)
	}
	wait(t, ran, "the task")
	shutdown(t, p)
	st := p.Stats()
	if st.Panicked != uint64(n) || st.Completed != uint64(n)+1 {
		t.Fatalf("Stats = %+v, want Panicked %d, Completed %d", st, n, n+1)
	}
}

func TestGoexitInTaskKeepsThePoolWhole(t *testing.T) {
	p := New(Config{Workers: 1, Logger: discardLogger()})
	for range 3 {
		if err := p.Submit(context.Background(), func(context.Context) { runtime.Goexit() }); err != nil {
			t.Fatalf("Submit = %v", err)
		}
	}
	ran := make(chan struct{})
	if err := p.Submit(context.Background(), func(context.Context) { close(ran) }); err != nil {
		t.Fatalf("Submit = %v", err)
	}
	wait(t, ran, "the task")
	shutdown(t, p) // would hang if a worker had been lost
	if st := p.Stats(); st.Completed != 4 || st.Panicked != 3 {
		t.Errorf("Stats = %+v, want Completed 4, Panicked 3", st)
	}
}

// TestConcurrentSubmitAndShutdownLoseNothing hammers TrySubmit, Submit and
// Shutdown at once, many times over, and checks that every task the pool
// accepted ran: accepted == ran, with no panic and no hang.
func TestConcurrentSubmitAndShutdownLoseNothing(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for range rounds {
		hammer(t)
	}
}

func hammer(t *testing.T) {
	t.Helper()
	p := New(Config{Workers: 2, QueueSize: 4})
	var accepted, ran, rejected atomic.Int64
	task := func(context.Context) { ran.Add(1) }

	const submitters = 8
	var wg sync.WaitGroup
	progress := make(chan struct{}, submitters)
	for i := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				var err error
				switch {
				case i%2 == 0:
					err = p.TrySubmit(task)
				case i == 3 && n%50 == 49:
					// A Submit whose context has already ended.
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					err = p.Submit(ctx, task)
				default:
					err = p.Submit(context.Background(), task)
				}
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrClosed):
					return
				case errors.Is(err, ErrQueueFull), errors.Is(err, context.Canceled):
					rejected.Add(1)
					runtime.Gosched()
				default:
					t.Errorf("unexpected submit error %v", err)
					return
				}
				if n == 20 {
					progress <- struct{}{}
				}
			}
		}()
	}

	// Shut down from two goroutines once a few submitters are under way.
	<-progress
	<-progress
	var sd sync.WaitGroup
	for range 2 {
		sd.Add(1)
		go func() {
			defer sd.Done()
			if err := p.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown = %v", err)
			}
		}()
	}
	sd.Wait()
	wg.Wait()

	if a, r := accepted.Load(), ran.Load(); a != r {
		t.Fatalf("accepted %d tasks but ran %d", a, r)
	}
	st := p.Stats()
	if st.Submitted != uint64(accepted.Load()) || st.Completed != uint64(ran.Load()) {
		t.Fatalf("Stats = %+v, want Submitted = Completed = %d", st, accepted.Load())
	}
	if st.Queued != 0 || st.Running != 0 {
		t.Fatalf("Stats after Shutdown = %+v, want nothing queued or running", st)
	}
}
