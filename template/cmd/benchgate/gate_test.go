package main

import (
	"io"
	"math"
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
	if v := gated.verdict(cs, got); !strings.Contains(v, "FAIL") || !strings.Contains(v, "internal/server Livez-2 sec/op") || !strings.Contains(v, "+25.0%") {
		t.Errorf("verdict = %q", v)
	}

	lenient := gated
	lenient.threshold = 30
	if got := lenient.regressions(cs); len(got) != 0 {
		t.Errorf("a 25%% slowdown failed a 30%% threshold: %+v", got)
	}
	if v := lenient.verdict(cs, nil); !strings.Contains(v, "PASS") {
		t.Errorf("verdict = %q", v)
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
