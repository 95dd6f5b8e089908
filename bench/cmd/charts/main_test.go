package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// csvHead is the part of run.sh's header these charts read.
const csvHead = "target,run,endpoints,plaintext64_rps,json64_rps,params64_rps,plaintext64_cpu_us_per_req,json64_cpu_us_per_req,idle_kib_per_conn,mixed_rps,mixed_p99_ms,mixed_cpu_rps\n"

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "results.csv"), []byte(csvHead+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCharts(t *testing.T) {
	dir := t.TempDir()
	fast := write(t, dir, "20261126-043818", ""+
		"weft,1,5/5,130000,110000,120000,7.50,8.80,,,,\n"+
		"weft,2,5/5,135000,118000,121000,7.27,8.59,,,,\n"+
		"weft,3,5/5,134000,117000,122000,7.23,8.46,,,,\n"+
		"go-nethttp,1,5/5,72000,72000,72000,14.88,14.68,,,,\n")
	mixed := write(t, dir, "20261126-044853", ""+
		"weft,1,5/5,,,,,,,41000,4.18,281\n"+
		"go-nethttp,1,5/5,,,,,,,6600,319.55,436\n"+
		"weft,2,5/5,,,,,,,37700,5.28,275\n"+
		"go-nethttp,2,5/5,,,,,,,8400,352.13,423\n")
	out := filepath.Join(dir, "img")
	if err := run(fast, "", mixed, out); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file    string
		want    []string
		notWant []string
	}{
		{"cpu-per-request.svg", []string{">7.27<", ">8.59<", ">14.88<", ">weft<", ">net/http<", "Medians of 3 runs", "results/20261126-043818"}, nil},
		{"throughput.svg", []string{">134.0k<", ">117.0k<", ">72.0k<"}, nil},
		{"mixed-p99.svg", []string{">4.18<", ">5.28<", "off the chart: 320-352 ms"}, []string{">319.55<"}},
		{"mixed-cpu-rps.svg", []string{">281<", ">436<", ">run 2<"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(out, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("no %q in\n%s", w, b)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(b), w) {
					t.Errorf("%q in\n%s", w, b)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "idle-memory.svg")); err == nil {
		t.Error("idle-memory.svg drawn without -idle")
	}
}
