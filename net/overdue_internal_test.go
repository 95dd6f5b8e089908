package net

import (
	"testing"
	"time"
)

// TestOverdueNeverEarly: a stamp from the coarse clock may stand for any
// moment up to a tick after it, so a timeout counts from the latest of
// them. With the clock a whole tick stale when the stamp was taken, the
// real time passed is now - since - tick: the timeout must not fire while
// that is within the limit (a 300 ms ReadTimeout closed a connection
// 166 ms after its request began, on a loaded machine).
func TestOverdueNeverEarly(t *testing.T) {
	const ms = int64(time.Millisecond)
	cfg := &config{tick: 250 * time.Millisecond}
	for _, tc := range []struct {
		name       string
		since, now int64
		limit      time.Duration
		want       bool
	}{
		{"no limit", 0, 10_000 * ms, 0, false},
		{"within the limit", 0, 200 * ms, 300 * time.Millisecond, false},
		{"past the limit, not past a tick more", 0, 500 * ms, 300 * time.Millisecond, false},
		{"exactly limit and a tick", 0, 550 * ms, 300 * time.Millisecond, false},
		{"past limit and a tick", 0, 551 * ms, 300 * time.Millisecond, true},
		{"long limit", 1_000 * ms, 61_251 * ms, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cfg.overdue(tc.now, tc.since, tc.limit); got != tc.want {
				t.Errorf("overdue(now %d ms, since %d ms, %v) = %v, want %v", tc.now/ms, tc.since/ms, tc.limit, got, tc.want)
			}
		})
	}
}
