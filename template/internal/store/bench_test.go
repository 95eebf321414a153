package store

import (
	"context"
	"strconv"
	"sync"
	"testing"
)

// BenchmarkInsert compares the batch writer with one autocommitted INSERT per
// row, on the database the service was generated for (PostgreSQL needs
// TEST_POSTGRES_URL or DATABASE_URL). Every operation stores `rows` rows and
// reports rows/s; compare the modes with
//
//	go test -run '^$' -bench Insert -count 6 ./internal/store | tee new.txt
//	benchstat -col /mode new.txt
//
// writers=1 is one caller with rows to store: mode=autocommit inserts them one
// statement (one transaction, one fsync) per row; mode=batched hands them to
// BatchWriter.Write in one call. writers=8 is eight callers sharing the rows,
// each storing one row per call and waiting for it, like eight busy request
// handlers: mode=autocommit runs their INSERTs concurrently, mode=batched
// lets the writer merge their rows into shared transactions.
func BenchmarkInsert(b *testing.B) {
	type shape struct{ rows, writers int }
	shapes := []shape{
		{rows: 1, writers: 1},
		{rows: 100, writers: 1},
		{rows: 10_000, writers: 1},
		{rows: 10_000, writers: 8},
		{rows: 10_000, writers: 256},
	}
	for _, s := range shapes {
		name := "rows=" + strconv.Itoa(s.rows) + "/writers=" + strconv.Itoa(s.writers)
		b.Run(name+"/mode=autocommit", func(b *testing.B) { benchAutocommit(b, s.rows, s.writers) })
		b.Run(name+"/mode=batched", func(b *testing.B) { benchBatched(b, s.rows, s.writers) })
	}
}

func benchAutocommit(b *testing.B, rows, writers int) {
	db := openTestDB(b)
	evs := events(rows, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		runWriters(b, writers, rows, func(i int) error {
			return db.drv.insertOne(ctx, evs[i].Kind, evs[i].Payload)
		})
	}
	reportRows(b, rows)
}

func benchBatched(b *testing.B, rows, writers int) {
	db := openTestDB(b)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(b, w)
	evs := events(rows, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if writers == 1 {
			if err := w.Write(ctx, evs); err != nil {
				b.Fatal(err)
			}
			continue
		}
		runWriters(b, writers, rows, func(i int) error { return w.Write(ctx, evs[i:i+1]) })
	}
	reportRows(b, rows)
}

// runWriters calls write(i) for every i in [0, rows), split over writers
// goroutines, and fails b on the first error.
func runWriters(b *testing.B, writers, rows int, write func(i int) error) {
	if writers == 1 {
		for i := range rows {
			if err := write(i); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < rows; i += writers {
				if err := write(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
