package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// testPostgresURL returns the server the tests use: TEST_POSTGRES_URL, else
// DATABASE_URL. Without either the PostgreSQL tests are skipped; the
// repository's CI always sets one.
func testPostgresURL(tb testing.TB) string {
	tb.Helper()
	for _, env := range []string{"TEST_POSTGRES_URL", "DATABASE_URL"} {
		if u := os.Getenv(env); u != "" {
			return u
		}
	}
	tb.Skip("set TEST_POSTGRES_URL (or DATABASE_URL) to run the PostgreSQL tests")
	return ""
}

// testSchemaURL creates an empty schema for one test, drops it when the test
// ends, and returns a URL whose connections use it (pgx passes unknown URL
// parameters such as search_path to the server), so tests can run in
// parallel and repeatedly against one server.
func testSchemaURL(tb testing.TB) string {
	tb.Helper()
	base := testPostgresURL(tb)
	ctx := context.Background()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	schema := "store_test_" + hex.EncodeToString(suffix[:])

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", os.Getenv("TEST_POSTGRES_URL"), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect for cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse test URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openTestDB opens the database in a schema of the test's own.
func openTestDB(tb testing.TB) *DB {
	tb.Helper()
	return openTestDBAt(tb, testSchemaURL(tb))
}

func openTestDBAt(tb testing.TB, databaseURL string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), databaseURL, nil)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestOpenRejectsNonPostgresURLs(t *testing.T) {
	for _, u := range []string{"file:data/app.db", "data/app.db", "mysql://u:p@h/db", " "} {
		db, err := Open(context.Background(), u, nil)
		if err == nil {
			_ = db.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
			continue
		}
		if !strings.HasPrefix(err.Error(), "open database: ") {
			t.Errorf("error %q does not start with \"open database: \"", err)
		}
	}
	// A server that is not there fails at Open, not at the first write.
	db, err := Open(context.Background(), "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2", nil)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q leaks the password", err)
	}
}

// TestConcurrentOpenMigratesOnce starts several "replicas" at once against an
// empty schema: the advisory lock must let exactly one apply each migration.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	u := testSchemaURL(t)
	const replicas = 4
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(context.Background(), u, nil)
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
	ms, err := loadMigrations(postgresMigrations, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	pool := dbs[0].drv.(*postgresDriver).pool
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", recorded, len(ms))
	}
}

func TestPayloadIsStoredAsJSONB(t *testing.T) {
	db := openTestDB(t)
	w := NewBatchWriter(db, BatchConfig{})
	defer closeWriter(t, w)
	evs := []Event{
		{Kind: "a", Payload: json.RawMessage(`{"n": 1, "s": "é"}`)},
		{Kind: "b"},
	}
	if err := w.Write(context.Background(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	pool := db.drv.(*postgresDriver).pool
	var n int
	var s string
	var nulls int
	err := pool.QueryRow(context.Background(), `SELECT
		(SELECT (payload->>'n')::int FROM events WHERE kind = 'a'),
		(SELECT payload->>'s' FROM events WHERE kind = 'a'),
		(SELECT count(*) FROM events WHERE kind = 'b' AND payload = 'null'::jsonb)`).Scan(&n, &s, &nulls)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || s != "é" || nulls != 1 {
		t.Fatalf("stored payloads read back as n=%d s=%q nulls=%d", n, s, nulls)
	}
}

// sendFunc is the type of postgresDriver.send.
type sendFunc = func(context.Context, *pgx.Conn, *rowBuffer, batchToken, *batchToken) (sent, error)

// cutOff returns a send function for postgresDriver that simulates a
// connection lost in the round trip that carries COMMIT: it first runs before
// on the connection (which may commit, roll back or do nothing) and then
// reports failure with err.
func cutOff(before func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken) error, err error) sendFunc {
	return func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken, _ *batchToken) (sent, error) {
		if berr := before(ctx, conn, rows, token); berr != nil {
			return sent{}, berr
		}
		return sent{}, err
	}
}

// claimsSafeToRetry is an error that says nothing was sent, like pgconn's lock
// errors do even after a failed read.
type claimsSafeToRetry struct{}

func (claimsSafeToRetry) Error() string     { return "conn closed" }
func (claimsSafeToRetry) SafeToRetry() bool { return true }

