package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// comparison is one row of benchstat's comparison: a benchmark's median on both sides in one
// unit, benchstat's change ("~" when not significant) and its p-value.
type comparison struct {
	pkg, name, unit string
	base, head      float64
	delta           string  // benchstat's "vs base": "+12.34%", "-3.00%", "~", or "?" from a zero base
	p               float64 // NaN when benchstat gives none
}

// timeFloor is the smallest time, in seconds, that a change in sec/op is taken relative to:
// below a nanosecond a benchmark times little more than its own loop, and a percentage of
// such a median (or of zero) measures nothing.
const timeFloor = 1e-9

// change is the change of the median in percent (positive: head is larger), relative to base's
// median, or to timeFloor if that is larger in sec/op. From a base of zero any increase is
// +Inf: 0 -> 2 allocs/op is a regression beyond every threshold, not a division by zero.
func (c *comparison) change() float64 {
	ref := c.base
	if c.unit == "sec/op" {
		ref = max(ref, timeFloor)
	}
	d := c.head - c.base
	switch {
	case ref > 0:
		return d / ref * 100
	case d > 0:
		return math.Inf(1)
	case d < 0:
		return math.Inf(-1)
	}
	return 0
}

// significant reports whether benchstat calls the change significant: a p-value below alpha
// and a delta other than "~" ("?", benchstat's delta from a zero base, counts).
func (c *comparison) significant(alpha float64) bool {
	return c.delta != "~" && !math.IsNaN(c.p) && c.p < alpha
}

// rule decides which comparisons fail the gate.
type rule struct {
	threshold float64  // percent
	alpha     float64  // significance level
	units     []string // units where lower is better: the gated ones
}

// regressions returns the comparisons in a gated unit where benchstat calls the change
// significant (p below alpha) and head's median is worse than base's by more than the
// threshold — which, in B/op and allocs/op, every increase from a base of zero is.
func (r rule) regressions(cs []comparison) []comparison {
	var out []comparison
	for i := range cs {
		if r.verdictOf(&cs[i]) == regression {
			out = append(out, cs[i])
		}
	}
	return out
}

// class is how the gate reads one comparison.
type class int

const (
	unchanged  class = iota // not significant
	regression              // significant, worse by more than the threshold, in a gated unit
	worse                   // significant, worse within the threshold, in a gated unit
	better                  // significant, better, in a gated unit
	changed                 // significant, in a unit that is shown but not gated
)

func (k class) String() string {
	switch k {
	case regression:
		return "REGRESSION"
	case worse:
		return "worse"
	case better:
		return "better"
	case changed:
		return "changed"
	}
	return "unchanged"
}

// verdictOf classifies one comparison.
func (r rule) verdictOf(c *comparison) class {
	switch {
	case !c.significant(r.alpha):
		return unchanged
	case !slices.Contains(r.units, c.unit):
		return changed
	case c.change() > r.threshold:
		return regression
	case c.head > c.base:
		return worse
	case c.head < c.base:
		return better
	}
	return unchanged // equal medians, different spreads
}

// report is the gate's output: every change benchstat calls significant, one a line,
// regressions first, then a one-line verdict that names the file holding benchstat's full
// table. It returns the regressions too.
func (r rule) report(all []comparison, tablePath string) (string, []comparison) {
	var b strings.Builder
	byClass := map[class][]*comparison{}
	gated := 0
	for i := range all {
		c := &all[i]
		if slices.Contains(r.units, c.unit) {
			gated++
		}
		k := r.verdictOf(c)
		byClass[k] = append(byClass[k], c)
	}
	listed := len(all) - len(byClass[unchanged])
	if listed > 0 {
		fmt.Fprintf(&b, "bench-gate: %d significant change(s) (p < %g):\n", listed, r.alpha)
	}
	for _, k := range []class{regression, worse, better, changed} {
		for _, c := range byClass[k] {
			fmt.Fprintf(&b, "  %-10s %s\n", k, r.describe(c, k))
		}
	}
	regressions := r.regressions(all)
	criterion := fmt.Sprintf("significant (p < %g) and over %g%% or from 0", r.alpha, r.threshold)
	if len(regressions) == 0 {
		fmt.Fprintf(&b, "bench-gate: PASS: no regression (%s) in %d comparisons of %s; benchstat's table: %s\n",
			criterion, gated, strings.Join(r.units, ", "), tablePath)
	} else {
		fmt.Fprintf(&b, "bench-gate: FAIL: %d regression(s) (%s) in %d comparisons of %s; benchstat's table: %s\n",
			len(regressions), criterion, gated, strings.Join(r.units, ", "), tablePath)
	}
	return b.String(), regressions
}

