// Package workerpool runs tasks on a fixed set of worker goroutines fed by a
// bounded queue.
//
// The pool gives a service three things a bare "go f()" does not: a ceiling
// on concurrent work, backpressure when that ceiling is reached (TrySubmit
// refuses at once, Submit waits), and a shutdown that runs every accepted task
// before it returns. A task that panics is recovered, logged with its stack
// and counted; the worker that ran it goes on with the next task.
//
// The guarantee callers rely on: a task passed to TrySubmit or Submit is
// either rejected with an error the caller sees, or it runs. No task is lost
// to a shutdown that races with submissions.
package workerpool

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// ErrQueueFull is returned by TrySubmit when every queue slot is taken.
var ErrQueueFull = errors.New("workerpool: queue full")

// ErrClosed is returned by TrySubmit and Submit once Shutdown has begun.
var ErrClosed = errors.New("workerpool: pool closed")

// ErrNilTask is returned by TrySubmit and Submit when the task is nil.
var ErrNilTask = errors.New("workerpool: nil task")

// Task is a unit of work. The context it receives is cancelled only when a
// Shutdown deadline passes before the queue has drained; a task that may run
// for long should watch it.
type Task func(ctx context.Context)

// Config sets the size of a Pool. The zero value is ready to use.
type Config struct {
	// Workers is the number of goroutines that run tasks. Zero or less
	// means runtime.GOMAXPROCS(0): one worker per usable CPU suits
	// CPU-bound tasks; set it higher for tasks that mostly wait on I/O.
	Workers int

	// QueueSize is the number of accepted tasks that may wait for a worker.
	// Zero means 64 per worker. The time a queued task waits is roughly
	// QueueSize/Workers task durations, so scaling the queue with the
	// worker count keeps that worst case near 64 task durations whatever
	// the pool size, while still absorbing a burst of 64 tasks per worker
	// before TrySubmit starts refusing work. A negative value means no
	// queue at all: a task is accepted only when a worker is idle.
	QueueSize int

	// Logger receives one Error record per recovered panic, with the
	// panic value and the goroutine stack. Nil means slog.Default().
	Logger *slog.Logger
}

// Stats is a snapshot of a pool's counters. The fields are read one by one
// without a lock, so while tasks are moving a snapshot can be off by the
// tasks in flight; once Shutdown has returned it is exact.
type Stats struct {
	Submitted uint64 // tasks accepted by TrySubmit or Submit
	Completed uint64 // tasks that have finished, including those that panicked
	Rejected  uint64 // submissions refused with an error
	Panicked  uint64 // tasks that panicked (or called runtime.Goexit)
	Queued    int    // accepted tasks waiting for a worker
	Running   int    // tasks being run right now
}

// closedBit marks the intake closed in Pool.state. The bits below it count
// the submitters that are between their closed check and the end of their
// send attempt.
const closedBit = int64(1) << 62

// cacheLineSize is the cache line size of common server CPUs.
const cacheLineSize = 64

// counterStride is the size of one workerCounters. Two cache lines keep the
// counters of neighbouring workers off each other's lines however the slice
// happens to be aligned, so workers updating their own counters do not
// contend.
const counterStride = 2 * cacheLineSize

// workerCounters holds the counters one worker updates for each task. Each
// worker owns one, so the hot path touches no shared cache line.
type workerCounters struct {
	started   atomic.Uint64
	completed atomic.Uint64
	panicked  atomic.Uint64
	_         [counterStride - 24]byte
}

// Pool is a bounded, panic-safe worker pool. Create it with New and stop it
// with Shutdown. All methods are safe for concurrent use.
type Pool struct {
	// Set by New and only read afterwards.
	tasks    chan Task
	closing  chan struct{}   // closed when Shutdown begins; wakes blocked Submit calls
	done     chan struct{}   // closed when the last worker has exited
	ctx      context.Context // handed to every task
	cancel   context.CancelCauseFunc
	logger   *slog.Logger
	counters []workerCounters

	// Keeps the fields below, which every submission writes, off the
	// cache line of the fields above, which every task reads.
	_ [cacheLineSize]byte

	// state is closedBit once Shutdown has begun, plus the number of
	// submitters that may still send on tasks. The channel is closed
	// only when the intake is closed and no submitter is left, so a send
	// never meets a closed channel and no accepted task is stranded.
	state     atomic.Int64
	submitted atomic.Uint64
	rejected  atomic.Uint64

	live       atomic.Int64 // workers that have not exited
	beginOnce  sync.Once    // begins Shutdown
	closeTasks sync.Once    // closes tasks
}

