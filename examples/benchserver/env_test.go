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

// OFFLOAD_NICE=-1 runs the workers as ordinary goroutines (Config.Nice
// negative), as docs/offload.md's "GOMAXPROCS=4, nice 0" rows need; unset
// is the default (0), and 5 is 5.
func TestPoolNiceFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{
		{"", 0},
		{"-1", -1},
		{"-7", -1},
		{"5", 5},
		{"15", 15},
	} {
		t.Run("OFFLOAD_NICE="+tc.env, func(t *testing.T) {
			t.Setenv("OFFLOAD_NICE", tc.env)
			if got := poolConfigFromEnv().Nice; got != tc.want {
				t.Fatalf("Nice %d, want %d", got, tc.want)
			}
		})
	}
}
