package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteMigrations holds the schema, applied by Open. It is read-only.
//
//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// sqliteDriverName is the database/sql name modernc.org/sqlite registers.
const sqliteDriverName = "sqlite"

// sqliteChunkSizes returns the row counts of the multi-row INSERT statements
// prepared on the writer connection, largest first, ending with 1; a batch is
// written with as few of them as a greedy split allows (64 rows: one
// statement; 1000 rows: five). One statement per many rows cuts the
// per-statement overhead of database/sql and the SQLite VM that a single-row
// INSERT pays for every row. 2 parameters per row stay far below SQLite's
// limit on host parameters (999 in old builds, 32766 since 3.32).
func sqliteChunkSizes() [sqliteChunkCount]int { return [...]int{200, 64, 16, 4, 1} }

// sqliteChunkCount is the number of sqliteChunkSizes.
const sqliteChunkCount = 5

// Pragmas set on every connection through the DSN (modernc.org/sqlite runs
// each _pragma when it opens a connection, busy_timeout first).
const (
	// busy_timeout: the default is 0, which fails at once with SQLITE_BUSY
	// when another connection or process holds the lock. Five seconds lets
	// short overlaps (a checkpoint, a second process starting) resolve inside
	// SQLite; what still fails is retried by the batch writer.
	pragmaBusyTimeout = "busy_timeout(5000)"
	// journal_mode: the default DELETE journal makes readers and the writer
	// block each other. WAL lets readers proceed while the single writer
	// commits, and turns a commit into an append to the log. It is stored in
	// the database file, so setting it on the writer is enough.
	pragmaJournalMode = "journal_mode(WAL)"
	// synchronous: FULL is SQLite's compiled default, set explicitly because
	// the usual WAL advice is NORMAL. With NORMAL in WAL mode a commit does not
	// wait for fsync, so transactions acknowledged just before a power failure
	// or OS crash can be lost (a process crash loses nothing). The batch
	// writer promises that an acknowledged row is durable, and because it
	// pays one fsync per batch rather than per row, FULL costs little here.
	pragmaSynchronous = "synchronous(FULL)"
	// foreign_keys: off by default for backward compatibility; on, so that
	// constraints declared by later migrations are enforced.
	pragmaForeignKeys = "foreign_keys(ON)"
	// query_only on reader connections: off by default; on, so that every
	// write is forced through the single writer connection.
	pragmaQueryOnly = "query_only(ON)"
)

// sqliteDriver writes through exactly one connection and reads through a
// separate pool. SQLite allows one writer at a time per database; with one
// writer connection our own writes queue in Go instead of fighting over the
// file lock with SQLITE_BUSY, and readers never wait for a batch in WAL mode.
type sqliteDriver struct {
	write *sql.DB
	read  *sql.DB

	// insert[i] inserts sizes[i] rows (sqliteChunkSizes); prepared once on
	// the writer connection.
	sizes  [sqliteChunkCount]int
	insert [sqliteChunkCount]*sql.Stmt

	mu   sync.Mutex // serialises writes and guards args
	args []any      // reused argument slice
}

func openDriver(ctx context.Context, databaseURL string, logger *slog.Logger) (_ driver, err error) {
	path, query, err := parseSQLiteURL(databaseURL)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "." {
		// 0o750: the database may hold user data; no access for others.
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create directory for sqlite database: %w", err)
		}
	}

	d := &sqliteDriver{sizes: sqliteChunkSizes()}
	d.args = make([]any, 0, 2*d.sizes[0])
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()

	writeQuery := withPragmas(query, pragmaBusyTimeout, pragmaJournalMode, pragmaSynchronous, pragmaForeignKeys)
	// _txlock=immediate: database/sql's BEGIN is DEFERRED by default, which
	// takes the write lock only at the first write and can then fail with
	// SQLITE_BUSY halfway through a batch. IMMEDIATE takes it at BEGIN, where
	// busy_timeout applies and nothing has been done yet.
	writeQuery.Set("_txlock", "immediate")
	if d.write, err = sql.Open(sqliteDriverName, "file:"+path+"?"+writeQuery.Encode()); err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	// MaxOpenConns: unlimited by default; one, see sqliteDriver.
	d.write.SetMaxOpenConns(1)
	if err := d.retryBusy(ctx, d.write.PingContext); err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}

	ms, err := loadMigrations(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return nil, err
	}
	err = applyMigrations(ctx, ms, logger, func(ctx context.Context, m migration) (applied bool, err error) {
		err = d.retryBusy(ctx, func(ctx context.Context) error {
			applied, err = d.applyMigration(ctx, m)
			return err
		})
		return applied, err
	})
	if err != nil {
		return nil, err
	}

	readQuery := withPragmas(query, pragmaBusyTimeout, pragmaForeignKeys, pragmaQueryOnly)
	if d.read, err = sql.Open(sqliteDriverName, "file:"+path+"?"+readQuery.Encode()); err != nil {
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	// MaxOpenConns: unlimited by default, and every SQLite connection keeps
	// its own page cache; one per CPU is as much parallelism as reads get.
	// MaxIdleConns: 2 by default; keep them all, because opening a connection
	// re-runs the pragmas.
	readers := max(2, runtime.GOMAXPROCS(0))
	d.read.SetMaxOpenConns(readers)
	d.read.SetMaxIdleConns(readers)

	for i, n := range d.sizes {
		// Kept for the life of the driver; close closes it.
		stmt, err := d.write.PrepareContext(ctx, sqliteInsertSQL(n)) //nolint:sqlclosecheck // see above
		if err != nil {
			return nil, fmt.Errorf("prepare insert of %d rows: %w", n, err)
		}
		d.insert[i] = stmt
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "database opened",
		slog.String("driver", "sqlite"), slog.String("path", path))
	return d, nil
}

