// Package loadgen drives a running service with HTTP requests, at a fixed rate or a fixed
// concurrency, for a fixed time, and reports throughput, status counts and latency percentiles.
// cmd/loadgen is its command; `make load`, `make profile` and `make pgo-compare` run it. It needs
// nothing beyond the standard library, so it builds wherever the service builds.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Run is the whole program: parse the flags (args[0] is the program name), optionally wait for
// readiness, generate load, print the report. defaultEndpoints is the request mix used when
// -endpoints is not given. Ctrl-C ends the load early and still prints what was measured.
func Run(ctx context.Context, args []string, defaultEndpoints string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := parseFlags(args, defaultEndpoints, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	if cfg.freeAddrs > 0 {
		return printFreeAddrs(ctx, stdout, cfg.freeAddrs)
	}

	if cfg.serve != "" {
		svc, err := startService(ctx, cfg)
		if err != nil {
			return err
		}
		err = load(ctx, cfg, stdout)
		return errors.Join(err, svc.stop(err != nil, stderr))
	}
	return load(ctx, cfg, stdout)
}

// load waits for readiness when asked, generates the load and writes the report.
func load(ctx context.Context, cfg *config, stdout io.Writer) error {
	transport := newTransport(cfg.concurrency)
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: cfg.timeout}

	if cfg.wait > 0 {
		if err := waitReady(ctx, client, cfg.baseURL, cfg.wait); err != nil {
			return err
		}
	}
	rep, err := generate(ctx, transport, cfg)
	if err != nil {
		return err
	}
	switch {
	case cfg.benchName != "":
		err = rep.writeBench(stdout, cfg.benchName)
	case cfg.jsonOut:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	default:
		err = rep.writeText(stdout)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if rep.Responses == 0 {
		return fmt.Errorf("no request to %s got a response (is the service running?)", cfg.baseURL)
	}
	return nil
}

// printFreeAddrs prints n distinct loopback addresses that were free a moment ago. Fixed
// ports collide on a shared machine, and port 0 cannot be used when the service must be told
// its own address (the fan-out calls it) before it starts.
func printFreeAddrs(ctx context.Context, w io.Writer, n int) error {
	addrs, err := freeLoopbackAddrs(ctx, n)
	if err != nil {
		return err
	}
	for _, addr := range addrs {
		if _, err := fmt.Fprintln(w, addr); err != nil {
			return err
		}
	}
	return nil
}

// waitReady polls GET /readyz until it answers 200, for up to wait.
func waitReady(ctx context.Context, client *http.Client, base string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ready := scenario{name: "readyz", method: http.MethodGet, path: "/readyz"}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		status, err := send(ctx, client, base, ready)
		if err == nil && status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			return fmt.Errorf("%s/readyz did not answer 200 within %s: %w", base, wait, err)
		case <-tick.C:
		}
	}
}

// CheckEndpoints reports whether spec is a valid -endpoints request mix.
func CheckEndpoints(spec string) error {
	_, err := parseMix(spec, knownScenarios(1))
	return err
}
