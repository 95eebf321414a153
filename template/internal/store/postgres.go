package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
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
// statement for any number of rows, sent in binary array encoding. A
// multi-row INSERT rather than COPY: COPY cannot share a round trip with
// other statements, and for the batch sizes the writer forms (at most
// BatchConfig.MaxBatch rows) the two are equally fast.
const postgresInsertSQL = `INSERT INTO events (kind, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])`

// postgresTokenSQL records a batch's token in the batch's own transaction,
// after its rows: the row exists once the transaction has committed, and
// never if it did not (see postgresDriver).
const postgresTokenSQL = `INSERT INTO event_batches (token, committed) VALUES ($1, true)`

// postgresPruneSQL deletes the tokens older than its argument (tokens sort by
// the time they were made): a token is needed only while the writer that made
// it may still be learning the outcome of its commit, which takes seconds.
const postgresPruneSQL = `DELETE FROM event_batches WHERE token < $1`

// postgresSettleSQL makes the outcome of a batch whose COMMIT was cut off
// final, in one round trip of its own transaction: it records the batch's
// token as not committed unless the batch's transaction already recorded it.
// If that transaction is still open, with the token written, the INSERT waits
// for it to end, at most lock_timeout. Either way the SELECT then reads the
// final answer: true if the batch committed, false if it did not and now
// never can (its own INSERT of the token would fail on the primary key).
const (
	postgresSettleLockTimeout = `SET LOCAL lock_timeout = '500ms'`
	postgresSettleInsertSQL   = `INSERT INTO event_batches (token, committed) VALUES ($1, false) ON CONFLICT (token) DO NOTHING`
	postgresSettleSelectSQL   = `SELECT committed FROM event_batches WHERE token = $1`
)

// tokenRetention is how long batch tokens are kept; pruneEvery how many
// batches, at most, pass between two prunes.
const (
	tokenRetention = time.Hour
	pruneEvery     = 1024
)

// postgresInsertOneSQL inserts one row: what a handler without a batch
// writer sends for one event.
const postgresInsertOneSQL = `INSERT INTO events (kind, payload) VALUES ($1, $2)`

// defaultConnectTimeout bounds one connection attempt when the database URL
// sets no connect_timeout (see openDriver).
const defaultConnectTimeout = 5 * time.Second

// postgresDriver writes batches through a pgxpool.Pool.
//
// Exactly-once under connection failures and server crashes: every batch
// carries a fresh token (batchToken), written into the event_batches table in
// the batch's own transaction, after its rows. If the connection fails while
// COMMIT is in flight, the client cannot know whether the server committed,
// so insertBatch settles the question on a fresh connection: it inserts the
// token itself, marked not committed, unless the row is there already. The
// primary key makes the two inserts exclude each other, so exactly one wins:
// the batch's (it committed) or the settler's (it did not, and now it never
// can). The answer survives a crash and restart of the server, because it is
// a committed row, not a transaction id: ids that never reached the
// write-ahead log are handed out again after crash recovery, so asking
// pg_xact_status about one can report another session's commit as ours.
// Where even settling fails until the callers' deadline, the result is
// ErrOutcomeUnknown rather than a guess.
//
// One round trip per batch: a batch's rows, its token, its COMMIT and the
// BEGIN of the next transaction travel together, so the next batch goes into a
// transaction that is already open (primed). A writer that has been idle for
// a moment pays one more round trip to open one (release gives it back).
type postgresDriver struct {
	pool *pgxpool.Pool
	// send writes rows and token into the transaction open on conn, commits
	// it and opens the next one; tests replace it to simulate a connection
	// lost in that round trip. It is sendBatch in production.
	send func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken, prune *batchToken) (sent, error)
	// primed is the transaction opened for the next batch, or nil. Only the
	// batch writer's flusher goroutine uses it (insertBatch, release), and
	// lastPrune and sincePrune too.
	primed     *primedTx
	lastPrune  time.Time
	sincePrune int
}

