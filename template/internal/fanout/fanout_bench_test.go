package fanout

import (
	"context"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// benchCalls returns n calls that each return their index: the cost
// measured is Run's own (goroutines, contexts, result slots), not the calls'.
func benchCalls(n int) []Call[int] {
	calls := make([]Call[int], n)
	for i := range calls {
		calls[i] = func(context.Context) (int, error) { return i, nil }
	}
	return calls
}

func BenchmarkRun(b *testing.B) {
	for _, n := range []int{4, 64} {
		for _, c := range []struct {
			name string
			opts Options
		}{
			{"default", Options{}},
			{"limit=4", Options{Limit: 4}},
			{"collectall", Options{CollectAll: true}},
			{"timeout", Options{PerCallTimeout: time.Minute}},
		} {
			b.Run("calls="+strconv.Itoa(n)+"/"+c.name, func(b *testing.B) {
				calls := benchCalls(n)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Run(ctx, c.opts, calls); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkErrgroupBaseline is the same work done with a bare errgroup and
// a results slice, for comparison with BenchmarkRun's default case.
func BenchmarkErrgroupBaseline(b *testing.B) {
	for _, n := range []int{4, 64} {
		b.Run("calls="+strconv.Itoa(n), func(b *testing.B) {
			calls := benchCalls(n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				g, gctx := errgroup.WithContext(ctx)
				values := make([]int, len(calls))
				for i, call := range calls {
					g.Go(func() error {
						v, err := call(gctx)
						values[i] = v
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
