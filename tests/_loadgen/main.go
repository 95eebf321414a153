// Command loadgen drives a generated service over loopback for the reliability suite
// (tests/reliability/). It reads a JSON plan on stdin, runs every target's workers until
// the plan's duration, its request budget, a readiness failure (load-balancer mode) or SIGTERM
// ends the run, and prints one JSON summary on stdout: per target, the responses by status,
// 503s with and without Retry-After, transport errors by class and latency percentiles.
//
// Every run is bounded in time (duration_s, at most 120 s) and in count (max_requests, at most
// 5,000,000), and it refuses any URL that is not on a loopback address.
//
// The acked_file ledger has one line per events request: "<tag> <reqID> <events> <status>",
// status 0 when there was no answer. Tags:
//
//	A  answered 2xx: every event of the request is stored
//	N  answered with {"outcome": "not_stored"}: none is stored
//	M  answered with {"outcome": "unknown"}: either way
//	U  no answer (transport error, client timeout, hang-up): either way
//	R  refused before it was sent (status 0), or answered non-2xx without an outcome field
//	P  the request carried a poison event (poison_every), whatever the answer
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Hard ceilings, whatever the plan asks for.
const (
	maxDuration = 120 * time.Second
	maxRequests = 5_000_000
)

// Plan is the JSON document read from stdin.
type Plan struct {
	DurationS   float64  `json:"duration_s"`
	MaxRequests int64    `json:"max_requests"`
	TimeoutS    float64  `json:"timeout_s"`
	ReadyURL    string   `json:"ready_url"`  // when set: stop sending once it answers non-200
	AckedFile   string   `json:"acked_file"` // when set: one line per events request, see main
	Targets     []Target `json:"targets"`
}

// Target is one kind of request and the workers that send it.
type Target struct {
	Name        string `json:"name"`
	Method      string `json:"method"`
	URL         string `json:"url"`
	Concurrency int    `json:"concurrency"`
	// Body is sent as is when Events is 0.
	Body string `json:"body"`
	// Events > 0 makes every request a JSON array of that many events; with IDPrefix each event
	// carries a unique id in its payload (the request id and the event's index), otherwise
	// one body is built once and reused (for memory pressure, not for accounting).
	Events       int    `json:"events"`
	PayloadBytes int    `json:"payload_bytes"`
	IDPrefix     string `json:"id_prefix"`
	// IgnoreReady makes the target's workers go on after readiness failed (clients that do
	// not sit behind the load balancer); UntilRefused stops a worker at its first refused
	// connection (the listener has closed).
	IgnoreReady  bool `json:"ignore_ready"`
	UntilRefused bool `json:"until_refused"`
	// PoisonEvery > 0 makes every k-th request of the target (IDPrefix required) carry, as its
	// last event, one payload that Go's JSON accepts and PostgreSQL's jsonb refuses (a lone
	// surrogate in a string or a key, a number beyond numeric's range, 200,000 digits),
	// rotating among them; its ledger tag is P.
	PoisonEvery int `json:"poison_every"`
	// TimeoutS overrides the plan's client timeout for this target (an impatient client
	// that gives up, closing its connection, before the answer).
	TimeoutS float64 `json:"timeout_s"`
	// HangUp sends each request whole over a new connection and closes it at once, without
	// reading an answer (ledger tag U).
	HangUp bool `json:"hang_up"`
	// PauseMS is how long each worker waits between two requests (0: none).
	PauseMS int `json:"pause_ms"`
}

// Summary is the JSON document written to stdout.
type Summary struct {
	ElapsedS           float64          `json:"elapsed_s"`
	StoppedBy          string           `json:"stopped_by"`
	ReadinessFailedAtS float64          `json:"readiness_failed_at_s,omitempty"`
	Targets            []*TargetSummary `json:"targets"`
}

