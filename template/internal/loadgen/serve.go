package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serviceStopTimeout bounds how long a served binary may take to exit after SIGTERM before it
// is killed; a clean shutdown of the service takes well under it.
const serviceStopTimeout = time.Minute

// logTailLines is how much of a served binary's log is printed when something failed.
const logTailLines = 30

// servedService is a service binary that -serve started for the duration of one run.
type servedService struct {
	cmd     *exec.Cmd
	exited  chan error // receives cmd.Wait's result once
	logPath string
	tmp     string
}

// freeLoopbackAddrs returns n distinct loopback addresses that were free a moment ago. All
// listeners stay open until every address is known, so no two are the same.
func freeLoopbackAddrs(ctx context.Context, n int) ([]string, error) {
	var lc net.ListenConfig
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// startService starts cfg.serve on free loopback addresses with a throwaway folder, its log
// in that folder, and points cfg at it. The environment is the caller's plus HTTP_ADDR,
// DEBUG_ADDR, METRICS_ADDR, FLIGHT_RECORDER_DIR (in the folder), SHUTDOWN_DRAIN_DELAY=0s and
// every -serve-env, in which {http}, {debug}, {metrics} and {tmp} stand for the three
// addresses and the folder.
func startService(ctx context.Context, cfg *config) (*servedService, error) {
	addrs, err := freeLoopbackAddrs(ctx, 3)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "loadgen-serve-")
	if err != nil {
		return nil, fmt.Errorf("-serve: %w", err)
	}
	expand := strings.NewReplacer("{http}", addrs[0], "{debug}", addrs[1], "{metrics}", addrs[2], "{tmp}", tmp).Replace
	env := append(os.Environ(),
		"HTTP_ADDR="+addrs[0],
		"DEBUG_ADDR="+addrs[1],
		// Never the default :9090 of every interface: runs must not collide.
		"METRICS_ADDR="+addrs[2],
		"FLIGHT_RECORDER_DIR="+filepath.Join(tmp, "flightrecorder"),
		// No load balancer to wait for: stop at once when the run is over.
		"SHUTDOWN_DRAIN_DELAY=0s",
	)
	for _, kv := range cfg.serveEnv {
		env = append(env, expand(kv))
	}
	logPath := filepath.Join(tmp, "service.log")
	logFile, err := os.Create(logPath) //nolint:gosec // a file in our own temporary folder
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("-serve: %w", err)
	}
	// The binary is the operator's own -serve argument, run without a shell.
	cmd := exec.Command(cfg.serve) //nolint:gosec,noctx // stopped with SIGTERM below, not a context
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("-serve %s: %w", cfg.serve, err)
	}
	_ = logFile.Close() // the child holds its own descriptor
	s := &servedService{cmd: cmd, exited: make(chan error, 1), logPath: logPath, tmp: tmp}
	go func() { s.exited <- cmd.Wait() }() // owned by stop, which always receives from exited
	cfg.baseURL, cfg.debugURL = "http://"+addrs[0], "http://"+addrs[1]
	if cfg.wait <= 0 {
		cfg.wait = 30 * time.Second
	}
	return s, nil
}

// stop ends the service with SIGTERM (SIGKILL after serviceStopTimeout), waits for it and
// removes its folder. It returns an error when the service did not exit cleanly, with the tail
// of its log written to logOut; with failed set the tail is written in any case.
func (s *servedService) stop(failed bool, logOut io.Writer) error {
	var err error
	select {
	case err = <-s.exited: // it ended on its own: that is a failure too
		if err == nil {
			err = errors.New("exited before the load was over")
		}
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(serviceStopTimeout)
		select {
		case err = <-s.exited:
			timer.Stop()
		case <-timer.C:
			_ = s.cmd.Process.Kill()
			<-s.exited //nolint:errcheck // killed: its exit status says nothing more
			err = fmt.Errorf("did not exit within %s of SIGTERM; killed", serviceStopTimeout)
		}
	}
	if err != nil {
		err = fmt.Errorf("served %s: %w", s.cmd.Path, err)
	}
	if err != nil || failed {
		writeLogTail(logOut, s.cmd.Path, s.logPath)
	}
	_ = os.RemoveAll(s.tmp) //nolint:gosec // the folder MkdirTemp made for this run
	return err
}

// writeLogTail copies the last logTailLines lines of the log at path to w.
func writeLogTail(w io.Writer, name, path string) {
	data, err := os.ReadFile(path) //nolint:gosec // our own log file
	if err != nil {
		return
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	lines = lines[max(0, len(lines)-logTailLines):]
	_, _ = fmt.Fprintf(w, "--- last lines of the log of %s:\n%s\n", name, bytes.Join(lines, []byte("\n")))
}
