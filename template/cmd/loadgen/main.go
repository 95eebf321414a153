// Command loadgen drives a running service with HTTP requests, at a fixed rate or a fixed
// concurrency, for a fixed time, and reports throughput, status counts and latency
// percentiles. `make load`, `make profile` and `make pgo-compare` run it; it needs nothing
// beyond the standard library, so it builds wherever the service builds.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}
