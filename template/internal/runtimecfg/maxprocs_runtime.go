package runtimecfg

import (
	"log/slog"
	"runtime"
	"strings"
)

// setMaxProcs leaves GOMAXPROCS to the Go runtime: since Go 1.25 (with go >= 1.25 in go.mod)
// it follows the cgroup CPU limit, rounded up with a floor of 2, and re-checks it while the
// process runs. Calling runtime.GOMAXPROCS(n) here would switch that tracking off.
func setMaxProcs(_ *slog.Logger, getenv func(string) string) (int, string) {
	if strings.TrimSpace(getenv("GOMAXPROCS")) != "" {
		return runtime.GOMAXPROCS(0), "GOMAXPROCS environment variable"
	}
	return runtime.GOMAXPROCS(0), "go runtime (container-aware default)"
}
