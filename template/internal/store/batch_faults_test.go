package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusedCallFailsAloneAndTheRestCommit: when the database refuses a
// batch for one row's content, the writer splits the batch until that call
// fails on its own (ErrRefused), and every other call of the batch commits in
// the same flush.
func TestRefusedCallFailsAloneAndTheRestCommit(t *testing.T) {
	db := openTestDB(t)
	fake := &fakeDriver{inner: db.drv, gate: make(chan struct{}), poisonKind: "poison"}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)

	first := make(chan error, 1)
	go func() { first <- w.Write(context.Background(), events(1, "first")) }()
	waitFor(func() bool { return fake.callCount() == 1 }) // the flusher waits at the gate

	const callers, guilty = 9, 4
	errs := make([]chan error, callers)
	for i := range callers {
		errs[i] = make(chan error, 1)
		evs := events(2, "caller"+strconv.Itoa(i))
		if i == guilty {
			evs[1].Kind = "poison"
		}
		go func() { errs[i] <- w.Write(context.Background(), evs) }()
	}
	waitFor(func() bool { return w.Stats().Pending == 1+2*callers }) // one batch behind the first
	close(fake.gate)
	if err := <-first; err != nil {
		t.Fatalf("first Write: %v", err)
	}
	for i := range callers {
		err := <-errs[i]
		switch {
		case i == guilty && !errors.Is(err, ErrRefused):
			t.Fatalf("the refused call got %v, want ErrRefused", err)
		case i != guilty && err != nil:
			t.Fatalf("caller %d shared a batch with a refused call and got %v, want its events committed", i, err)
		}
	}
	if got, want := countEvents(t, db), int64(1+2*(callers-1)); got != want {
		t.Fatalf("table holds %d rows, want %d (everything but the refused call)", got, want)
	}
	if st := w.Stats(); st.Refused != 1 || st.Failures != 0 || st.Pending != 0 || st.PendingBytes != 0 {
		t.Fatalf("Stats = %+v, want 1 refused call, no failures, nothing pending", st)
	}
}

// pastDeadlineCtx is a context whose deadline has passed while its Done
// channel is still open, as between a deadline and the moment its timer
// fires, which on a loaded machine lasts milliseconds.
type pastDeadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c pastDeadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// TestNoAttemptStartsPastTheCallersDeadline: a caller whose deadline has
// passed is answered (not stored) before another attempt starts, even while
// its context's timer has not fired yet; the writer must not retry in a busy
// loop for it.
func TestNoAttemptStartsPastTheCallersDeadline(t *testing.T) {
	fake := &fakeDriver{fail: func(int) error { return errFakeTransient }}
	w := newBatchWriter(fake, BatchConfig{})
	defer closeWriter(t, w)

	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := pastDeadlineCtx{Context: inner, deadline: time.Now().Add(20 * time.Millisecond)}
	stop := time.AfterFunc(300*time.Millisecond, cancel) // Done closes long after the deadline
	defer stop.Stop()

	err := w.Write(ctx, events(1, "late"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write past its deadline = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
	// The backoff starts at 10 ms and doubles: within a 20 ms deadline a few
	// attempts start, and none after it.
	if n := fake.callCount(); n > 4 {
		t.Fatalf("%d attempts for a caller with a 20 ms deadline: attempts started past it", n)
	}
	if st := w.Stats(); st.Expired != 1 || st.Abandoned != 0 {
		t.Fatalf("Stats = %+v, want the call expired", st)
	}
}

// TestAdmissionIsBoundedInBytes: rows waiting for a commit are bounded by
// their size as well as their number, so large payloads against a stalled
// database are refused (ErrBusy) instead of filling the memory.
func TestAdmissionIsBoundedInBytes(t *testing.T) {
	fake := &fakeDriver{gate: make(chan struct{})}
	w := newBatchWriter(fake, BatchConfig{MaxPendingBytes: 64 << 10})
	defer closeWriter(t, w)
	big := func(tag string) []Event {
		payload := `{"tag":"` + tag + `","pad":"` + strings.Repeat("x", 20<<10) + `"}`
		return []Event{{Kind: "big", Payload: json.RawMessage(payload)}}
	}

	done := make(chan error, 3)
	for i := range 3 { // 3 × 20 KiB fit in 64 KiB
		go func() { done <- w.TryWrite(context.Background(), big(strconv.Itoa(i))) }()
	}
	waitFor(func() bool { return w.Stats().Pending == 3 })
	if err := w.TryWrite(context.Background(), big("fourth")); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryWrite past MaxPendingBytes = %v, want ErrBusy", err)
	}
	huge := []Event{{Kind: "huge", Payload: json.RawMessage(`"` + strings.Repeat("y", 70<<10) + `"`)}}
	if err := w.TryWrite(context.Background(), huge); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("TryWrite of more bytes than MaxPendingBytes = %v, want ErrTooLarge", err)
	}
	if st := w.Stats(); st.PendingBytes < 3*(20<<10) || st.PendingBytes > 64<<10 {
		t.Fatalf("PendingBytes = %d, want the 3 admitted writes' size", st.PendingBytes)
	}
	close(fake.gate)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatalf("TryWrite: %v", err)
		}
	}
	if st := w.Stats(); st.PendingBytes != 0 {
		t.Fatalf("PendingBytes = %d after every write committed, want 0", st.PendingBytes)
	}
}

func TestPendingBytesForMemoryLimit(t *testing.T) {
	for limit, want := range map[int64]int64{
		1 << 62:   DefaultMaxPendingBytes, // no limit
		460 << 20: 460 << 20 / 8,          // 0.9 of a 512 MiB pod
		16 << 20:  4 << 20,                // tiny: the floor
	} {
		if got := PendingBytesForMemoryLimit(limit); got != want {
			t.Errorf("PendingBytesForMemoryLimit(%d) = %d, want %d", limit, got, want)
		}
	}
}

// TestOutageIsLoggedOncePerInterval: a run of failing attempts writes one
// line when it starts and one when it ends, not one per attempt.
func TestOutageIsLoggedOncePerInterval(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	fake := &fakeDriver{fail: func(n int) error {
		if n <= 5 {
			return errFakeTransient
		}
		return nil
	}}
	w := newBatchWriter(fake, BatchConfig{Logger: logger})
	defer closeWriter(t, w)
	if err := w.Write(context.Background(), events(1, "outage")); err != nil {
		t.Fatalf("Write after 5 failed attempts: %v", err)
	}
	var msgs []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msgs = append(msgs, rec.Msg)
	}
	want := []string{"database write failed; retrying while callers wait", "database write recovered"}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Fatalf("log lines for 5 failed attempts and a recovery: %q, want %q", msgs, want)
	}
}
