package flightrec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
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
	delay   time.Duration // Start takes this long, as the runtime's stops the world
}

func (f *fakeRing) Start() error {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = true
	return nil
}

func (f *fakeRing) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
}

func (f *fakeRing) WriteTo(w io.Writer) (int64, error) {
	f.mu.Lock()
	if !f.started || f.stopped {
		f.mu.Unlock()
		return 0, errors.New("cannot snapshot a disabled flight recorder") // as the runtime's
	}
	f.writes++
	f.mu.Unlock()
	n, err := w.Write(bytes.Repeat([]byte("t"), f.size))
	return int64(n), err
}

// recording reports whether the ring was started and not stopped.
func (f *fakeRing) recording() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started && !f.stopped
}

// one returns a ring factory that always hands out rg (ModeOn starts it once).
func one(rg ring) func() ring { return func() ring { return rg } }

// rings hands out a new fakeRing each time ModeAuto arms, and remembers them.
type rings struct {
	mu    sync.Mutex
	size  int
	delay time.Duration
	all   []*fakeRing
}

func (rs *rings) next() ring {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rg := &fakeRing{size: rs.size, delay: rs.delay}
	rs.all = append(rs.all, rg)
	return rg
}

func (rs *rings) made() []*fakeRing {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.all)
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
	r, err := start(context.Background(), &Config{Dir: dir, Prefix: "svc", Interval: time.Minute, MaxFiles: 3, Logger: logger}, one(ring), clk.Now)
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
	// Every slow request is judged: 6 written, the other 294 suppressed.
	waitFor(t, "the counters of 300 slow requests", func() bool {
		st := r.Stats()
		return st.SnapshotsWritten+st.SnapshotsSuppressed+st.SnapshotsFailed == 300
	})
	if st := r.Stats(); st.SnapshotsWritten != 6 || st.SnapshotsSuppressed != 294 || st.Mode != ModeOn || !st.Recording {
		t.Errorf("Stats = %+v, want 6 written and 294 suppressed, always recording", st)
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
	r, err := start(context.Background(), &Config{Dir: dir, Prefix: "svc", MaxBytes: 1 << 20}, one(ring), time.Now)
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
	if _, err := start(context.Background(), &Config{Dir: filepath.Join(file, "sub")}, one(ring), time.Now); err == nil {
		t.Fatal("start accepted a directory below a file")
	}
	if ring.started {
		t.Error("the recorder started although the directory is unusable")
	}
}

