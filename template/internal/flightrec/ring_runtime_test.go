package flightrec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The runtime's recorder writes a complete execution trace: the header of the trace format
// first ("go 1.25 trace", or the release that wrote it), then the window's events.
func TestRuntimeRecorderWritesAnExecutionTrace(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(context.Background(), &Config{Dir: dir, Prefix: "svc", MinAge: time.Second, MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan struct{})
	go func() { // something to record
		defer close(done)
		for i := range 1000 {
			time.Sleep(time.Duration(i%3) * time.Microsecond)
		}
	}()
	<-done
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("go 1.")) || !bytes.Contains(buf.Bytes()[:16], []byte(" trace")) || buf.Len() < 1000 {
		t.Fatalf("snapshot of %d bytes starts %q; want an execution trace", buf.Len(), buf.Bytes()[:min(16, buf.Len())])
	}

	r.Slow(context.Background(), "/v1/fanout", 2*time.Second)
	waitFor(t, "the snapshot file", func() bool { return len(snapshots(t, dir)) == 1 })
	data, err := os.ReadFile(snapshots(t, dir)[0])
	if err != nil || !bytes.HasPrefix(data, []byte("go 1.")) {
		t.Errorf("snapshot file %s: %v, starts %q", filepath.Base(snapshots(t, dir)[0]), err, data[:min(16, len(data))])
	}
}
