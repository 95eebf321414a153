// Package flightrec keeps the last seconds of the Go execution trace in memory (the runtime's
// flight recorder) and writes them out when they are worth reading: after a slow request, as
// a file in a directory, at most one per interval and never more than a fixed number of files;
// and on demand, streamed by the private debug listener.
//
// A trace shows what a CPU profile cannot: goroutines waiting for the scheduler, for a lock,
// for the network or for the garbage collector, and which of them held up the slow request.
// Open a file with `go tool trace FILE`.
//
// Recording costs CPU on every request and memory for the window, so by default (ModeAuto) the
// recorder records only while it is armed: a slow request, or a component that sheds load
// (Trigger), arms it for ArmFor, and every further trigger extends that. The request that
// armed it is not in the window (nothing was recording), but slowness that persists is: the
// next slow request that begins while armed is snapshotted whole. When ArmFor passes without
// a trigger the recorder stops and its memory is freed. ModeOn records from Start to Close.
package flightrec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config. Each changes what the runtime or the package would otherwise do, and
// says why.
const (
	// DefaultMinAge is the window the recorder keeps (the runtime's own default is 10s). A
	// slow request is snapshotted when it ends, so the window must cover it whole plus what
	// led up to it: 5 s covers a request ten times SLOW_REQUEST_THRESHOLD's default and 2.5
	// times the fan-out's 2 s deadline. Measured on 2 CPUs at 3000 requests/s, the recorder
	// added 7-9 MiB to the peak RSS with 5 s against 12 MiB with 10 s, and every snapshot
	// held the whole slow request it was written for (goperf-scaffold's measurements).
	DefaultMinAge = 5 * time.Second
	// DefaultMaxBytes caps the window's memory and so each snapshot's size (the runtime's own
	// default is 10 MiB). The service writes up to about 1.5 MB of trace per second per busy
	// CPU (2.9 MB/s measured for GET /livez at 28k requests/s on 2 CPUs), so on the 2 CPUs of
	// deploy/k8s 8 MiB keeps the whole 5 s up to about 19k requests/s and 3 s beyond; give a
	// bigger pod more. Saturated, 5 s and 8 MiB peaked at 37-42 MiB RSS against 41-62 MiB
	// for 10 s and 16 MiB (22.8 MiB without the recorder).
	DefaultMaxBytes = 8 << 20
	// DefaultInterval is the least time between two snapshots of slow requests. A burst of
	// slow requests usually has one cause, and one trace shows it; one snapshot a minute
	// costs a few milliseconds of a writer goroutine and bounds the disk writes.
	DefaultInterval = time.Minute
	// DefaultMaxFiles is how many snapshots the directory keeps; the oldest is removed first.
	// With DefaultMaxBytes the directory stays under about 5 x 16 MiB.
	DefaultMaxFiles = 5
	// DefaultArmFor is how long a trigger keeps ModeAuto's recorder recording. Minutes, not
	// seconds: an incident that makes one request slow usually makes more, and they need not
	// come at once; every trigger starts the period again, so a recorder stays armed for as
	// long as the trouble lasts, plus this.
	DefaultArmFor = 5 * time.Minute
	// MaxArmFor caps the period an operator may arm the recorder for from the debug listener
	// (POST /debug/flightrecorder?for=...): recording costs CPU on every request, and a
	// forgotten arming should end by itself. Record for longer with FLIGHT_RECORDER=on.
	MaxArmFor = time.Hour
)

// Mode says when the recorder records.
type Mode string

// Modes of Config.Mode.
const (
	// ModeOn records from Start to Close.
	ModeOn Mode = "on"
	// ModeAuto records only while armed: by a slow request, a Trigger or the debug listener.
	ModeAuto Mode = "auto"
)

// Reasons a recorder is armed, as Trigger's argument and in the "flight recorder armed" log
// line. Components that shed load pass their own.
const (
	TriggerSlowRequest = "slow_request"
	TriggerDebug       = "debug_listener"
)

// fileSuffix ends the name of every snapshot file; pruning only ever removes such files.
const fileSuffix = ".trace"

// ErrUnsupported is returned by Start when the service was built for a Go release without
// runtime/trace.FlightRecorder (Go 1.24).
var ErrUnsupported = errors.New("the flight recorder needs Go 1.25 or later (runtime/trace.FlightRecorder)")