func TestHandlerStreamsASnapshot(t *testing.T) {
	r, err := start(context.Background(), &Config{Prefix: "svc"}, one(&fakeRing{size: 42}), time.Now)
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
	r, err := start(context.Background(), &Config{}, one(ring), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r.Slow(context.Background(), "/x", time.Second)
	r.Close()
	if ring.writesDone() != 0 || !ring.stopped {
		t.Errorf("writes %d, stopped %v; want no snapshot and a stopped recorder", ring.writesDone(), ring.stopped)
	}
}

// serve sends one request to h and returns the status and body.
func serve(t *testing.T, h http.Handler, method, target, body string) (int, string) {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, http.NoBody)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// oneLine fails the test unless msg is a single line of text (http.Error's answer).
func oneLine(t *testing.T, what, msg string) {
	t.Helper()
	if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || len(msg) < 10 {
		t.Errorf("%s answered %q; want a one-line message", what, msg)
	}
}

// The debug listener's /debug/flightrecorder arms and disarms ModeAuto's recorder: GET says
// how to arm it while it does not record, POST ?for= arms it (a form body works too, for=0
// disarms), DELETE disarms it, and bad durations are refused before anything changes.
func TestDebugEndpointsArmAndDisarm(t *testing.T) {
	rs := &rings{size: 42}
	r, err := start(context.Background(), &Config{Mode: ModeAuto, ArmFor: time.Minute, Prefix: "svc"}, rs.next, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := r.Handler()

	code, body := serve(t, h, http.MethodGet, "/debug/flightrecorder", "")
	if code != http.StatusConflict || !strings.Contains(body, "POST /debug/flightrecorder?for=") {
		t.Errorf("GET while not recording = %d %q; want 409 saying how to arm", code, body)
	}
	oneLine(t, "GET while not recording", body)

	for _, bad := range []string{"?for=soon", "?for=-1s", "?for=61m", "?for=1h0m1s", "?for=%zz"} {
		code, body := serve(t, h, http.MethodPost, "/debug/flightrecorder"+bad, "")
		if code != http.StatusBadRequest {
			t.Errorf("POST %s = %d %q; want 400", bad, code, body)
		}
		oneLine(t, "POST "+bad, body)
	}
	if code, body := serve(t, h, http.MethodPost, "/debug/flightrecorder", strings.Repeat("x", 2<<10)); code != http.StatusBadRequest {
		t.Errorf("POST with a 2 KiB body = %d %q; want 400", code, body)
	}
	if len(rs.made()) != 0 || r.Stats().Recording {
		t.Fatalf("bad requests armed the recorder: %+v", r.Stats())
	}

	before := time.Now()
	code, body = serve(t, h, http.MethodPost, "/debug/flightrecorder?for=2m", "")
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("POST ?for=2m = %d %q (%v); want 200 and the state as JSON", code, body, err)
	}
	if !st.Recording || st.Arms != 1 || st.ArmedUntil.Before(before.Add(2*time.Minute)) || st.ArmedUntil.After(time.Now().Add(2*time.Minute)) {
		t.Errorf("after POST ?for=2m: %+v; want recording until two minutes from now", st)
	}
	if code, body := serve(t, h, http.MethodGet, "/debug/flightrecorder", ""); code != http.StatusOK || len(body) != 42 {
		t.Errorf("GET while armed = %d with %d bytes; want 200 and the snapshot", code, len(body))
	}
	// Arming again sets the deadline the operator asks for, shorter too, without a new ring.
	_, body = serve(t, h, http.MethodPost, "/debug/flightrecorder", "for=30s")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Arms != 1 || st.ArmedUntil.After(time.Now().Add(30*time.Second)) {
		t.Errorf("POST for=30s in the body: %q; want the same recording, until 30 s from now", body)
	}
	if code, body := serve(t, h, http.MethodPost, "/debug/flightrecorder?for=0", ""); code != http.StatusOK || !strings.Contains(body, `"recording":false`) {
		t.Errorf("POST ?for=0 = %d %q; want 200, not recording", code, body)
	}
	if made := rs.made(); len(made) != 1 || made[0].recording() {
		t.Errorf("after disarming: %d rings, the first still recording: want the ring stopped", len(made))
	}
	// A POST without for= arms for ArmFor; DELETE disarms, and says so again when repeated.
	_, body = serve(t, h, http.MethodPost, "/debug/flightrecorder", "")
	if err := json.Unmarshal([]byte(body), &st); err != nil || !st.Recording || st.Arms != 2 ||
		st.ArmedUntil.After(time.Now().Add(time.Minute)) {
		t.Errorf("POST without for= : %q; want recording for ArmFor (1m), armed twice", body)
	}
	for range 2 {
		if code, body := serve(t, h, http.MethodDelete, "/debug/flightrecorder", ""); code != http.StatusOK || !strings.Contains(body, `"recording":false`) {
			t.Errorf("DELETE = %d %q; want 200, not recording", code, body)
		}
	}
	if made := rs.made(); len(made) != 2 || made[1].recording() {
		t.Errorf("after DELETE: %d rings; want 2, both stopped", len(made))
	}
}

// ModeOn always records: POST answers its state, DELETE is refused.
func TestDebugEndpointsInModeOn(t *testing.T) {
	rg := &fakeRing{size: 1}
	r, err := start(context.Background(), &Config{}, one(rg), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if code, body := serve(t, r.Handler(), http.MethodPost, "/debug/flightrecorder?for=2m", ""); code != http.StatusOK ||
		!strings.Contains(body, `"mode":"on","recording":true`) {
		t.Errorf("POST in ModeOn = %d %q; want 200 and the state", code, body)
	}
	code, body := serve(t, r.Handler(), http.MethodDelete, "/debug/flightrecorder", "")
	if code != http.StatusConflict || !strings.Contains(body, "FLIGHT_RECORDER=auto") {
		t.Errorf("DELETE in ModeOn = %d %q; want 409 naming FLIGHT_RECORDER=auto", code, body)
	}
	oneLine(t, "DELETE in ModeOn", body)
	if !rg.recording() || !r.Stats().Recording {
		t.Error("ModeOn stopped recording")
	}
}

// Without a recorder the route says why: FLIGHT_RECORDER=off, or a build without one.
func TestOffHandler(t *testing.T) {
	wantPost, wantText := http.StatusConflict, "FLIGHT_RECORDER=auto"
	if !Supported {
		wantPost, wantText = http.StatusNotImplemented, "/debug/pprof/trace"
	}
	for method, want := range map[string]int{http.MethodGet: http.StatusNotFound, http.MethodPost: wantPost, http.MethodDelete: wantPost} {
		code, body := serve(t, OffHandler(), method, "/debug/flightrecorder", "")
		if code != want || !strings.Contains(body, wantText) {
			t.Errorf("%s without a recorder = %d %q; want %d naming %s", method, code, body, want, wantText)
		}
		oneLine(t, method+" without a recorder", body)
	}
}
