package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sampleCSV is `benchstat -format csv base=... head=...` output (trimmed): a significant 25%
// slowdown of Livez, an insignificant change of Stats, and a faster Readyz.
const sampleCSV = `goos: linux
goarch: amd64
pkg: example.com/svc/internal/server
cpu: AMD EPYC
,base,,head,,,
,sec/op,CI,sec/op,CI,vs base,P
Livez-2,2e-06,3%,2.5e-06,2%,+25.00%,p=0.000 n=8
Readyz-2,3e-06,1%,2.4e-06,1%,-20.00%,p=0.000 n=8
geomean,2.4e-06,,2.4e-06,,+0.00%,

,base,,head,,,
,allocs/op,CI,allocs/op,CI,vs base,P
Livez-2,7,0%,7,0%,~,p=1.000 n=8
Readyz-2,7,0%,7,0%,~,p=1.000 n=8
geomean,7,,7,,+0.00%,

pkg: example.com/svc/internal/workerpool
,base,,head,,,
,sec/op,CI,sec/op,CI,vs base,P
Stats-2,4.376e-08,∞,5.927e-08,∞,~,p=0.343 n=8
geomean,4.3759999999999976e-08,,2.9270000000000027e-08,,-33.11%,

,base,,head,,,
,req/s,CI,req/s,CI,vs base,P
Load-2,1000,1%,500,1%,-50.00%,p=0.000 n=8
`

