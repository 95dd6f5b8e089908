package main

import (
	"testing"
	"time"
)

func TestPoolConfigDefaultsToNoYield(t *testing.T) {
	cfg, err := poolConfig(1, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// The worker runs no event loop: its jobs must not yield for one
	// (docs/offload.md: the yield cost half the NATS server's CPU a job).
	if cfg.YieldEvery >= 0 {
		t.Errorf("YieldEvery = %v by default; want negative (never)", cfg.YieldEvery)
	}
	if cfg.Nice != 0 || cfg.Workers != 1 {
		t.Errorf("Nice, Workers = %d, %d; want 0 (offload's default), 1", cfg.Nice, cfg.Workers)
	}
}

func TestPoolConfigFromEnvironment(t *testing.T) {
	cfg, err := poolConfig(2, "-1", "2500")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Nice != -1 || cfg.YieldEvery != 2500*time.Microsecond || cfg.Workers != 2 {
		t.Errorf("got Nice %d, YieldEvery %v, Workers %d; want -1, 2.5ms, 2", cfg.Nice, cfg.YieldEvery, cfg.Workers)
	}
	for _, bad := range [][2]string{{"x", ""}, {"20", ""}, {"", "0"}, {"", "1ms"}} {
		if _, err := poolConfig(1, bad[0], bad[1]); err == nil {
			t.Errorf("poolConfig(OFFLOAD_NICE=%q, OFFLOAD_YIELD_US=%q): no error", bad[0], bad[1])
		}
	}
}
