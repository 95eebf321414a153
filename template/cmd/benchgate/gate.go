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
	delta           string  // benchstat's "vs base": "+12.34%", "-3.00%", "~" or "?"
	p               float64 // NaN when benchstat gives none
}

// change is the relative change of the median in percent (positive: head is larger).
func (c *comparison) change() float64 { return (c.head - c.base) / c.base * 100 }

// rule decides which comparisons fail the gate.
type rule struct {
	threshold float64  // percent
	alpha     float64  // significance level
	units     []string // units where lower is better: the gated ones
}

// regressions returns the comparisons where benchstat calls the change significant (p below
// alpha) and head's median is worse than base's by more than the threshold, in a gated unit.
func (r rule) regressions(cs []comparison) []comparison {
	var out []comparison
	for i := range cs {
		c := &cs[i]
		significant := c.delta != "~" && c.delta != "?" && !math.IsNaN(c.p) && c.p < r.alpha
		if !slices.Contains(r.units, c.unit) || !significant || c.base <= 0 {
			continue
		}
		if c.change() > r.threshold {
			out = append(out, *c)
		}
	}
	return out
}

// verdict is the gate's closing summary.
func (r rule) verdict(all, regressions []comparison) string {
	var b strings.Builder
	gated := 0
	for i := range all {
		if slices.Contains(r.units, all[i].unit) {
			gated++
		}
	}
	if len(regressions) == 0 {
		fmt.Fprintf(&b, "\nbench-gate: PASS: no significant regression over %g%% in %d comparisons (%s; p < %g)\n",
			r.threshold, gated, strings.Join(r.units, ", "), r.alpha)
		return b.String()
	}
	fmt.Fprintf(&b, "\nbench-gate: FAIL: %d significant regression(s) over %g%% (p < %g):\n",
		len(regressions), r.threshold, r.alpha)
	for i := range regressions {
		c := &regressions[i]
		name := c.name
		if c.pkg != "" {
			name = c.pkg + " " + name
		}
		fmt.Fprintf(&b, "  %s %s: %s -> %s (%+.1f%%, p=%.3f)\n", name, c.unit,
			strconv.FormatFloat(c.base, 'g', 4, 64), strconv.FormatFloat(c.head, 'g', 4, 64), c.change(), c.p)
	}
	return b.String()
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
	// P looks like "p=0.000 n=8".
	for field := range strings.FieldsSeq(rec[6]) {
		if v, ok := strings.CutPrefix(field, "p="); ok {
			if p, err := strconv.ParseFloat(v, 64); err == nil {
				c.p = p
			}
		}
	}
	return c, true
}
