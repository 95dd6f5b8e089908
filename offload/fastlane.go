package offload

import (
	"reflect"
	"sync/atomic"
	"time"
)

// The fast lane: a job expected to run for less than Config.FastLane skips
// the locked, niced worker threads when a slot is free, and runs on an
// ordinary goroutine. Waking a goroutine locked to a niced thread costs
// thread handoffs through the kernel (tens of µs on an idle VM); a short
// job would pay more for the trip than for its work. A long job still takes
// the locked workers: it is what the loops need to stay ahead of.
// docs/offload.md ("The fast lane") has the measurements.

// laneStat is one job's run times: a moving average (each new run counts
// for 1/8), 0 until it has run once.
type laneStat struct{ avg atomic.Int64 }

// expected returns the job's expected run time, or -1 if it never ran.
func (l *laneStat) expected() time.Duration {
	if v := l.avg.Load(); v > 0 {
		return time.Duration(v)
	}
	return -1
}

// lane returns the run times of the jobs whose function is fn (a func
// value): functions are told apart by their code pointer, so every closure
// made by one function literal is the same job, whatever it captured.
func (p *Pool) lane(fn any) *laneStat {
	key := reflect.ValueOf(fn).Pointer()
	if l, ok := p.lanes.Load(key); ok {
		return l.(*laneStat)
	}
	l, _ := p.lanes.LoadOrStore(key, new(laneStat))
	return l.(*laneStat)
}

// takesFastLane is the fast lane's rule, given a free slot: a job goes
// there if it has run before (expected >= 0), is expected to run no longer
// than limit (Config.FastLane; 0: off), and no job is queued (it must not
// overtake them).
func takesFastLane(limit, expected time.Duration, queued int) bool {
	return limit > 0 && expected >= 0 && expected <= limit && queued == 0
}

// ewma folds d into the moving average a (each new value counts for 1/8).
func ewma(a *atomic.Int64, d time.Duration) {
	for {
		old := a.Load()
		avg := int64(d)
		if old != 0 {
			avg = old + (int64(d)-old)/8
		}
		if a.CompareAndSwap(old, max(avg, 1)) {
			return
		}
	}
}
