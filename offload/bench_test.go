package offload_test

import (
	"context"
	"testing"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

func empty(context.Context) (int, error) { return 1, nil }

// roundTrips runs b.N round trips, each started by the previous one's
// continuation on the loop: submit from the loop, run off it, continue on it.
func roundTrips(b *testing.B, start func(s runtime.Scope) runtime.Future[int]) {
	l := runtimetest.NewLoop(b)
	s := scope{l, context.Background()}
	done := make(chan struct{})
	var step func(left int)
	step = func(left int) {
		if left == 0 {
			close(done)
			return
		}
		runtime.Then(s, start(s), func(int) runtime.Future[struct{}] {
			step(left - 1)
			return runtime.Resolved(struct{}{})
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	l.Do(func() { step(b.N) })
	<-done
}

// BenchmarkOffloadRoundTrip: an empty job through the pool and back to the
// loop: on ordinary goroutines (Nice: -1), on the locked, niced workers
// alone (FastLane: -1, the default before the fast lane), and with the
// defaults (the empty job takes the fast lane from its second run).
func BenchmarkOffloadRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  offload.Config
	}{
		{"unlocked", offload.Config{Workers: 2, Nice: -1, FastLane: -1}},
		{"locked-niced", offload.Config{Workers: 2, FastLane: -1}},
		{"default-fastlane", offload.Config{Workers: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newPool(b, bc.cfg)
			roundTrips(b, func(s runtime.Scope) runtime.Future[int] { return offload.Run(s, p, empty) })
		})
	}
}

// BenchmarkBlockingRoundTrip: the same with a goroutine per job
// (runtime.Blocking).
func BenchmarkBlockingRoundTrip(b *testing.B) {
	roundTrips(b, func(s runtime.Scope) runtime.Future[int] { return runtime.Blocking(s, empty) })
}

// BenchmarkChannelHop is the floor: a goroutine and a channel, no loop.
func BenchmarkChannelHop(b *testing.B) {
	ch := make(chan int)
	b.ReportAllocs()
	for b.Loop() {
		go func() { ch <- 1 }()
		<-ch
	}
}
