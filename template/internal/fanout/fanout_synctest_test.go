//go:build go1.25

package fanout

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run in a synctest bubble, whose clock moves only when every
// goroutine in it is blocked, so the deadlines below are exact and the
// tests take no real time.

func TestPerCallTimeoutFiresAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var waited time.Duration
		calls := []Call[int]{func(ctx context.Context) (int, error) {
			<-ctx.Done()
			waited = time.Since(start)
			return 0, ctx.Err()
		}}
		_, err := Run(context.Background(), Options{PerCallTimeout: 5 * time.Second}, calls)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
		}
		if waited != 5*time.Second {
			t.Errorf("call was cancelled after %v, want its 5s timeout", waited)
		}
	})
}

func TestCallerDeadlineBeatsALongerPerCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		calls := []Call[int]{waitForCancel, waitForCancel, waitForCancel}
		results, err := Run(ctx, Options{PerCallTimeout: time.Minute, Limit: 1}, calls)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed != time.Second {
			t.Errorf("Run returned after %v, want the caller's 1s deadline", elapsed)
		}
		for i, r := range results {
			if !errors.Is(r.Err, context.DeadlineExceeded) && !errors.Is(r.Err, context.Canceled) {
				t.Errorf("results[%d].Err = %v, want the caller's deadline", i, r.Err)
			}
		}
	})
}
