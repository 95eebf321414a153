package runtimecfg

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"

	"go.uber.org/automaxprocs/maxprocs"
)

// setMaxProcs sets GOMAXPROCS from the cgroup CPU quota with go.uber.org/automaxprocs: the
// runtime of Go 1.24 and earlier ignores the quota and would schedule on every host CPU, and
// automaxprocs also honours quotas below one CPU (floor 1; the Go 1.25 runtime's floor is 2).
// An explicit GOMAXPROCS environment variable wins.
func setMaxProcs(logger *slog.Logger, getenv func(string) string) (int, string) {
	if strings.TrimSpace(getenv("GOMAXPROCS")) != "" {
		return runtime.GOMAXPROCS(0), "GOMAXPROCS environment variable"
	}
	if _, err := maxprocs.Set(maxprocs.Logger(func(format string, args ...any) {
		logger.Debug(fmt.Sprintf(format, args...))
	})); err != nil {
		logger.Warn("automaxprocs could not read the CPU quota; GOMAXPROCS left at the runtime default", "error", err)
		return runtime.GOMAXPROCS(0), "go runtime default (automaxprocs failed)"
	}
	return runtime.GOMAXPROCS(0), "automaxprocs (cgroup CPU quota)"
}
