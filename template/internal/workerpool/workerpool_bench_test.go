package workerpool

import (
	"context"
	"strconv"
	"sync"
	"testing"
)

// benchBatch is the number of tasks in one benchmark op. One op submits
// benchBatch tasks spread over the submitters and waits until all have run,
// so ns/op covers submission and completion; ns/task divides it out.
const benchBatch = 1024

// spin is a short CPU-bound task body (about a hundred nanoseconds).
//
//go:noinline
func spin(seed uint64) uint64 {
	x := seed
	for i := range uint64(64) {
		x = x*6364136223846793005 + 1442695040888963407 ^ i
	}
	return x
}

// submitFunc submits one task, retrying or blocking as the mode requires.
type submitFunc func(p *Pool, task Task)

func submitBlocking(p *Pool, task Task) {
	if err := p.Submit(context.Background(), task); err != nil {
		panic(err)
	}
}

func submitNonBlocking(p *Pool, task Task) {
	if err := p.TrySubmit(task); err != nil {
		panic(err) // the queue holds a whole batch, so this cannot happen
	}
}

// BenchmarkSubmit uses the default queue (64 per worker), so submitters
// often wait for room: it measures the blocking path under backpressure.
func BenchmarkSubmit(b *testing.B) {
	for _, submitters := range []int{1, 8, 64} {
		b.Run("submitters="+strconv.Itoa(submitters), func(b *testing.B) {
			benchmarkSubmitters(b, submitters, 0, submitBlocking)
		})
	}
}

// BenchmarkTrySubmit uses a queue that holds a whole batch, so every call
// is accepted: it measures the non-blocking path without retries.
func BenchmarkTrySubmit(b *testing.B) {
	for _, submitters := range []int{1, 8, 64} {
		b.Run("submitters="+strconv.Itoa(submitters), func(b *testing.B) {
			benchmarkSubmitters(b, submitters, benchBatch, submitNonBlocking)
		})
	}
}

// BenchmarkTrySubmitRejected measures the load-shedding path: TrySubmit on
// a pool whose only worker is busy and whose queue is full.
func BenchmarkTrySubmitRejected(b *testing.B) {
	p := New(Config{Workers: 1, QueueSize: 1})
	release := make(chan struct{})
	started := make(chan struct{})
	if err := p.TrySubmit(func(context.Context) { close(started); <-release }); err != nil {
		b.Fatal(err)
	}
	<-started
	noop := func(context.Context) {}
	if err := p.TrySubmit(noop); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p.TrySubmit(noop) == nil {
			b.Fatal("TrySubmit on a full queue succeeded")
		}
	}
	close(release)
	if err := p.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// benchmarkSubmitters runs benchBatch short CPU tasks per op through a pool
// with GOMAXPROCS workers and the given queue size, from the given number of
// long-lived submitter goroutines, and waits for the whole batch to complete.
func benchmarkSubmitters(b *testing.B, submitters, queue int, submit submitFunc) {
	p := New(Config{QueueSize: queue})
	var done sync.WaitGroup
	task := func(context.Context) {
		if spin(7) == 0 {
			panic("unreachable")
		}
		done.Done()
	}

	per := benchBatch / submitters
	starts := make([]chan struct{}, submitters)
	var owners sync.WaitGroup
	for i := range starts {
		starts[i] = make(chan struct{})
		owners.Add(1)
		go func(start <-chan struct{}) {
			defer owners.Done()
			for range start {
				for range per {
					submit(p, task)
				}
			}
		}(starts[i])
	}

	b.ReportAllocs()
	for b.Loop() {
		done.Add(per * submitters)
		for _, start := range starts {
			start <- struct{}{}
		}
		done.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per*submitters), "ns/task")

	for _, start := range starts {
		close(start)
	}
	owners.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStats measures the cost of a Stats snapshot, which a metrics
// endpoint may call often.
func BenchmarkStats(b *testing.B) {
	p := New(Config{})
	defer func() { _ = p.Shutdown(context.Background()) }()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Stats()
	}
}
