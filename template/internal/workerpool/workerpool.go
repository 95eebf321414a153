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
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
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

	// OnTaskDone, if set, is called by the worker after each task with
	// the time the task ran (a task that panicked included), so that the
	// service can export a task-duration histogram. It must not block.
	// Nil skips the two clock reads per task.
	OnTaskDone func(elapsed time.Duration)

	// OnQueueFull, if set, is called by TrySubmit each time it refuses a
	// task because the queue is full: the pool is shedding load (the
	// service arms its flight recorder then). It runs on the submitter's
	// goroutine, so it must be cheap and must not block.
	OnQueueFull func()
}

// Stats is a snapshot of a pool's counters. The fields are read one by one
// without a lock, so while tasks are moving a snapshot can be off by the
// tasks in flight; once Shutdown has returned it is exact.
// The JSON names are the snake_case every /debug/vars entry uses.
type Stats struct {
	Submitted uint64 `json:"submitted"` // tasks accepted by TrySubmit or Submit
	Completed uint64 `json:"completed"` // tasks that have finished, including those that panicked
	Rejected  uint64 `json:"rejected"`  // submissions refused with an error
	Panicked  uint64 `json:"panicked"`  // tasks that panicked (or called runtime.Goexit)
	Queued    int    `json:"queued"`    // accepted tasks waiting for a worker
	Running   int    `json:"running"`   // tasks being run right now
}

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
//
// The queue is a ring buffer under a sync.Mutex rather than a buffered
// channel. Its critical sections are a few loads and stores, and a waiter on
// a sync.Mutex parks its goroutine, while a channel's lock is a runtime lock
// that spins and then sleeps the thread: measured with 64 submitters and
// short tasks, a channel-based version of this pool spent more time in that
// lock than in the tasks. Goroutines block on channels only when there is
// nothing to do: idle workers on wake, Submit calls on room.
type Pool struct {
	// Set by New and only read afterwards.
	ctx      context.Context // handed to every task
	cancel   context.CancelCauseFunc
	logger   *slog.Logger
	onDone   func(time.Duration)
	onFull   func()
	counters []workerCounters
	limit    int           // queue capacity; tasks beyond it go only to idle workers
	wake     chan struct{} // one token per idle worker woken; capacity = workers
	room     chan struct{} // a token telling one waiting Submit to look again
	closing  chan struct{} // closed when Shutdown begins; wakes waiting Submit calls
	done     chan struct{} // closed when the last worker has exited

	// Keeps the fields below, written on every submission and dequeue,
	// off the cache line of the read-only fields above.
	_ [cacheLineSize]byte

	mu      sync.Mutex
	ring    []Task // queued tasks, ring[head] first; len(ring) = limit + workers
	head    int
	n       int  // tasks in ring
	idle    int  // workers waiting on wake that no token has been sent to yet
	waiting int  // Submit calls waiting on room
	closed  bool // Shutdown has begun: no task is accepted any more

	// gate mirrors what admit would say (gateOpen, gateFull or
	// gateClosed). It is written under mu whenever that changes and read
	// without it, so TrySubmit on a full or closed pool does not touch
	// the lock the workers need.
	gate atomic.Int32

	submitted atomic.Uint64
	rejected  atomic.Uint64
	live      atomic.Int64 // workers that have not exited
	beginOnce sync.Once    // begins Shutdown
}

