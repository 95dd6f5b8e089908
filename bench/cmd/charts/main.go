// Command charts draws the SVG charts of docs/benchmarks.md from run.sh's
// results.csv files:
//
//	charts -fastpath results/X -idle results/Y -mixed results/Z -o docs/img
//
// writes cpu-per-request.svg and throughput.svg (from the fast-path run:
// medians over its repeats), idle-memory.svg (the idle run: medians), and
// mixed-p99.svg, mixed-plaintext-rps.svg, mixed-cpu-rps.svg (the mixed
// run: one group of bars per repeat). Any of the three inputs may be left
// out; its charts are then not drawn. Targets are drawn in the order of
// the CSV, with the names and colours below.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// display names and colours of the targets; others get grey and their name.
var (
	names = map[string]string{
		"weft": "weft", "go-fasthttp": "fasthttp", "go-gnet-raw": "bare gnet",
		"go-nethttp": "net/http", "node-fastify": "Node + piscina", "node-http": "node:http",
		"node-express": "Express", "go-fiber": "Fiber", "go-gin": "Gin", "go-nbio": "nbio", "go-hertz": "Hertz",
	}
	colours = map[string]string{
		"weft": "#2b6cb0", "go-fasthttp": "#dd6b20", "go-gnet-raw": "#38a169",
		"go-nethttp": "#718096", "node-fastify": "#805ad5",
	}
)

func main() {
	fast := flag.String("fastpath", "", "results folder of the fast-path run (plaintext64,json64,params64)")
	idle := flag.String("idle", "", "results folder of the idle run")
	mixed := flag.String("mixed", "", "results folder of the mixed run")
	outDir := flag.String("o", ".", "folder to write the SVGs to")
	flag.Parse()
	if err := run(*fast, *idle, *mixed, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "charts:", err)
		os.Exit(1)
	}
}

