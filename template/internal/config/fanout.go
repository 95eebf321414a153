package config

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of GET /v1/fanout (examples only).
const (
	DefaultFanoutTimeout = 2 * time.Second
	DefaultFanoutLimit   = 8
)

// registerFanout adds the flags of GET /v1/fanout, with their environment variables as
// defaults. The check it returns validates them once the flags are parsed.
func (c *Config) registerFanout(fs *flag.FlagSet, env *envReader) func() []error {
	upstreams := fs.String("upstream-urls", env.str("UPSTREAM_URLS", ""), "comma-separated upstream URLs for GET /v1/fanout (UPSTREAM_URLS)")
	fs.DurationVar(&c.FanoutTimeout, "fanout-timeout", env.duration("FANOUT_TIMEOUT", DefaultFanoutTimeout), "deadline of one fan-out request (FANOUT_TIMEOUT)")
	fs.IntVar(&c.FanoutLimit, "fanout-limit", env.integer("FANOUT_LIMIT", DefaultFanoutLimit), "upstream calls in flight per request (FANOUT_LIMIT)")
	return func() []error {
		var problems []error
		for _, raw := range strings.Split(*upstreams, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				problems = append(problems, fmt.Errorf("UPSTREAM_URLS: %q is not an http(s) URL", raw))
				continue
			}
			c.UpstreamURLs = append(c.UpstreamURLs, u.String())
		}
		problems = appendIf(problems, c.FanoutTimeout <= 0, "FANOUT_TIMEOUT must be positive, got %s", c.FanoutTimeout)
		return appendIf(problems, c.FanoutLimit <= 0, "FANOUT_LIMIT must be positive, got %d", c.FanoutLimit)
	}
}