// New starts a pool with the workers that cfg asks for. The workers run
// until Shutdown, which the pool's owner must call.
func New(cfg Config) *Pool {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	limit := cfg.QueueSize
	switch {
	case limit == 0:
		limit = 64 * workers
	case limit < 0:
		limit = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	p := &Pool{
		ctx:      ctx,
		cancel:   cancel,
		logger:   logger,
		onDone:   cfg.OnTaskDone,
		onFull:   cfg.OnQueueFull,
		counters: make([]workerCounters, workers),
		limit:    limit,
		wake:     make(chan struct{}, workers),
		room:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		// A task beyond limit is accepted only for an idle worker, and
		// workers go idle only when the ring is empty, so the ring never
		// holds more than limit + workers tasks.
		ring: make([]Task, limit+workers),
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
	switch p.gate.Load() {
	case gateFull:
		p.refuseFull()
		return ErrQueueFull
	case gateClosed:
		p.rejected.Add(1)
		return ErrClosed
	}
	p.mu.Lock()
	if err := p.admit(); err != nil {
		p.mu.Unlock()
		if errors.Is(err, ErrQueueFull) {
			p.refuseFull()
		} else {
			p.rejected.Add(1)
		}
		return err
	}
	wake := p.push(task)
	p.mu.Unlock()
	if wake {
		p.wake <- struct{}{}
	}
	return nil
}

// refuseFull counts a task TrySubmit refused for a full queue and tells
// OnQueueFull.
func (p *Pool) refuseFull() {
	p.rejected.Add(1)
	if p.onFull != nil {
		p.onFull()
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
	p.mu.Lock()
	for {
		err := p.admit()
		if err == nil {
			wake := p.push(task)
			// Room may remain for another waiting Submit that missed
			// a token; pass it on.
			p.signalRoomLocked()
			p.mu.Unlock()
			if wake {
				p.wake <- struct{}{}
			}
			return nil
		}
		if !errors.Is(err, ErrQueueFull) {
			p.mu.Unlock()
			p.rejected.Add(1)
			return err
		}
		p.waiting++
		p.mu.Unlock()
		select {
		case <-p.room:
			err = nil
		case <-p.closing:
			err = ErrClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.mu.Lock()
		p.waiting--
		if err != nil {
			p.mu.Unlock()
			p.rejected.Add(1)
			return err
		}
	}
}

// Values of Pool.gate.
const (
	gateOpen int32 = iota
	gateFull
	gateClosed
)

// admit reports whether one more task may be queued now. p.mu is held.
func (p *Pool) admit() error {
	switch {
	case p.closed:
		return ErrClosed
	case p.n < p.limit || p.idle > 0:
		return nil
	default:
		return ErrQueueFull
	}
}

// updateGate brings p.gate in line with admit after a change to the ring,
// the idle count or closed. p.mu is held.
func (p *Pool) updateGate() {
	g := gateOpen
	switch {
	case p.closed:
		g = gateClosed
	case p.n >= p.limit && p.idle == 0:
		g = gateFull
	}
	if p.gate.Load() != g {
		p.gate.Store(g)
	}
}

// push appends task to the ring and reports whether an idle worker must be
// woken, in which case the caller sends it a token after unlocking. p.mu is
// held and admit has returned nil.
func (p *Pool) push(task Task) (wake bool) {
	i := p.head + p.n
	if i >= len(p.ring) {
		i -= len(p.ring)
	}
	p.ring[i] = task
	p.n++
	// Counted before any worker can take the task, so Stats never sees
	// more tasks started than submitted.
	p.submitted.Add(1)
	wake = p.idle > 0
	if wake {
		p.idle--
	}
	p.updateGate()
	return wake
}

// signalRoomLocked wakes one waiting Submit if there is room for it. A
// pending token already covers it, so the send never blocks. p.mu is held.
func (p *Pool) signalRoomLocked() {
	if p.waiting > 0 && (p.n < p.limit || p.idle > 0) {
		select {
		case p.room <- struct{}{}:
		default:
		}
	}
}

// next returns the next task for a worker, waiting while the ring is
// empty. It returns false once the pool is closed and the ring is empty.
func (p *Pool) next() (Task, bool) {
	p.mu.Lock()
	for p.n == 0 {
		if p.closed {
			p.mu.Unlock()
			return nil, false
		}
		p.idle++
		p.updateGate()
		p.signalRoomLocked() // an idle worker is room when there is no queue
		p.mu.Unlock()
		<-p.wake
		p.mu.Lock()
	}
	task := p.ring[p.head]
	p.ring[p.head] = nil // let the task's closure be collected
	p.head++
	if p.head == len(p.ring) {
		p.head = 0
	}
	p.n--
	p.updateGate()
	p.signalRoomLocked()
	p.mu.Unlock()
	return task, true
}

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

// beginShutdown closes the intake. From here on a worker that finds the
// ring empty exits; idle workers are woken to find that out.
func (p *Pool) beginShutdown() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = 0
	p.updateGate()
	p.mu.Unlock()
	for range idle {
		p.wake <- struct{}{}
	}
	close(p.closing)
}

// Stats returns the pool's counters. It takes no lock and allocates nothing.
func (p *Pool) Stats() Stats {
	// Every completed count is read before any started count, and those
	// before submitted, so Running and Queued are never negative.
	var completed, panicked, started uint64
	for i := range p.counters {
		completed += p.counters[i].completed.Load()
		panicked += p.counters[i].panicked.Load()
	}
	for i := range p.counters {
		started += p.counters[i].started.Load()
	}
	submitted := p.submitted.Load()
	return Stats{
		Submitted: submitted,
		Completed: completed,
		Rejected:  p.rejected.Load(),
		Panicked:  panicked,
		Queued:    clampInt(submitted - started),
		Running:   clampInt(started - completed),
	}
}

// clampInt converts a count to int, saturating instead of wrapping.
func clampInt(u uint64) int {
	if u > math.MaxInt {
		return math.MaxInt
	}
	return int(u)
}

// work is the body of one worker goroutine: it runs tasks until the pool is
// closed and the queue is empty.
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
	for {
		task, ok := p.next()
		if !ok {
			drained = true
			return
		}
		p.run(c, task)
	}
}

// run runs one task, turning a panic into a log record and a count.
func (p *Pool) run(c *workerCounters, task Task) {
	c.started.Add(1)
	var start time.Time
	if p.onDone != nil {
		start = time.Now()
	}
	returned := false
	defer func() {
		if !returned {
			c.panicked.Add(1)
			if r := recover(); r != nil {
				p.logPanic(r)
			}
		}
		if p.onDone != nil {
			p.onDone(time.Since(start))
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
