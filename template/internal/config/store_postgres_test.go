package config

import (
	"io"
	"strings"
	"testing"
)

func TestPostgresNeedsDatabaseURL(t *testing.T) {
	_, err := Load([]string{"svc"}, envOf(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL is required") {
		t.Fatalf("missing DATABASE_URL: err = %v", err)
	}
}