// Config configures Start. Zero fields take the defaults above.
type Config struct {
	// Mode is ModeOn (the zero value) or ModeAuto.
	Mode Mode
	// ArmFor is how long a trigger keeps ModeAuto's recorder recording.
	ArmFor time.Duration
	// Dir receives the snapshots of slow requests. It is created if missing. Empty: slow
	// requests are not snapshotted (the on-demand handler still works).
	Dir string
	// Prefix starts every file name (the service's name).
	Prefix   string
	MinAge   time.Duration
	MaxBytes uint64
	Interval time.Duration
	MaxFiles int
	// Logger gets one line per snapshot written (with its file name) or failed, and one each
	// time the recorder is armed or disarmed.
	Logger *slog.Logger
}

// ring is the execution-trace ring buffer: runtime/trace.FlightRecorder on Go >= 1.25.
type ring interface {
	Start() error
	Stop()
	WriteTo(w io.Writer) (int64, error)
}

// slowRequest is what Slow hands to the snapshot goroutine.
type slowRequest struct {
	ctx     context.Context
	route   string
	elapsed time.Duration
}

// Stats is the state of a Recorder, for /debug/vars, the metrics and the debug listener's
// answers. Every slow request reported to Slow ends up in exactly one of SnapshotsWritten,
// SnapshotsFailed and SnapshotsSuppressed, once its snapshot is done or refused.
type Stats struct {
	Mode Mode `json:"mode"`
	// Recording is true while the runtime records (always in ModeOn; while armed in ModeAuto).
	Recording bool `json:"recording"`
	// ArmedUntil is when ModeAuto's recorder stops unless triggered again; zero otherwise.
	ArmedUntil time.Time `json:"armed_until,omitzero"`
	// Arms counts the times ModeAuto's recorder started recording.
	Arms uint64 `json:"arms"`
	// SnapshotsWritten are slow requests whose window is in a file in Dir.
	SnapshotsWritten uint64 `json:"snapshots_written"`
	// SnapshotsFailed are slow requests whose snapshot could not be written.
	SnapshotsFailed uint64 `json:"snapshots_failed"`
	// SnapshotsSuppressed are slow requests not snapshotted: the recorder was not recording
	// when they began (the one that arms it, too), another snapshot was taken less than
	// Interval before, or the previous one was still being written.
	SnapshotsSuppressed uint64 `json:"snapshots_suppressed"`
}

