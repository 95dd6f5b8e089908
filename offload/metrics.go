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
	fast                                                atomic.Int64 // jobs started on the fast lane
	queued                                              atomic.Int64 // submitted to the queue, not holding a slot yet
	closing                                             atomic.Bool
	wait, run                                           histogram
	// runAvg is a moving average of run times in ns (each new run counts
	// for 1/8), for admission and Retry-After.
	runAvg atomic.Int64
	remote remoteMetrics
}

// observeRun records a job's run time, and in lane if it is not nil.
func (m *metrics) observeRun(d time.Duration, lane *laneStat) {
	m.run.observe(int64(d))
	ewma(&m.runAvg, d)
	if lane != nil {
		ewma(&lane.avg, d)
	}
}

// meanRun returns the moving average of run times.
func (m *metrics) meanRun() time.Duration { return time.Duration(m.runAvg.Load()) }

// remoteMetrics count the jobs that Call sent to Config.Remote.
type remoteMetrics struct {
	sent, completed, failed, retried, fallback atomic.Int64
	inflight                                   atomic.Int64
	roundTrip                                  histogram
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

// Buckets is how many buckets a Distribution has.
const Buckets = 40

// Distribution summarizes a histogram. Quantiles are upper bounds of their
// power-of-two bucket.
type Distribution struct {
	Count         int64
	Sum           time.Duration // of every observation
	Mean          time.Duration
	P50, P90, P99 time.Duration
	Max           time.Duration // upper bound of the highest non-empty bucket
	// Counts[i] is how many observations fell in bucket i, whose upper
	// bound is BucketBound(i) (not cumulative): what a Prometheus
	// collector turns into a histogram at scrape time.
	Counts [Buckets]int64
}

// BucketBound returns the upper bound of bucket i of a Distribution:
// 2^i ns (bucket i holds [2^(i-1), 2^i) ns; the last also holds all that
// is larger).
func BucketBound(i int) time.Duration { return time.Duration(uint64(1) << uint(i)) }

func (h *histogram) snapshot() Distribution {
	var d Distribution
	counts := &d.Counts
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		d.Count += counts[i]
	}
	if d.Count == 0 {
		return d
	}
	d.Sum = time.Duration(h.sum.Load())
	d.Mean = d.Sum / time.Duration(d.Count)
	upper := BucketBound
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

// Stats is a snapshot of a pool's metrics. Counters only grow; a
// Prometheus collector reads them at scrape time (weft's metrics
// middleware exports every field as weft_offload_*, labelled with Name;
// docs/observability.md lists them).
type Stats struct {
	Name      string // Config.Name
	Workers   int    // the pool's size (local workers)
	Running   int64  // jobs running now
	Queued    int    // jobs waiting for a worker now
	Submitted int64  // jobs accepted by Run
	Completed int64  // jobs that ran (successfully or not, panics included)
	Panicked  int64  // jobs that panicked
	Rejected  int64  // jobs refused as overloaded: queue full, expected wait past the deadline, or (Call) no remote worker free
	Cancelled int64  // jobs not started because their context was done
	FastLane  int64  // jobs that took the fast lane (Config.FastLane), of Submitted
	// QueueWait is the time from Run to a worker taking the job; RunTime
	// the time the job ran. Local jobs only.
	QueueWait, RunTime Distribution
	// ExpectedWait is the queue wait expected for a job submitted now
	// (see Pool.ExpectedWait).
	ExpectedWait time.Duration
	// Remote counts the jobs Call sent to Config.Remote.
	Remote RemoteStats
}

// RemoteStats count the jobs a pool sent to its Backend.
type RemoteStats struct {
	Sent      int64 // jobs sent (a retry counts again)
	InFlight  int64 // sent and not answered yet
	Completed int64 // answered by a worker (successfully or not)
	Failed    int64 // failed without a worker's answer: unavailable, lost, cancelled
	Retried   int64 // idempotent jobs sent again after their worker was lost
	Fallback  int64 // jobs run locally because no remote worker could take them
	// RoundTrip is the time from Call to the answer, queueing and run
	// included.
	RoundTrip Distribution
}

// Stats returns the pool's metrics. Safe for concurrent use, cheap enough to
// call per request (no locks).
func (p *Pool) Stats() Stats {
	r := &p.m.remote
	return Stats{
		Name:      p.cfg.Name,
		Workers:   p.cfg.Workers,
		Running:   p.m.running.Load(),
		Queued:    p.queued(),
		Submitted: p.m.submitted.Load(),
		Completed: p.m.completed.Load(),
		Panicked:  p.m.panicked.Load(),
		Rejected:  p.m.rejected.Load(),
		Cancelled: p.m.cancelled.Load(),
		FastLane:  p.m.fast.Load(),
		QueueWait: p.m.wait.snapshot(),
		RunTime:   p.m.run.snapshot(),

		ExpectedWait: p.ExpectedWait(),
		Remote: RemoteStats{
			Sent:      r.sent.Load(),
			InFlight:  r.inflight.Load(),
			Completed: r.completed.Load(),
			Failed:    r.failed.Load(),
			Retried:   r.retried.Load(),
			Fallback:  r.fallback.Load(),
			RoundTrip: r.roundTrip.snapshot(),
		},
	}
}

// Name returns Config.Name. Safe for concurrent use.
func (p *Pool) Name() string { return p.cfg.Name }

// QueueLen returns how many jobs wait for a worker. Safe for concurrent use.
func (p *Pool) QueueLen() int { return p.queued() }
