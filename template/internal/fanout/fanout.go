// Package fanout runs a set of calls concurrently and gathers their results
// in input order.
//
// Run is built on golang.org/x/sync/errgroup and adds what a service needs
// around it: a concurrency limit, a timeout per call, panics turned into
// errors, and a choice between failing fast (the default) and collecting
// every outcome. Run returns only after every call it started has returned,
// so it leaves no goroutine behind on any path.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrPanic is wrapped by the error of a call that panicked; test for it
// with errors.Is. errors.As with *PanicError gives the panic value and stack.
var ErrPanic = errors.New("fanout: call panicked")

// ErrGoexit is the error of a call that ended its goroutine with
// runtime.Goexit (for example t.FailNow in a test) instead of returning.
var ErrGoexit = errors.New("fanout: call exited with runtime.Goexit")

// Call is one unit of work. It must honour ctx: Run waits for every call it
// started, so a call that ignores cancellation delays Run's return.
type Call[T any] func(ctx context.Context) (T, error)

// Result is the outcome of one call: its value, or the error that stopped it.
type Result[T any] struct {
	Value T
	Err   error
}

// Options tunes Run. The zero value runs every call at once, with no
// per-call timeout, and stops at the first error.
type Options struct {
	// Limit caps how many calls run at the same time. Zero or less means
	// no cap (errgroup's default): set one whenever the calls hit a shared
	// backend, so one request cannot open hundreds of connections.
	Limit int

	// PerCallTimeout bounds each call through context.WithTimeout. Zero
	// means no bound beyond the caller's own context.
	PerCallTimeout time.Duration

	// CollectAll runs every call to the end even when some fail: each
	// Result carries its own error and Run returns errors.Join of them.
	// By default the first error cancels the calls still running, stops
	// the ones not yet started, and is what Run returns.
	CollectAll bool
}

// PanicError is the error of a call that panicked. It wraps ErrPanic and,
// when the panic value is an error, that error too.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine, from debug.Stack
}

// Error reports the panic value; the stack is in the Stack field.
func (e *PanicError) Error() string {
	return fmt.Sprintf("%v: %v", ErrPanic, e.Value)
}

// Unwrap returns ErrPanic and, if the panic value is an error, that error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrPanic, err}
	}
	return []error{ErrPanic}
}

// CallError annotates an error returned by Run with the index of the call
// that produced it. Result.Err holds the call's own error, unannotated.
type CallError struct {
	Index int
	Err   error
}

// Error prefixes the call's error with its index.
func (e *CallError) Error() string {
	return "fanout: call " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

// Unwrap returns the call's own error.
func (e *CallError) Unwrap() error { return e.Err }

// Run runs calls concurrently, at most opts.Limit at a time, and returns
// one Result per call in the order of calls.
//
// By default the first call to fail cancels the context of the others and
// Run returns that error, as a *CallError; calls that had not started by
// then do not run and their Result.Err is the context's error. With
// opts.CollectAll every call runs to the end and Run returns errors.Join of
// the failed calls' errors (each a *CallError), or nil.
//
// Cancelling ctx stops both modes: calls see their context end, calls not
// yet started are skipped with ctx's error, and Run returns an error.
// A call that panics fails with a *PanicError instead of crashing the
// process, and one that calls runtime.Goexit fails with ErrGoexit (without
// cancelling the others). In every case Run returns only after all started
// calls have.
func Run[T any](ctx context.Context, opts Options, calls []Call[T]) ([]Result[T], error) {
	results := make([]Result[T], len(calls))
	if len(calls) == 0 {
		return results, nil
	}

	var g *errgroup.Group
	runCtx := ctx
	if opts.CollectAll {
		g = new(errgroup.Group) // errors stay in results; nothing cancels the others
	} else {
		g, runCtx = errgroup.WithContext(ctx)
	}
	if opts.Limit > 0 {
		g.SetLimit(opts.Limit)
	}

	started := len(calls)
	var skipped error // why the calls from started on were not run
	for i, call := range calls {
		if skipped = runCtx.Err(); skipped != nil {
			started = i
			break
		}
		g.Go(func() error {
			r := &results[i]
			if err := runCtx.Err(); err != nil {
				// Cancelled while waiting for a slot: do not start.
				r.Err = err
				return &CallError{Index: i, Err: err}
			}
			runOne(runCtx, opts.PerCallTimeout, call, r)
			if r.Err != nil && !opts.CollectAll {
				return &CallError{Index: i, Err: r.Err}
			}
			return nil
		})
	}
	err := g.Wait()
	for i := started; i < len(calls); i++ {
		results[i].Err = skipped
	}

	if opts.CollectAll {
		return results, joinErrors(results)
	}
	if err == nil {
		// No call reported a failure to errgroup, yet some results may
		// hold one: calls skipped because the caller's context ended,
		// or a call that exited with runtime.Goexit.
		err = firstError(results)
	}
	return results, err
}

// runOne runs call with its own timeout and stores its outcome in r,
// turning a panic or runtime.Goexit into an error.
func runOne[T any](ctx context.Context, timeout time.Duration, call Call[T], r *Result[T]) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		var zero T
		r.Value = zero
		if v := recover(); v != nil {
			r.Err = &PanicError{Value: v, Stack: debug.Stack()}
		} else {
			// The goroutine is ending through runtime.Goexit, which
			// cannot be stopped; errgroup's own defer still runs.
			r.Err = ErrGoexit
		}
	}()
	r.Value, r.Err = call(ctx)
	returned = true
}

// firstError returns the error of the first failed result, annotated with
// its index, or nil.
func firstError[T any](results []Result[T]) error {
	for i := range results {
		if results[i].Err != nil {
			return &CallError{Index: i, Err: results[i].Err}
		}
	}
	return nil
}

// joinErrors joins the errors of failed results, each annotated with its
// index, or returns nil when every call succeeded.
func joinErrors[T any](results []Result[T]) error {
	var errs []error
	for i := range results {
		if results[i].Err != nil {
			errs = append(errs, &CallError{Index: i, Err: results[i].Err})
		}
	}
	return errors.Join(errs...)
}
