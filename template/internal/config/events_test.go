package config

import (
	"io"
	"strings"
	"testing"
)

func TestEventsWriteTimeout(t *testing.T) {
	env := map[string]string{"DATABASE_URL": anyDatabaseURL}
	cfg, err := Load([]string{"svc"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.EventsWriteTimeout != DefaultEventsWriteTimeout {
		t.Errorf("EventsWriteTimeout = %s, want %s", cfg.EventsWriteTimeout, DefaultEventsWriteTimeout)
	}
	env["EVENTS_WRITE_TIMEOUT"] = "0s"
	if _, err := Load([]string{"svc"}, envOf(env), io.Discard); err == nil || !strings.Contains(err.Error(), "EVENTS_WRITE_TIMEOUT") {
		t.Errorf("invalid EVENTS_WRITE_TIMEOUT accepted: %v", err)
	}
	env["BATCH_MAX_DELAY"] = "5s"
	env["EVENTS_WRITE_TIMEOUT"] = "5s"
	if _, err := Load([]string{"svc"}, envOf(env), io.Discard); err == nil || !strings.Contains(err.Error(), "shorter than EVENTS_WRITE_TIMEOUT") {
		t.Errorf("a linger as long as the request deadline accepted: %v", err)
	}
}
