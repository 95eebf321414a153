package config

import (
	"errors"
	"flag"
	"net/url"
	"strings"
)

// registerDatabaseURL adds -database-url for PostgreSQL: required, and a postgres:// URL.
func (c *Config) registerDatabaseURL(fs *flag.FlagSet, env *envReader) func() []error {
	fs.StringVar(&c.DatabaseURL, "database-url", env.str("DATABASE_URL", ""), "PostgreSQL URL, e.g. postgres://user@host:5432/db (DATABASE_URL, required)")
	return func() []error {
		if c.DatabaseURL == "" {
			// The example's database is the project's name as an SQL identifier ('-' becomes '_').
			database := strings.ReplaceAll(projectName, "-", "_")
			return []error{errors.New("DATABASE_URL is required (e.g. postgres://user:password@localhost:5432/" + database + "?sslmode=disable)")}
		}
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return []error{errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL")}
		}
		return nil
	}
}
