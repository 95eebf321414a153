package store

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkInsert measures what request handlers see: each of `writers`
// goroutines stores one row per call and waits for it before making the next
// call (a closed loop), as POST /v1/events with one event does. It runs on the
// database the service was generated for (PostgreSQL needs TEST_POSTGRES_URL
// or DATABASE_URL). One operation is one call, that is one row.
//
//   - mode=pertx is the baseline without a batch writer: every call is a
//     transaction of its own (DB.Insert: one autocommitted INSERT), from
//     `writers` goroutines at once.
//   - mode=batched sends every call through one BatchWriter with the default
//     configuration (group commit, no linger).
//   - mode=linger is mode=batched with the opt-in linger MaxDelay = 1ms.
//
// It reports rows/s and, for batched, rows/commit (the mean batch size).
// Compare the modes with
//
//	go test -run '^$' -bench Insert -count 6 ./internal/store | tee new.txt
//	go tool benchstat -col /mode new.txt
//
// -short keeps 1 and 8 writers (make bench-smoke).
func BenchmarkInsert(b *testing.B) {
	counts := []int{1, 8, 64, 256}
	if testing.Short() {
		counts = counts[:2]
	}
	for _, writers := range counts {
		for _, mode := range []string{"pertx", "batched", "linger"} {
			b.Run("writers="+strconv.Itoa(writers)+"/mode="+mode, func(b *testing.B) {
				db := openTestDB(b) // a new database for each run, closed after it
				if mode == "pertx" {
					closedLoop(b, writers, db.Insert)
					return
				}
				var cfg BatchConfig
				if mode == "linger" {
					cfg.MaxDelay = time.Millisecond
				}
				w := NewBatchWriter(db, cfg)
				defer closeWriter(b, w)
				closedLoop(b, writers, w.Write)
				if st := w.Stats(); st.Batches > 0 {
					b.ReportMetric(float64(st.Rows)/float64(st.Batches), "rows/commit")
				}
			})
		}
	}
}

// closedLoop runs b.N calls of write, one event each, from `writers`
// goroutines that each wait for their call before the next. It counts b.N
// down itself, like testing.B.RunParallel, rather than using b.Loop, which
// paces one goroutine.
func closedLoop(b *testing.B, writers int, write func(context.Context, []Event) error) {
	evs := events(writers, "bench")
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ReportAllocs()
	b.ResetTimer()
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := write(ctx, evs[g:g+1]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
