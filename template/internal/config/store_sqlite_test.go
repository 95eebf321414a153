package config

import (
	"io"
	"testing"
)

func TestSQLiteDatabaseURLDefault(t *testing.T) {
	cfg, err := Load([]string{"svc"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.DatabaseURL != DefaultDatabaseURL {
		t.Errorf("DatabaseURL = %q", cfg.DatabaseURL)
	}
}
