package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresMigrations holds the schema, applied by Open. It is read-only.
//
//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations
// between processes starting at the same time ("goperf" in ASCII). It is
// per database; services sharing a database merely take turns.
const migrationLockKey int64 = 0x676f70657266

// postgresInsertSQL inserts rows given as two arrays, kinds and payloads: one
// statement for any number of rows, sent in binary array encoding.
const postgresInsertSQL = `INSERT INTO events (kind, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])`

// postgresBatchSQL is postgresInsertSQL that also returns the id of the
// transaction it runs in, which resolving a cut-off COMMIT needs. The batch
// writer sends it pipelined after BEGIN, so a batch costs two round trips,
// the second being COMMIT. A multi-row INSERT rather than COPY: COPY cannot
// share a round trip with other statements, and for the batch sizes the
// writer forms (at most BatchConfig.MaxBatch rows) the two are equally fast.
const postgresBatchSQL = `WITH inserted AS (` + postgresInsertSQL + ` RETURNING 1)
SELECT pg_current_xact_id()::text, (SELECT count(*) FROM inserted)`

// postgresInsertOneSQL inserts one row: what a handler without a batch
// writer sends for one event.
const postgresInsertOneSQL = `INSERT INTO events (kind, payload) VALUES ($1, $2)`

// defaultConnectTimeout bounds one connection attempt when the database URL
// sets no connect_timeout (see openDriver).
const defaultConnectTimeout = 5 * time.Second

// postgresDriver writes batches through a pgxpool.Pool.
//
// Exactly-once under connection failures: before COMMIT, insertBatch reads the
// transaction id. If the connection fails while COMMIT is in flight, the
// client cannot know whether the server committed, so insertBatch asks the
// server with pg_xact_status on a fresh connection: committed means success,
// aborted means a retry cannot duplicate anything, and anything else ends as
// ErrOutcomeUnknown rather than as a guess.
type postgresDriver struct {
	pool *pgxpool.Pool
	// commit sends COMMIT on conn; tests replace it to simulate a connection
	// lost during COMMIT.
	commit func(ctx context.Context, conn *pgx.Conn) error
}

func openDriver(ctx context.Context, databaseURL string, logger *slog.Logger) (_ driver, err error) {
	if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
		return nil, errors.New("this service was generated for PostgreSQL: " +
			"the database URL must start with postgres:// or postgresql://")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgconn's parse errors never include the password.
		return nil, fmt.Errorf("parse postgres URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// pgx's default is no limit (the URL's connect_timeout sets one).
		// pgxpool finishes a connection attempt in the background even after
		// the request that started it gave up, so against a server that
		// accepts connections and never answers (a black hole) every pool
		// slot would end up in an attempt that never ends, and the pool
		// could not connect again once the server is back.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create postgres pool: %w", err)
	}
	d := &postgresDriver{pool: pool, commit: sendCommit}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	// The pool connects lazily; ping so that a wrong host or password fails
	// here, at start-up, and not with the first request.
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	ms, err := loadMigrations(postgresMigrations, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx, ms, logger); err != nil {
		return nil, err
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "database opened",
		slog.String("driver", "postgres"),
		slog.String("host", cfg.ConnConfig.Host),
		slog.String("database", cfg.ConnConfig.Database))
	return d, nil
}

// migrate applies ms while holding a session-level advisory lock, so that
// when several replicas start at once exactly one applies each migration and
// the others wait, then find it recorded. The lock goes with the session if
// the process dies.
func (d *postgresDriver) migrate(ctx context.Context, ms []migration, logger *slog.Logger) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
			// Ending the session releases the lock; the pool then drops the
			// closed connection instead of reusing it.
			_ = conn.Conn().Close(uctx)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return applyMigrations(ctx, ms, logger, func(ctx context.Context, m migration) (bool, error) {
		return applyPostgresMigration(ctx, conn.Conn(), m)
	})
}

