package main

import (
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
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

// TestDispatchProcs: a benchserver with no local workers runs two Ps more
// than its loops, unless GOMAXPROCS is set; with local workers it keeps
// Go's default.
func TestDispatchProcs(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		workers, loops, cpus int
		env                  string
		want                 int
	}{
		{"no local workers, default loops", offload.NoWorkers, 0, 2, "", 4},
		{"no local workers, one loop", offload.NoWorkers, 1, 2, "", 3},
		{"no local workers, GOMAXPROCS set", offload.NoWorkers, 0, 2, "2", 0},
		{"local workers", 0, 0, 2, "", 0},
		{"two local workers", 2, 0, 2, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dispatchProcs(tc.workers, tc.loops, tc.cpus, tc.env); got != tc.want {
				t.Errorf("dispatchProcs(%d, %d, %d, %q) = %d, want %d", tc.workers, tc.loops, tc.cpus, tc.env, got, tc.want)
			}
		})
	}
}
