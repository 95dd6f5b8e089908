package main

import (
	"testing"
)

// OFFLOAD_FASTLANE_US=-1 turns the fast lane off, as docs/offload.md's
// targets file ("weft-locked") relies on: the benchserver passed 0 (the
// default, on) for any negative value.
func TestPoolConfigFromEnv(t *testing.T) {
	t.Setenv("OFFLOAD_FASTLANE_US", "-1")
	t.Setenv("OFFLOAD_YIELD_US", "-1")
	cfg := poolConfigFromEnv()
	if cfg.FastLane >= 0 {
		t.Fatalf("OFFLOAD_FASTLANE_US=-1 gave FastLane %v: want negative (off)", cfg.FastLane)
	}
	if cfg.YieldEvery >= 0 {
		t.Fatalf("OFFLOAD_YIELD_US=-1 gave YieldEvery %v: want negative (never)", cfg.YieldEvery)
	}
	t.Setenv("OFFLOAD_FASTLANE_US", "250")
	if cfg := poolConfigFromEnv(); cfg.FastLane.Microseconds() != 250 {
		t.Fatalf("OFFLOAD_FASTLANE_US=250 gave FastLane %v", cfg.FastLane)
	}
}
