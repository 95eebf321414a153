package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// openTestDB opens a fresh SQLite database in the test's temporary directory
// and closes it when the test ends.
func openTestDB(tb testing.TB) *DB {
	tb.Helper()
	return openTestDBAt(tb, "file:"+filepath.Join(tb.TempDir(), "test.db"))
}

func openTestDBAt(tb testing.TB, databaseURL string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), databaseURL, nil)
	if err != nil {
		tb.Fatalf("Open(%q): %v", databaseURL, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db := openTestDBAt(t, "file:"+filepath.Join(dir, "app.db"))
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("parent directory not created: %v", err)
	}
	if perm := info.Mode().Perm(); perm&0o007 != 0 {
		t.Fatalf("parent directory mode %v gives access to others", perm)
	}
	// A plain path works as well as a file: URI.
	openTestDBAt(t, filepath.Join(dir, "plain.db"))
}

func TestOpenRejectsUnusableURLs(t *testing.T) {
	for name, url := range map[string]string{
		"empty":     "  ",
		"postgres":  "postgres://user:secret@db/app",
		"memory":    ":memory:",
		"memory v2": "file:x.db?mode=memory",
		"no file":   "file:?_pragma=foreign_keys(1)",
		"remote":    "file://example.com/data/app.db",
	} {
		db, err := Open(context.Background(), url, nil)
		if err == nil {
			_ = db.Close()
			t.Errorf("%s: Open(%q) succeeded, want an error", name, url)
			continue
		}
		if !strings.HasPrefix(err.Error(), "open database: ") {
			t.Errorf("%s: error %q does not start with \"open database: \"", name, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q leaks the password", name, err)
		}
	}
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	url := "file:" + filepath.Join(t.TempDir(), "app.db")
	first, err := Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	w := NewBatchWriter(first, BatchConfig{})
	if err := w.Write(context.Background(), events(2, "keep")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	closeWriter(t, w)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := openTestDBAt(t, url)
	if got := countEvents(t, again); got != 2 {
		t.Fatalf("reopened database holds %d events, want the 2 written before", got)
	}
	ms, err := loadMigrations(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	d := again.drv.(*sqliteDriver)
	if err := d.read.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(ms))
	}
}

// TestConcurrentOpenMigratesOnce starts several "processes" at once on a new
// file: the IMMEDIATE transactions must let exactly one apply each migration.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := "file:" + filepath.Join(t.TempDir(), "app.db")
	const replicas = 4
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(context.Background(), url, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Cleanup(func() { _ = dbs[i].Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
	}
	var recorded int
	if err := dbs[0].drv.(*sqliteDriver).read.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if recorded != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(ms))
	}
}