// describe is one listed change: "pkg name unit: base -> head (+12.3%, p=0.000)".
func (r rule) describe(c *comparison, k class) string {
	name := c.name
	if c.pkg != "" {
		name = c.pkg + " " + name
	}
	var change string
	switch ch := c.change(); {
	case math.IsInf(ch, 0):
		change = "from 0"
	case c.unit == "sec/op" && c.base < timeFloor:
		change = fmt.Sprintf("%+.1f%% of %s", ch, formatValue(timeFloor, c.unit))
	default:
		change = fmt.Sprintf("%+.1f%%", ch)
	}
	note := ""
	switch k {
	case worse:
		note = fmt.Sprintf("; within %g%%", r.threshold)
	case changed:
		note = "; not gated"
	}
	return fmt.Sprintf("%s %s: %s -> %s (%s, p=%.3f%s)", name, c.unit,
		formatValue(c.base, c.unit), formatValue(c.head, c.unit), change, c.p, note)
}

// formatValue prints a median in its unit's scale: 2.5µs, 48B, 1.5KiB, 2.
func formatValue(v float64, unit string) string {
	g := func(x float64, suffix string) string { return strconv.FormatFloat(x, 'g', 4, 64) + suffix }
	a := math.Abs(v)
	switch unit {
	case "sec/op":
		switch {
		case a == 0:
			return "0s"
		case a < 1e-6:
			return g(v*1e9, "ns")
		case a < 1e-3:
			return g(v*1e6, "µs")
		case a < 1:
			return g(v*1e3, "ms")
		}
		return g(v, "s")
	case "B/op":
		switch {
		case a < 1<<10:
			return g(v, "B")
		case a < 1<<20:
			return g(v/(1<<10), "KiB")
		}
		return g(v/(1<<20), "MiB")
	}
	return g(v, "")
}

// parseBenchstatCSV reads `benchstat -format csv base=... head=...`: blocks of a header row
// (",base,,head,,,"), a unit row (",sec/op,CI,sec/op,CI,vs base,P"), then one row per
// benchmark; "pkg: ..." lines name the package of the blocks that follow.
func parseBenchstatCSV(text string) ([]comparison, error) {
	var out []comparison
	var pkg, unit string
	for block := range strings.SplitSeq(text, "\n\n") {
		r := csv.NewReader(strings.NewReader(block))
		r.FieldsPerRecord = -1
		unit = ""
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("benchstat csv: %w", err)
			}
			switch {
			case len(rec) == 1 && strings.HasPrefix(rec[0], "pkg: "):
				pkg = strings.TrimPrefix(rec[0], "pkg: ")
			case len(rec) < 7:
				// goos:, goarch:, cpu: lines and notes
			case rec[0] == "" && rec[2] == "CI":
				unit = rec[1]
			case rec[0] == "" || rec[0] == "geomean" || unit == "":
			default:
				c, ok := parseRow(rec, pkg, unit)
				if ok {
					out = append(out, c)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("benchstat compared nothing: no benchmark ran on both sides")
	}
	return out, nil
}

// parseRow reads "name,base,CI,head,CI,vs base,P"; rows without both medians are skipped.
func parseRow(rec []string, pkg, unit string) (comparison, bool) {
	base, errBase := strconv.ParseFloat(rec[1], 64)
	head, errHead := strconv.ParseFloat(rec[3], 64)
	if errBase != nil || errHead != nil {
		return comparison{}, false
	}
	c := comparison{pkg: pkg, name: rec[0], unit: unit, base: base, head: head, delta: rec[5], p: math.NaN()}
	// P looks like "p=0.000 n=8"; benchstat leaves "p=" out of an exact test's p of 0 ("n=8").
	for field := range strings.FieldsSeq(rec[6]) {
		if v, ok := strings.CutPrefix(field, "p="); ok {
			if p, err := strconv.ParseFloat(v, 64); err == nil {
				c.p = p
			}
		}
	}
	if math.IsNaN(c.p) && c.delta != "~" && strings.HasPrefix(rec[6], "n=") {
		c.p = 0
	}
	return c, true
}
