package concurrency

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSourcesAreTheTemplates checks that internal/<pkg> holds exactly the
// template's non-test Go files of that package, linked rather than copied.
func TestSourcesAreTheTemplates(t *testing.T) {
	for _, pkg := range []string{"workerpool", "httpclient"} {
		want := goSources(t, filepath.Join("..", "..", "template", "internal", pkg))
		got := goSources(t, filepath.Join("internal", pkg))
		if !slices.Equal(got, want) {
			t.Errorf("internal/%s has %v, template has %v: run `go generate .`", pkg, got, want)
			continue
		}
		for _, name := range got {
			ours, err := os.Stat(filepath.Join("internal", pkg, name))
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := os.Stat(filepath.Join("..", "..", "template", "internal", pkg, name))
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(ours, theirs) {
				t.Errorf("internal/%s/%s is not a link to the template's file: run `go generate .`", pkg, name)
			}
		}
	}
}

func goSources(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			names = append(names, n)
		}
	}
	return names
}