func run(fast, idle, mixed, outDir string) error {
	var charts []chart
	if fast != "" {
		r, err := load(fast)
		if err != nil {
			return err
		}
		n := r.runs()
		note := fmt.Sprintf("%s, wrk -t1 -c64, measured side by side (bench/run.sh, %s).", medians(n), r.name)
		charts = append(charts,
			chart{file: "cpu-per-request.svg", title: "Server CPU per request (lower is better)",
				unit: "µs of user+system CPU per request, at 64 connections", format: "%.2f",
				groups: []group{r.median("plaintext", "plaintext64_cpu_us_per_req", 1), r.median("json", "json64_cpu_us_per_req", 1)},
				notes:  []string{note, "Lower is better."}},
			chart{file: "throughput.svg", title: "Requests per second (one wrk thread caps near 130k here)",
				unit: "thousand requests per second, 64 connections", format: "%.1fk",
				groups: []group{r.median("plaintext", "plaintext64_rps", 1e-3), r.median("json", "json64_rps", 1e-3),
					r.median("params /users/:id", "params64_rps", 1e-3)},
				notes: []string{note + " Higher is better."}})
	}
	if idle != "" {
		r, err := load(idle)
		if err != nil {
			return err
		}
		charts = append(charts, chart{file: "idle-memory.svg", title: "Memory per idle keep-alive connection",
			unit: "KiB of RSS per connection, 10,000 held", format: "%.2f",
			groups: []group{r.median("KiB/conn", "idle_kib_per_conn", 1)},
			notes:  []string{fmt.Sprintf("%s, %s. Lower is better.", medians(r.runs()), r.name)}})
	}
	if mixed != "" {
		r, err := load(mixed)
		if err != nil {
			return err
		}
		note := []string{"Harness scenario 'mixed': /plaintext c16 while /cpu c32 runs a 5 ms SHA-256 job,",
			fmt.Sprintf("%d runs, %s.", r.runs(), r.name)}
		p99 := chart{file: "mixed-p99.svg", title: "/plaintext p99 while CPU-bound jobs saturate the machine (lower is better)",
			unit: "milliseconds", format: "%.2f", groups: r.perRun("mixed_p99_ms", 1), notes: note}
		// net/http's p99 (hundreds of ms) would flatten every other bar: say it instead.
		if lo, hi, ok := r.dropRange(&p99, "go-nethttp"); ok {
			p99.notes = []string{note[0], fmt.Sprintf("%s net/http, off the chart: %.0f-%.0f ms.", note[1], lo, hi)}
		}
		charts = append(charts, p99,
			chart{file: "mixed-plaintext-rps.svg", title: "/plaintext req/s in the same runs (higher is better)",
				unit: "thousand requests per second", format: "%.1fk", groups: r.perRun("mixed_rps", 1e-3), notes: note},
			chart{file: "mixed-cpu-rps.svg", title: "/cpu req/s in the same runs (higher is better)",
				unit: "CPU jobs completed per second", format: "%.0f", groups: r.perRun("mixed_cpu_rps", 1), notes: note})
	}
	if len(charts) == 0 {
		return fmt.Errorf("nothing to draw: give -fastpath, -idle or -mixed")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(outDir, c.file), []byte(c.svg()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// results is one results.csv.
type results struct {
	name    string // the results folder's base name
	targets []string
	rows    []map[string]string
}

func load(dir string) (*results, error) {
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s/results.csv has no rows", dir)
	}
	r := &results{name: "results/" + filepath.Base(filepath.Clean(dir))}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, k := range recs[0] {
			if i < len(rec) {
				row[k] = rec[i]
			}
		}
		r.rows = append(r.rows, row)
		if !slices.Contains(r.targets, row["target"]) {
			r.targets = append(r.targets, row["target"])
		}
	}
	return r, nil
}

func (r *results) runs() int {
	n := 0
	for _, row := range r.rows {
		v, _ := strconv.Atoi(row["run"])
		n = max(n, v)
	}
	return n
}

// values returns target's values of column over its runs, in run order.
func (r *results) values(target, column string) []float64 {
	var v []float64
	for _, row := range r.rows {
		if row["target"] != target {
			continue
		}
		if x, err := strconv.ParseFloat(row[column], 64); err == nil {
			v = append(v, x)
		}
	}
	return v
}

// median is a group with each target's median of column, times scale.
func (r *results) median(label, column string, scale float64) group {
	g := group{label: label}
	for _, t := range r.targets {
		v := r.values(t, column)
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		g.bars = append(g.bars, bar{target: t, value: m * scale})
	}
	return g
}

// perRun is one group per run, each with every target's value of column.
func (r *results) perRun(column string, scale float64) []group {
	var gs []group
	for run := 1; run <= r.runs(); run++ {
		g := group{label: fmt.Sprintf("run %d", run)}
		for _, t := range r.targets {
			if v := r.values(t, column); run <= len(v) {
				g.bars = append(g.bars, bar{target: t, value: v[run-1] * scale})
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// dropRange takes target's bars out of c and returns their range.
func (r *results) dropRange(c *chart, target string) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range c.groups {
		c.groups[i].bars = slices.DeleteFunc(c.groups[i].bars, func(b bar) bool {
			if b.target != target {
				return false
			}
			lo, hi, ok = min(lo, b.value), max(hi, b.value), true
			return true
		})
	}
	return lo, hi, ok
}

type bar struct {
	target string
	value  float64
}

type group struct {
	label string
	bars  []bar
}

type chart struct {
	file, title, unit, format string
	groups                    []group
	notes                     []string
}

// Layout, in pixels.
const (
	width     = 760
	labelW    = 190 // bars start here
	barH      = 14
	barGap    = 2
	groupGap  = 30
	top       = 53
	plotRight = 110 // room for the value after the longest bar
)

// svg draws c as horizontal bars, one group per row block, one colour per
// target, with a legend at the top right.
func (c chart) svg() string {
	maxV := 0.0
	var targets []string
	for _, g := range c.groups {
		for _, b := range g.bars {
			maxV = max(maxV, b.value)
			if !slices.Contains(targets, b.target) {
				targets = append(targets, b.target)
			}
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	scale := float64(width-labelW-plotRight) / maxV
	var body strings.Builder
	y := top
	for _, g := range c.groups {
		h := len(g.bars)*(barH+barGap) - barGap
		fmt.Fprintf(&body, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", labelW-8, float64(y)+float64(h)/2+4, html.EscapeString(g.label))
		for _, b := range g.bars {
			w := b.value * scale
			fmt.Fprintf(&body, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", labelW, y, w, barH, colour(b.target))
			fmt.Fprintf(&body, "<text x=\"%.1f\" y=\"%d\" fill=\"#333\">%s</text>\n", float64(labelW)+w+4, y+11, fmt.Sprintf(c.format, b.value))
			y += barH + barGap
		}
		y += groupGap - barGap
	}
	height := y + 14*len(c.notes) + 4
	var s strings.Builder
	fmt.Fprintf(&s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height)
	s.WriteString("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n")
	fmt.Fprintf(&s, "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", html.EscapeString(c.title))
	fmt.Fprintf(&s, "<text x=\"10\" y=\"38\" fill=\"#555\">%s</text>\n", html.EscapeString(c.unit))
	// Legend, right-aligned, last target rightmost.
	x := width - 4
	for _, t := range slices.Backward(targets) {
		n := name(t)
		x -= 16 + 7*len([]rune(n)) + 16
		fmt.Fprintf(&s, "<rect x=\"%d\" y=\"28\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"38\">%s</text>\n", x, colour(t), x+16, html.EscapeString(n))
	}
	s.WriteString(body.String())
	for i, n := range c.notes {
		fmt.Fprintf(&s, "<text x=\"10\" y=\"%d\" fill=\"#555\" font-size=\"11\">%s</text>\n", y+14*i, html.EscapeString(n))
	}
	s.WriteString("</svg>\n")
	return s.String()
}

func name(t string) string {
	if n, ok := names[t]; ok {
		return n
	}
	return t
}

func colour(t string) string {
	if c, ok := colours[t]; ok {
		return c
	}
	return "#a0aec0"
}

// medians says what a figure over n runs is.
func medians(n int) string {
	if n == 1 {
		return "One run"
	}
	return fmt.Sprintf("Medians of %d runs", n)
}