// applyPostgresMigration runs m and records it in one transaction, unless it
// is recorded already.
func applyPostgresMigration(ctx context.Context, conn *pgx.Conn, m migration) (applied bool, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	var exists bool
	if err := tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.version).Scan(&exists); err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if exists {
		return false, nil
	}
	// Without arguments pgx uses the simple protocol, which runs every
	// statement in the file.
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
		return false, fmt.Errorf("record migration: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// insertBatch writes rows in one transaction in two round trips: BEGIN and
// the INSERT that returns the transaction id, pipelined, then COMMIT. See
// postgresDriver for what happens when the connection fails during COMMIT.
func (d *postgresDriver) insertBatch(ctx context.Context, rows *rowBuffer, resolveCtx context.Context) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	pid := conn.Conn().PgConn().PID()

	var xid string
	var inserted int
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	batch.Queue(postgresBatchSQL, rows.kinds, payloadSlices(rows)).QueryRow(func(row pgx.Row) error {
		return row.Scan(&xid, &inserted)
	})
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		endTransaction(ctx, conn.Conn())
		return fmt.Errorf("insert events: %w", err)
	}
	if inserted != rows.len() {
		endTransaction(ctx, conn.Conn())
		return fmt.Errorf("insert events: %d of %d rows inserted", inserted, rows.len())
	}
	err = d.commit(ctx, conn.Conn())
	if err == nil {
		return nil
	}
	if commitRefused(err) {
		endTransaction(ctx, conn.Conn())
		return fmt.Errorf("commit: %w", err)
	}
	return d.resolveCommit(resolveCtx, xid, pid, err)
}

// sendCommit commits the transaction open on conn. A failed transaction
// answers COMMIT with the tag ROLLBACK rather than an error.
func sendCommit(ctx context.Context, conn *pgx.Conn) error {
	tag, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// endTransaction leaves conn outside any transaction, so that the pool can
// hand it out again, or closes it (the pool then drops it) when a ROLLBACK is
// impossible or fails.
func endTransaction(ctx context.Context, conn *pgx.Conn) {
	if conn.IsClosed() || conn.PgConn().TxStatus() == 'I' {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if _, err := conn.Exec(rctx, "ROLLBACK"); err != nil {
		_ = conn.Close(rctx)
	}
}

// payloadSlices returns the payloads of rows as slices of its buffer (no copy).
func payloadSlices(rows *rowBuffer) [][]byte {
	out := make([][]byte, rows.len())
	for i := range out {
		out[i] = rows.payload(i)
	}
	return out
}

// insertTx writes rows without the batch writer's machinery: one row as one
// autocommitted INSERT (one round trip), more rows in a transaction with one
// INSERT (BEGIN, INSERT and COMMIT: three round trips). This is the baseline.
func (d *postgresDriver) insertTx(ctx context.Context, rows *rowBuffer) error {
	if rows.len() == 1 {
		_, err := d.pool.Exec(ctx, postgresInsertOneSQL, rows.kinds[0], rows.payload(0))
		return err
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, postgresInsertSQL, rows.kinds, payloadSlices(rows))
		return err
	})
}

// commitRefused reports whether err from COMMIT proves that the transaction
// did not commit: the server answered with an error or with ROLLBACK. Nothing
// else does, not even an error that pgconn.SafeToRetry calls safe: once a
// read on the connection has failed, pgx marks it closed and a later read in
// the same call fails with "conn closed", a lock error that claims nothing
// was sent although COMMIT was.
func commitRefused(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || errors.Is(err, pgx.ErrTxCommitRollback)
}

// resolveCommit learns from the server, while ctx allows, whether transaction
// xid, whose COMMIT failed with commitErr on a connection that is now
// unusable, committed.
func (d *postgresDriver) resolveCommit(ctx context.Context, xid string, pid uint32, commitErr error) error {
	delay := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var status *string // NULL when the id is too old to know: not for ours
		err := d.pool.QueryRow(ctx, `SELECT pg_xact_status($1::xid8)`, xid).Scan(&status)
		switch {
		case err != nil || status == nil:
		case *status == "committed":
			return nil
		case *status == "aborted":
			return fmt.Errorf("commit cut off, transaction rolled back: %w", commitErr)
		case attempt > 1:
			// Still in progress: the server has not noticed that our end of
			// the connection is gone (it may never have received COMMIT).
			// End that session so that the outcome becomes final; the filter
			// on the transaction id makes sure it is still ours.
			_, _ = d.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE pid = $1 AND backend_xid = $2::xid8::xid`, int64(pid), xid)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: transaction %s: %w", ErrOutcomeUnknown, xid, commitErr)
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// transient reports failures after which the transaction certainly did not
// commit and a retry may succeed: serialization failures and deadlocks, lock
// timeouts, a server shutting down or out of connections, and a connection
// that broke before COMMIT was sent.
func (d *postgresDriver) transient(err error) bool {
	if errors.Is(err, ErrOutcomeUnknown) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", // serialization_failure
			"40P01", // deadlock_detected
			"55P03", // lock_not_available
			"57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now
			"53300": // too_many_connections
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return pgconn.SafeToRetry(err) ||
		errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

func (d *postgresDriver) ping(ctx context.Context) error {
	return d.pool.Ping(ctx)
}

func (d *postgresDriver) countEvents(ctx context.Context) (int64, error) {
	var n int64
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

func (d *postgresDriver) close() error {
	d.pool.Close()
	return nil
}