// primedTx is an open transaction on a connection taken from the pool.
type primedTx struct {
	conn *pgxpool.Conn
	pid  uint32 // the server process of conn
}

// sent is what sendBatch learnt before it returned.
type sent struct {
	committed bool // COMMIT answered COMMIT
	next      bool // the next transaction is open
}

// batchToken identifies one attempt to commit one batch. Its first 8 bytes
// are the time it was made (Unix nanoseconds, big-endian) and the rest are
// random, so tokens of every writer on the database are unique and sort by
// age, which lets the prune delete old ones by a range of the primary key.
type batchToken [16]byte

// newBatchToken returns a fresh token made at t.
func newBatchToken(t time.Time) batchToken {
	var tok batchToken
	binary.BigEndian.PutUint64(tok[:8], uint64(t.UnixNano())) //nolint:gosec // after 1970
	_, _ = rand.Read(tok[8:])                                 // crypto/rand never fails
	return tok
}

// uuid returns tok as a value for a uuid parameter.
func (tok batchToken) uuid() pgtype.UUID { return pgtype.UUID{Bytes: tok, Valid: true} }

// String returns tok in the canonical UUID form, for errors and logs.
func (tok batchToken) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", tok[0:4], tok[4:6], tok[6:8], tok[8:10], tok[10:16])
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
	cfg.ConnConfig.Tracer = queryTracer(ctx) // postgres_tracer*.go
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create postgres pool: %w", err)
	}
	d := &postgresDriver{pool: pool, send: sendBatch, lastPrune: time.Now()}
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

// insertBatch writes rows in one transaction: the primed one, or one it
// opens first. See postgresDriver for the round trips and for what happens
// when the connection fails.
func (d *postgresDriver) insertBatch(ctx context.Context, rows *rowBuffer, resolveCtx context.Context) error {
	tx := d.primed
	d.primed = nil
	if tx == nil {
		var err error
		if tx, err = d.begin(ctx); err != nil {
			return err // nothing was written
		}
	}
	now := time.Now()
	token := newBatchToken(now)
	var prune *batchToken
	if d.sincePrune++; d.sincePrune >= pruneEvery || now.Sub(d.lastPrune) >= time.Minute {
		cutoff := batchToken{}
		binary.BigEndian.PutUint64(cutoff[:8], uint64(now.Add(-tokenRetention).UnixNano())) //nolint:gosec // after 1970
		prune = &cutoff
	}
	conn := tx.conn.Conn()
	res, err := d.send(ctx, conn, rows, token, prune)
	switch {
	case res.committed:
		if prune != nil {
			d.sincePrune, d.lastPrune = 0, now
		}
		if res.next && conn.PgConn().TxStatus() == 'T' {
			d.primed = tx
			return nil
		}
		endTransaction(ctx, conn)
		tx.conn.Release()
		return nil
	case refused(err):
		endTransaction(ctx, conn)
		tx.conn.Release()
		return err
	}
	// The connection failed somewhere in the round trip that carried COMMIT.
	tx.conn.Release() // the pool drops it: broken, or inside a transaction
	return d.resolveCommit(resolveCtx, token, tx.pid, err)
}

// errNotBegun marks a failure before the batch's transaction began: nothing
// was written, so a retry cannot store anything twice, whatever the cause (a
// connection the server ended, a refused connection, a server starting up).
var errNotBegun = errors.New("transaction not begun")

// begin takes a connection and opens a transaction on it: one round trip.
// Its errors wrap errNotBegun.
func (d *postgresDriver) begin(ctx context.Context) (*primedTx, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: acquire connection: %w", errNotBegun, err)
	}
	tx := &primedTx{conn: conn, pid: conn.Conn().PgConn().PID()}
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		endTransaction(ctx, conn.Conn())
		conn.Release()
		return nil, fmt.Errorf("%w: begin: %w", errNotBegun, err)
	}
	return tx, nil
}

