package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) func(string) string {
	return func(key string) string { return kv[key] }
}

// anyDatabaseURL is a DATABASE_URL that every database answer accepts (and none ignores).
const anyDatabaseURL = "postgres://localhost:5432/app"

func TestLoadDefaults(t *testing.T) {
	env := map[string]string{"DATABASE_URL": anyDatabaseURL}
	cfg, err := Load([]string{"svc"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTPAddr != DefaultHTTPAddr || cfg.DebugAddr != DefaultDebugAddr {
		t.Errorf("addresses = %q, %q; want defaults", cfg.HTTPAddr, cfg.DebugAddr)
	}
	if cfg.ShutdownDrainDelay != DefaultShutdownDrainDelay || cfg.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("shutdown = %s/%s; want defaults", cfg.ShutdownDrainDelay, cfg.ShutdownTimeout)
	}
	if cfg.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("MaxBodyBytes = %d", cfg.MaxBodyBytes)
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	kv := map[string]string{
		"HTTP_ADDR":            ":9000",
		"SHUTDOWN_DRAIN_DELAY": "1s",
		"DATABASE_URL":         anyDatabaseURL,
	}
	cfg, err := Load([]string{"svc", "-http-addr", "127.0.0.1:9100"}, envOf(kv), io.Discard)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9100" {
		t.Errorf("HTTPAddr = %q; the flag must win", cfg.HTTPAddr)
	}
	if cfg.ShutdownDrainDelay != time.Second {
		t.Errorf("ShutdownDrainDelay = %s; the environment must win over the default", cfg.ShutdownDrainDelay)
	}
}

func TestDebugListenerStaysLoopbackUnlessAllowed(t *testing.T) {
	base := map[string]string{"DEBUG_ADDR": "0.0.0.0:6060", "DATABASE_URL": anyDatabaseURL}
	_, err := Load([]string{"svc"}, envOf(base), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DEBUG_ALLOW_EXTERNAL") {
		t.Fatalf("non-loopback DEBUG_ADDR accepted without opt-in: %v", err)
	}
	base["DEBUG_ALLOW_EXTERNAL"] = "true"
	cfg, err := Load([]string{"svc"}, envOf(base), io.Discard)
	if err != nil {
		t.Fatalf("opt-in refused: %v", err)
	}
	if cfg.DebugAddr != "0.0.0.0:6060" {
		t.Errorf("DebugAddr = %q", cfg.DebugAddr)
	}
	base["DEBUG_ADDR"] = "off"
	cfg, err = Load([]string{"svc"}, envOf(base), io.Discard)
	if err != nil || cfg.DebugAddr != "" {
		t.Errorf("DEBUG_ADDR=off: cfg.DebugAddr=%q err=%v; want disabled", cfg.DebugAddr, err)
	}
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	env := envOf(map[string]string{
		"HTTP_ADDR":        "nonsense",
		"SHUTDOWN_TIMEOUT": "soon",
		"MAX_BODY_BYTES":   "-1",
		"LOG_LEVEL":        "loud",
	})
	_, err := Load([]string{"svc"}, env, io.Discard)
	if err == nil {
		t.Fatal("Load accepted invalid values")
	}
	for _, want := range []string{"HTTP_ADDR", "SHUTDOWN_TIMEOUT", "MAX_BODY_BYTES", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestUnknownFlagAndStrayArguments(t *testing.T) {
	if _, err := Load([]string{"svc", "-no-such-flag"}, envOf(nil), io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, err := Load([]string{"svc", "extra"}, envOf(nil), io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestIsLoopback(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1:6060": true,
		"localhost:6060": true,
		"[::1]:6060":     true,
		":6060":          false,
		"0.0.0.0:6060":   false,
		"10.0.0.1:6060":  false,
	}
	for addr, want := range cases {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
