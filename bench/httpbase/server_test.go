package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSettingsMatchTheTemplate keeps the fair baseline fair: its timeouts, header limit and
// body cap are the generated service's, read from the template's sources.
func TestSettingsMatchTheTemplate(t *testing.T) {
	ours := read(t, "server.go")
	server := read(t, filepath.Join("..", "..", "template", "internal", "server", "server.go.jinja"))
	config := read(t, filepath.Join("..", "..", "template", "internal", "config", "server.go"))
	for ourName, theirs := range map[string]struct{ name, source string }{
		"readHeaderTimeout": {"ReadHeaderTimeout", server},
		"readTimeout":       {"ReadTimeout", server},
		"writeTimeout":      {"WriteTimeout", server},
		"idleTimeout":       {"IdleTimeout", server},
		"maxHeaderBytes":    {"MaxHeaderBytes", server},
		"maxBodyBytes":      {"DefaultMaxBodyBytes", config},
	} {
		want := constant(t, theirs.source, theirs.name)
		if got := constant(t, ours, ourName); got != want {
			t.Errorf("%s = %s, the template's %s = %s", ourName, got, theirs.name, want)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path) //nolint:gosec // the repository's own files
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// constant returns the expression a const declaration line gives name, spaces removed.
func constant(t *testing.T, source, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*([^/\n]+)`).FindStringSubmatch(source)
	if m == nil {
		t.Fatalf("no constant %s", name)
	}
	return strings.ReplaceAll(strings.TrimSpace(m[1]), " ", "")
}

func TestModesServeTheFixedBodies(t *testing.T) {
	for _, mode := range []string{"fair", "bare"} {
		srv, err := newServer(mode)
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]string{"/livez": livezBody, "/readyz": readyzBody} {
			rec := httptest.NewRecorder()
			srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s %s = %d %q %q", mode, path, rec.Code, rec.Body, rec.Header())
			}
		}
	}
	if _, err := newServer("other"); err == nil {
		t.Error("newServer(other) = nil error")
	}
}

func TestFairModeCapsBodies(t *testing.T) {
	srv, err := newServer("fair")
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/livez", strings.NewReader(strings.Repeat("x", maxBodyBytes+1)))
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body = %d, want 413", rec.Code)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-mode", "bare", "-addr", addr}, func(string) string { return "" }, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/livez") //nolint:noctx // a test poll
		if err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
	}
}
