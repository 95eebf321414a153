// Command benchgate is the benchmark-regression gate (`make bench-gate`): it benchmarks a base
// revision, checked out in a temporary git worktree, and the working tree in alternating
// rounds, compares the two with benchstat (pinned in go.mod) and exits 1 when a change that
// benchstat calls significant makes sec/op, B/op or allocs/op worse by more than -threshold
// percent.
//
//	go run ./cmd/benchgate -base origin/main [-bench .] [-skip re] [-count 8] [-benchtime 100ms]
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

// run parses the flags, measures both sides and prints benchstat's comparison and the verdict.
// It returns errRegression when the gate fails.
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
	_, _ = io.WriteString(stdout, table)
	csv, err := benchstat(ctx, cfg, base, head, "csv")
	if err != nil {
		return err
	}
	comparisons, err := parseBenchstatCSV(csv)
	if err != nil {
		return err
	}
	regressions := cfg.rule.regressions(comparisons)
	_, _ = io.WriteString(stdout, cfg.rule.verdict(comparisons, regressions))
	if len(regressions) > 0 {
		return errRegression
	}
	return nil
}

// errRegression is run's result when the gate fails.
var errRegression = errors.New("significant benchmark regression")
