package store

import "time"

// BatchObserver is told about every attempt to write a batch: how many rows, how long the
// attempt took (writing, committing and, if its COMMIT was cut off, learning the outcome) and
// the outcome: nil exactly when the batch committed, that is when Stats().Batches counts it,
// a cut-off COMMIT settled as committed included. It is called from the writer's flusher
// goroutine, before the callers still waiting for the batch are answered, and must return
// quickly; the metrics collector is one.
type BatchObserver interface {
	ObserveBatch(rows int, took time.Duration, err error)
}

// WithBatchObserver returns a DB that shares db's connections and reports every batch a
// BatchWriter on it writes to o. Close the original DB, not this one.
func (db *DB) WithBatchObserver(o BatchObserver) *DB {
	return &DB{drv: db.drv, logger: db.logger, observer: o}
}
