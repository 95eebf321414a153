package config

import "flag"

// The batch defaults match internal/store's: at most 1000 rows per transaction, no linger
// (group commit: the writer commits as soon as it is free), 10 batches' worth pending.
const (
	DefaultBatchMaxRows    = 1000
	DefaultBatchMaxDelay   = 0
	DefaultBatchMaxPending = 10000
)

// registerStore adds the flags of the database, the batch writer and the database readiness
// check, with their environment variables as defaults. The check it returns validates them
// once the flags are parsed. DATABASE_URL is the database's own (store_sqlite.go,
// store_postgres.go).
func (c *Config) registerStore(fs *flag.FlagSet, env *envReader) func() []error {
	checkDatabaseURL := c.registerDatabaseURL(fs, env)
	fs.IntVar(&c.BatchMaxRows, "batch-max-rows", env.integer("BATCH_MAX_ROWS", DefaultBatchMaxRows), "most rows in one batch, one transaction (BATCH_MAX_ROWS)")
	fs.DurationVar(&c.BatchMaxDelay, "batch-max-delay", env.duration("BATCH_MAX_DELAY", DefaultBatchMaxDelay), "opt-in linger: how long the free writer may wait for a batch to fill; 0 commits at once (BATCH_MAX_DELAY)")
	fs.IntVar(&c.BatchMaxPending, "batch-max-pending", env.integer("BATCH_MAX_PENDING", DefaultBatchMaxPending), "rows that may wait for a commit before writes are refused (BATCH_MAX_PENDING)")
	fs.Int64Var(&c.BatchMaxPendingBytes, "batch-max-pending-bytes", env.int64("BATCH_MAX_PENDING_BYTES", 0), "bytes of events that may wait for a commit before writes are refused; 0: an eighth of the memory limit, 4 to 64 MiB (BATCH_MAX_PENDING_BYTES)")
	fs.BoolVar(&c.ReadyzCheckDatabase, "readyz-check-database", env.boolean("READYZ_CHECK_DATABASE", false), "/readyz also fails while the database does not answer (READYZ_CHECK_DATABASE)")
	return func() []error {
		problems := checkDatabaseURL()
		problems = appendIf(problems, c.BatchMaxRows <= 0, "BATCH_MAX_ROWS must be positive, got %d", c.BatchMaxRows)
		problems = appendIf(problems, c.BatchMaxDelay < 0, "BATCH_MAX_DELAY must not be negative, got %s", c.BatchMaxDelay)
		problems = appendIf(problems, c.BatchMaxPendingBytes < 0, "BATCH_MAX_PENDING_BYTES must not be negative, got %d", c.BatchMaxPendingBytes)
		return appendIf(problems, c.BatchMaxPending < c.BatchMaxRows, "BATCH_MAX_PENDING (%d) must be at least BATCH_MAX_ROWS (%d)", c.BatchMaxPending, c.BatchMaxRows)
	}
}
