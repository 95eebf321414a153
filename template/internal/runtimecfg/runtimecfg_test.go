package runtimecfg

import (
	"expvar"
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestParseRatio(t *testing.T) {
	cases := []struct {
		in      string
		ratio   float64
		enabled bool
		wantErr bool
	}{
		{"", DefaultMemLimitRatio, true, false},
		{"0.75", 0.75, true, false},
		{"1", 1, true, false},
		{"off", 0, false, false},
		{"OFF", 0, false, false},
		{"1.5", 0, false, true},
		{"-0.1", 0, false, true},
		{"NaN", 0, false, true},
		{"lots", 0, false, true},
	}
	for _, c := range cases {
		ratio, enabled, err := parseRatio(c.in)
		if (err != nil) != c.wantErr || ratio != c.ratio || enabled != c.enabled {
			t.Errorf("parseRatio(%q) = %v, %v, %v; want %v, %v, err=%v", c.in, ratio, enabled, err, c.ratio, c.enabled, c.wantErr)
		}
	}
}

func TestApplyRespectsExplicitSettings(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	env := map[string]string{"GOMEMLIMIT": "512MiB", "GOMAXPROCS": "3"}
	info, err := Apply(slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if info.GOMEMLIMITSource != "GOMEMLIMIT environment variable" {
		t.Errorf("GOMEMLIMITSource = %q", info.GOMEMLIMITSource)
	}
	if info.GOMAXPROCSSource != "GOMAXPROCS environment variable" {
		t.Errorf("GOMAXPROCSSource = %q", info.GOMAXPROCSSource)
	}
	if info.GOMEMLIMIT != debug.SetMemoryLimit(-1) {
		t.Errorf("reported GOMEMLIMIT %d differs from the runtime's", info.GOMEMLIMIT)
	}
}

func TestApplyRejectsBadRatio(t *testing.T) {
	env := map[string]string{"GOMEMLIMIT_RATIO": "2"}
	if _, err := Apply(slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return env[k] }); err == nil {
		t.Fatal("Apply accepted GOMEMLIMIT_RATIO=2")
	}
}

func TestApplyRatioOff(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	env := map[string]string{"GOMEMLIMIT_RATIO": "off"}
	info, err := Apply(slog.New(slog.NewTextHandler(io.Discard, nil)), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if info.GOMEMLIMIT != before {
		t.Errorf("GOMEMLIMIT changed to %d with the wiring off", info.GOMEMLIMIT)
	}
}

func TestPublishReportsLiveValues(t *testing.T) {
	vars := new(expvar.Map).Init()
	Info{GOMAXPROCS: 1}.Publish(vars)
	got := vars.Get("gomaxprocs").String()
	if want := expvar.Func(func() any { return runtime.GOMAXPROCS(0) }).String(); got != want {
		t.Errorf("gomaxprocs var = %s, want the live value %s", got, want)
	}
	if vars.Get("gomemlimit") == nil || vars.Get("runtime_sizing") == nil {
		t.Error("gomemlimit or runtime_sizing not published")
	}
}

func TestMemLimitForLogSaysNoneForNoLimit(t *testing.T) {
	if got := memLimitForLog(math.MaxInt64); got != "none" {
		t.Errorf("memLimitForLog(MaxInt64) = %v, want none", got)
	}
	if got := memLimitForLog(460 << 20); got != int64(460<<20) {
		t.Errorf("memLimitForLog(460 MiB) = %v, want the bytes", got)
	}
}
