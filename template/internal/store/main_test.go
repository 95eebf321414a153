package store

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// BatchWriter, pool and connection opened by a test must be closed by it.
//
// One exception, for pgx v5.8.0, the last pgx release for Go 1.24 (projects
// on Go 1.25 and later use a newer pgx, where the function no longer exists):
// its context watcher leaves a goroutine waiting for an Unwatch that never
// comes once a connection is closed after its context was cancelled, as the
// outage tests do on purpose. pgx v5.9.0 rewrote the watcher on
// context.AfterFunc, which starts no goroutine.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgconn/ctxwatch.(*ContextWatcher).Watch.func1"))
}