// startupBusyAttempts bounds retryBusy: about three seconds of backoff.
const startupBusyAttempts = 10

// retryBusy runs fn until it does not fail with SQLITE_BUSY, backing off like
// the batch writer. It guards start-up, where two processes opening a new
// database at once can get SQLITE_BUSY even within busy_timeout: SQLite does
// not wait for some locks, such as the one taken to switch to WAL mode.
func (d *sqliteDriver) retryBusy(ctx context.Context, fn func(context.Context) error) error {
	delay := retryBaseDelay
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !d.transient(err) || attempt == startupBusyAttempts {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		delay = min(2*delay, retryMaxDelay)
	}
}

// parseSQLiteURL accepts a file path or a SQLite file: URI, with optional
// query parameters for modernc.org/sqlite, and returns the path and the
// parameters.
func parseSQLiteURL(databaseURL string) (string, url.Values, error) {
	rest := databaseURL
	if scheme, _, ok := strings.Cut(rest, "://"); ok && scheme != "file" && !strings.ContainsAny(scheme, "/?") {
		return "", nil, fmt.Errorf("%s:// URL given, but this service was generated for SQLite: "+
			"use a file path such as file:data/app.db", scheme)
	}
	rest = strings.TrimPrefix(rest, "file:")
	if after, ok := strings.CutPrefix(rest, "//"); ok {
		// A URI with an authority: SQLite accepts only an empty one or localhost.
		host, p, _ := strings.Cut(after, "/")
		if host != "" && host != "localhost" {
			return "", nil, fmt.Errorf("sqlite URI with remote host %q is not supported", host)
		}
		rest = "/" + p
	}
	path, rawQuery, _ := strings.Cut(rest, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", nil, fmt.Errorf("sqlite URL parameters: %w", err)
	}
	switch {
	case path == "":
		return "", nil, errors.New("sqlite URL names no file")
	case path == ":memory:" || query.Get("mode") == "memory" || query.Get("vfs") == "memdb":
		// Each connection of the writer and of the reader pool would see its
		// own empty database.
		return "", nil, errors.New("in-memory sqlite databases are not supported: name a file")
	}
	return path, query, nil
}

// withPragmas returns a copy of query with each pragma added unless the URL
// already sets that pragma, so an operator can override any default.
func withPragmas(query url.Values, pragmas ...string) url.Values {
	out := make(url.Values, len(query)+1)
	for k, v := range query {
		out[k] = append([]string(nil), v...)
	}
	for _, p := range pragmas {
		name, _, _ := strings.Cut(p, "(")
		if !hasPragma(out["_pragma"], name) {
			out.Add("_pragma", p)
		}
	}
	return out
}

func hasPragma(set []string, name string) bool {
	for _, s := range set {
		n := strings.TrimSpace(strings.ToLower(s))
		if n == name || strings.HasPrefix(n, name+"(") || strings.HasPrefix(n, name+"=") ||
			strings.HasPrefix(n, name+" ") {
			return true
		}
	}
	return false
}

