package config

import (
	"io"
	"testing"
)

func TestUpstreamURLsAreValidated(t *testing.T) {
	env := map[string]string{"UPSTREAM_URLS": "http://a.test/x, https://b.test/y", "DATABASE_URL": anyDatabaseURL}
	cfg, err := Load([]string{"svc"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(cfg.UpstreamURLs) != 2 {
		t.Errorf("UpstreamURLs = %v", cfg.UpstreamURLs)
	}
	env["UPSTREAM_URLS"] = "ftp://c.test"
	if _, err := Load([]string{"svc"}, envOf(env), io.Discard); err == nil {
		t.Error("non-http upstream accepted")
	}
}
