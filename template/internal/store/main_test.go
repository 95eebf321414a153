package store

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// BatchWriter, pool and connection opened by a test must be closed by it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