// sendBatch sends, in one round trip, the INSERT of rows into the
// transaction open on conn, the INSERT of the batch's token, the prune of
// tokens older than prune (if not nil), COMMIT and BEGIN. It reports the
// commit only when COMMIT's own answer arrived; an error after that leaves no
// next transaction.
func sendBatch(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken, prune *batchToken) (res sent, err error) {
	batch := &pgx.Batch{}
	if rows.len() == 1 {
		// A lone row (a lone caller) without array parameters: cheaper to
		// encode and to execute.
		batch.Queue(postgresInsertOneSQL, rows.kinds[0], rows.payload(0))
	} else {
		batch.Queue(postgresInsertSQL, rows.kinds, payloadSlices(rows))
	}
	batch.Queue(postgresTokenSQL, token.uuid())
	if prune != nil {
		batch.Queue(postgresPruneSQL, prune.uuid())
	}
	batch.Queue("COMMIT")
	batch.Queue("BEGIN")
	results := conn.SendBatch(ctx, batch)
	defer func() {
		if cerr := results.Close(); cerr != nil && !res.committed && err == nil {
			err = cerr
		}
	}()
	tag, err := results.Exec()
	if err != nil {
		return res, fmt.Errorf("insert events: %w", err)
	}
	if tag.RowsAffected() != int64(rows.len()) {
		return res, fmt.Errorf("insert events: %d of %d rows inserted", tag.RowsAffected(), rows.len())
	}
	if _, err = results.Exec(); err != nil {
		return res, fmt.Errorf("record batch token: %w", err)
	}
	if prune != nil {
		if _, err = results.Exec(); err != nil {
			return res, fmt.Errorf("prune batch tokens: %w", err)
		}
	}
	if tag, err = results.Exec(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	if tag.String() != "COMMIT" {
		return res, fmt.Errorf("commit: %w", pgx.ErrTxCommitRollback)
	}
	res.committed = true
	_, err = results.Exec()
	res.next = err == nil
	return res, nil
}

// release gives back the primed transaction and its connection: the batch
// writer calls it when it has been idle for a while, and when it stops.
func (d *postgresDriver) release() {
	tx := d.primed
	if tx == nil {
		return
	}
	d.primed = nil
	endTransaction(context.Background(), tx.conn.Conn())
	tx.conn.Release()
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

// refused reports whether err from the round trip that carried COMMIT proves
// that the transaction did not commit: the server answered a statement with an
// error (severity ERROR: the transaction is aborted, and PostgreSQL skips the
// rest of the round trip), or answered COMMIT with ROLLBACK. Nothing else does:
// a FATAL error may come from a server process terminated after it committed,
// and an error that pgconn.SafeToRetry calls safe may not be: once a read on
// the connection has failed, pgx marks it closed and a later read in the same
// call fails with "conn closed", a lock error that claims nothing was sent.
func refused(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.SeverityUnlocalized == "ERROR" || (pgErr.SeverityUnlocalized == "" && pgErr.Severity == "ERROR")
	}
	return errors.Is(err, pgx.ErrTxCommitRollback)
}

// resolveCommit learns from the server, while ctx allows, whether the batch
// with token, whose COMMIT failed with commitErr on a connection that is now
// unusable, committed, and makes that outcome final (see postgresDriver).
func (d *postgresDriver) resolveCommit(ctx context.Context, token batchToken, pid uint32, commitErr error) error {
	delay := 10 * time.Millisecond
	for {
		committed, err := d.settle(ctx, token)
		switch {
		case err == nil && committed:
			return nil
		case err == nil:
			return fmt.Errorf("commit cut off, transaction rolled back: %w", commitErr)
		case isLockTimeout(err):
			// The batch's transaction wrote its token and is still open: the
			// server has not noticed that our end of the connection is gone
			// (COMMIT may never have reached it). End that session, so that
			// the outcome becomes final. Its process is still ours: the
			// token's row lock is held by no one else.
			_, _ = d.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE pid = $1 AND backend_xid IS NOT NULL`, int64(pid))
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return &unresolvedCommit{token: token, pid: pid, cause: commitErr}
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// settle runs postgresSettleSQL's transaction for token, in one round trip,
// and returns whether the batch committed. Its answer is final only when err
// is nil, which requires its own COMMIT to have succeeded.
func (d *postgresDriver) settle(ctx context.Context, token batchToken) (committed bool, err error) {
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	batch.Queue(postgresSettleLockTimeout)
	batch.Queue(postgresSettleInsertSQL, token.uuid())
	batch.Queue(postgresSettleSelectSQL, token.uuid()).QueryRow(func(row pgx.Row) error {
		return row.Scan(&committed)
	})
	var tag pgconn.CommandTag
	batch.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct
		return nil
	})
	if err := d.pool.SendBatch(ctx, batch).Close(); err != nil {
		return false, err
	}
	if tag.String() != "COMMIT" {
		return false, fmt.Errorf("settle batch %s: %w", token, pgx.ErrTxCommitRollback)
	}
	return committed, nil
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available.
func isLockTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55P03"
}

// unresolvedCommit is the error of a batch whose COMMIT was cut off and whose
// outcome the server could not tell in time. It is ErrOutcomeUnknown for
// errors.Is, and carries what resolve needs to try again.
type unresolvedCommit struct {
	token batchToken
	pid   uint32
	cause error
}

func (e *unresolvedCommit) Error() string {
	return fmt.Sprintf("%v: batch %s: %v", ErrOutcomeUnknown, e.token, e.cause)
}

func (e *unresolvedCommit) Is(target error) bool { return target == ErrOutcomeUnknown }

func (e *unresolvedCommit) Unwrap() error { return e.cause }

// resolve goes on learning, while ctx allows, the outcome of the commit that
// err (from insertBatch) left unknown.
func (d *postgresDriver) resolve(ctx context.Context, err error) error {
	var u *unresolvedCommit
	if !errors.As(err, &u) {
		return err
	}
	return d.resolveCommit(ctx, u.token, u.pid, u.cause)
}

// transient reports failures after which the transaction certainly did not
// commit and a retry may succeed: a conflict with another transaction, a
// statement cancelled (statement_timeout, pg_cancel_backend), a server
// shutting down, restarting, read-only for now (a failover), out of disk,
// memory or connections, and a connection that broke before COMMIT was sent.
// The table in docs/reliability.md lists the codes; refusedContent has the
// ones a retry cannot cure but the caller can.
func (d *postgresDriver) transient(err error) bool {
	switch {
	case errors.Is(err, ErrOutcomeUnknown):
		return false
	case errors.Is(err, errNotBegun):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", // serialization_failure
			"40P01", // deadlock_detected
			"55P03", // lock_not_available
			"55006", // object_in_use
			"57014", // query_canceled: statement_timeout, pg_cancel_backend
			"57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now
			"57P05", // idle_session_timeout
			"25006", // read_only_sql_transaction: a standby, or read-only for a while
			"25P03", // idle_in_transaction_session_timeout
			"58000", // system_error: an I/O error the server reported
			"58030": // io_error
			return true
		}
		// 08: connection_exception; 53: insufficient_resources (disk full,
		// out of memory, too many connections, configuration limit).
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53")
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return pgconn.SafeToRetry(err) ||
		errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// refusedContent reports whether the database refused a row for its content:
// a data exception (class 22: invalid text or JSON, a number out of range, a
// character the encoding lacks), an integrity constraint (class 23, such as
// a CHECK a later migration adds), or a value over a size limit (class 54).
// Nothing committed; the same rows would fail again, other rows would not.
func (d *postgresDriver) refusedContent(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	class := pgErr.Code[:min(2, len(pgErr.Code))]
	return class == "22" || class == "23" || class == "54"
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
