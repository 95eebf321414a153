package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// newTransport clones the standard transport and changes only what a load generator needs.
func newTransport(concurrency int) *http.Transport {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		base = &http.Transport{}
	}
	t := base.Clone()
	// Measure the service, not a proxy that the environment may name.
	t.Proxy = nil
	// The default keeps 2 idle connections per host: every other worker would open a new
	// connection per request and the run would measure TCP set-up and exhaust ephemeral ports.
	t.MaxIdleConnsPerHost = concurrency
	t.MaxIdleConns = concurrency + 2
	return t
}

// send makes one request and reads the whole response, so the connection can be reused.
func send(ctx context.Context, client *http.Client, base string, sc scenario) (int, error) {
	var body io.Reader
	if sc.body != nil {
		body = bytes.NewReader(sc.body)
	}
	// The operator names the target on the command line; sending requests there is the
	// whole point, so gosec's request-forgery check does not apply.
	req, err := http.NewRequestWithContext(ctx, sc.method, base+sc.path, body) //nolint:gosec // G704: target from the command line
	if err != nil {
		return 0, err
	}
	if sc.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req) //nolint:gosec // G704: target from the command line
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, nil
}

// generate sends load for warmup + duration (longer if a CPU profile is still being taken)
// and returns what was measured after the warm-up. Every goroutine it starts has ended when
// it returns.
func generate(ctx context.Context, transport *http.Transport, cfg *config) (*report, error) {
	client := &http.Client{Transport: transport, Timeout: cfg.timeout}
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()

	var wg sync.WaitGroup
	var ticks chan time.Time
	if cfg.rate > 0 {
		ticks = make(chan time.Time, cfg.concurrency)
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace(loadCtx, cfg.rate, start, ticks)
		}()
	}
	recorders := make([]*recorder, cfg.concurrency)
	for i := range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recorders[i] = work(loadCtx, client, cfg, i, ticks, measureFrom)
		}()
	}

	// profileDone is closed once the profile was written or failed; without -cpuprofile at once.
	profileDone := make(chan struct{})
	var profileErr error
	if cfg.cpuProfile == "" {
		close(profileDone)
	} else {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(profileDone)
			profileErr = captureProfile(ctx, transport, cfg, measureFrom)
		}()
	}

	// The load stops at the end of the measured window, but never before the profile is in,
	// so the whole profile sees load.
	end := time.NewTimer(time.Until(measureFrom.Add(cfg.duration)))
	select {
	case <-end.C:
	case <-ctx.Done():
	}
	end.Stop()
	select {
	case <-profileDone:
	case <-ctx.Done():
	}
	stopped := time.Now()
	stopLoad()
	wg.Wait()
	if profileErr != nil {
		return nil, fmt.Errorf("cpu profile: %w", profileErr)
	}

	rep := newReport(cfg, recorders, stopped.Sub(measureFrom))
	if rep.Seconds <= 0 {
		return nil, errors.New("stopped before the warm-up ended: nothing was measured")
	}
	return rep, nil
}

// pace emits the scheduled send time of every request at rate per second until ctx ends.
// The schedule is fixed in advance: when the service falls behind, the late requests go out
// back to back and their latency counts from the time they were due, so a slow service
// cannot hide its queueing (coordinated omission).
func pace(ctx context.Context, rate float64, start time.Time, ticks chan<- time.Time) {
	defer close(ticks)
	interval := time.Duration(float64(time.Second) / rate)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		}
		select {
		case ticks <- due:
		case <-ctx.Done():
			return
		}
	}
}

// work is one worker: it sends a request whenever the pacer says so (rate mode) or as soon as
// its previous request answered (closed loop), taking the mix's scenarios in turn.
func work(ctx context.Context, client *http.Client, cfg *config, id int, ticks <-chan time.Time,
	measureFrom time.Time,
) *recorder {
	rec := newRecorder()
	for n := id; ; n++ {
		began := time.Now()
		if ticks != nil {
			select {
			case due, ok := <-ticks:
				if !ok {
					return rec
				}
				began = due
			case <-ctx.Done():
				return rec
			}
		} else if ctx.Err() != nil {
			return rec
		}
		sc := cfg.mix[n%len(cfg.mix)]
		status, err := send(ctx, client, cfg.baseURL, sc)
		if ctx.Err() != nil {
			return rec // cut off by the end of the run: neither a success nor a failure
		}
		if began.Before(measureFrom) {
			continue // warm-up
		}
		rec.add(sc.name, status, err, time.Since(began))
	}
}