// New starts a pool with the workers that cfg asks for. The workers run
// until Shutdown, which the pool's owner must call.
func New(cfg Config) *Pool {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	queue := cfg.QueueSize
	switch {
	case queue == 0:
		queue = 64 * workers
	case queue < 0:
		queue = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	p := &Pool{
		tasks:    make(chan Task, queue),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
		logger:   logger,
		counters: make([]workerCounters, workers),
	}
	p.live.Store(int64(workers))
	for i := range p.counters {
		go p.work(&p.counters[i])
	}
	return p
}

// TrySubmit queues task if a slot is free and never blocks. It returns
// ErrQueueFull when the queue is full and ErrClosed once Shutdown has begun;
// in both cases the task will not run.
func (p *Pool) TrySubmit(task Task) error {
	if task == nil {
		p.rejected.Add(1)
		return ErrNilTask
	}
	if p.state.Add(1)&closedBit != 0 {
		p.leave()
		p.rejected.Add(1)
		return ErrClosed
	}
	select {
	case p.tasks <- task:
		p.submitted.Add(1)
		p.leave()
		return nil
	default:
		p.leave()
		p.rejected.Add(1)
		return ErrQueueFull
	}
}

// Submit queues task, waiting for a free slot if need be. It returns nil
// once the task is queued, ctx.Err() if ctx ends first and ErrClosed if
// Shutdown begins first; after an error the task will not run. When a slot
// is free Submit queues the task without looking at ctx, like a channel
// send in a select would.
func (p *Pool) Submit(ctx context.Context, task Task) error {
	if task == nil {
		p.rejected.Add(1)
		return ErrNilTask
	}
	if p.state.Add(1)&closedBit != 0 {
		p.leave()
		p.rejected.Add(1)
		return ErrClosed
	}
	select {
	case p.tasks <- task:
		p.submitted.Add(1)
		p.leave()
		return nil
	default:
	}
	var err error
	select {
	case p.tasks <- task:
		p.submitted.Add(1)
		p.leave()
		return nil
	case <-p.closing:
		err = ErrClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.leave()
	p.rejected.Add(1)
	return err
}

// leave ends a submission. The last submitter out after the intake closed
// closes the task channel, which lets the workers drain it and exit.
func (p *Pool) leave() {
	if p.state.Add(-1) == closedBit {
		p.closeTasks.Do(p.closeTaskChan)
	}
}

func (p *Pool) closeTaskChan() { close(p.tasks) }

// Shutdown stops the intake, waits until every accepted task has run and
// every worker has exited, and returns nil. Submissions that race with it
// either are accepted and run, or fail with ErrClosed.
//
// If ctx ends first, Shutdown cancels the context passed to the tasks,
// still waits for the workers, and returns ctx.Err(). Tasks still queued at
// that point run with the cancelled context, so they should check it and
// return early; a task that ignores its context keeps Shutdown waiting.
//
// Shutdown may be called more than once and from several goroutines; every
// call waits for the same drain. It must not be called from a task, which
// would wait for itself.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.beginOnce.Do(p.beginShutdown)
	select {
	case <-p.done:
		p.cancel(nil)
		return nil
	default:
	}
	select {
	case <-p.done:
		p.cancel(nil)
		return nil
	case <-ctx.Done():
		p.cancel(context.Cause(ctx))
		<-p.done
		return ctx.Err()
	}
}

func (p *Pool) beginShutdown() {
	if p.state.Or(closedBit) == 0 {
		// No submitter is between its check and its send; nobody
		// else will close the channel.
		p.closeTasks.Do(p.closeTaskChan)
	}
	close(p.closing)
}

// Stats returns the pool's counters. It takes no lock and allocates nothing.
func (p *Pool) Stats() Stats {
	var started, completed, panicked uint64
	// Every worker's completed count is read before any started count,
	// so started >= completed and Running is never negative.
	for i := range p.counters {
		completed += p.counters[i].completed.Load()
		panicked += p.counters[i].panicked.Load()
	}
	for i := range p.counters {
		started += p.counters[i].started.Load()
	}
	return Stats{
		Submitted: p.submitted.Load(),
		Completed: completed,
		Rejected:  p.rejected.Load(),
		Panicked:  panicked,
		Queued:    len(p.tasks),
		Running:   int(started - completed),
	}
}

// work is the body of one worker goroutine: it runs tasks until the task
// channel is closed and empty.
func (p *Pool) work(c *workerCounters) {
	drained := false
	defer func() {
		if !drained {
			// A task called runtime.Goexit, which no recover stops.
			// Start a replacement so the pool keeps its size and
			// Shutdown still finds every worker.
			p.logger.LogAttrs(p.ctx, slog.LevelError, "workerpool: task called runtime.Goexit; worker replaced")
			go p.work(c)
			return
		}
		if p.live.Add(-1) == 0 {
			close(p.done)
		}
	}()
	for task := range p.tasks {
		p.run(c, task)
	}
	drained = true
}

// run runs one task, turning a panic into a log record and a count.
func (p *Pool) run(c *workerCounters, task Task) {
	c.started.Add(1)
	returned := false
	defer func() {
		if !returned {
			c.panicked.Add(1)
			if r := recover(); r != nil {
				p.logPanic(r)
			}
		}
		c.completed.Add(1)
	}()
	task(p.ctx)
	returned = true
}

func (p *Pool) logPanic(r any) {
	if !p.logger.Enabled(p.ctx, slog.LevelError) {
		return // skip the cost of capturing a stack nobody reads
	}
	p.logger.LogAttrs(p.ctx, slog.LevelError, "workerpool: task panicked",
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())))
}
