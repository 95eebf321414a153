package config

import (
	"flag"
	"strings"
)

// DefaultDatabaseURL, file:data/<project name>.db, keeps the embedded database under ./data/,
// which .gitignore excludes.
const DefaultDatabaseURL = "file:data/" + projectName + ".db"

// registerDatabaseURL adds -database-url for SQLite: a file or URI, ./data/ by default.
func (c *Config) registerDatabaseURL(fs *flag.FlagSet, env *envReader) func() []error {
	fs.StringVar(&c.DatabaseURL, "database-url", env.str("DATABASE_URL", DefaultDatabaseURL), "SQLite database file or URI (DATABASE_URL)")
	return func() []error {
		return appendIf(nil, strings.TrimSpace(c.DatabaseURL) == "", "DATABASE_URL must not be empty")
	}
}
