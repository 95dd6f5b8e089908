package offload

import (
	"testing"
	"time"
)

func TestTakesFastLane(t *testing.T) {
	const limit = 100 * time.Microsecond
	cases := []struct {
		name     string
		limit    time.Duration
		expected time.Duration
		queued   int
		want     bool
	}{
		{"short job, nothing queued", limit, 3 * time.Microsecond, 0, true},
		{"exactly the limit", limit, limit, 0, true},
		{"just over the limit", limit, limit + 1, 0, false},
		{"a 5 ms job", limit, 5 * time.Millisecond, 0, false},
		{"never ran: unknown, so locked", limit, -1, 0, false},
		{"jobs queued: no overtaking", limit, time.Microsecond, 1, false},
		{"fast lane off", 0, time.Microsecond, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := takesFastLane(tc.limit, tc.expected, tc.queued); got != tc.want {
				t.Fatalf("takesFastLane(%v, %v, %d) = %v, want %v", tc.limit, tc.expected, tc.queued, got, tc.want)
			}
		})
	}
}

func TestLaneStatFollowsRunTimes(t *testing.T) {
	var l laneStat
	if got := l.expected(); got != -1 {
		t.Fatalf("before any run: %v, want -1 (unknown)", got)
	}
	var m metrics
	m.observeRun(10*time.Microsecond, &l)
	if got := l.expected(); got != 10*time.Microsecond {
		t.Fatalf("after one 10µs run: %v", got)
	}
	// One long run among short ones lifts the estimate past the limit at
	// once: the next runs take the locked workers.
	m.observeRun(10*time.Millisecond, &l)
	if got := l.expected(); got <= defaultFastLane {
		t.Fatalf("after a 10ms run: %v, want above %v", got, defaultFastLane)
	}
}

func TestLaneKeyIsTheFunction(t *testing.T) {
	p := &Pool{}
	var got []*laneStat
	for i := range 3 {
		got = append(got, p.lane(func() int { return i }))
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Fatal("closures of one function literal, made at one place, got different lanes")
	}
	if got[0] == p.lane(func() int { return 3 }) {
		t.Fatal("two functions share a lane")
	}
}

// BenchmarkLaneLookup is what choosing a lane adds to every Run: finding
// the job's run times by its function.
func BenchmarkLaneLookup(b *testing.B) {
	p := &Pool{}
	fn := func() int { return 1 }
	b.ReportAllocs()
	for b.Loop() {
		p.lane(fn)
	}
}