func TestParseBenchstatCSV(t *testing.T) {
	cs, err := parseBenchstatCSV(sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 6 {
		t.Fatalf("parsed %d comparisons, want 6: %+v", len(cs), cs)
	}
	first := cs[0]
	if first.pkg != "example.com/svc/internal/server" || first.name != "Livez-2" || first.unit != "sec/op" ||
		first.base != 2e-06 || first.head != 2.5e-06 || first.delta != "+25.00%" || first.p != 0 {
		t.Errorf("first comparison = %+v", first)
	}
	if stats := cs[4]; stats.pkg != "example.com/svc/internal/workerpool" || stats.delta != "~" || math.Abs(stats.p-0.343) > 1e-9 {
		t.Errorf("Stats comparison = %+v", stats)
	}
	if _, err := parseBenchstatCSV("goos: linux\n"); err == nil {
		t.Error("a comparison of nothing passed")
	}
}

func TestOnlySignificantRegressionsAboveTheThresholdFail(t *testing.T) {
	cs, err := parseBenchstatCSV(sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	gated := rule{threshold: 10, alpha: 0.05, units: []string{"sec/op", "B/op", "allocs/op"}}
	got := gated.regressions(cs)
	if len(got) != 1 || got[0].name != "Livez-2" || got[0].unit != "sec/op" {
		t.Fatalf("regressions = %+v, want only Livez sec/op (Readyz got faster, Stats is noise, req/s is not gated)", got)
	}
	report, failed := gated.report(cs, "bench-results/gate/benchstat.txt")
	if len(failed) != 1 || !strings.Contains(report, "bench-gate: FAIL: 1 regression(s)") ||
		!strings.Contains(report, "REGRESSION example.com/svc/internal/server Livez-2 sec/op: 2µs -> 2.5µs (+25.0%, p=0.000)") {
		t.Errorf("report:\n%s", report)
	}

	lenient := gated
	lenient.threshold = 30
	if got := lenient.regressions(cs); len(got) != 0 {
		t.Errorf("a 25%% slowdown failed a 30%% threshold: %+v", got)
	}
	if report, _ := lenient.report(cs, "benchstat.txt"); !strings.Contains(report, "bench-gate: PASS") ||
		!strings.Contains(report, "worse      example.com/svc/internal/server Livez-2 sec/op: 2µs -> 2.5µs (+25.0%, p=0.000; within 30%)") {
		t.Errorf("report:\n%s", report)
	}

	strict := gated
	strict.alpha = 0.0001
	cs[0].p = 0.001
	if got := strict.regressions(cs); len(got) != 0 {
		t.Errorf("p=0.001 is significant at alpha 0.0001: %+v", got)
	}
	cs[0].p = math.NaN()
	if got := gated.regressions(cs); len(got) != 0 {
		t.Errorf("a comparison without a p-value failed the gate: %+v", got)
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-base", "origin/main", "./internal/..."}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.count != defaultCount || cfg.rule.threshold != defaultThreshold || cfg.benchtime != "100ms" ||
		len(cfg.packages) != 1 || len(cfg.rule.units) != 3 {
		t.Errorf("defaults = %+v", cfg)
	}
	for _, args := range [][]string{
		{},
		{"-base", "--upload-pack=x"},
		{"-base", "main", "-count", "3"},
		{"-base", "main", "-benchtime", "fast"},
		{"-base", "main", "-benchtime", "0x"},
		{"-base", "main", "-bench", "("},
		{"-base", "main", "-alpha", "1"},
		{"-base", "main", "-units", ","},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	for _, ok := range []string{"100ms", "2s", "500x"} {
		if !validBenchtime(ok) {
			t.Errorf("validBenchtime(%q) = false", ok)
		}
	}
}

func TestOutputListsOnlySignificantChanges(t *testing.T) {
	cs, err := parseBenchstatCSV(sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	gated := rule{threshold: defaultThreshold, alpha: defaultAlpha, units: strings.Split(defaultUnits, ",")}
	report, _ := gated.report(cs, "bench-results/gate/benchstat.txt")
	want := []string{
		"bench-gate: 3 significant change(s) (p < 0.05):",
		"  REGRESSION example.com/svc/internal/server Livez-2 sec/op: 2µs -> 2.5µs (+25.0%, p=0.000)",
		"  better     example.com/svc/internal/server Readyz-2 sec/op: 3µs -> 2.4µs (-20.0%, p=0.000)",
		"  changed    example.com/svc/internal/workerpool Load-2 req/s: 1000 -> 500 (-50.0%, p=0.000; not gated)",
		"bench-gate: FAIL: 1 regression(s) (significant (p < 0.05) and over 10% or from 0) in 5 comparisons of " +
			"sec/op, B/op, allocs/op; benchstat's table: bench-results/gate/benchstat.txt",
	}
	if got := strings.Split(strings.TrimSuffix(report, "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("report:\n%s\nwant:\n%s", report, strings.Join(want, "\n"))
	}
}

// zeroCSV is benchstat's comparison of zero-allocation benchmarks that started to allocate:
// benchstat cannot put a change from 0 in percent and writes "?" for it.
const zeroCSV = `pkg: example.com/svc/internal/server
,base,,head,,,
,sec/op,CI,sec/op,CI,vs base,P
Livez-2,2.7e-07,3%,2.8e-07,2%,~,p=0.161 n=8
Zero-2,0,0%,2e-09,5%,?,p=0.000 n=8
Tiny-2,3e-10,1%,3.6e-10,1%,+20.00%,p=0.000 n=8
Faster-2,0,0%,0,0%,~,p=1.000 n=8

,base,,head,,,
,B/op,CI,B/op,CI,vs base,P
Livez-2,0,0%,48,0%,?,p=0.000 n=8
Readyz-2,0,0%,0,0%,~,p=1.000 n=8
Freed-2,48,0%,0,0%,-100.00%,p=0.000 n=8

,base,,head,,,
,allocs/op,CI,allocs/op,CI,vs base,P
Livez-2,0,0%,2,0%,?,p=0.000 n=8
Readyz-2,0,0%,0,0%,~,p=1.000 n=8
Exact-2,0,0%,1,0%,?,n=8
`

func TestAnIncreaseFromZeroFails(t *testing.T) {
	cs, err := parseBenchstatCSV(zeroCSV)
	if err != nil {
		t.Fatal(err)
	}
	gated := rule{threshold: defaultThreshold, alpha: defaultAlpha, units: strings.Split(defaultUnits, ",")}
	var got []string
	for _, c := range gated.regressions(cs) {
		got = append(got, c.name+" "+c.unit)
	}
	want := []string{"Zero-2 sec/op", "Livez-2 B/op", "Livez-2 allocs/op", "Exact-2 allocs/op"}
	if !slices.Equal(got, want) {
		t.Errorf("regressions = %q, want %q (an increase of B/op or allocs/op from 0 fails whatever "+
			"the threshold; a time under 1ns is judged against 1ns)", got, want)
	}
	huge := gated
	huge.threshold = 1e6
	if n := len(huge.regressions(cs)); n != 3 {
		t.Errorf("%d regressions at a threshold of 1e6%%, want the 3 of B/op and allocs/op from zero", n)
	}
	report, _ := gated.report(cs, "benchstat.txt")
	for _, line := range []string{
		"  REGRESSION example.com/svc/internal/server Livez-2 B/op: 0B -> 48B (from 0, p=0.000)",
		"  REGRESSION example.com/svc/internal/server Livez-2 allocs/op: 0 -> 2 (from 0, p=0.000)",
		"  REGRESSION example.com/svc/internal/server Zero-2 sec/op: 0s -> 2ns (+200.0% of 1ns, p=0.000)",
		"  worse      example.com/svc/internal/server Tiny-2 sec/op: 0.3ns -> 0.36ns (+6.0% of 1ns, p=0.000; within 10%)",
		"  better     example.com/svc/internal/server Freed-2 B/op: 48B -> 0B (-100.0%, p=0.000)",
		"bench-gate: FAIL: 4 regression(s)",
	} {
		if !strings.Contains(report, line) {
			t.Errorf("report lacks %q:\n%s", line, report)
		}
	}
}

// noise is how a benchmark's runs scatter around its true time on a shared CI runner: a
// log-normal spread of sigma, and now and then (rate) a run that a busy neighbour slowed by
// 10-60%.
type noise struct{ sigma, rate float64 }

func (n noise) draw(r *rand.Rand, center float64) float64 {
	x := center * math.Exp(r.NormFloat64()*n.sigma)
	if r.Float64() < n.rate {
		x *= 1.1 + 0.5*r.Float64()
	}
	return x
}

// scenario is one synthetic benchmark, drawn with many seeds: its true time on each side, its
// bytes and allocations per op on each side, and the noise of its runs.
type scenario struct {
	name                   string
	baseNs, headNs         float64
	baseBytes, headBytes   int
	baseAllocs, headAllocs int
	noise                  noise
	seeds                  int
}

const seeds = 200

// A runner's usual noise (3% spread, one run in ten slowed) and a machine three times noisier.
var (
	quietRunner = noise{sigma: 0.03, rate: 0.1}
	busyRunner  = noise{sigma: 0.09, rate: 0.2}
)

// TestTheShippedRuleOnSyntheticSamples feeds benchmark results drawn with known changes and
// known noise (defaultCount runs a side, like `make bench-gate`) through the benchstat the gate
// runs and the gate's rule at its shipped threshold, and counts what fails: the gate's
// sensitivity and its false alarms, reproducibly (fixed seeds).
func TestTheShippedRuleOnSyntheticSamples(t *testing.T) {
	scenarios := []scenario{
		{name: "Unchanged", baseNs: 1000, headNs: 1000, noise: quietRunner, seeds: seeds},
		{name: "Slower5", baseNs: 1000, headNs: 1050, noise: quietRunner, seeds: seeds},
		{name: "Slower15", baseNs: 1000, headNs: 1150, noise: quietRunner, seeds: seeds},
		{name: "BusyUnchanged", baseNs: 1000, headNs: 1000, noise: busyRunner, seeds: seeds},
		{name: "BusySlower15", baseNs: 1000, headNs: 1150, noise: busyRunner, seeds: seeds},
		{name: "StartsToAllocate", baseNs: 250, headNs: 250, headBytes: 48, headAllocs: 2, noise: quietRunner, seeds: 1},
		{name: "EmptyLoop", baseNs: 0.3, headNs: 0.36, noise: noise{sigma: 0.01}, seeds: 1},
		{name: "LoopDoesWork", baseNs: 0.3, headNs: 2, noise: noise{sigma: 0.01}, seeds: 1},
	}
	dir := t.TempDir()
	basePath, headPath := filepath.Join(dir, "base.txt"), filepath.Join(dir, "head.txt")
	var base, head strings.Builder
	for _, b := range []*strings.Builder{&base, &head} {
		b.WriteString("goos: linux\ngoarch: amd64\npkg: example.com/svc/synthetic\n")
	}
	for si, sc := range scenarios {
		for seed := range sc.seeds {
			r := rand.New(rand.NewPCG(uint64(si), uint64(seed))) //nolint:gosec // reproducible test data
			for range defaultCount {
				fmt.Fprintf(&base, "Benchmark%s/seed=%d-2\t1000\t%.4f ns/op\t%d B/op\t%d allocs/op\n",
					sc.name, seed, sc.noise.draw(r, sc.baseNs), sc.baseBytes, sc.baseAllocs)
				fmt.Fprintf(&head, "Benchmark%s/seed=%d-2\t1000\t%.4f ns/op\t%d B/op\t%d allocs/op\n",
					sc.name, seed, sc.noise.draw(r, sc.headNs), sc.headBytes, sc.headAllocs)
			}
		}
	}
	for path, b := range map[string]*strings.Builder{basePath: &base, headPath: &head} {
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gated := rule{threshold: defaultThreshold, alpha: defaultAlpha, units: strings.Split(defaultUnits, ",")}
	out, err := benchstat(t.Context(), &config{rule: gated}, basePath, headPath, "csv")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := parseBenchstatCSV(out)
	if err != nil {
		t.Fatal(err)
	}

	// failed["Slower15 sec/op"] counts the seeds whose comparison failed the gate.
	failed, significant := map[string]int{}, map[string]int{}
	for i := range cs {
		c := &cs[i]
		scenario, _, _ := strings.Cut(c.name, "/")
		key := scenario + " " + c.unit
		if c.significant(gated.alpha) {
			significant[key]++
		}
		if gated.verdictOf(c) == regression {
			failed[key]++
		}
	}
	for _, sc := range scenarios[:5] {
		key := sc.name + " sec/op"
		t.Logf("%-14s fails the gate in %3d of %d seeds; benchstat calls %3d significant",
			sc.name, failed[key], sc.seeds, significant[key])
	}
	check := func(key string, lo, hi int, why string) {
		t.Helper()
		if n := failed[key]; n < lo || n > hi {
			t.Errorf("%s: %d of the seeds failed the gate, want %d to %d: %s", key, n, lo, hi, why)
		}
	}
	check("Unchanged sec/op", 0, 0, "no false alarm on an unchanged tree")
	check("Slower5 sec/op", 0, seeds*5/100, "a change within the threshold passes, though often significant")
	check("Slower15 sec/op", seeds*90/100, seeds, "a 15% slowdown is caught")
	check("BusyUnchanged sec/op", 0, seeds*5/100, "false alarms stay rare on a noisy machine")
	// BusySlower15 is logged only: on a machine that noisy, 10 runs catch about half of the
	// 15% slowdowns; more runs (GATE_COUNT) or a quieter machine are the remedy.
	check("StartsToAllocate B/op", 1, 1, "0 -> 48 B/op fails")
	check("StartsToAllocate allocs/op", 1, 1, "0 -> 2 allocs/op fails")
	check("StartsToAllocate sec/op", 0, 0, "its time did not change")
	check("EmptyLoop sec/op", 0, 0, "0.3ns -> 0.36ns is judged against 1ns: +6%")
	check("LoopDoesWork sec/op", 1, 1, "0.3ns -> 2ns is +170% of 1ns")
	for _, key := range []string{"Unchanged B/op", "Unchanged allocs/op", "Slower15 allocs/op"} {
		check(key, 0, 0, "all samples equal")
	}

	// The output lists the significant changes only, then the verdict.
	report, _ := gated.report(cs, "benchstat.txt")
	listed := 0
	for i := range cs {
		if cs[i].significant(gated.alpha) {
			listed++
		}
	}
	if lines := strings.Count(report, "\n"); lines != listed+2 || !strings.Contains(report, "bench-gate: FAIL") {
		t.Errorf("report has %d lines for %d significant changes of %d comparisons:\n%s", lines, listed, len(cs), report)
	}
}