func TestPayloadIsStoredAsJSONText(t *testing.T) {
	db := openTestDB(t)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)
	// 450 rows in one batch: INSERTs of 200, 200, 16, 16, 16, 1 and 1 rows.
	evs := events(450, "text")
	evs[449].Payload = nil
	if err := w.Write(context.Background(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var text, valid, nulls int
	err := db.drv.(*sqliteDriver).read.QueryRow(`SELECT
		sum(typeof(payload) = 'text'), sum(json_valid(payload)), sum(payload = 'null') FROM events`).Scan(&text, &valid, &nulls)
	if err != nil {
		t.Fatal(err)
	}
	if text != 450 || valid != 450 || nulls != 1 {
		t.Fatalf("of 450 payloads %d are text, %d valid JSON, %d null; want 450, 450, 1", text, valid, nulls)
	}
}

func TestWriterConnectionSettings(t *testing.T) {
	d := openTestDB(t).drv.(*sqliteDriver)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		var got string
		if err := d.write.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if _, err := d.read.Exec(`INSERT INTO events (kind, payload) VALUES ('x', '{}')`); err == nil {
		t.Error("a reader connection accepted a write")
	}
	if got := d.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
}

func TestURLPragmaOverridesDefault(t *testing.T) {
	url := "file:" + filepath.Join(t.TempDir(), "app.db") + "?_pragma=busy_timeout(250)"
	d := openTestDBAt(t, url).drv.(*sqliteDriver)
	var got int
	if err := d.write.QueryRow("PRAGMA busy_timeout").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 250 {
		t.Fatalf("busy_timeout = %d, want the URL's 250", got)
	}
}

// TestBusyDatabaseIsRetried holds SQLite's write lock from another connection
// (as a second process would) so that the batch writer's BEGIN IMMEDIATE
// fails with a real SQLITE_BUSY, and checks that the batch is retried and
// written once the lock is released.
func TestBusyDatabaseIsRetried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	// busy_timeout(1): give up on the lock at once, so the failure reaches
	// the writer's retry loop instead of being absorbed by SQLite.
	db := openTestDBAt(t, "file:"+path+"?_pragma=busy_timeout(1)")

	other, err := sql.Open(sqliteDriverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)
	done := make(chan error, 1)
	go func() { done <- w.Write(ctx, events(3, "busy")) }()
	waitFor(func() bool { return w.Stats().Retries >= 1 })
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write after the lock was released: %v", err)
	}
	if got := countEvents(t, db); got != 3 {
		t.Fatalf("table holds %d rows, want 3", got)
	}
}

func TestTransientClassification(t *testing.T) {
	d := &sqliteDriver{}
	for _, err := range []error{errors.New("plain"), context.DeadlineExceeded, ErrOutcomeUnknown} {
		if d.transient(err) {
			t.Errorf("transient(%v) = true, want false", err)
		}
	}
}

// TestDiskFullIsTransient: a full disk (SQLITE_FULL, played here by
// max_page_count) is retried while the callers wait and ends, for them, as
// ErrUnavailable (503), never as a permanent failure; once space is free
// again the next write commits.
func TestDiskFullIsTransient(t *testing.T) {
	db := openTestDBAt(t, "file:"+filepath.Join(t.TempDir(), "full.db")+"?_pragma=max_page_count(64)")
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)
	pad := strings.Repeat("x", 4000)
	write := func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		evs := events(8, strconv.Itoa(i)+pad)
		return w.Write(ctx, evs)
	}
	// Fill the file until a write ends on the full disk. A write that misses its
	// 200 ms on a loaded machine before the disk is full is no verdict: go on.
	var err error
	for i := range 100 {
		if err = write(i); sqliteCode(err) == sqlite3.SQLITE_FULL {
			break
		}
	}
	if !errors.Is(err, ErrUnavailable) || sqliteCode(err) != sqlite3.SQLITE_FULL {
		t.Fatalf("Write to a full database = %v, want ErrUnavailable wrapping SQLITE_FULL", err)
	}
	if st := w.Stats(); st.Failures != 0 || st.Retries == 0 {
		t.Fatalf("Stats = %+v, want retries and no permanent failure", st)
	}
	// Free space: the writer's one connection may grow the file again.
	if _, err := db.drv.(*sqliteDriver).write.ExecContext(context.Background(), "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if err := write(1000); err != nil {
		t.Fatalf("Write once space is free again: %v", err)
	}
}

// TestContentRefusalClassification: SQLite's constraint errors are refusals
// of a row's content; locks, a full disk and I/O errors are transient.
func TestContentRefusalClassification(t *testing.T) {
	db := openTestDB(t)
	d := db.drv.(*sqliteDriver)
	_, err := d.write.ExecContext(context.Background(), `INSERT INTO events (kind, payload) VALUES (NULL, '{}')`)
	if err == nil {
		t.Fatal("a NULL kind was stored")
	}
	if !d.refusedContent(err) || d.transient(err) {
		t.Fatalf("NOT NULL violation %v: refusedContent %v, transient %v; want true, false",
			err, d.refusedContent(err), d.transient(err))
	}
}
