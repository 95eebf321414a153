package flightrec

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRing stands in for the runtime's recorder: each snapshot is size bytes.
type fakeRing struct {
	mu      sync.Mutex
	started bool
	stopped bool
	size    int
	writes  int
}

func (f *fakeRing) Start() error { f.started = true; return nil }
func (f *fakeRing) Stop()        { f.stopped = true }
func (f *fakeRing) WriteTo(w io.Writer) (int64, error) {
	f.mu.Lock()
	f.writes++
	f.mu.Unlock()
	n, err := w.Write(bytes.Repeat([]byte("t"), f.size))
	return int64(n), err
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func snapshots(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "svc-*.trace"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// waitFor polls until cond holds; the snapshot writer is a goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOneSnapshotPerIntervalAndAtMostMaxFiles(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, nil))
	ring := &fakeRing{size: 1000}
	r, err := start(Config{Dir: dir, Prefix: "svc", Interval: time.Minute, MaxFiles: 3, Logger: logger}, ring, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	for window := 1; window <= 6; window++ {
		for range 50 { // a flood of slow requests within one interval
			r.Slow(context.Background(), "/v1/fanout", time.Second)
		}
		want := min(window, 3)
		// Done when this window's file is in place and the oldest beyond MaxFiles are gone: the
		// write counter alone moves before the file is renamed and the directory pruned.
		stamp := clk.Now().UTC().Format("20060102T150405")
		waitFor(t, "the snapshot of this window", func() bool {
			files := snapshots(t, dir)
			return len(files) == want && strings.Contains(files[len(files)-1], stamp) && ring.writesDone() == window
		})
		clk.Add(time.Minute + time.Millisecond)
	}
	if got := ring.writesDone(); got != 6 {
		t.Errorf("snapshots taken = %d over 6 intervals, want 6", got)
	}
	files := snapshots(t, dir)
	if len(files) != 3 {
		t.Fatalf("files kept = %d, want MaxFiles = 3", len(files))
	}
	if !strings.Contains(files[0], "20260102T030705") { // the 4th window's: the oldest three went
		t.Errorf("kept %v, want the newest three", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() != 1000 {
			t.Errorf("%s: %v, size %d; want the whole snapshot", f, err, st.Size())
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), `"msg":"flight recorder snapshot written"`); n != 6 {
		t.Errorf("snapshot log lines = %d, want 6", n)
	}
	if !strings.Contains(logs.String(), `"file":"`+files[2]+`"`) {
		t.Errorf("the log does not name the file %s: %s", files[2], logs.String())
	}
}

func (f *fakeRing) writesDone() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestOversizedSnapshotIsDropped(t *testing.T) {
	dir := t.TempDir()
	ring := &fakeRing{size: 3 << 20}
	r, err := start(Config{Dir: dir, Prefix: "svc", MaxBytes: 1 << 20}, ring, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.Slow(context.Background(), "/x", time.Second)
	waitFor(t, "the snapshot attempt", func() bool { return ring.writesDone() == 1 })
	r.Close() // waits for the writer
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("directory holds %d entries after a snapshot over twice MaxBytes, want none", len(entries))
	}
}

func TestUnwritableDirectoryFailsAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ring := &fakeRing{}
	if _, err := start(Config{Dir: filepath.Join(file, "sub")}, ring, time.Now); err == nil {
		t.Fatal("start accepted a directory below a file")
	}
	if ring.started {
		t.Error("the recorder started although the directory is unusable")
	}
}

func TestHandlerStreamsASnapshot(t *testing.T) {
	r, err := start(Config{Prefix: "svc"}, &fakeRing{size: 42}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", http.NoBody))
	if rec.Code != http.StatusOK || rec.Body.Len() != 42 {
		t.Fatalf("status %d, %d bytes; want 200 and the snapshot", rec.Code, rec.Body.Len())
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="svc-`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
}

func TestWithoutDirSlowRequestsAreNotSnapshotted(t *testing.T) {
	ring := &fakeRing{}
	r, err := start(Config{}, ring, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.Slow(context.Background(), "/x", time.Second)
	r.Close()
	if ring.writesDone() != 0 || !ring.stopped {
		t.Errorf("writes %d, stopped %v; want no snapshot and a stopped recorder", ring.writesDone(), ring.stopped)
	}
}