// TestCommitCutOff checks the exactly-once guarantee when the answer to
// COMMIT is lost: the writer must learn the real outcome from the server,
// acknowledge a transaction that did commit without writing it again, and
// retry one that did not.
func TestCommitCutOff(t *testing.T) {
	lost := fmt.Errorf("simulated connection loss: %w", io.ErrUnexpectedEOF)
	everything := func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken) error {
		_, err := sendBatch(ctx, conn, rows, token, nil)
		return err
	}
	// insertThen writes the rows (and the token, if withToken) into the open
	// transaction, then runs sql ("": nothing, the transaction stays open).
	insertThen := func(withToken bool, sql string) func(context.Context, *pgx.Conn, *rowBuffer, batchToken) error {
		return func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken) error {
			if _, err := conn.Exec(ctx, postgresInsertSQL, rows.kinds, payloadSlices(rows)); err != nil {
				return err
			}
			if withToken {
				if _, err := conn.Exec(ctx, postgresTokenSQL, token.uuid()); err != nil {
					return err
				}
			}
			if sql == "" {
				return nil
			}
			_, err := conn.Exec(ctx, sql)
			return err
		}
	}
	cases := map[string]struct {
		send        sendFunc
		wantRetries int64
	}{
		"server committed":   {send: cutOff(everything, lost), wantRetries: 0},
		"server rolled back": {send: cutOff(insertThen(true, "ROLLBACK"), lost), wantRetries: 1},
		// COMMIT never arrived and the server still waits in the open
		// transaction, before (or after) it wrote the token: the writer must
		// settle the outcome (after the token: end that session) and retry.
		"server still waiting, rows written":           {send: cutOff(insertThen(false, ""), lost), wantRetries: 1},
		"server still waiting, rows and token written": {send: cutOff(insertThen(true, ""), lost), wantRetries: 1},
		// pgx reports "conn closed", a lock error that claims to be safe to
		// retry, from a read after COMMIT was sent: it must not be believed.
		"server committed, error claims safe to retry": {send: cutOff(everything, claimsSafeToRetry{}), wantRetries: 0},
		// A server process terminated after it committed may still report a
		// FATAL error: it proves nothing.
		"server committed, then FATAL": {send: cutOff(everything, &pgconn.PgError{
			Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01",
			Message: "terminating connection due to administrator command",
		}), wantRetries: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			db := openTestDB(t)
			pg := db.drv.(*postgresDriver)
			calls := 0
			pg.send = func(ctx context.Context, conn *pgx.Conn, rows *rowBuffer, token batchToken, prune *batchToken) (sent, error) {
				calls++ // only the flusher goroutine sends
				if calls == 1 {
					res, err := tc.send(ctx, conn, rows, token, prune)
					// The connection is lost to the writer; a transaction
					// left open on it stays open on the server, as when
					// COMMIT never reached it.
					return res, err
				}
				return sendBatch(ctx, conn, rows, token, prune)
			}
			w := NewBatchWriter(db, BatchConfig{})
			defer closeWriter(t, w)

			if err := w.Write(context.Background(), events(5, name)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := countEvents(t, db); got != 5 {
				t.Fatalf("table holds %d rows, want 5 written exactly once", got)
			}
			if st := w.Stats(); st.Retries != tc.wantRetries {
				t.Fatalf("Stats = %+v, want %d retries", st, tc.wantRetries)
			}
		})
	}
}

// TestSettledOutcomeSurvivesAServerThatForgetsTransactions checks the
// property that transaction ids lack: a batch that never committed cannot be
// reported as committed because another transaction committed meanwhile (after
// a crash, the server hands out ids again that never reached its log).
func TestSettledOutcomeSurvivesAServerThatForgetsTransactions(t *testing.T) {
	db := openTestDB(t)
	pg := db.drv.(*postgresDriver)
	ctx := context.Background()
	token := newBatchToken(time.Now())
	// Other sessions commit many transactions, as after a restart.
	for range 50 {
		if _, err := pg.pool.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
			t.Fatal(err)
		}
	}
	err := pg.resolveCommit(ctx, token, 0, io.ErrUnexpectedEOF)
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("resolveCommit of a batch that never committed = %v, want a definite not-committed error", err)
	}
	// Settled for good: the batch's own INSERT of its token now fails.
	if _, err := pg.pool.Exec(ctx, postgresTokenSQL, token.uuid()); err == nil {
		t.Fatal("the token of a settled batch could still be written: a late COMMIT would store it")
	}
	// A second look gives the same answer.
	if err := pg.resolveCommit(ctx, token, 0, io.ErrUnexpectedEOF); err == nil {
		t.Fatal("second resolveCommit reports the settled batch as committed")
	}
}

