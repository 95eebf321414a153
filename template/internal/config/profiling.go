package config

import "flag"

// registerProfiling adds the flags of the block and mutex profiles, which are off (0) unless
// asked for, with their environment variables as defaults. The check it returns runs after parsing.
func (c *Config) registerProfiling(fs *flag.FlagSet, env *envReader) func() []error {
	fs.IntVar(&c.BlockProfileRate, "block-profile-rate", env.integer("BLOCK_PROFILE_RATE", 0), "block profile rate in ns; 0 = off (BLOCK_PROFILE_RATE)")
	fs.IntVar(&c.MutexProfileFraction, "mutex-profile-fraction", env.integer("MUTEX_PROFILE_FRACTION", 0), "mutex profile fraction; 0 = off (MUTEX_PROFILE_FRACTION)")
	return func() []error {
		problems := appendIf(nil, c.BlockProfileRate < 0, "BLOCK_PROFILE_RATE must not be negative, got %d", c.BlockProfileRate)
		return appendIf(problems, c.MutexProfileFraction < 0, "MUTEX_PROFILE_FRACTION must not be negative, got %d", c.MutexProfileFraction)
	}
}
