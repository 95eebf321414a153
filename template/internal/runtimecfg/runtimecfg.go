// Package runtimecfg sizes the Go runtime to the container it runs in: GOMAXPROCS from the
// CPU quota and GOMEMLIMIT from the memory limit, and reports what it chose and why.
package runtimecfg

import (
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// DefaultMemLimitRatio is the share of the container's memory limit given to GOMEMLIMIT.
// The remaining 10% is headroom for memory the Go runtime does not account for (thread
// stacks, cgo, the page cache of files it writes) so the garbage collector works harder
// before the kernel's OOM killer steps in; the Go GC guide recommends 5-10%.
const DefaultMemLimitRatio = 0.9

// Info records the effective runtime sizing and where each value came from.
type Info struct {
	GOMAXPROCS       int    `json:"gomaxprocs"`
	GOMAXPROCSSource string `json:"gomaxprocs_source"`
	GOMEMLIMIT       int64  `json:"gomemlimit"`
	GOMEMLIMITSource string `json:"gomemlimit_source"`
	// ContainerMemoryLimit is the cgroup memory limit in bytes, or 0 when there is none.
	ContainerMemoryLimit uint64 `json:"container_memory_limit"`
}

// Apply sets GOMAXPROCS and GOMEMLIMIT for the container and logs the result. getenv is the
// service's environment; an explicit GOMEMLIMIT (read by the runtime itself at start) always
// wins over the ratio, and GOMEMLIMIT_RATIO=off turns the memory limit wiring off.
func Apply(logger *slog.Logger, getenv func(string) string) (Info, error) {
	var info Info
	info.GOMAXPROCS, info.GOMAXPROCSSource = setMaxProcs(logger, getenv)

	ratio, enabled, err := parseRatio(getenv("GOMEMLIMIT_RATIO"))
	if err != nil {
		return Info{}, err
	}
	switch {
	case strings.TrimSpace(getenv("GOMEMLIMIT")) != "":
		info.GOMEMLIMITSource = "GOMEMLIMIT environment variable"
	case !enabled:
		info.GOMEMLIMITSource = "disabled by GOMEMLIMIT_RATIO=off"
	default:
		limit, err := memlimit.FromCgroup()
		switch {
		case err == nil:
			info.ContainerMemoryLimit = limit
			goal := int64(math.Min(float64(limit)*ratio, math.MaxInt64))
			debug.SetMemoryLimit(goal)
			info.GOMEMLIMITSource = fmt.Sprintf("%g of the cgroup memory limit", ratio)
		case errors.Is(err, memlimit.ErrNoLimit):
			info.GOMEMLIMITSource = "none: the cgroup sets no memory limit"
		default:
			// Not fatal: outside a container (or on a platform without cgroups) the service
			// runs with the runtime's default, like any Go program.
			info.GOMEMLIMITSource = "none: cgroup memory limit unreadable"
			logger.Warn("cannot read the cgroup memory limit; GOMEMLIMIT left unset", "error", err)
		}
	}
	info.GOMEMLIMIT = debug.SetMemoryLimit(-1)

	logger.Info("runtime sized",
		"gomaxprocs", info.GOMAXPROCS, "gomaxprocs_source", info.GOMAXPROCSSource,
		"gomemlimit", memLimitForLog(info.GOMEMLIMIT), "gomemlimit_source", info.GOMEMLIMITSource,
		"container_memory_limit", info.ContainerMemoryLimit, "num_cpu", runtime.NumCPU())
	return info, nil
}

// Publish adds the live sizing to vars: gomaxprocs and gomemlimit are read at each scrape,
// so a runtime that adjusts GOMAXPROCS to a changed quota is reported as it is now.
func (info Info) Publish(vars *expvar.Map) {
	vars.Set("gomaxprocs", expvar.Func(func() any { return runtime.GOMAXPROCS(0) }))
	vars.Set("gomemlimit", expvar.Func(func() any { return debug.SetMemoryLimit(-1) }))
	vars.Set("runtime_sizing", expvar.Func(func() any { return info }))
}

// SetProfileRates turns on the block and mutex profiles. Both are off by default because
// sampling every blocking event or contended lock costs time on the hot path; switch them on
// while investigating contention (a block rate of 10000 ns and a mutex fraction of 100 are
// cheap enough for a short session).
func SetProfileRates(blockRate, mutexFraction int) {
	runtime.SetBlockProfileRate(blockRate)
	runtime.SetMutexProfileFraction(mutexFraction)
}

// GoVersion reports the Go toolchain that built the binary.
func GoVersion() string { return runtime.Version() }

func parseRatio(raw string) (ratio float64, enabled bool, err error) {
	raw = strings.TrimSpace(raw)
	switch strings.ToLower(raw) {
	case "":
		return DefaultMemLimitRatio, true, nil
	case "off", "0", "false":
		return 0, false, nil
	}
	ratio, err = strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(ratio) || ratio <= 0 || ratio > 1 {
		return 0, false, fmt.Errorf("GOMEMLIMIT_RATIO %q: want a number in (0, 1], or off", raw)
	}
	return ratio, true, nil
}

// memLimitForLog is how the start-up log shows a memory limit: in bytes, or "none" for the
// runtime's "no limit" (math.MaxInt64), which as a number reads like a real limit.
func memLimitForLog(limit int64) any {
	if limit == math.MaxInt64 {
		return "none"
	}
	return limit
}