// TestOldTokensArePruned: tokens older than tokenRetention are deleted by the
// prune that rides along with a batch; newer ones stay.
func TestOldTokensArePruned(t *testing.T) {
	db := openTestDB(t)
	pg := db.drv.(*postgresDriver)
	ctx := context.Background()
	old, fresh := newBatchToken(time.Now().Add(-2*tokenRetention)), newBatchToken(time.Now())
	for _, tok := range []batchToken{old, fresh} {
		if _, err := pg.pool.Exec(ctx, postgresTokenSQL, tok.uuid()); err != nil {
			t.Fatal(err)
		}
	}
	pg.sincePrune = pruneEvery // the next batch prunes
	w := NewBatchWriter(db, BatchConfig{})
	if err := w.Write(ctx, events(1, "prune")); err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	var oldLeft, freshLeft bool
	if err := pg.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM event_batches WHERE token = $1),
		EXISTS (SELECT 1 FROM event_batches WHERE token = $2)`, old.uuid(), fresh.uuid()).Scan(&oldLeft, &freshLeft); err != nil {
		t.Fatal(err)
	}
	if oldLeft || !freshLeft {
		t.Fatalf("after a prune: old token kept %v, fresh token kept %v; want false, true", oldLeft, freshLeft)
	}
}

// TestPrimedTransactionIsGivenBackWhenIdle: between batches under load the
// writer keeps a connection with a transaction open, to save a round trip;
// once it has nothing to write it gives both back (an open transaction holds
// back VACUUM), and on Close at the latest.
func TestPrimedTransactionIsGivenBackWhenIdle(t *testing.T) {
	db := openTestDB(t)
	pool := db.drv.(*postgresDriver).pool
	w := NewBatchWriter(db, BatchConfig{})
	for i := range 3 {
		if err := w.Write(context.Background(), events(1, strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(func() bool { return pool.Stat().AcquiredConns() == 0 })
	if err := w.Write(context.Background(), events(1, "again")); err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Fatalf("%d connections still taken after Close", n)
	}
	if got := countEvents(t, db); got != 4 {
		t.Fatalf("table holds %d rows, want 4", got)
	}
}

func TestPostgresTransientClassification(t *testing.T) {
	d := &postgresDriver{}
	cases := map[error]bool{
		&pgconn.PgError{Code: "40001"}:                                true,
		&pgconn.PgError{Code: "40P01"}:                                true,
		&pgconn.PgError{Code: "08006"}:                                true,
		&pgconn.PgError{Code: "57P01"}:                                true,
		&pgconn.PgError{Code: "57P02"}:                                true,
		&pgconn.PgError{Code: "57P03"}:                                true,
		&pgconn.PgError{Code: "57014"}:                                true, // statement_timeout, pg_cancel_backend
		&pgconn.PgError{Code: "25006"}:                                true, // read-only during a failover
		&pgconn.PgError{Code: "53100"}:                                true, // disk full
		&pgconn.PgError{Code: "53300"}:                                true,
		&pgconn.PgError{Code: "22P02"}:                                false,
		&pgconn.PgError{Code: "23505"}:                                false,
		&pgconn.PgError{Code: "42P01"}:                                false,
		fmt.Errorf("copy: %w", io.ErrUnexpectedEOF):                   true,
		&net.OpError{Op: "read", Err: errors.New("connection reset")}: true,
		fmt.Errorf("%w: %w", ErrOutcomeUnknown, io.ErrUnexpectedEOF):  false,
		// pgx's error for a connection the server ended while it sat in the pool.
		fmt.Errorf("%w: begin: %w", errNotBegun, errors.New("failed to deallocate cached statement(s): conn closed")): true,
		errors.New("plain"): false,
	}
	for err, want := range cases {
		if got := d.transient(err); got != want {
			t.Errorf("transient(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestPostgresContentClassification(t *testing.T) {
	d := &postgresDriver{}
	cases := map[error]bool{
		&pgconn.PgError{Code: "22P02"}:              true, // invalid input syntax (jsonb)
		&pgconn.PgError{Code: "22003"}:              true, // numeric value out of range
		&pgconn.PgError{Code: "22021"}:              true, // character not in repertoire
		&pgconn.PgError{Code: "23514"}:              true, // a CHECK constraint
		&pgconn.PgError{Code: "54000"}:              true, // a size limit
		&pgconn.PgError{Code: "57014"}:              false,
		&pgconn.PgError{Code: "42P01"}:              false, // undefined table: permanent
		fmt.Errorf("x: %w", io.ErrUnexpectedEOF):    false,
		fmt.Errorf("insert: %w", &pgconn.PgError{}): false,
	}
	for err, want := range cases {
		if got := d.refusedContent(err); got != want {
			t.Errorf("refusedContent(%v) = %v, want %v", err, got, want)
		}
	}
}

// TestPostgresRefusedPayloadFailsAlone: a payload that jsonb refuses but
// slipped past validation (the defence in depth behind it) fails its own call
// with ErrRefused, and the calls that shared its batch commit.
func TestPostgresRefusedPayloadFailsAlone(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, gate: make(chan struct{})}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- w.Write(ctx, events(1, "first")) }()
	waitFor(func() bool { return fake.callCount() == 1 }) // the flusher waits at the gate

	// Queued directly: Write's validation would refuse it before the database sees it.
	poison, err := w.enqueue(ctx, []Event{{Kind: "poison", Payload: json.RawMessage(`{"s":"\ud800"}`)}}, 64, false)
	if err != nil {
		t.Fatal(err)
	}
	good := make(chan error, 4)
	for i := range 4 {
		go func() { good <- w.Write(ctx, events(3, "good"+strconv.Itoa(i))) }()
	}
	waitFor(func() bool { return w.Stats().Pending == 1+1+4*3 })
	close(fake.gate)
	<-poison.done
	if !errors.Is(poison.err, ErrRefused) {
		t.Fatalf("the call jsonb refuses got %v, want ErrRefused", poison.err)
	}
	for range 4 {
		if err := <-good; err != nil {
			t.Fatalf("a call that shared the refused call's batch: %v, want committed", err)
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := countEvents(t, db); got != 1+4*3 {
		t.Fatalf("table holds %d rows, want %d", got, 1+4*3)
	}
}
