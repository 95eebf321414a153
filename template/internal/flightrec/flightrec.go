// Package flightrec keeps the last seconds of the Go execution trace in memory (the runtime's
// flight recorder) and writes them out when they are worth reading: after a slow request, as
// a file in a directory, at most one per interval and never more than a fixed number of files;
// and on demand, streamed by the private debug listener.
//
// A trace shows what a CPU profile cannot: goroutines waiting for the scheduler, for a lock,
// for the network or for the garbage collector, and which of them held up the slow request.
// Open a file with `go tool trace FILE`.
package flightrec

import (
	"context"
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
	// led up to it: 10 s covers a request five times the fan-out's 2 s deadline.
	DefaultMinAge = 10 * time.Second
	// DefaultMaxBytes caps the window's memory and so each snapshot's size (the runtime's own
	// default is 10 MiB). Under full load the service writes about 1-2 MB of trace per
	// second per CPU, so 16 MiB keeps several seconds even when MinAge cannot be met.
	DefaultMaxBytes = 16 << 20
	// DefaultInterval is the least time between two snapshots of slow requests. A burst of
	// slow requests usually has one cause, and one trace shows it; one snapshot a minute
	// costs a few milliseconds of a writer goroutine and bounds the disk writes.
	DefaultInterval = time.Minute
	// DefaultMaxFiles is how many snapshots the directory keeps; the oldest is removed first.
	// With DefaultMaxBytes the directory stays under about 5 x 32 MiB.
	DefaultMaxFiles = 5
)

// fileSuffix ends the name of every snapshot file; pruning only ever removes such files.
const fileSuffix = ".trace"

// ErrUnsupported is returned by Start when the service was built for a Go release without
// runtime/trace.FlightRecorder (Go 1.24).
var ErrUnsupported = errors.New("the flight recorder needs Go 1.25 or later (runtime/trace.FlightRecorder)")

// Config configures Start. Zero fields take the defaults above.
type Config struct {
	// Dir receives the snapshots of slow requests. It is created if missing. Empty: slow
	// requests are not snapshotted (the on-demand handler still works).
	Dir string
	// Prefix starts every file name (the service's name).
	Prefix   string
	MinAge   time.Duration
	MaxBytes uint64
	Interval time.Duration
	MaxFiles int
	// Logger gets one line per snapshot written (with its file name) or failed.
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

// Recorder runs the flight recorder and the goroutine that writes snapshots of slow
// requests. Close stops both.
type Recorder struct {
	cfg  Config
	ring ring
	now  func() time.Time

	writing sync.Mutex   // one WriteTo at a time (the runtime refuses a second)
	last    atomic.Int64 // UnixNano of the last accepted slow request, 0 before the first
	slow    chan slowRequest
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Start starts the flight recorder and, when cfg.Dir is set, the snapshot writer. It fails
// when the directory cannot be created or written, or the runtime has no flight recorder.
func Start(cfg Config) (*Recorder, error) {
	return start(cfg, newRing(cfg.withDefaults()), time.Now)
}

func (c Config) withDefaults() Config {
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
	return c
}

func start(cfg Config, rg ring, now func() time.Time) (*Recorder, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir != "" {
		if err := checkDir(cfg.Dir); err != nil {
			return nil, err
		}
	}
	if err := rg.Start(); err != nil {
		return nil, fmt.Errorf("start the flight recorder: %w", err)
	}
	r := &Recorder{
		cfg:  cfg,
		ring: rg,
		now:  now,
		slow: make(chan slowRequest, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
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

// Slow reports a request that took elapsed. The first slow request of each Interval is
// snapshotted; the others return at once. Slow never blocks, so the server's middleware
// calls it inline.
func (r *Recorder) Slow(ctx context.Context, route string, elapsed time.Duration) {
	if r.cfg.Dir == "" {
		return
	}
	now := r.now().UnixNano()
	last := r.last.Load()
	if last != 0 && now-last < int64(r.cfg.Interval) {
		return
	}
	if !r.last.CompareAndSwap(last, now) {
		return // another slow request of this instant won
	}
	select {
	case r.slow <- slowRequest{ctx: context.WithoutCancel(ctx), route: route, elapsed: elapsed}:
	default: // the previous snapshot is still being written
	}
}

// run writes the snapshots of slow requests until Close.
func (r *Recorder) run() {
	defer close(r.done)
	for {
		select {
		case req := <-r.slow:
			r.snapshotToDir(req)
		case <-r.stop:
			return
		}
	}
}

// snapshotToDir writes the window to a new file in Dir, then removes the oldest files beyond
// MaxFiles. The file appears under its final name only once complete.
func (r *Recorder) snapshotToDir(req slowRequest) {
	log := r.cfg.Logger
	name := fmt.Sprintf("%s-%s%s", r.cfg.Prefix, r.now().UTC().Format("20060102T150405.000Z"), fileSuffix)
	path := filepath.Join(r.cfg.Dir, name)
	began := time.Now()
	n, err := r.writeFile(path)
	if err != nil {
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
}

// maxFileBytes is the most one snapshot file may hold: MaxBytes is a hint to the runtime, not
// a bound, so a runaway window is cut off (and its file removed) rather than filling the disk.
func (r *Recorder) maxFileBytes() int64 {
	return int64(min(2*r.cfg.MaxBytes, 1<<31)) //nolint:gosec // bounded above
}

func (r *Recorder) writeFile(path string) (n int64, err error) {
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

// WriteTo writes a snapshot of the window to w. Concurrent calls take turns.
func (r *Recorder) WriteTo(w io.Writer) (int64, error) {
	r.writing.Lock()
	defer r.writing.Unlock()
	return r.ring.WriteTo(w)
}

// Handler streams a snapshot: GET /debug/flightrecorder on the private listener.
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := fmt.Sprintf("%s-%s%s", r.cfg.Prefix, r.now().UTC().Format("20060102T150405Z"), fileSuffix)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		if _, err := r.WriteTo(w); err != nil {
			r.cfg.Logger.LogAttrs(req.Context(), slog.LevelWarn, "flight recorder snapshot not streamed", slog.Any("error", err))
		}
	})
}

// Close stops the snapshot writer (a snapshot in progress is finished) and the recorder.
func (r *Recorder) Close() {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.writing.Lock()
		defer r.writing.Unlock()
		r.ring.Stop()
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
