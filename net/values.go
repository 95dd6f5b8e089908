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
	// Pending is how long the request's off-loop work that has started
	// and not finished yet has been running (since the oldest such job or
	// Blocking call started): an offload job running, or a Blocking call,
	// when a timeout answered first. OffloadRan and BlockingRan count
	// work only once it has finished. OffloadQueued counts a job's wait
	// as soon as a worker takes it, and a job still queued is counted
	// there too, up to now (since the oldest job still queued was
	// queued): a request answered while its job waits shows the wait as
	// queue time.
	Pending time.Duration
}

// Timings returns the off-loop time recorded for the request so far.
func (c *Ctx) Timings() Timings {
	t := Timings{
		OffloadQueued: time.Duration(c.timing.offloadQueued.Load()),
		OffloadRan:    time.Duration(c.timing.offloadRan.Load()),
		BlockingRan:   time.Duration(c.timing.blockingRan.Load()),
	}
	pending, queued := c.timing.pendingSince.Load(), c.timing.queuedSince.Load()
	if pending == 0 && queued == 0 {
		return t // no off-loop work unfinished: the common case
	}
	now := monoNow()
	if queued != 0 && c.timing.inQueue() > 0 {
		t.OffloadQueued += time.Duration(now - queued)
	}
	if pending != 0 && c.timing.running() > 0 {
		t.Pending = time.Duration(now - pending)
	}
	return t
}

// ctxTiming accumulates Timings; runtime.Blocking and offload jobs add to it
// from their goroutines (Measure), before the future that keeps the Ctx
// alive settles.
//
// It also follows the work not finished yet: every job is kept (Keep, on
// the loop, when it starts), measured (Measure, off the loop, when it has
// run; a job dropped from a queue never is), and released (Release, on the
// loop, when its future has settled). Work kept and neither released nor
// measured is unfinished. Of that, work marked queued (runtime's
// QueueTracker: Queued on the loop, Dequeued off it when a worker takes it)
// is in a queue, and the rest is running; pendingSince is when the count
// of running work last rose from 0, queuedSince when the count of queued
// work did.
type ctxTiming struct {
	offloadQueued, offloadRan, blockingRan atomic.Int64

	kept, released, consumed atomic.Int64 // consumed: releases that followed a Measure
	measured                 atomic.Int64
	pendingSince             atomic.Int64 // monoNow; 0: none
	queued, dequeued         atomic.Int64 // Queued and Dequeued calls
	queuedSince              atomic.Int64 // monoNow; 0: none
}

// inQueue returns how many jobs wait in a queue (a Dequeued may come
// before its Queued: never below 0).
func (t *ctxTiming) inQueue() int64 { return max(t.queued.Load()-t.dequeued.Load(), 0) }

// running returns how many jobs are unfinished and not in a queue.
func (t *ctxTiming) running() int64 { return t.unmeasured() - t.inQueue() }

// unmeasured returns how many jobs are kept, not released and not measured.
func (t *ctxTiming) unmeasured() int64 {
	return (t.kept.Load() - t.released.Load()) - (t.measured.Load() - t.consumed.Load())
}

// keptOnLoop and releasedOnLoop follow the tracker's Keep and Release.
func (t *ctxTiming) keptOnLoop() {
	t.kept.Add(1)
	if t.running() == 1 {
		t.pendingSince.Store(monoNow())
	}
}

// queuedOnLoop and dequeuedOffLoop follow the tracker's Queued and Dequeued.
func (t *ctxTiming) queuedOnLoop() {
	t.queued.Add(1)
	if t.inQueue() == 1 {
		t.queuedSince.Store(monoNow())
	}
}

func (t *ctxTiming) dequeuedOffLoop(waited time.Duration) {
	t.offloadQueued.Add(int64(waited))
	t.dequeued.Add(1)
	if t.running() == 1 {
		t.pendingSince.Store(monoNow())
	}
}

func (t *ctxTiming) releasedOnLoop() {
	if t.measured.Load() > t.consumed.Load() {
		t.consumed.Add(1)
	}
	t.released.Add(1)
	if t.unmeasured() <= 0 {
		t.pendingSince.Store(0)
	}
}

func (t *ctxTiming) reset() {
	t.offloadQueued.Store(0)
	t.offloadRan.Store(0)
	t.blockingRan.Store(0)
	t.kept.Store(0)
	t.released.Store(0)
	t.consumed.Store(0)
	t.measured.Store(0)
	t.pendingSince.Store(0)
	t.queued.Store(0)
	t.dequeued.Store(0)
	t.queuedSince.Store(0)
}

// monoNow is a monotonic clock in ns, nonzero.
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

var monoEpoch = time.Now()

// Measure records work started for the request, for Timings. Safe for
// concurrent use.
func (t *tracker) Measure(w runtime.Work, queued, ran time.Duration) {
	defer t.timing.measured.Add(1)
	switch w {
	case runtime.WorkOffload:
		t.timing.offloadQueued.Add(int64(queued))
		t.timing.offloadRan.Add(int64(ran))
	case runtime.WorkBlocking:
		t.timing.blockingRan.Add(int64(ran))
	}
}

// LoopLag returns how late the request's loop currently runs its tasks (see
// runtime.LagMonitor), for load shedding; 0 under TestConn, whose loop runs
// only inside Serve. Safe for concurrent use.
func (c *Ctx) LoopLag() time.Duration { return c.l.lagNow() }
