//go:build go1.25

package flightrec

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run in a synctest bubble, whose clock moves only when every goroutine in it is
// blocked: the recorder's deadlines are exact and the tests take no real time.

// autoRecorder starts a ModeAuto recorder in the bubble, with fake rings and a JSON log.
func autoRecorder(t *testing.T, cfg *Config) (*Recorder, *rings, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Mode = ModeAuto
	cfg.Prefix = "svc"
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	rs := &rings{size: 100}
	r, err := start(context.Background(), cfg, rs.next, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return r, rs, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(msg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), `"msg":"`+msg+`"`)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Persistent slowness, the usual incident: the first slow request arms the recorder (its own
// start was not recorded, so it is not snapshotted), requests already running when it armed
// are not either, and the next slow one that began while armed is, with the window holding it.
func TestAutoArmsOnASlowRequestAndSnapshotsTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r, rs, logs := autoRecorder(t, &Config{Dir: dir, ArmFor: 5 * time.Minute})
		defer r.Close()
		if st := r.Stats(); st.Recording || len(rs.made()) != 0 {
			t.Fatalf("a fresh ModeAuto recorder records: %+v", st)
		}

		r.Slow(context.Background(), "/v1/fanout", time.Second)
		synctest.Wait()
		st := r.Stats()
		if !st.Recording || st.Arms != 1 || st.SnapshotsSuppressed != 1 || st.SnapshotsWritten != 0 {
			t.Fatalf("after the first slow request: %+v; want armed, that request suppressed", st)
		}
		if !st.ArmedUntil.Equal(time.Now().Add(5 * time.Minute)) {
			t.Errorf("armed until %s, want ArmFor from now (%s)", st.ArmedUntil, time.Now().Add(5*time.Minute))
		}
		if logs.count("flight recorder armed") != 1 || !strings.Contains(logs.String(), `"trigger":"slow_request"`) {
			t.Errorf("log: %s; want one line saying the recorder was armed by a slow request", logs)
		}

		time.Sleep(200 * time.Millisecond)
		r.Slow(context.Background(), "/began-before", time.Second)
		time.Sleep(time.Second)
		r.Slow(context.Background(), "/began-while-armed", 900*time.Millisecond)
		synctest.Wait()
		st = r.Stats()
		if st.SnapshotsWritten != 1 || st.SnapshotsSuppressed != 2 || len(snapshots(t, dir)) != 1 ||
			!strings.Contains(logs.String(), `"route":"/began-while-armed"`) {
			t.Fatalf("after two more slow requests: %+v, files %v, log %s; want the one that began while armed written",
				st, snapshots(t, dir), logs)
		}
		if made := rs.made(); len(made) != 1 || made[0].writesDone() != 1 {
			t.Errorf("rings %d; want one, snapshotted once", len(made))
		}
	})
}

// Starting the runtime's recorder takes time (it stops the world); a request that began while
// it started is not in the trace, so it is not snapshotted either (found on a loaded machine:
// the window began 5 ms after the request it was written for).
func TestARequestThatBeganWhileTheRecorderStartedIsNotSnapshotted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		rs := &rings{size: 100, delay: 50 * time.Millisecond}
		logs := &syncBuffer{}
		cfg := &Config{Mode: ModeAuto, Dir: dir, Prefix: "svc", Logger: slog.New(slog.NewJSONHandler(logs, nil))}
		r, err := start(context.Background(), cfg, rs.next, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.Trigger("worker_pool_full") // starting from 0 to 50 ms
		time.Sleep(time.Second)
		r.Slow(context.Background(), "/began-at-10ms", 990*time.Millisecond)
		time.Sleep(time.Second)
		r.Slow(context.Background(), "/began-at-1.1s", 900*time.Millisecond)
		synctest.Wait()
		if st := r.Stats(); st.SnapshotsWritten != 1 || st.SnapshotsSuppressed != 1 ||
			!strings.Contains(logs.String(), `"route":"/began-at-1.1s"`) {
			t.Fatalf("Stats %+v, log %s; want the request that began while the recorder started suppressed, the next written",
				st, logs)
		}
	})
}