// TargetSummary holds the figures of one target.
type TargetSummary struct {
	Name            string         `json:"name"`
	Sent            int64          `json:"sent"`
	Statuses        map[string]int `json:"statuses"`
	BusyWithRetry   int            `json:"busy_503_with_retry_after"`
	BusyNoRetry     int            `json:"busy_503_without_retry_after"`
	TransportErrors map[string]int `json:"transport_errors"`
	ErrorSamples    []string       `json:"error_samples"`
	FirstErrorAtS   float64        `json:"first_error_at_s,omitempty"`
	AckedEvents     int            `json:"acked_events"`
	BadAck          int            `json:"bad_ack"` // 202 whose "stored" differs from the events sent
	// Outcomes counts answers by status and the body's "outcome" ("503:not_stored",
	// "503:unknown", "503:none" without one, "202"), and "transport" for no answer.
	Outcomes map[string]int `json:"outcomes"`
	// RetryAfterBad counts 503s whose Retry-After is present but not an integer >= 1.
	RetryAfterBad  int            `json:"retry_after_bad"`
	RetryAfterMax  int            `json:"retry_after_max"`
	Poisoned       int            `json:"poisoned"`
	PoisonStatuses map[string]int `json:"poison_statuses"`
	HungUp         int            `json:"hung_up"`
	// BodySamples keeps the first answer body of each status:outcome pair (truncated).
	BodySamples map[string]string  `json:"body_samples"`
	LatencyMS   map[string]float64 `json:"latency_ms"`
	RPS         float64            `json:"rps"`

	mu        sync.Mutex
	latencies []time.Duration
}

