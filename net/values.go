package net

import (
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/runtime"
)

// ctxValue is one value stored with SetValue.
type ctxValue struct{ key, val any }

// SetValue stores val under key for the rest of the request, for middleware
// to hand things to handlers (a request id, the authenticated user). Keys
// compare like map keys; use an unexported type to avoid collisions. Storage
// is reused from request to request.
func (c *Ctx) SetValue(key, val any) {
	for i := range c.values {
		if c.values[i].key == key {
			c.values[i].val = val
			return
		}
	}
	c.values = append(c.values, ctxValue{key, val})
}

// Value returns the value stored under key with SetValue, or nil.
func (c *Ctx) Value(key any) any {
	for i := range c.values {
		if c.values[i].key == key {
			return c.values[i].val
		}
	}
	return nil
}

// Timings says where a request's time went off the loop: how long its
// offload jobs waited for a worker and ran, and how long its Blocking calls
// ran. Concurrent jobs add up, so a sum may exceed the request's wall time.
type Timings struct {
	OffloadQueued, OffloadRan, BlockingRan time.Duration
}

// Timings returns the off-loop time recorded for the request so far.
func (c *Ctx) Timings() Timings {
	return Timings{
		OffloadQueued: time.Duration(c.timing.offloadQueued.Load()),
		OffloadRan:    time.Duration(c.timing.offloadRan.Load()),
		BlockingRan:   time.Duration(c.timing.blockingRan.Load()),
	}
}

// ctxTiming accumulates Timings; runtime.Blocking and offload jobs add to it
// from their goroutines (Measure), before the future that keeps the Ctx
// alive settles.
type ctxTiming struct {
	offloadQueued, offloadRan, blockingRan atomic.Int64
}

func (t *ctxTiming) reset() {
	t.offloadQueued.Store(0)
	t.offloadRan.Store(0)
	t.blockingRan.Store(0)
}

// Measure records work started for the request, for Timings. Safe for
// concurrent use.
func (t *tracker) Measure(w runtime.Work, queued, ran time.Duration) {
	switch w {
	case runtime.WorkOffload:
		t.timing.offloadQueued.Add(int64(queued))
		t.timing.offloadRan.Add(int64(ran))
	case runtime.WorkBlocking:
		t.timing.blockingRan.Add(int64(ran))
	}
}

// LoopLag returns how late the request's loop currently runs its tasks (see
// runtime.LagMonitor), for load shedding. Safe for concurrent use.
func (c *Ctx) LoopLag() time.Duration { return c.l.lag.Lag() }
