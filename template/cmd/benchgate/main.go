// Command benchgate is the benchmark-regression gate (`make bench-gate`): it benchmarks a base
// revision, checked out in a temporary git worktree, and the working tree in alternating
// rounds, compares the two with benchstat (pinned in go.mod) and exits 1 when a change that
// benchstat calls significant makes sec/op, B/op or allocs/op worse by more than -threshold
// percent, or makes them grow from zero (a zero-allocation path that now allocates). It prints
// only the significant changes and a one-line verdict; benchstat's full table is saved as
// benchstat.txt beside the raw results.
//
//	go run ./cmd/benchgate -base origin/main [-bench .] [-skip re] [-count 10] [-benchtime 100ms]
//	                       [-threshold 10] [-alpha 0.05] [-out bench-results/gate] [packages]
//
// Alternating rounds (base, head, head, base, ...) expose both sides to the same background
// load, so a busy minute cannot favour one of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errRegression):
		os.Exit(1)
	case err != nil:
		fmt.Fprintf(os.Stderr, "benchgate: %v\n", err)
		os.Exit(2)
	}
}

// run parses the flags, measures both sides, saves benchstat's full comparison beside the
// results and prints the significant changes and the verdict. It returns errRegression when
// the gate fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.out, 0o750); err != nil {
		return err
	}
	base, head, err := measure(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	table, err := benchstat(ctx, cfg, base, head, "text")
	if err != nil {
		return err
	}
	tablePath := filepath.Join(cfg.out, "benchstat.txt")
	if err := os.WriteFile(tablePath, []byte(table), 0o600); err != nil {
		return err
	}
	csv, err := benchstat(ctx, cfg, base, head, "csv")
	if err != nil {
		return err
	}
	comparisons, err := parseBenchstatCSV(csv)
	if err != nil {
		return err
	}
	report, regressions := cfg.rule.report(comparisons, tablePath)
	_, _ = io.WriteString(stdout, report)
	if len(regressions) > 0 {
		return errRegression
	}
	return nil
}

// errRegression is run's result when the gate fails.
var errRegression = errors.New("significant benchmark regression")
