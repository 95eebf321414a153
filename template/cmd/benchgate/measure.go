package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// side is one of the two trees being compared.
type side struct {
	name string // "base" or "head"
	root string // the module root of this side
	out  string // its results file
}

// pkg is a package with benchmarks, present on both sides.
type pkg struct {
	importPath string
	dirs       map[string]string // side name -> package folder
	binaries   map[string]string // side name -> test binary
}

// measure checks out cfg.base in a temporary worktree, builds the test binaries of every
// package with benchmarks on both sides, runs them in alternating rounds and returns the
// paths of the two results files.
func measure(ctx context.Context, cfg *config, stderr io.Writer) (basePath, headPath string, err error) {
	headRoot, err := gitOutput(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", fmt.Errorf("not in a git repository: %w", err)
	}
	commit, err := gitOutput(ctx, headRoot, "rev-parse", "--verify", "--quiet", cfg.base+"^{commit}")
	if err != nil {
		return "", "", fmt.Errorf("-base %s is not a commit here (fetch it first: git fetch origin): %w", cfg.base, err)
	}
	tmp, err := os.MkdirTemp("", "benchgate-")
	if err != nil {
		return "", "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	baseRoot := filepath.Join(tmp, "base")
	_, _ = gitOutput(ctx, headRoot, "worktree", "prune") // records of worktrees an interrupted run left
	if _, err := gitOutput(ctx, headRoot, "worktree", "add", "--detach", baseRoot, commit); err != nil {
		return "", "", err
	}
	defer func() {
		// context.WithoutCancel: the worktree is removed even when ctx ended (Ctrl-C).
		_, rmErr := gitOutput(context.WithoutCancel(ctx), headRoot, "worktree", "remove", "--force", baseRoot)
		err = errors.Join(err, rmErr)
	}()
	progress(stderr, "base %s = %s, head = the working tree %s", cfg.base, short(commit), headRoot)

	cwd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	rel, err := filepath.Rel(headRoot, cwd) // the module may sit below the repository root
	if err != nil {
		return "", "", err
	}
	sides := []side{
		{name: "base", root: filepath.Join(baseRoot, rel), out: filepath.Join(cfg.out, "base.txt")},
		{name: "head", root: cwd, out: filepath.Join(cfg.out, "head.txt")},
	}
	pkgs, err := packagesOnBothSides(ctx, cfg, sides, stderr)
	if err != nil {
		return "", "", err
	}
	if len(pkgs) == 0 {
		return "", "", fmt.Errorf("no package matching %s has benchmarks on both sides", strings.Join(cfg.packages, " "))
	}
	for i, p := range pkgs {
		for _, s := range sides {
			bin := filepath.Join(tmp, "bin", s.name, strconv.Itoa(i)+".test")
			progress(stderr, "build %s (%s)", p.importPath, s.name)
			// -pgo=off: both sides are compiled alike whatever profile each commit holds.
			if _, err := command(ctx, s.root, "go", "test", "-c", "-pgo=off", "-o", bin, p.importPath); err != nil {
				return "", "", err
			}
			p.binaries[s.name] = bin
		}
	}
	return sides[0].out, sides[1].out, runRounds(ctx, cfg, sides, pkgs, stderr)
}

// runRounds runs every package's benchmarks once per side per round, alternating which side
// goes first, and appends the output to each side's results file.
func runRounds(ctx context.Context, cfg *config, sides []side, pkgs []*pkg, stderr io.Writer) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			_ = f.Close() // a second Close after the checked one below is harmless
		}
	}()
	for _, s := range sides {
		f, err := os.Create(s.out)
		if err != nil {
			return err
		}
		files[s.name] = f
	}
	args := []string{"-test.run=^$", "-test.bench=" + cfg.bench, "-test.benchmem", "-test.count=1",
		"-test.benchtime=" + cfg.benchtime}
	if cfg.skip != "" {
		args = append(args, "-test.skip="+cfg.skip)
	}
	for round := range cfg.count {
		order := sides
		if round%2 == 1 {
			order = []side{sides[1], sides[0]}
		}
		for _, p := range pkgs {
			for _, s := range order {
				progress(stderr, "round %d/%d: %s (%s)", round+1, cfg.count, p.importPath, s.name)
				out, err := command(ctx, p.dirs[s.name], p.binaries[s.name], args...)
				if err != nil {
					return fmt.Errorf("%s benchmarks of %s: %w", s.name, p.importPath, err)
				}
				if _, err := files[s.name].Write(out); err != nil {
					return err
				}
			}
		}
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// packagesOnBothSides lists the packages matching cfg.packages that have benchmark functions
// on both sides; a package with benchmarks on one side only is named and left out.
func packagesOnBothSides(ctx context.Context, cfg *config, sides []side, stderr io.Writer) ([]*pkg, error) {
	found := map[string]*pkg{}
	var order []string
	for _, s := range sides {
		listArgs := append([]string{"list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .TestGoFiles \" \"}} {{join .XTestGoFiles \" \"}}"},
			cfg.packages...)
		out, err := command(ctx, s.root, "go", listArgs...)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			fields := strings.SplitN(sc.Text(), "\t", 3)
			if len(fields) != 3 || !hasBenchmarks(fields[1], strings.Fields(fields[2])) {
				continue
			}
			p := found[fields[0]]
			if p == nil {
				p = &pkg{importPath: fields[0], dirs: map[string]string{}, binaries: map[string]string{}}
				found[fields[0]] = p
				order = append(order, fields[0])
			}
			p.dirs[s.name] = fields[1]
		}
	}
	var pkgs []*pkg
	for _, path := range order {
		p := found[path]
		if len(p.dirs) != len(sides) {
			progress(stderr, "%s has benchmarks on one side only: not compared", path)
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func hasBenchmarks(dir string, files []string) bool {
	for _, name := range files {
		src, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // the package's own test files
		if err == nil && (bytes.HasPrefix(src, []byte("func Benchmark")) || bytes.Contains(src, []byte("\nfunc Benchmark"))) {
			return true
		}
	}
	return false
}

// benchstat compares the two results files with the benchstat pinned in go.mod.
func benchstat(ctx context.Context, cfg *config, base, head, format string) (string, error) {
	out, err := command(ctx, ".", "go", "tool", "benchstat", "-format", format,
		"-alpha", strconv.FormatFloat(cfg.rule.alpha, 'g', -1, 64), "base="+base, "head="+head)
	return string(out), err
}

// command runs name with args in dir and returns its standard output; a failure carries the
// command line and its standard error.
func command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // go, git and the test binaries built here
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := command(ctx, dir, "git", args...)
	return strings.TrimSpace(string(out)), err
}

func short(commit string) string { return commit[:min(12, len(commit))] }

func progress(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, "bench-gate: "+format+"\n", args...)
}
