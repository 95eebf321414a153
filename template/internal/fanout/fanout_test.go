package fanout

import (
	"context"
	"errors"
	"io"
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

var errBoom = errors.New("boom")

// waitForCancel is a call that blocks until its context ends.
func waitForCancel(ctx context.Context) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func TestResultsKeepInputOrder(t *testing.T) {
	// Call i waits for call i+1 to finish, so the calls complete in
	// reverse order; the results must still come back in input order.
	const n = 16
	finished := make([]chan struct{}, n+1)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	close(finished[n])
	calls := make([]Call[int], n)
	for i := range calls {
		calls[i] = func(context.Context) (int, error) {
			<-finished[i+1]
			close(finished[i])
			return i * 10, nil
		}
	}
	results, err := Run(context.Background(), Options{}, calls)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i, r := range results {
		if r.Value != i*10 || r.Err != nil {
			t.Errorf("results[%d] = %+v, want {Value:%d Err:<nil>}", i, r, i*10)
		}
	}
}

func TestEmptyInput(t *testing.T) {
	results, err := Run[int](context.Background(), Options{}, nil)
	if err != nil || len(results) != 0 {
		t.Fatalf("Run(nil) = %v, %v; want empty, nil", results, err)
	}
}

func TestLimitCapsConcurrency(t *testing.T) {
	const limit, n = 3, 40
	var running, peak, ran atomic.Int64
	calls := make([]Call[struct{}], n)
	for i := range calls {
		calls[i] = func(context.Context) (struct{}, error) {
			now := running.Add(1)
			for {
				old := peak.Load()
				if now <= old || peak.CompareAndSwap(old, now) {
					break
				}
			}
			runtime.Gosched()
			running.Add(-1)
			ran.Add(1)
			return struct{}{}, nil
		}
	}
	if _, err := Run(context.Background(), Options{Limit: limit}, calls); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := peak.Load(); got > limit {
		t.Errorf("%d calls ran at once, limit is %d", got, limit)
	}
	if got := ran.Load(); got != n {
		t.Errorf("%d of %d calls ran", got, n)
	}
}

func TestFirstErrorCancelsTheOthers(t *testing.T) {
	const n = 8
	var started sync.WaitGroup
	started.Add(n - 1)
	calls := []Call[int]{func(context.Context) (int, error) {
		started.Wait() // fail only once every other call is blocked
		return 0, errBoom
	}}
	for range n - 1 {
		calls = append(calls, func(ctx context.Context) (int, error) {
			started.Done()
			return waitForCancel(ctx)
		})
	}

	results, err := Run(context.Background(), Options{}, calls)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Run = %v, want errBoom", err)
	}
	var ce *CallError
	if !errors.As(err, &ce) || ce.Index != 0 {
		t.Errorf("Run error = %#v, want a *CallError for call 0", err)
	}
	if !errors.Is(results[0].Err, errBoom) {
		t.Errorf("results[0].Err = %v, want errBoom", results[0].Err)
	}
	for i, r := range results[1:] {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("results[%d].Err = %v, want context.Canceled", i+1, r.Err)
		}
	}
}

func TestFirstErrorSkipsCallsNotStarted(t *testing.T) {
	var ran atomic.Int64
	calls := []Call[int]{func(context.Context) (int, error) { return 0, errBoom }}
	for range 9 {
		calls = append(calls, func(context.Context) (int, error) {
			ran.Add(1)
			return 1, nil
		})
	}
	// With a limit of one, call 0 fails before any other can start.
	results, err := Run(context.Background(), Options{Limit: 1}, calls)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Run = %v, want errBoom", err)
	}
	if got := ran.Load(); got != 0 {
		t.Errorf("%d calls ran after the first error, want 0", got)
	}
	for i, r := range results[1:] {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("results[%d].Err = %v, want context.Canceled", i+1, r.Err)
		}
	}
}

func TestCollectAllRunsEveryCall(t *testing.T) {
	errOther := errors.New("other")
	calls := []Call[string]{
		func(context.Context) (string, error) { return "a", nil },
		func(context.Context) (string, error) { return "", errBoom },
		func(ctx context.Context) (string, error) {
			// Still running after call 1 failed: nothing cancels it.
			if err := ctx.Err(); err != nil {
				return "", err
			}
			return "c", nil
		},
		func(context.Context) (string, error) { return "", errOther },
	}
	results, err := Run(context.Background(), Options{CollectAll: true, Limit: 1}, calls)
	if !errors.Is(err, errBoom) || !errors.Is(err, errOther) {
		t.Fatalf("Run = %v, want errBoom and errOther joined", err)
	}
	for _, want := range []string{"call 1: boom", "call 3: other"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run error %q lacks %q", err, want)
		}
	}
	want := []Result[string]{{Value: "a"}, {Err: errBoom}, {Value: "c"}, {Err: errOther}}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("results[%d] = %+v, want %+v", i, results[i], want[i])
		}
	}
}