// Recorder runs the flight recorder and the goroutine that writes snapshots of slow requests
// and, in ModeAuto, arms and disarms it. Close stops both.
type Recorder struct {
	cfg     Config
	ctx     context.Context // of the log lines of the run goroutine
	newRing func() ring
	now     func() time.Time

	// mu guards rg and serialises starting, stopping and snapshotting it (the runtime allows
	// one WriteTo at a time). The request path never takes it.
	mu sync.Mutex
	rg ring // nil while not recording

	// Read on the request path without mu. recording is set after since, and cleared under mu
	// before rg stops.
	recording atomic.Bool
	since     atomic.Int64 // UnixNano when the current recording began; 0 in ModeOn
	until     atomic.Int64 // UnixNano when ModeAuto's recording ends unless triggered
	armedAt   atomic.Int64 // UnixNano of the last arming, for the disarm log line
	last      atomic.Int64 // UnixNano of the last accepted slow request, 0 before the first

	arms, written, failed, suppressed atomic.Uint64

	armc    chan string   // a trigger while not recording; the run goroutine arms
	resched chan struct{} // the deadline moved: the run goroutine resets its timer
	slow    chan slowRequest
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Start starts the recorder: in ModeOn the runtime's flight recorder at once, in ModeAuto
// only the goroutine that arms it. When cfg.Dir is set it also writes snapshots of slow
// requests there. It fails when the directory cannot be created or written, or the runtime
// has no flight recorder. ctx carries the values of the recorder's own log lines (arming and
// disarming); its end does not stop the recorder, Close does.
func Start(ctx context.Context, cfg *Config) (*Recorder, error) {
	if !Supported {
		return nil, ErrUnsupported
	}
	c := cfg.withDefaults()
	return start(ctx, &c, func() ring { return newRing(&c) }, time.Now)
}

// withDefaults returns a copy of c with the defaults in its zero fields.
func (c *Config) withDefaults() Config {
	d := *c
	d.setDefaults()
	return d
}

func (c *Config) setDefaults() {
	if c.Mode == "" {
		c.Mode = ModeOn
	}
	if c.ArmFor <= 0 {
		c.ArmFor = DefaultArmFor
	}
	if c.MinAge <= 0 {
		c.MinAge = DefaultMinAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxFiles <= 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.Prefix == "" {
		c.Prefix = "flightrecord"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func start(ctx context.Context, config *Config, newRing func() ring, now func() time.Time) (*Recorder, error) {
	cfg := config.withDefaults()
	if cfg.Mode != ModeOn && cfg.Mode != ModeAuto {
		return nil, fmt.Errorf("flight recorder mode %q: want on or auto", cfg.Mode)
	}
	if cfg.Dir != "" {
		if err := checkDir(cfg.Dir); err != nil {
			return nil, err
		}
	}
	r := &Recorder{
		cfg:     cfg,
		ctx:     context.WithoutCancel(ctx),
		newRing: newRing,
		now:     now,
		armc:    make(chan string, 1),
		resched: make(chan struct{}, 1),
		slow:    make(chan slowRequest, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if cfg.Mode == ModeOn {
		rg := newRing()
		if err := rg.Start(); err != nil {
			return nil, fmt.Errorf("start the flight recorder: %w", err)
		}
		// since stays 0: ModeOn records before the listeners open, so every request began
		// while it recorded.
		r.rg = rg
		r.recording.Store(true)
	}
	go r.run()
	return r, nil
}

// checkDir creates dir and proves it writable, so that a wrong FLIGHT_RECORDER_DIR (a
// read-only root file system, say) stops the service at start rather than at the first
// slow request.
func checkDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("flight recorder directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("flight recorder directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}

// Trigger arms ModeAuto's recorder for ArmFor, or, while it records, starts that period
// again; reason names the trigger in the log line of the arming. It never blocks and costs
// a clock read and an atomic load or two, so components call it on every refused request
// (the worker pool's full queue, the batch writer's full buffer). In ModeOn it does nothing.
func (r *Recorder) Trigger(reason string) {
	if r.cfg.Mode != ModeAuto {
		return
	}
	if r.recording.Load() {
		// The deadline moves in steps of a second: a flood of refused requests does not write
		// the shared deadline on every one.
		if until := r.now().Add(r.cfg.ArmFor).UnixNano(); until-r.until.Load() > int64(time.Second) {
			r.extend(until)
		}
		return
	}
	select {
	case r.armc <- reason:
	default: // an arming is already on its way
	}
}

// extend moves the end of the recording to until, unless it is later already. The run
// goroutine's timer finds the new deadline when it fires.
func (r *Recorder) extend(until int64) {
	for {
		cur := r.until.Load()
		if until <= cur || r.until.CompareAndSwap(cur, until) {
			return
		}
	}
}

// Slow reports a request that took elapsed. The first slow request of each Interval whose
// whole run the window holds is snapshotted; the others are counted as suppressed. In
// ModeAuto a slow request also triggers the recorder (TriggerSlowRequest). Slow never
// blocks, so the server's middleware calls it inline.
func (r *Recorder) Slow(ctx context.Context, route string, elapsed time.Duration) {
	r.Trigger(TriggerSlowRequest)
	now := r.now().UnixNano()
	began := now - int64(elapsed)
	if r.cfg.Dir == "" || !r.recording.Load() || began < r.since.Load() {
		// Nothing recorded the beginning of this request: its snapshot would not show it.
		r.suppressed.Add(1)
		return
	}
	last := r.last.Load()
	if last != 0 && now-last < int64(r.cfg.Interval) || !r.last.CompareAndSwap(last, now) {
		r.suppressed.Add(1) // within the interval, or another slow request of this instant won
		return
	}
	select {
	case r.slow <- slowRequest{ctx: context.WithoutCancel(ctx), route: route, elapsed: elapsed}:
	default: // the previous snapshot is still being written
		r.suppressed.Add(1)
	}
}

// run writes the snapshots of slow requests and, in ModeAuto, arms the recorder on a trigger
// and disarms it once its deadline has passed, until Close.
func (r *Recorder) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var expired <-chan time.Time
		timer.Stop()
		if r.cfg.Mode == ModeAuto && r.recording.Load() {
			timer.Reset(time.Duration(r.until.Load() - r.now().UnixNano()))
			expired = timer.C
		}
		select {
		case reason := <-r.armc:
			if _, err := r.arm(r.ctx, reason, r.cfg.ArmFor, false); err != nil {
				r.cfg.Logger.LogAttrs(r.ctx, slog.LevelError, "flight recorder could not start",
					slog.String("trigger", reason), slog.Any("error", err))
			}
		case <-r.resched:
		case req := <-r.slow:
			r.snapshotToDir(req)
		case <-expired:
			r.expire()
		case <-r.stop:
			return
		}
	}
}

// arm arms the recorder for d: it starts recording if it was not, and moves the deadline to
// now+d (exact when an operator asks, otherwise only ever later). It reports whether it
// started recording.
func (r *Recorder) arm(ctx context.Context, reason string, d time.Duration, exact bool) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	until := now.Add(d).UnixNano()
	if r.rg != nil {
		if exact {
			r.until.Store(until)
		} else {
			r.extend(until)
		}
		return false, nil
	}
	rg := r.newRing()
	if err := rg.Start(); err != nil {
		return false, fmt.Errorf("start the flight recorder: %w", err)
	}
	r.rg = rg
	r.until.Store(until)
	r.armedAt.Store(now.UnixNano())
	// Read the clock again: starting the runtime's recorder stops the world, which takes
	// milliseconds on a loaded machine, and a request that began meanwhile is not in the trace.
	r.since.Store(r.now().UnixNano())
	r.recording.Store(true)
	r.arms.Add(1)
	r.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "flight recorder armed",
		slog.String("trigger", reason), slog.String("for", d.String()),
		slog.String("window", r.cfg.MinAge.String()))
	return true, nil
}

// expire disarms the recorder if its deadline has passed and no trigger moved it since.
func (r *Recorder) expire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().UnixNano()
	if r.rg == nil || r.until.Load() > now {
		return
	}
	// From here on Trigger sends to r.arm instead of moving the deadline; one that moved it
	// just before is seen here.
	r.recording.Store(false)
	if r.until.Load() > now {
		r.recording.Store(true)
		return
	}
	r.stopLocked(r.ctx, "no trigger for "+r.cfg.ArmFor.String())
}

// stopLocked stops recording and frees the window. r.mu is held.
func (r *Recorder) stopLocked(ctx context.Context, reason string) {
	r.recording.Store(false)
	r.rg.Stop()
	r.rg = nil
	r.until.Store(0)
	armed := time.Duration(r.now().UnixNano() - r.armedAt.Load())
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "flight recorder disarmed",
		slog.String("reason", reason), slog.String("armed_for", armed.Round(time.Millisecond).String()))
}