// The recorder stays armed for ArmFor after the last trigger, then stops (its window freed)
// and logs it once; a later trigger arms it again with a new ring.
func TestAutoDisarmsArmForAfterTheLastTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, rs, logs := autoRecorder(t, &Config{ArmFor: 5 * time.Minute})
		defer r.Close()

		r.Trigger("worker_pool_full")
		synctest.Wait()
		time.Sleep(4 * time.Minute)
		r.Trigger("worker_pool_full") // the pool still sheds: five more minutes from now
		time.Sleep(5*time.Minute - time.Nanosecond)
		synctest.Wait()
		if st := r.Stats(); !st.Recording || st.Arms != 1 {
			t.Fatalf("4m after the last trigger (ArmFor 5m): %+v; want still armed, armed once", st)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if st := r.Stats(); st.Recording || !st.ArmedUntil.IsZero() {
			t.Fatalf("ArmFor after the last trigger: %+v; want disarmed", st)
		}
		if made := rs.made(); len(made) != 1 || made[0].recording() {
			t.Errorf("rings %d; want the one ring stopped", len(made))
		}
		if logs.count("flight recorder armed") != 1 || logs.count("flight recorder disarmed") != 1 ||
			!strings.Contains(logs.String(), `"trigger":"worker_pool_full"`) {
			t.Errorf("log: %s; want one armed line naming the trigger and one disarmed line", logs)
		}

		time.Sleep(time.Hour)
		r.Trigger("batch_writer_busy")
		synctest.Wait()
		if st := r.Stats(); !st.Recording || st.Arms != 2 || len(rs.made()) != 2 {
			t.Fatalf("a trigger after disarming: %+v; want armed again with a new ring", st)
		}
	})
}

// A flood of triggers from many goroutines (a pool refusing every request) arms the recorder
// once and keeps it armed; the deadline follows the last trigger within a second.
func TestAFloodOfTriggersArmsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, rs, logs := autoRecorder(t, &Config{ArmFor: time.Minute})
		defer r.Close()
		lastTrigger := time.Now().Add(9900 * time.Millisecond)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					r.Trigger("worker_pool_full")
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait() // triggers every 100 ms from 0 to 9.9 s
		synctest.Wait()
		st := r.Stats()
		if !st.Recording || st.Arms != 1 || len(rs.made()) != 1 || logs.count("flight recorder armed") != 1 {
			t.Fatalf("after a flood of triggers: %+v, %d rings; want armed once", st, len(rs.made()))
		}
		if want := lastTrigger.Add(time.Minute); st.ArmedUntil.After(want) || st.ArmedUntil.Before(want.Add(-time.Second)) {
			t.Errorf("armed until %s; want within a second before ArmFor after the last trigger (%s)", st.ArmedUntil, want)
		}
	})
}

// Every slow request is judged exactly once, whatever the interleaving: written, failed or
// suppressed add up to the requests reported (the counters the end-to-end test polls).
func TestEverySlowRequestIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		r, _, _ := autoRecorder(t, &Config{Dir: dir, ArmFor: time.Minute, Interval: 10 * time.Second})
		defer r.Close()
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for range 50 {
					time.Sleep(300 * time.Millisecond)
					r.Slow(context.Background(), "/v1/fanout", 300*time.Millisecond)
				}
			})
		}
		wg.Wait() // 15 s of slow requests
		synctest.Wait()
		st := r.Stats()
		if n := st.SnapshotsWritten + st.SnapshotsFailed + st.SnapshotsSuppressed; n != 300 {
			t.Errorf("counted %d of 300 slow requests: %+v", n, st)
		}
		// Armed by the first, then one per 10 s interval: at 0.6 s and 10.6 s.
		if st.SnapshotsWritten != 2 || len(snapshots(t, dir)) != 2 {
			t.Errorf("written %d, files %v; want 2 (one per interval)", st.SnapshotsWritten, snapshots(t, dir))
		}
	})
}

// ModeOn records from start to Close: triggers and time change nothing, Disarm refuses.
func TestModeOnNeverDisarms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rg := &fakeRing{}
		r, err := start(context.Background(), &Config{}, one(rg), time.Now)
		if err != nil {
			t.Fatal(err)
		}
		r.Trigger("worker_pool_full")
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if r.Disarm(context.Background()) || !rg.recording() || !r.Stats().Recording || r.Stats().Arms != 0 {
			t.Errorf("ModeOn after a day: %+v; want recording, never armed or disarmed", r.Stats())
		}
		r.Close()
		if rg.recording() {
			t.Error("Close left the ring recording")
		}
	})
}
