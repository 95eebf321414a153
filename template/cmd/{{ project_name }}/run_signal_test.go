//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalCutsTheShutdownShort: a second SIGTERM during the shutdown (here during a
// drain delay of an hour) makes run return at once with an error, so the process exits
// non-zero instead of finishing the drain.
func TestSecondSignalCutsTheShutdownShort(t *testing.T) {
	env := testEnv(t)
	env["SHUTDOWN_DRAIN_DELAY"] = "1h"
	logR, logW := io.Pipe()
	addrs := watchLog(t, logR)
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"svc"}, func(k string) string { return env[k] }, logW, io.Discard)
		_ = logW.Close()
	}()
	receive(t, addrs.public) // run handles SIGTERM from now on

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	receive(t, addrs.shutdown)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, errSecondSignal) {
			t.Fatalf("run after a second SIGTERM = %v, want an error wrapping errSecondSignal", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run still drains 30s after a second SIGTERM")
	}
}
