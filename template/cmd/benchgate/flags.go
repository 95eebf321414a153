package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// config is the validated command line.
type config struct {
	base      string   // the git revision to compare with
	bench     string   // -test.bench
	skip      string   // -test.skip ("" skips nothing)
	count     int      // rounds: runs of every benchmark on each side
	benchtime string   // -test.benchtime of one run
	out       string   // folder for base.txt and head.txt
	packages  []string // package patterns, as for go test
	rule      rule
}

// Defaults: ten runs a side let benchstat's Mann-Whitney test call a 15% slowdown significant
// even when a run or two of each side were slowed by a busy neighbour (eight runs miss one in
// eight); a 10% threshold stays above the run-to-run noise of shared CI runners.
// TestTheShippedRuleOnSyntheticSamples measures both: the share of 15% slowdowns caught and
// of unchanged trees failed.
const (
	defaultCount     = 10
	defaultThreshold = 10.0
	defaultAlpha     = 0.05
	defaultUnits     = "sec/op,B/op,allocs/op"
)

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("benchgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprintln(fs.Output(), "usage: benchgate -base REVISION [flags] [packages]\n\n"+
			"Benchmarks REVISION (in a temporary git worktree) and the working tree in alternating rounds,\n"+
			"compares them with benchstat and exits 1 on a significant regression above -threshold percent\n"+
			"or from zero (0 -> 2 allocs/op). Prints the significant changes only; benchstat's full table\n"+
			"is saved in the -out folder as benchstat.txt.")
		fs.PrintDefaults()
	}
	cfg := &config{}
	fs.StringVar(&cfg.base, "base", "", "git revision to compare the working tree with (required), e.g. origin/main")
	fs.StringVar(&cfg.bench, "bench", ".", "benchmarks to run (go test -bench)")
	fs.StringVar(&cfg.skip, "skip", "", "benchmarks to leave out (go test -skip)")
	fs.IntVar(&cfg.count, "count", defaultCount, "runs of each benchmark on each side (at least 4)")
	fs.StringVar(&cfg.benchtime, "benchtime", "100ms", "duration or NNx count of one run (go test -benchtime)")
	fs.StringVar(&cfg.out, "out", "bench-results/gate", "folder for the raw results (base.txt, head.txt) and benchstat.txt")
	fs.Float64Var(&cfg.rule.threshold, "threshold", defaultThreshold,
		"fail when a significant change makes a median worse by more than this many percent (any increase from 0 fails)")
	fs.Float64Var(&cfg.rule.alpha, "alpha", defaultAlpha, "significance level (benchstat -alpha)")
	units := fs.String("units", defaultUnits, "comma-separated units where lower is better; others are shown, not gated")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.packages = fs.Args()
	if len(cfg.packages) == 0 {
		cfg.packages = []string{"./..."}
	}
	for u := range strings.SplitSeq(*units, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.rule.units = append(cfg.rule.units, u)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validate reports every problem with the flags at once.
func (cfg *config) validate() error {
	var errs []error
	if cfg.base == "" {
		errs = append(errs, errors.New("-base is required (a git revision, e.g. origin/main)"))
	}
	if strings.HasPrefix(cfg.base, "-") {
		errs = append(errs, fmt.Errorf("-base must be a revision, got %q", cfg.base))
	}
	for name, re := range map[string]string{"-bench": cfg.bench, "-skip": cfg.skip} {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if cfg.count < 4 {
		errs = append(errs, errors.New("-count must be at least 4: benchstat cannot call fewer runs significant"))
	}
	if !validBenchtime(cfg.benchtime) {
		errs = append(errs, fmt.Errorf("-benchtime must be a duration or a count like 100x, got %q", cfg.benchtime))
	}
	if cfg.rule.threshold < 0 {
		errs = append(errs, errors.New("-threshold must not be negative"))
	}
	if cfg.rule.alpha <= 0 || cfg.rule.alpha >= 1 {
		errs = append(errs, errors.New("-alpha must be between 0 and 1"))
	}
	if len(cfg.rule.units) == 0 {
		errs = append(errs, errors.New("-units must name at least one unit"))
	}
	return errors.Join(errs...)
}

func validBenchtime(s string) bool {
	if n, ok := strings.CutSuffix(s, "x"); ok {
		count, err := strconv.Atoi(n)
		return err == nil && count > 0
	}
	d, err := time.ParseDuration(s)
	return err == nil && d > 0
}