// Arm makes ModeAuto's recorder record from now for d (at most MaxArmFor), whatever its
// deadline was, as the debug listener's POST asks; ctx is the log line's. It reports whether
// recording started now. In ModeOn the recorder records anyway.
func (r *Recorder) Arm(ctx context.Context, d time.Duration) (bool, error) {
	if r.cfg.Mode != ModeAuto {
		return false, nil
	}
	started, err := r.arm(ctx, TriggerDebug, min(d, MaxArmFor), true)
	r.reschedule()
	return started, err
}

// Disarm stops ModeAuto's recorder now (a later trigger arms it again), as the debug
// listener's DELETE asks; ctx is the log line's. It reports whether it was recording. ModeOn's
// recorder cannot be disarmed: Disarm returns false and leaves it recording.
func (r *Recorder) Disarm(ctx context.Context) bool {
	if r.cfg.Mode != ModeAuto {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rg == nil {
		return false
	}
	r.stopLocked(ctx, "disarmed from the debug listener")
	r.reschedule()
	return true
}

// reschedule tells the run goroutine that the deadline moved.
func (r *Recorder) reschedule() {
	select {
	case r.resched <- struct{}{}:
	default:
	}
}

// Stats returns the recorder's state and counters.
func (r *Recorder) Stats() Stats {
	s := Stats{
		Mode:                r.cfg.Mode,
		Recording:           r.recording.Load(),
		Arms:                r.arms.Load(),
		SnapshotsWritten:    r.written.Load(),
		SnapshotsFailed:     r.failed.Load(),
		SnapshotsSuppressed: r.suppressed.Load(),
	}
	if until := r.until.Load(); s.Recording && r.cfg.Mode == ModeAuto && until != 0 {
		s.ArmedUntil = time.Unix(0, until).UTC()
	}
	return s
}

// snapshotToDir writes the window to a new file in Dir, then removes the oldest files beyond
// MaxFiles. The file appears under its final name only once complete.
func (r *Recorder) snapshotToDir(req slowRequest) {
	log := r.cfg.Logger
	name := fmt.Sprintf("%s-%s%s", r.cfg.Prefix, r.now().UTC().Format("20060102T150405.000Z"), fileSuffix)
	path := filepath.Join(r.cfg.Dir, name)
	began := time.Now()
	n, err := r.writeFile(path)
	if errors.Is(err, errNotRecording) {
		r.suppressed.Add(1) // disarmed while the request waited for the writer
		return
	}
	if err != nil {
		r.failed.Add(1)
		log.LogAttrs(req.ctx, slog.LevelError, "flight recorder snapshot failed",
			slog.String("route", req.route), slog.Any("error", err))
		return
	}
	log.LogAttrs(req.ctx, slog.LevelWarn, "flight recorder snapshot written",
		slog.String("file", path), slog.Int64("bytes", n),
		slog.Float64("write_ms", float64(time.Since(began).Microseconds())/1000),
		slog.String("route", req.route), slog.Float64("duration_ms", float64(req.elapsed.Microseconds())/1000))
	if err := r.prune(); err != nil {
		log.LogAttrs(req.ctx, slog.LevelError, "flight recorder could not remove old snapshots", slog.Any("error", err))
	}
	r.written.Add(1) // last: a reader of the counter finds the file in place
}

// maxFileBytes is the most one snapshot file may hold: MaxBytes is a hint to the runtime, not
// a bound, so a runaway window is cut off (and its file removed) rather than filling the disk.
func (r *Recorder) maxFileBytes() int64 {
	return int64(min(2*r.cfg.MaxBytes, 1<<31)) //nolint:gosec // bounded above
}

func (r *Recorder) writeFile(path string) (n int64, err error) {
	if !r.recording.Load() {
		return 0, errNotRecording
	}
	f, err := os.CreateTemp(r.cfg.Dir, ".partial-*")
	if err != nil {
		return 0, fmt.Errorf("create snapshot: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	n, err = r.WriteTo(&capWriter{w: f, left: r.maxFileBytes()})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errNotRecording) {
		return n, err
	}
	if err != nil {
		return n, fmt.Errorf("write snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("name snapshot: %w", err)
	}
	return n, nil
}

// prune removes the oldest snapshot files until MaxFiles remain. Names sort by time.
func (r *Recorder) prune() error {
	entries, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return err
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), r.cfg.Prefix+"-") && strings.HasSuffix(e.Name(), fileSuffix) {
			files = append(files, e.Name())
		}
	}
	slices.Sort(files)
	var errs []error
	for len(files) > r.cfg.MaxFiles {
		errs = append(errs, os.Remove(filepath.Join(r.cfg.Dir, files[0])))
		files = files[1:]
	}
	return errors.Join(errs...)
}

