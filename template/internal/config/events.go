package config

import (
	"flag"
	"time"
)

// DefaultEventsWriteTimeout covers a database restart (a few seconds of retries) and stays
// well below the public listener's 30 s WriteTimeout, so the 503 still reaches the client.
const DefaultEventsWriteTimeout = 10 * time.Second

// registerEvents adds the flag of POST /v1/events (examples with a database), with its
// environment variable as default. The check it returns validates it, and the batch linger
// against it, once the flags are parsed.
func (c *Config) registerEvents(fs *flag.FlagSet, env *envReader) func() []error {
	fs.DurationVar(&c.EventsWriteTimeout, "events-write-timeout", env.duration("EVENTS_WRITE_TIMEOUT", DefaultEventsWriteTimeout), "how long POST /v1/events waits for its commit, retries included, before 503 (EVENTS_WRITE_TIMEOUT)")
	return func() []error {
		problems := appendIf(nil, c.EventsWriteTimeout <= 0, "EVENTS_WRITE_TIMEOUT must be positive, got %s", c.EventsWriteTimeout)
		return appendIf(problems, c.BatchMaxDelay >= c.EventsWriteTimeout, "BATCH_MAX_DELAY (%s) must be shorter than EVENTS_WRITE_TIMEOUT (%s): a lone event would never commit in time", c.BatchMaxDelay, c.EventsWriteTimeout)
	}
}