type result struct {
	status     int
	retryAfter string
	latency    time.Duration
	err        error
	body       []byte
	outcome    string // the answer body's "outcome" field, "" when absent
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run() error {
	var plan Plan
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	duration := min(time.Duration(plan.DurationS*float64(time.Second)), maxDuration)
	if duration <= 0 {
		return errors.New("duration_s must be positive")
	}
	budget := plan.MaxRequests
	if budget <= 0 || budget > maxRequests {
		budget = maxRequests
	}
	timeout := time.Duration(plan.TimeoutS * float64(time.Second))
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	total := 0
	for _, t := range plan.Targets {
		if err := checkLoopback(t.URL); err != nil {
			return err
		}
		if t.Concurrency <= 0 || t.Concurrency > 1024 {
			return fmt.Errorf("target %s: concurrency must be 1..1024", t.Name)
		}
		total += t.Concurrency
	}
	if plan.ReadyURL != "" {
		if err := checkLoopback(plan.ReadyURL); err != nil {
			return err
		}
	}

	transport := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        total,
		MaxIdleConnsPerHost: total, // the default of 2 would make most requests dial anew
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	client := &http.Client{Transport: transport, Timeout: timeout}
	defer transport.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// stoppedBy is the first reason the run began to end.
	var reasonMu sync.Mutex
	stoppedBy := ""
	setReason := func(why string) {
		reasonMu.Lock()
		if stoppedBy == "" {
			stoppedBy = why
		}
		reasonMu.Unlock()
	}
	stop := func(why string) {
		setReason(why)
		cancel()
	}
	anyIgnoresReady := slices.ContainsFunc(plan.Targets, func(t Target) bool { return t.IgnoreReady })
	go func() {
		select {
		case <-sigs:
			stop("signal")
		case <-ctx.Done():
		}
	}()

	start := time.Now()
	var readyFailedAt atomic.Int64
	var readyFailed atomic.Bool
	var watcher sync.WaitGroup
	if plan.ReadyURL != "" {
		// A load balancer's view: poll readiness and stop sending new requests once it fails.
		// Requests already in flight go on to their response.
		watcher.Add(1)
		go func() {
			defer watcher.Done()
			probe := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				resp, err := probe.Get(plan.ReadyURL)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				if !ok {
					readyFailedAt.Store(int64(time.Since(start)))
					readyFailed.Store(true)
					setReason("readiness")
					if !anyIgnoresReady {
						cancel()
					}
					return
				}
			}
		}()
	}

	var acked *bufio.Writer
	var ackedMu sync.Mutex
	if plan.AckedFile != "" {
		f, err := os.Create(plan.AckedFile)
		if err != nil {
			return err
		}
		defer f.Close()
		acked = bufio.NewWriter(f)
		defer acked.Flush()
	}
	record := func(tag, reqID string, n, status int) {
		if acked == nil || reqID == "" {
			return
		}
		ackedMu.Lock()
		fmt.Fprintf(acked, "%s %s %d %d\n", tag, reqID, n, status)
		ackedMu.Unlock()
	}

	var sent atomic.Int64
	summaries := make([]*TargetSummary, len(plan.Targets))
	var workers sync.WaitGroup
	fmt.Fprintln(os.Stderr, "loadgen: started")
	for ti, t := range plan.Targets {
		ts := &TargetSummary{
			Name: t.Name, Statuses: map[string]int{}, TransportErrors: map[string]int{},
			Outcomes: map[string]int{}, PoisonStatuses: map[string]int{}, BodySamples: map[string]string{},
		}
		summaries[ti] = ts
		var static []byte
		if t.Events == 0 {
			static = []byte(t.Body)
		} else if t.IDPrefix == "" {
			static = eventsBody("", t.Events, t.PayloadBytes)
		}
		tclient := client
		if t.TimeoutS > 0 {
			tclient = &http.Client{Transport: transport, Timeout: time.Duration(t.TimeoutS * float64(time.Second))}
		}
		var requests atomic.Int64 // of this target, for poison_every
		for w := range t.Concurrency {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for seq := 0; ; seq++ {
					if seq > 0 && t.PauseMS > 0 {
						select {
						case <-ctx.Done():
						case <-time.After(time.Duration(t.PauseMS) * time.Millisecond):
						}
					}
					if ctx.Err() != nil || (!t.IgnoreReady && readyFailed.Load()) {
						return
					}
					if sent.Add(1) > budget {
						stop("max_requests")
						return
					}
					body, reqID := static, ""
					poison := -1
					if body == nil {
						reqID = fmt.Sprintf("%s-%d-%d", t.IDPrefix, w, seq)
						if k := int64(t.PoisonEvery); k > 0 {
							if n := requests.Add(1); n%k == 0 {
								poison = int((n/k - 1) % int64(len(poisons)))
							}
						}
						body = eventsBodyPoison(reqID, t.Events, t.PayloadBytes, poison)
					}
					if t.HangUp {
						// The request is sent whole; the client leaves before any answer.
						err := hangUp(t.URL, t.Method, body)
						ts.mu.Lock()
						ts.Sent++
						if err != nil {
							ts.TransportErrors[classify(err)]++
							if len(ts.ErrorSamples) < 5 {
								ts.ErrorSamples = append(ts.ErrorSamples, err.Error())
							}
						} else {
							ts.HungUp++
						}
						ts.mu.Unlock()
						switch {
						case err != nil && errors.Is(err, syscall.ECONNREFUSED):
							record("R", reqID, t.Events, 0)
						case poison >= 0:
							record("P", reqID, t.Events, 0)
						default:
							record("U", reqID, t.Events, 0)
						}
						continue
					}
					// The request is not tied to ctx: once sent, it runs to its response
					// (bounded by the client timeout) even when the run is being stopped.
					res := do(tclient, t.Method, t.URL, body)
					ts.add(res, time.Since(start), poison >= 0)
					switch {
					case res.err != nil && t.UntilRefused && errors.Is(res.err, syscall.ECONNREFUSED):
						// Never connected: nothing was sent, so the outcome is known.
						record("R", reqID, t.Events, 0)
						return
					case poison >= 0:
						record("P", reqID, t.Events, res.status) // status 0: no answer
					case res.err != nil:
						record("U", reqID, t.Events, 0) // outcome unknown to the client
					case res.status >= 200 && res.status < 300 && t.Events > 0:
						var ack struct {
							Stored int `json:"stored"`
						}
						if json.Unmarshal(res.body, &ack) != nil || ack.Stored != t.Events {
							ts.mu.Lock()
							ts.BadAck++
							ts.mu.Unlock()
						}
						ts.mu.Lock()
						ts.AckedEvents += t.Events
						ts.mu.Unlock()
						record("A", reqID, t.Events, res.status)
					case res.outcome == "not_stored":
						record("N", reqID, t.Events, res.status)
					case res.outcome == "unknown":
						record("M", reqID, t.Events, res.status)
					default:
						record("R", reqID, t.Events, res.status)
					}
				}
			}()
		}
	}
	workers.Wait()
	elapsed := time.Since(start)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		setReason("duration")
	}
	setReason("workers done") // every worker stopped on its own (readiness, refused)
	cancel()
	watcher.Wait()

	out := Summary{ElapsedS: elapsed.Seconds(), StoppedBy: stoppedBy, Targets: summaries}
	if at := readyFailedAt.Load(); at > 0 {
		out.ReadinessFailedAtS = time.Duration(at).Seconds()
	}
	for _, ts := range summaries {
		ts.finish(elapsed)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}

func do(client *http.Client, method, target string, body []byte) result {
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err, latency: time.Since(t0)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	lat := time.Since(t0)
	if err != nil {
		return result{err: fmt.Errorf("read response: %w", err), latency: lat}
	}
	res := result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), latency: lat, body: data}
	if resp.StatusCode >= 300 {
		var answer struct {
			Outcome string `json:"outcome"`
		}
		if json.Unmarshal(data, &answer) == nil {
			res.outcome = answer.Outcome
		}
	}
	return res
}

