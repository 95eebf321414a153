package concurrency

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"

	"goperf-scaffold/bench/concurrency/internal/workerpool"
)

// batch is the number of tasks in one benchmark op. An op hands batch tasks
// to the submitter goroutines, which submit their share, and ends when every
// task has completed, so ns/op is end-to-end time for the batch (submission,
// queueing, execution and completion). ns/task and allocs/task divide it out.
const batch = 4096

// spin is the short CPU-bound task body, about a hundred nanoseconds.
//
//go:noinline
func spin(seed uint64) uint64 {
	x := seed
	for i := range uint64(64) {
		x = x*6364136223846793005 + 1442695040888963407 ^ i
	}
	return x
}

func cpuWork() {
	if spin(7) == 0 {
		panic("unreachable")
	}
}

func ioWork() { time.Sleep(time.Millisecond) }

// workload is a task body and the worker count every pool gets for it.
type workload struct {
	name    string
	work    func()
	workers int
}

func workloads() []workload {
	return []workload{
		// CPU-bound: one worker per usable CPU, our pool's default.
		{name: "cpu", work: cpuWork, workers: runtime.GOMAXPROCS(0)},
		// I/O-like: tasks mostly wait, so pools are sized well past the
		// CPU count, as a service would size them.
		{name: "io1ms", work: ioWork, workers: 64},
	}
}

// impl starts one implementation with the given worker count and returns a
// function that submits one task (blocking while the implementation is at
// capacity) and a function that stops it and waits for its goroutines. The
// task is built once, in the implementation's native signature, so no
// adapter closure is allocated per submission.
type impl struct {
	name  string
	start func(workers int, task func()) (submit, stop func())
}

func impls() []impl {
	return []impl{
		{name: "workerpool", start: startWorkerpool},
		{name: "pond", start: startPond},
		{name: "ants", start: startAnts},
		{name: "goroutine", start: startGoroutine},
	}
}

func startWorkerpool(workers int, task func()) (submit, stop func()) {
	p := workerpool.New(workerpool.Config{
		Workers: workers, // queue: the default, 64 per worker
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t := workerpool.Task(func(context.Context) { task() })
	ctx := context.Background()
	submit = func() {
		if err := p.Submit(ctx, t); err != nil {
			panic(err)
		}
	}
	stop = func() {
		if err := p.Shutdown(ctx); err != nil {
			panic(err)
		}
	}
	return submit, stop
}

func startPond(workers int, task func()) (submit, stop func()) {
	// The same bound as our pool's default queue; Go blocks when it is full.
	p := pond.NewPool(workers, pond.WithQueueSize(64*workers))
	submit = func() {
		if err := p.Go(task); err != nil {
			panic(err)
		}
	}
	return submit, p.StopAndWait
}

func startAnts(workers int, task func()) (submit, stop func()) {
	// ants has no queue: Submit blocks until a worker is free.
	p, err := ants.NewPool(workers)
	if err != nil {
		panic(err)
	}
	submit = func() {
		if err := p.Submit(task); err != nil {
			panic(err)
		}
	}
	stop = func() {
		if err := p.ReleaseTimeout(10 * time.Second); err != nil {
			panic(err)
		}
	}
	return submit, stop
}

func startGoroutine(_ int, task func()) (submit, stop func()) {
	submit = func() { go task() }
	return submit, func() {}
}

// BenchmarkPool compares the implementations on each workload with 1, 8
// and 64 goroutines submitting concurrently. Compare columns with
// `benchstat -col /impl`.
func BenchmarkPool(b *testing.B) {
	for _, w := range workloads() {
		for _, submitters := range []int{1, 8, 64} {
			for _, im := range impls() {
				name := "work=" + w.name + "/submitters=" + strconv.Itoa(submitters) + "/impl=" + im.name
				b.Run(name, func(b *testing.B) {
					benchmarkImpl(b, im, w, submitters)
				})
			}
		}
	}
}

func benchmarkImpl(b *testing.B, im impl, w workload, submitters int) {
	var done sync.WaitGroup
	work := w.work
	task := func() {
		work()
		done.Done()
	}
	submit, stop := im.start(w.workers, task)

	// Long-lived submitters, each told per op to submit its share.
	per := batch / submitters
	starts := make([]chan struct{}, submitters)
	var owners sync.WaitGroup
	for i := range starts {
		starts[i] = make(chan struct{})
		owners.Add(1)
		go func(start <-chan struct{}) {
			defer owners.Done()
			for range start {
				for range per {
					submit()
				}
			}
		}(starts[i])
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		done.Add(per * submitters)
		for _, start := range starts {
			start <- struct{}{}
		}
		done.Wait()
	}
	runtime.ReadMemStats(&after)
	tasks := float64(b.N * per * submitters)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/tasks, "ns/task")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/tasks, "allocs/task")

	for _, start := range starts {
		close(start)
	}
	owners.Wait()
	stop()
}
