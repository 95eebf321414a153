package config

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults of the listener, logging, request and shutdown settings; each is documented in the
// README's configuration table.
const (
	DefaultHTTPAddr           = ":8080"
	DefaultDebugAddr          = "127.0.0.1:6060"
	DefaultMaxBodyBytes       = 1 << 20
	DefaultShutdownDrainDelay = 5 * time.Second
	DefaultShutdownTimeout    = 20 * time.Second
)

// registerServer adds the flags of the public and debug listeners, the log level, the request
// body cap and the shutdown, with their environment variables as defaults. The check it returns
// validates them once the flags are parsed.
func (c *Config) registerServer(fs *flag.FlagSet, env *envReader) func() []error {
	fs.StringVar(&c.HTTPAddr, "http-addr", env.str("HTTP_ADDR", DefaultHTTPAddr), "public listen address (HTTP_ADDR)")
	debugAddr := fs.String("debug-addr", env.str("DEBUG_ADDR", DefaultDebugAddr), `private pprof/expvar listen address, or "off" (DEBUG_ADDR)`)
	fs.BoolVar(&c.DebugAllowExternal, "debug-allow-external", env.boolean("DEBUG_ALLOW_EXTERNAL", false), "allow a non-loopback debug address (DEBUG_ALLOW_EXTERNAL)")
	logLevel := fs.String("log-level", env.str("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", env.int64("MAX_BODY_BYTES", DefaultMaxBodyBytes), "request body cap in bytes (MAX_BODY_BYTES)")
	fs.DurationVar(&c.ShutdownDrainDelay, "shutdown-drain-delay", env.duration("SHUTDOWN_DRAIN_DELAY", DefaultShutdownDrainDelay), "readiness fails this long before the listener closes (SHUTDOWN_DRAIN_DELAY)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", env.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout), "deadline for the graceful shutdown (SHUTDOWN_TIMEOUT)")
	return func() []error {
		var problems []error
		if err := checkAddr("HTTP_ADDR", c.HTTPAddr); err != nil {
			problems = append(problems, err)
		}
		if !strings.EqualFold(*debugAddr, "off") {
			c.DebugAddr = *debugAddr
			if err := checkAddr("DEBUG_ADDR", c.DebugAddr); err != nil {
				problems = append(problems, err)
			} else if !IsLoopback(c.DebugAddr) && !c.DebugAllowExternal {
				problems = append(problems, fmt.Errorf("DEBUG_ADDR %q is not a loopback address: pprof would be reachable from the network; set DEBUG_ALLOW_EXTERNAL=true to allow it", c.DebugAddr))
			}
		}
		if err := c.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
			problems = append(problems, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", *logLevel))
		}
		problems = appendIf(problems, c.MaxBodyBytes <= 0, "MAX_BODY_BYTES must be positive, got %d", c.MaxBodyBytes)
		problems = appendIf(problems, c.ShutdownDrainDelay < 0, "SHUTDOWN_DRAIN_DELAY must not be negative, got %s", c.ShutdownDrainDelay)
		problems = appendIf(problems, c.ShutdownTimeout <= 0, "SHUTDOWN_TIMEOUT must be positive, got %s", c.ShutdownTimeout)
		return problems
	}
}

// IsLoopback reports whether addr (host:port) can only be reached from this machine.
// An empty host means every interface, which is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: want host:port, e.g. :8080 or 127.0.0.1:6060", name, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s %q: port must be a number from 0 to 65535", name, addr)
	}
	return nil
}
