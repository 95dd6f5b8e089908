package offload

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// metrics are the pool's counters, updated with atomics (a few ns each).
type metrics struct {
	submitted, rejected, cancelled, completed, panicked atomic.Int64
	running                                             atomic.Int64
	closing                                             atomic.Bool
	wait, run                                           histogram
}

// histogram counts durations in power-of-two buckets of nanoseconds: bucket
// i holds [2^(i-1), 2^i). Observing is one atomic add; reading gives
// quantiles good to a factor of two, which is what a dashboard or a
// Retry-After estimate needs.
type histogram struct {
	buckets [40]atomic.Int64
	sum     atomic.Int64
}

func (h *histogram) observe(ns int64) {
	if ns < 0 {
		ns = 0
	}
	i := min(bits.Len64(uint64(ns)), len(h.buckets)-1)
	h.buckets[i].Add(1)
	h.sum.Add(ns)
}

// Distribution summarizes a histogram. Quantiles are upper bounds of their
// power-of-two bucket.
type Distribution struct {
	Count         int64
	Mean          time.Duration
	P50, P90, P99 time.Duration
	Max           time.Duration // upper bound of the highest non-empty bucket
}

func (h *histogram) snapshot() Distribution {
	var counts [40]int64
	var d Distribution
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		d.Count += counts[i]
	}
	if d.Count == 0 {
		return d
	}
	d.Mean = time.Duration(h.sum.Load() / d.Count)
	upper := func(i int) time.Duration { return time.Duration(uint64(1) << uint(i)) }
	quantile := func(q float64) time.Duration {
		rank := int64(q * float64(d.Count))
		var seen int64
		for i, c := range counts {
			seen += c
			if seen > rank {
				return upper(i)
			}
		}
		return upper(len(counts) - 1)
	}
	d.P50, d.P90, d.P99 = quantile(0.50), quantile(0.90), quantile(0.99)
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] > 0 {
			d.Max = upper(i)
			break
		}
	}
	return d
}

// Stats is a snapshot of a pool's metrics.
type Stats struct {
	Workers   int   // the pool's size
	Running   int64 // jobs running now
	Queued    int   // jobs waiting for a worker now
	Submitted int64 // jobs accepted by Run
	Completed int64 // jobs that ran (successfully or not, panics included)
	Panicked  int64 // jobs that panicked
	Rejected  int64 // Run calls refused because the queue was full
	Cancelled int64 // jobs not started because their context was done
	// QueueWait is the time from Run to a worker taking the job; RunTime
	// the time the job ran.
	QueueWait, RunTime Distribution
}

// Stats returns the pool's metrics. Safe for concurrent use, cheap enough to
// call per request (no locks).
func (p *Pool) Stats() Stats {
	return Stats{
		Workers:   p.cfg.Workers,
		Running:   p.m.running.Load(),
		Queued:    len(p.jobs),
		Submitted: p.m.submitted.Load(),
		Completed: p.m.completed.Load(),
		Panicked:  p.m.panicked.Load(),
		Rejected:  p.m.rejected.Load(),
		Cancelled: p.m.cancelled.Load(),
		QueueWait: p.m.wait.snapshot(),
		RunTime:   p.m.run.snapshot(),
	}
}

// QueueLen returns how many jobs wait for a worker. Safe for concurrent use.
func (p *Pool) QueueLen() int { return len(p.jobs) }
