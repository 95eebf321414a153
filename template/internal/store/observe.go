package store

import (
	"context"
	"time"
)

// BatchObserver is told about every attempt to write a batch: how many rows, how long the
// write and commit took, and the outcome (nil: committed). It is called from the writer's
// flusher goroutine and must return quickly; the metrics collector is one.
type BatchObserver interface {
	ObserveBatch(rows int, took time.Duration, err error)
}

// WithBatchObserver returns a DB that shares db's connections and reports every batch a
// BatchWriter on it writes to o. Close the original DB, not this one.
func (db *DB) WithBatchObserver(o BatchObserver) *DB {
	return &DB{drv: observedDriver{driver: db.drv, o: o}, logger: db.logger}
}

// observedDriver times insertBatch, the one call that writes a batch; the rest passes through.
type observedDriver struct {
	driver
	o BatchObserver
}

func (d observedDriver) insertBatch(ctx context.Context, rows *rowBuffer, resolveCtx context.Context) error { //nolint:revive // the driver's signature
	start := time.Now()
	err := d.driver.insertBatch(ctx, rows, resolveCtx)
	d.o.ObserveBatch(rows.len(), time.Since(start), err)
	return err
}