// errNotRecording is WriteTo's error while ModeAuto's recorder is not armed.
var errNotRecording = errors.New("the flight recorder is not recording")

// WriteTo writes a snapshot of the window to w. Concurrent calls take turns.
func (r *Recorder) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rg == nil {
		return 0, errNotRecording
	}
	return r.rg.WriteTo(w)
}

// Handler serves /debug/flightrecorder on the private listener:
//   - GET streams a snapshot of the window (409 while ModeAuto's recorder is not armed);
//   - POST arms ModeAuto's recorder for ?for=DURATION (or for=... in a form body; default
//     ArmFor, at most MaxArmFor; for=0 disarms), answering the state as JSON;
//   - DELETE disarms it.
//
// ModeOn's recorder always records: POST answers its state, DELETE 409.
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodPost:
			r.serveArm(w, req)
		case http.MethodDelete:
			r.serveDisarm(w, req)
		default:
			r.serveSnapshot(w, req)
		}
	})
}

// armHint tells an operator how to arm the recorder.
const armHint = "arm it with POST /debug/flightrecorder?for=5m, reproduce the problem, then GET again"

func (r *Recorder) serveSnapshot(w http.ResponseWriter, req *http.Request) {
	if !r.recording.Load() {
		http.Error(w, "the flight recorder is not recording: FLIGHT_RECORDER=auto records only after a slow "+
			"request or while the service sheds load; "+armHint, http.StatusConflict)
		return
	}
	name := fmt.Sprintf("%s-%s%s", r.cfg.Prefix, r.now().UTC().Format("20060102T150405Z"), fileSuffix)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if _, err := r.WriteTo(w); err != nil {
		if errors.Is(err, errNotRecording) { // disarmed in between: nothing was written yet
			w.Header().Del("Content-Disposition")
			http.Error(w, "the flight recorder stopped recording; "+armHint, http.StatusConflict)
			return
		}
		r.cfg.Logger.LogAttrs(req.Context(), slog.LevelWarn, "flight recorder snapshot not streamed", slog.Any("error", err))
	}
}

