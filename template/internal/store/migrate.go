package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
)

// This file is the package's own migration runner. github.com/pressly/goose/v3
// was considered and rejected: its v3.30 go.mod requires go 1.26 and pulls in
// the modules of every database it supports (ClickHouse, MSSQL, YDB, Vertica,
// libsql, ...), so it cannot serve services generated for Go 1.24 or 1.25, and
// it would add dozens of modules for a task that needs about a hundred lines.
//
// Rules: files are named NNNN_description.sql; versions are applied in
// ascending order, each in its own transaction together with its row in
// schema_migrations, so a failed migration leaves no trace and the next start
// retries it. An applied migration is never applied again; change the schema
// by adding a file, never by editing one.

// migration is one embedded SQL file.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations reads every *.sql file in dir of fsys, ordered by version.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	ms := make([]migration, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %q: name must look like 0001_description.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: version, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}

// applyFunc applies m in one transaction unless schema_migrations already
// records it, and reports whether it applied it.
type applyFunc func(ctx context.Context, m migration) (bool, error)

// applyMigrations runs apply for every migration in order and logs the ones
// it applied.
func applyMigrations(ctx context.Context, ms []migration, logger *slog.Logger, apply applyFunc) error {
	applied := 0
	for _, m := range ms {
		ran, err := apply(ctx, m)
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		if ran {
			applied++
			logger.LogAttrs(ctx, slog.LevelInfo, "migration applied",
				slog.Int64("version", m.version), slog.String("name", m.name))
		}
	}
	logger.LogAttrs(ctx, slog.LevelDebug, "migrations up to date",
		slog.Int("known", len(ms)), slog.Int("applied_now", applied))
	return nil
}