// sqliteInsertSQL returns an INSERT of n rows, each "(?, CAST(? AS TEXT))".
// database/sql hands []byte to SQLite as a BLOB; the cast stores the JSON as
// TEXT without a Go-side string copy of every payload.
func sqliteInsertSQL(n int) string {
	const head = "INSERT INTO events (kind, payload) VALUES "
	const row = "(?, CAST(? AS TEXT))"
	var b strings.Builder
	b.Grow(len(head) + n*(len(row)+2))
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// applyMigration runs m in one IMMEDIATE transaction unless it is recorded.
// The transaction holds SQLite's write lock from BEGIN, so two processes
// starting at once apply each migration exactly once: the second waits (up
// to busy_timeout) and then finds it recorded.
func (d *sqliteDriver) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if !applied || err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("read schema_migrations: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
		return false, fmt.Errorf("record migration: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
}

// insertBatch writes rows in one IMMEDIATE transaction of multi-row INSERTs,
// a single row included. An autocommitted INSERT would save two statements,
// but its result is not the truth: modernc.org/sqlite returns the context's
// error when the context ends during the call, even after the row committed
// (during the fsync, say), and the writer would then store it twice. Here
// the context can interrupt BEGIN (waiting for another connection's lock) and
// the INSERTs, which a ROLLBACK undoes, but not COMMIT: database/sql commits
// without a context once it has decided to, and reports what the driver
// reports. So an error always means that nothing was stored, and there is no
// outcome to resolve.
func (d *sqliteDriver) insertBatch(ctx context.Context, rows *rowBuffer, _ context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.insertInTx(ctx, rows)
}

// release does nothing: insertBatch keeps nothing between batches.
func (d *sqliteDriver) release() {}

// resolve returns err: insertBatch never leaves an outcome unknown.
func (d *sqliteDriver) resolve(_ context.Context, err error) error { return err }

// insertTx writes rows the way a handler without a batch writer does: one
// row as one autocommitted INSERT, more in one transaction. It is the
// baseline of the benchmarks.
func (d *sqliteDriver) insertTx(ctx context.Context, rows *rowBuffer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rows.len() == 1 {
		if _, err := d.insert[sqliteChunkCount-1].ExecContext(ctx, rows.kinds[0], rows.payload(0)); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		return nil
	}
	return d.insertInTx(ctx, rows)
}

// insertInTx writes rows in one IMMEDIATE transaction. Callers hold d.mu.
func (d *sqliteDriver) insertInTx(ctx context.Context, rows *rowBuffer) (err error) {
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for k, i := 0, 0; i < rows.len(); k++ {
		if i, err = d.insertChunks(ctx, tx, k, rows, i); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// insertChunks inserts rows from i on with d.insert[k] as long as a whole
// chunk of d.sizes[k] rows is left, and returns the index of the first row it
// did not insert.
func (d *sqliteDriver) insertChunks(ctx context.Context, tx *sql.Tx, k int, rows *rowBuffer, i int) (int, error) {
	size := d.sizes[k]
	if rows.len()-i < size {
		return i, nil
	}
	stmt := tx.StmtContext(ctx, d.insert[k])
	defer stmt.Close()
	for ; rows.len()-i >= size; i += size {
		args := d.args[:0]
		for j := i; j < i+size; j++ {
			args = append(args, rows.kinds[j], rows.payload(j))
		}
		_, err := stmt.ExecContext(ctx, args...)
		clear(args)
		if err != nil {
			return i, fmt.Errorf("insert: %w", err)
		}
	}
	return i, nil
}

// transient reports the failures that time can cure, after which nothing was
// stored: another connection held the lock for longer than busy_timeout
// (SQLITE_BUSY, SQLITE_LOCKED), the disk is full (SQLITE_FULL: freeing space
// cures it at once), an I/O error (SQLITE_IOERR), or memory ran out
// (SQLITE_NOMEM). SQLite rolls back what such an error interrupted, and
// insertBatch rolls back the rest.
func (d *sqliteDriver) transient(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// refusedContent reports whether SQLite refused a row for its content: a
// constraint (a CHECK or NOT NULL a later migration adds), a value too big, or
// a type mismatch.
func (d *sqliteDriver) refusedContent(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

// sqliteCode returns the primary result code of err (the low byte of the
// extended code), or -1 if err is not a SQLite error.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return -1
	}
	return se.Code() & 0xff
}

func (d *sqliteDriver) ping(ctx context.Context) error {
	return d.read.PingContext(ctx)
}

func (d *sqliteDriver) countEvents(ctx context.Context) (int64, error) {
	var n int64
	err := d.read.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

func (d *sqliteDriver) close() error {
	var errs []error
	for _, s := range d.insert {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	for _, db := range []*sql.DB{d.read, d.write} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}