// maxArmBody caps the body of POST /debug/flightrecorder: a form with one short field.
const maxArmBody = 1 << 10

func (r *Recorder) serveArm(w http.ResponseWriter, req *http.Request) {
	req.Body = http.MaxBytesReader(w, req.Body, maxArmBody)
	if err := req.ParseForm(); err != nil {
		http.Error(w, "malformed query or form body (at most 1 KiB): want for=DURATION, e.g. for=5m", http.StatusBadRequest)
		return
	}
	d := r.cfg.ArmFor
	if raw := req.Form.Get("for"); raw != "" {
		var err error
		d, err = time.ParseDuration(raw)
		if err != nil || d < 0 || d > MaxArmFor {
			http.Error(w, fmt.Sprintf("for=%q: want a duration from 0s (disarm) to %s, e.g. for=5m", raw, MaxArmFor),
				http.StatusBadRequest)
			return
		}
	}
	if r.cfg.Mode != ModeAuto {
		r.writeStats(w) // ModeOn records anyway
		return
	}
	if d == 0 {
		r.Disarm(req.Context())
		r.writeStats(w)
		return
	}
	if _, err := r.Arm(req.Context(), d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.writeStats(w)
}

func (r *Recorder) serveDisarm(w http.ResponseWriter, req *http.Request) {
	if r.cfg.Mode != ModeAuto {
		http.Error(w, "FLIGHT_RECORDER=on records all the time and cannot be disarmed; "+
			"start the service with FLIGHT_RECORDER=auto to arm and disarm it", http.StatusConflict)
		return
	}
	r.Disarm(req.Context())
	r.writeStats(w)
}

func (r *Recorder) writeStats(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(r.Stats()) // the client went away; nothing else to do
}

// OffHandler serves /debug/flightrecorder when there is no recorder: FLIGHT_RECORDER=off
// (404 for GET, 409 for POST and DELETE, saying how to turn it on), or a build for a Go
// release without one (404 for GET, 501 for POST and DELETE, naming the alternative).
func OffHandler() http.Handler {
	msg, status := "the flight recorder is off (FLIGHT_RECORDER=off): start the service with "+
		"FLIGHT_RECORDER=auto or on", http.StatusConflict
	if !Supported {
		msg, status = "this build has no flight recorder (a Go 1.24 build; runtime/trace.FlightRecorder "+
			"needs Go 1.25): record a trace now with GET /debug/pprof/trace?seconds=5", http.StatusNotImplemented
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			http.Error(w, msg, http.StatusNotFound)
			return
		}
		http.Error(w, msg, status)
	})
}

// Close stops the snapshot writer (a snapshot in progress is finished) and the recorder.
func (r *Recorder) Close() {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		r.recording.Store(false)
		if r.rg != nil {
			r.rg.Stop()
			r.rg = nil
		}
	})
}

// capWriter fails once more than left bytes were written.
type capWriter struct {
	w    io.Writer
	left int64
}

var errTooLarge = errors.New("snapshot exceeds twice FLIGHT_RECORDER_MAX_BYTES")

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, errTooLarge
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}