func TestCollectAllWithoutFailuresReturnsNil(t *testing.T) {
	calls := []Call[int]{
		func(context.Context) (int, error) { return 1, nil },
		func(context.Context) (int, error) { return 2, nil },
	}
	results, err := Run(context.Background(), Options{CollectAll: true}, calls)
	if err != nil || results[0].Value != 1 || results[1].Value != 2 {
		t.Fatalf("Run = %+v, %v; want values 1, 2 and nil", results, err)
	}
}

func TestPerCallTimeoutBoundsEachCall(t *testing.T) {
	calls := []Call[int]{
		func(ctx context.Context) (int, error) {
			if _, ok := ctx.Deadline(); !ok {
				return 0, errors.New("call context has no deadline")
			}
			return 1, nil
		},
		waitForCancel, // ends only through its own timeout
	}
	results, err := Run(context.Background(), Options{PerCallTimeout: time.Millisecond, CollectAll: true}, calls)
	if results[0].Err != nil || results[0].Value != 1 {
		t.Errorf("results[0] = %+v, want {Value:1}", results[0])
	}
	if !errors.Is(results[1].Err, context.DeadlineExceeded) {
		t.Errorf("results[1].Err = %v, want context.DeadlineExceeded", results[1].Err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded", err)
	}
}

func TestCallerCancellationStopsEverything(t *testing.T) {
	for _, opts := range []Options{{}, {CollectAll: true}, {Limit: 2}, {Limit: 2, CollectAll: true}} {
		ctx, cancel := context.WithCancel(context.Background())
		running := make(chan struct{}, 8)
		calls := make([]Call[int], 8)
		for i := range calls {
			calls[i] = func(ctx context.Context) (int, error) {
				running <- struct{}{}
				return waitForCancel(ctx)
			}
		}
		type outcome struct {
			results []Result[int]
			err     error
		}
		done := make(chan outcome, 1)
		go func() {
			results, err := Run(ctx, opts, calls)
			done <- outcome{results, err}
		}()
		<-running // at least one call is under way
		cancel()
		out := <-done
		if !errors.Is(out.err, context.Canceled) {
			t.Errorf("%+v: Run = %v, want context.Canceled", opts, out.err)
		}
		for i, r := range out.results {
			if !errors.Is(r.Err, context.Canceled) {
				t.Errorf("%+v: results[%d].Err = %v, want context.Canceled", opts, i, r.Err)
			}
		}
	}
}

func TestCancelledContextRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var ran atomic.Int64
	calls := make([]Call[int], 4)
	for i := range calls {
		calls[i] = func(context.Context) (int, error) { ran.Add(1); return 1, nil }
	}
	for _, opts := range []Options{{}, {CollectAll: true}} {
		results, err := Run(ctx, opts, calls)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%+v: Run = %v, want context.Canceled", opts, err)
		}
		for i, r := range results {
			if !errors.Is(r.Err, context.Canceled) {
				t.Errorf("%+v: results[%d].Err = %v, want context.Canceled", opts, i, r.Err)
			}
		}
	}
	if got := ran.Load(); got != 0 {
		t.Errorf("%d calls ran with a cancelled context", got)
	}
}

func TestPanicBecomesError(t *testing.T) {
	calls := []Call[int]{
		func(context.Context) (int, error) { return 1, nil },
		panickingCall,
	}
	for _, opts := range []Options{{}, {CollectAll: true}} {
		results, err := Run(context.Background(), opts, calls)
		if !errors.Is(err, ErrPanic) {
			t.Fatalf("%+v: Run = %v, want ErrPanic", opts, err)
		}
		var pe *PanicError
		if !errors.As(results[1].Err, &pe) {
			t.Fatalf("%+v: results[1].Err = %v, want a *PanicError", opts, results[1].Err)
		}
		if pe.Value != "boom" || !strings.Contains(string(pe.Stack), "panickingCall") {
			t.Errorf("PanicError = {Value:%v Stack:%s}, want value boom and a stack through panickingCall", pe.Value, pe.Stack)
		}
	}
}

func panickingCall(context.Context) (int, error) { panic("boom") }

func TestPanicWithErrorValueUnwrapsToIt(t *testing.T) {
	calls := []Call[int]{func(context.Context) (int, error) { panic(io.ErrUnexpectedEOF) }}
	_, err := Run(context.Background(), Options{}, calls)
	if !errors.Is(err, ErrPanic) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Run = %v, want ErrPanic wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestGoexitBecomesError(t *testing.T) {
	calls := []Call[int]{
		func(context.Context) (int, error) { return 1, nil },
		func(context.Context) (int, error) { runtime.Goexit(); return 0, nil },
	}
	results, err := Run(context.Background(), Options{}, calls)
	if !errors.Is(err, ErrGoexit) || !errors.Is(results[1].Err, ErrGoexit) {
		t.Fatalf("Run = %v, results[1].Err = %v; want ErrGoexit", err, results[1].Err)
	}
	if results[0].Value != 1 {
		t.Errorf("results[0] = %+v, want Value 1", results[0])
	}
}
