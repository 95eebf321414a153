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

// resolveTimeout bounds how long insertBatch tries to learn the fate of a
// transaction whose COMMIT was cut off, before reporting ErrOutcomeUnknown.
const resolveTimeout = 10 * time.Second

// postgresDriver writes batches with COPY through a pgxpool.Pool.
//
// COPY rather than a multi-row INSERT or a pgx.Batch of INSERTs: COPY streams
// the rows in one protocol message sequence with binary encoding and no
// per-row statement execution, so it is the fastest way to load rows, and the
// events table needs no ON CONFLICT clause (ids come from the identity
// column), which is the one thing COPY cannot do.
//
// Exactly-once under connection failures: before COMMIT, insertBatch reads the
// transaction id. If the connection fails while COMMIT is in flight, the
// client cannot know whether the server committed, so insertBatch asks the
// server with pg_xact_status on a fresh connection: committed means success,
// aborted means a retry cannot duplicate anything, and anything else ends as
// ErrOutcomeUnknown rather than as a guess.
type postgresDriver struct {
	pool *pgxpool.Pool
	// commit commits tx; tests replace it to simulate a connection lost
	// during COMMIT. It is tx.Commit in production.
	commit func(ctx context.Context, tx pgx.Tx) error
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
	cfg.ConnConfig.Tracer = queryTracer(ctx) // postgres_tracer*.go
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create postgres pool: %w", err)
	}
	d := &postgresDriver{
		pool:   pool,
		commit: func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
	}
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

// insertBatch copies rows into events in one transaction; see postgresDriver
// for what happens when the connection fails during COMMIT.
func (d *postgresDriver) insertBatch(ctx context.Context, rows *rowBuffer) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Rollback is a no-op after a commit; after a failure it ends the
	// transaction, or closes a broken connection so the pool drops it.
	defer func() { _ = tx.Rollback(ctx) }()

	var xid string
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		return fmt.Errorf("read transaction id: %w", err)
	}
	pid := tx.Conn().PgConn().PID()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"kind", "payload"},
		&copySource{rows: rows}); err != nil {
		return fmt.Errorf("copy events: %w", err)
	}
	err = d.commit(ctx, tx)
	if err == nil {
		return nil
	}
	if commitNotSent(err) {
		return fmt.Errorf("commit: %w", err)
	}
	return d.resolveCommit(ctx, xid, pid, err)
}

// commitNotSent reports whether err from COMMIT proves that the transaction
// did not commit: the server answered with an error or a rollback, or pgx
// sent nothing.
func commitNotSent(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) ||
		errors.Is(err, pgx.ErrTxCommitRollback) ||
		errors.Is(err, pgx.ErrTxClosed) ||
		pgconn.SafeToRetry(err)
}

// resolveCommit learns from the server whether transaction xid, whose COMMIT
// failed with commitErr on a connection that is now unusable, committed.
func (d *postgresDriver) resolveCommit(ctx context.Context, xid string, pid uint32, commitErr error) error {
	// A context of its own: ctx may be the one whose end cut off the COMMIT.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
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

// copySource feeds a rowBuffer to CopyFrom without copying it.
type copySource struct {
	rows *rowBuffer
	next int
	vals [2]any
}

func (s *copySource) Next() bool {
	s.next++
	return s.next <= s.rows.len()
}

func (s *copySource) Values() ([]any, error) {
	i := s.next - 1
	s.vals[0] = s.rows.kinds[i]
	s.vals[1] = s.rows.payload(i) // []byte is sent to jsonb as JSON text as is
	return s.vals[:], nil
}

func (s *copySource) Err() error { return nil }

func (d *postgresDriver) insertOne(ctx context.Context, kind string, payload []byte) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO events (kind, payload) VALUES ($1, $2)`, kind, payload)
	return err
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
