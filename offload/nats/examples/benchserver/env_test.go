package main

import (
	"testing"
	"time"
)

// TestEnvMicros: OFFLOAD_YIELD_US and OFFLOAD_FASTLANE_US read as
// examples/benchserver reads them: unset or 0 is offload's default, a
// negative value turns the feature off (EnvInt refused it, and the fast
// lane was not read at all).
func TestEnvMicros(t *testing.T) {
	for _, tc := range []struct {
		set  bool
		v    string
		want time.Duration
	}{
		{false, "", 0},
		{true, "0", 0},
		{true, "-1", -time.Microsecond},
		{true, "250", 250 * time.Microsecond},
	} {
		if tc.set {
			t.Setenv("OFFLOAD_FASTLANE_US", tc.v)
		}
		if got := envMicros("OFFLOAD_FASTLANE_US"); got != tc.want {
			t.Errorf("OFFLOAD_FASTLANE_US=%q: %v, want %v", tc.v, got, tc.want)
		}
	}
}