// hangUp sends one request whole over a connection of its own and closes the connection at
// once, before any answer can arrive: a client that gave up.
func hangUp(target, method string, body []byte) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n", method, u.RequestURI(), u.Host, len(body))
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		return err
	}
	return nil
}

func (ts *TargetSummary) add(r result, at time.Duration, poisoned bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.Sent++
	ts.latencies = append(ts.latencies, r.latency)
	if poisoned {
		ts.Poisoned++
		ts.PoisonStatuses[strconv.Itoa(r.status)]++ // "0": no answer
	}
	if r.err != nil {
		ts.Outcomes["transport"]++
		class := classify(r.err)
		ts.TransportErrors[class]++
		if len(ts.ErrorSamples) < 5 {
			ts.ErrorSamples = append(ts.ErrorSamples, r.err.Error())
		}
		if ts.FirstErrorAtS == 0 {
			ts.FirstErrorAtS = at.Seconds()
		}
		return
	}
	ts.Statuses[strconv.Itoa(r.status)]++
	key := strconv.Itoa(r.status)
	if r.status >= 300 {
		key += ":" + cmp.Or(r.outcome, "none")
	}
	ts.Outcomes[key]++
	if _, ok := ts.BodySamples[key]; !ok && r.status >= 300 {
		ts.BodySamples[key] = string(r.body[:min(len(r.body), 200)])
	}
	if r.status == http.StatusServiceUnavailable {
		if r.retryAfter != "" {
			ts.BusyWithRetry++
			secs, err := strconv.Atoi(r.retryAfter)
			if err != nil || secs < 1 {
				ts.RetryAfterBad++
			}
			ts.RetryAfterMax = max(ts.RetryAfterMax, secs)
		} else {
			ts.BusyNoRetry++
		}
	}
}

func (ts *TargetSummary) finish(elapsed time.Duration) {
	slices.Sort(ts.latencies)
	pct := func(p float64) float64 {
		if len(ts.latencies) == 0 {
			return 0
		}
		i := min(int(p*float64(len(ts.latencies))), len(ts.latencies)-1)
		return float64(ts.latencies[i].Microseconds()) / 1000
	}
	ts.LatencyMS = map[string]float64{"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1)}
	ts.RPS = float64(ts.Sent) / elapsed.Seconds()
	ts.latencies = nil
}

// classify names a transport error: refused (nobody listening), reset (the peer sent RST),
// eof (the connection closed before a response), timeout, or other.
func classify(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if strings.Contains(err.Error(), "server closed idle connection") {
		return "eof"
	}
	return "other"
}

// poisons are payload members that Go's encoding/json accepts (json.Valid) and PostgreSQL's
// jsonb refuses: a lone surrogate escape in a string and in a key ("invalid input syntax"),
// numbers beyond numeric's range either way, and 200,000 digits ("value overflows numeric").
var poisons = []string{
	`"s":"\ud800"`,
	`"\udc00":1`,
	`"n":1e1000000`,
	`"n":1e-1000000`,
	`"n":` + strings.Repeat("9", 200_000),
}

// eventsBodyPoison is eventsBody with, when poison >= 0, the last event's payload carrying
// poisons[poison] (and its id) instead of the padding.
func eventsBodyPoison(reqID string, n, payloadBytes, poison int) []byte {
	body := eventsBody(reqID, n, payloadBytes)
	if poison < 0 {
		return body
	}
	last := bytes.LastIndex(body, []byte(`{"kind":`))
	var b bytes.Buffer
	b.Write(body[:last])
	fmt.Fprintf(&b, `{"kind":"load","payload":{"id":"%s.%d",%s}}]`, reqID, n-1, poisons[poison])
	return b.Bytes()
}

// eventsBody returns a JSON array of n events; with reqID each payload carries the id
// "<reqID>.<index>", padded to about payloadBytes.
func eventsBody(reqID string, n, payloadBytes int) []byte {
	pad := strings.Repeat("x", max(payloadBytes-40, 0))
	var b bytes.Buffer
	b.Grow(n * (payloadBytes + 64))
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"kind":"load","payload":{"id":"%s.%d","pad":"%s"}}`, reqID, i, pad)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// checkLoopback refuses any target that is not on this machine's loopback interface.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad url %q: %w", raw, err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing %q: load goes to loopback addresses only", raw)
	}
	return nil
}
