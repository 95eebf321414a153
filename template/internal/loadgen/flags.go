package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is the validated command line.
type config struct {
	baseURL          string
	debugURL         string
	endpoints        string
	mix              []scenario // scenarios repeated by weight; workers take them in turn
	duration         time.Duration
	warmup           time.Duration
	timeout          time.Duration
	wait             time.Duration
	concurrency      int
	rate             float64
	eventsPerRequest int
	cpuProfile       string
	jsonOut          bool
	benchName        string
	freeAddrs        int
	serve            string   // a service binary to start for the run (-serve)
	serveEnv         []string // KEY=VALUE added to its environment (-serve-env)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// maxConcurrency bounds -concurrency: beyond it the generator, not the service, is measured.
const maxConcurrency = 4096

func parseFlags(args []string, defaultEndpoints string, stderr io.Writer) (*config, error) {
	name := "loadgen"
	if len(args) > 0 {
		name, args = filepath.Base(args[0]), args[1:]
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{}
	fs.StringVar(&cfg.baseURL, "url", "http://127.0.0.1:8080", "base URL of the service's public listener")
	fs.StringVar(&cfg.endpoints, "endpoints", defaultEndpoints,
		"comma-separated request mix, each name[:weight]; names: livez, readyz, jobs, fanout, events, count")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "load sent before measuring starts (connections, caches), not counted")
	fs.IntVar(&cfg.concurrency, "concurrency", 8, "requests in flight at most (one connection each)")
	fs.Float64Var(&cfg.rate, "rate", 0, "requests per second in total; 0 sends the next request as soon as one answers")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "timeout of one request")
	fs.DurationVar(&cfg.wait, "wait", 0, "first wait up to this long for GET /readyz to answer 200")
	fs.IntVar(&cfg.eventsPerRequest, "events-per-request", 10, "events in one POST /v1/events body")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "while measuring, fetch a CPU profile from -debug-url and write it to this file")
	fs.StringVar(&cfg.debugURL, "debug-url", "http://127.0.0.1:6060", "base URL of the service's private debug listener")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as JSON")
	fs.StringVar(&cfg.benchName, "bench-name", "",
		"print the report as one Go benchmark line named Benchmark<NAME>, for benchstat")
	fs.IntVar(&cfg.freeAddrs, "free-addrs", 0, "only print this many unused loopback addresses, one a line")
	fs.StringVar(&cfg.serve, "serve", "",
		"start this service binary on free loopback addresses for the run, stop it with SIGTERM afterwards "+
			"(its log is printed if anything failed)")
	fs.Var((*stringList)(&cfg.serveEnv), "serve-env",
		"KEY=VALUE for the -serve binary's environment (repeatable); {http}, {debug}, {metrics} and {tmp} stand for its "+
			"public, debug and metrics addresses and a throwaway folder")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var addrsGiven bool
	fs.Visit(func(f *flag.Flag) { addrsGiven = addrsGiven || f.Name == "url" || f.Name == "debug-url" })
	err := cfg.validate()
	if cfg.serve != "" && addrsGiven {
		err = errors.Join(err, errors.New("-serve picks the service's addresses itself: drop -url and -debug-url"))
	}
	return cfg, err
}

// validate checks the flags together and builds the request mix; it reports every problem.
func (cfg *config) validate() error {
	var errs []error
	base, err := checkURL("-url", cfg.baseURL)
	errs = append(errs, err)
	cfg.baseURL = base
	if cfg.cpuProfile != "" {
		debugBase, err := checkURL("-debug-url", cfg.debugURL)
		errs = append(errs, err)
		cfg.debugURL = debugBase
		if cfg.duration < time.Second {
			errs = append(errs, errors.New("-cpuprofile needs -duration of at least 1s"))
		}
	}
	if cfg.duration <= 0 {
		errs = append(errs, errors.New("-duration must be positive"))
	}
	if cfg.warmup < 0 || cfg.wait < 0 || cfg.timeout <= 0 {
		errs = append(errs, errors.New("-warmup and -wait must not be negative, -timeout must be positive"))
	}
	if cfg.concurrency < 1 || cfg.concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("-concurrency must be between 1 and %d", maxConcurrency))
	}
	if cfg.rate < 0 || math.IsNaN(cfg.rate) || math.IsInf(cfg.rate, 0) {
		errs = append(errs, errors.New("-rate must be a finite number, 0 or more"))
	}
	if cfg.eventsPerRequest < 1 || cfg.eventsPerRequest > 1000 {
		errs = append(errs, errors.New("-events-per-request must be between 1 and 1000"))
	}
	if cfg.freeAddrs < 0 || cfg.freeAddrs > 16 {
		errs = append(errs, errors.New("-free-addrs must be between 0 and 16"))
	}
	for _, kv := range cfg.serveEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("-serve-env takes KEY=VALUE, got %q", kv))
		}
	}
	if len(cfg.serveEnv) > 0 && cfg.serve == "" {
		errs = append(errs, errors.New("-serve-env needs -serve"))
	}
	if cfg.benchName != "" && (cfg.jsonOut || strings.ContainsAny(cfg.benchName, " \t\n")) {
		errs = append(errs, errors.New("-bench-name takes one word and excludes -json"))
	}
	mix, err := parseMix(cfg.endpoints, knownScenarios(max(cfg.eventsPerRequest, 1)))
	errs = append(errs, err)
	cfg.mix = mix
	return errors.Join(errs...)
}

// checkURL accepts an http(s) URL with a host and returns it without a trailing slash.
func checkURL(flagName, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return raw, fmt.Errorf("%s must be an http(s) URL such as http://127.0.0.1:8080, got %q", flagName, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// maxWeight bounds one endpoint's weight in the mix.
const maxWeight = 100

// parseMix turns "jobs:2,events" into the scenarios repeated by weight, interleaved so that
// any run of consecutive requests already has the intended proportions.
func parseMix(spec string, known map[string]scenario) ([]scenario, error) {
	type weighted struct {
		sc     scenario
		weight int
	}
	var entries []weighted
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, weightText, hasWeight := strings.Cut(item, ":")
		sc, ok := known[name]
		if !ok {
			names := slices.Sorted(maps.Keys(known))
			return nil, fmt.Errorf("-endpoints: unknown endpoint %q (known: %s)", name, strings.Join(names, ", "))
		}
		weight := 1
		if hasWeight {
			w, err := strconv.Atoi(weightText)
			if err != nil || w < 1 || w > maxWeight {
				return nil, fmt.Errorf("-endpoints: weight of %q must be a whole number from 1 to %d", name, maxWeight)
			}
			weight = w
		}
		entries = append(entries, weighted{sc: sc, weight: weight})
	}
	if len(entries) == 0 {
		return nil, errors.New("-endpoints: name at least one endpoint")
	}
	var mix []scenario
	for round := 0; ; round++ {
		added := false
		for _, e := range entries {
			if round < e.weight {
				mix = append(mix, e.sc)
				added = true
			}
		}
		if !added {
			return mix, nil
		}
	}
}
