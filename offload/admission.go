package offload

import (
	"context"
	"math"
	"time"
)

// Deadline-aware admission: a job that would wait in the queue longer than
// it has is refused at once (503), instead of timing out there while it
// holds a place that a job with time left could use.
//
// The estimate: a job arriving when every worker is busy starts when q+1
// running or queued jobs have finished (q jobs are ahead of it). With W
// workers whose jobs finish, on average, at evenly spread times, that takes
// about (q+1)/W mean run times. The mean is a moving average of recent run
// times (each new run counts for 1/8), so that it follows a change of
// workload within a few dozen jobs. The pool's wait histogram is not used
// to predict: it describes the waits of jobs since the pool started, not
// the queue that a job joins now, whose length is known exactly.
//
// How wrong it can be: it assumes the jobs ahead are like the recent ones.
// Behind one 300 ms job among 1 ms ones it says about 1 ms while the wait
// is up to 300 ms; in a queue of 300 ms jobs after a run of 1 ms ones it
// says too little until the average catches up (about 8 jobs). It never
// refuses a job while a worker is idle, and it refuses nothing until a job
// has run.

// admit returns an *OverloadError if a job with context ctx should not
// join the queue now.
func (p *Pool) admit(ctx context.Context) error {
	limit := p.cfg.MaxWait
	if dl, ok := ctx.Deadline(); ok {
		limit = time.Until(dl)
	} else if limit < 0 {
		return nil
	}
	expected := p.ExpectedWait()
	if expected == 0 || expected <= limit {
		return nil
	}
	oe := p.overload().(*OverloadError)
	oe.Expected, oe.Limit = expected, limit
	return oe
}

// ExpectedWait returns how long a job submitted now is expected to wait for
// a worker: 0 while a worker is idle, about (queued+1)/workers mean run
// times otherwise. See docs/offload.md for how wrong it can be. Safe for
// concurrent use.
func (p *Pool) ExpectedWait() time.Duration {
	w := p.cfg.Workers
	if w == 0 {
		return 0
	}
	q := p.queued()
	if int(p.m.running.Load())+q < w {
		return 0
	}
	return queueWait(q+1, p.m.meanRun(), w)
}

// queueWait returns n run times of mean each, shared by w workers: the
// longest Duration where that does not fit one.
func queueWait(n int, mean time.Duration, w int) time.Duration {
	if mean > 0 && time.Duration(n) > math.MaxInt64/mean {
		return math.MaxInt64
	}
	return time.Duration(n) * mean / time.Duration(w)
}

// idle reports whether a local worker is free now. Safe for concurrent use.
func (p *Pool) idle() bool {
	return int(p.m.running.Load())+p.queued() < p.cfg.Workers
}
