package config

import "flag"

// registerWorkerPool adds the worker pool's flags, with their environment variables as
// defaults; 0 keeps internal/workerpool's own choice. The check it returns runs after parsing.
func (c *Config) registerWorkerPool(fs *flag.FlagSet, env *envReader) func() []error {
	fs.IntVar(&c.Workers, "workers", env.integer("WORKERS", 0), "worker pool size; 0 = GOMAXPROCS (WORKERS)")
	fs.IntVar(&c.QueueSize, "queue-size", env.integer("QUEUE_SIZE", 0), "worker pool queue bound; 0 = default (QUEUE_SIZE)")
	return func() []error {
		problems := appendIf(nil, c.Workers < 0, "WORKERS must not be negative, got %d", c.Workers)
		return appendIf(problems, c.QueueSize < 0, "QUEUE_SIZE must not be negative, got %d", c.QueueSize)
	}
}
