package runtime

import (
	"context"
	"sync/atomic"
	"testing"
)

// Is the process-wide blockingInFlight counter a contention point? Every
// Blocking call adds 1 on its loop and -1 on its goroutine, so with several
// loops the counter's cache line moves between cores. These compare, with
// one goroutine per P (-cpu 1,2): whole-call, a Blocking call (start a
// goroutine, run an empty function, resolve, wait), the cost the counter is
// part of; counter-shared, the counter's two adds alone, shared as it is;
// counter-per-goroutine, the same adds on padded per-goroutine counters,
// the cost with no contention at all, what sharding would give at best.
//
//	go test -run XXX -bench 'BlockingInFlight' -cpu 1,2 -count 10 ./runtime/
func BenchmarkBlockingInFlight(b *testing.B) {
	b.Run("whole-call", func(b *testing.B) {
		s := Detached(context.Background())
		fn := func(context.Context) (int, error) { return 0, nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := Blocking(s, fn).Wait(context.Background()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("counter-shared", func(b *testing.B) {
		var c atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
				c.Add(-1)
			}
		})
	})
	b.Run("counter-per-goroutine", func(b *testing.B) {
		type padded struct {
			_ [64]byte
			n atomic.Int64
			_ [64]byte
		}
		b.RunParallel(func(pb *testing.PB) {
			c := new(padded)
			for pb.Next() {
				c.n.Add(1)
				c.n.Add(-1)
			}
		})
	})
}
