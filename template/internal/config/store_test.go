package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestBatchAndReadinessSettings(t *testing.T) {
	env := map[string]string{"DATABASE_URL": anyDatabaseURL}
	cfg, err := Load([]string{"svc"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// Group commit needs no linger, and readiness does not follow a shared database unless asked.
	if cfg.BatchMaxDelay != 0 || cfg.ReadyzCheckDatabase {
		t.Errorf("BatchMaxDelay = %s, ReadyzCheckDatabase = %v; want 0 and false by default", cfg.BatchMaxDelay, cfg.ReadyzCheckDatabase)
	}
	env["BATCH_MAX_DELAY"] = "2ms"
	env["READYZ_CHECK_DATABASE"] = "true"
	cfg, err = Load([]string{"svc", "-readyz-check-database=false"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.BatchMaxDelay != 2*time.Millisecond || cfg.ReadyzCheckDatabase {
		t.Errorf("BatchMaxDelay = %s, ReadyzCheckDatabase = %v; want 2ms from the environment and false from the flag", cfg.BatchMaxDelay, cfg.ReadyzCheckDatabase)
	}
	env["BATCH_MAX_DELAY"] = "-1ms"
	if _, err := Load([]string{"svc"}, envOf(env), io.Discard); err == nil || !strings.Contains(err.Error(), "BATCH_MAX_DELAY") {
		t.Errorf("invalid BATCH_MAX_DELAY accepted: %v", err)
	}
}
