package offload

import (
	"fmt"
	"time"
)

// An OverloadError is the error of Run and Call when the pool's queue is
// full, or when the queue wait expected for the job exceeds the time left
// to its deadline (or Config.MaxWait), or when no remote worker could take
// a job. It answers 503 with Retry-After through weft's error handler.
type OverloadError struct {
	Queued, Workers int
	// Retry is how long the queue ahead should take to drain, from the
	// mean run time (at least a second).
	Retry time.Duration
	// Expected and Limit are set when the job was refused for its
	// deadline: the queue wait expected for it, and the time it had.
	Expected, Limit time.Duration
}

func (e *OverloadError) Error() string {
	if e.Expected > 0 {
		return fmt.Sprintf("weft/offload: pool overloaded: expected queue wait %v exceeds the job's %v (%d jobs queued for %d workers)",
			e.Expected.Round(time.Microsecond), e.Limit.Round(time.Microsecond), e.Queued, e.Workers)
	}
	return fmt.Sprintf("weft/offload: pool overloaded: %d jobs queued for %d workers", e.Queued, e.Workers)
}

// HTTPStatus returns 503.
func (e *OverloadError) HTTPStatus() int { return 503 }

// RetryAfter returns e.Retry.
func (e *OverloadError) RetryAfter() time.Duration { return e.Retry }

// Is makes errors.Is(err, ErrOverloaded) true for every *OverloadError.
func (e *OverloadError) Is(target error) bool { return target == ErrOverloaded }

// ErrOverloaded matches every *OverloadError under errors.Is.
var ErrOverloaded error = &OverloadError{}

// overload returns the error for a full queue.
func (p *Pool) overload() error {
	q := p.queued()
	retry := queueWait(q, p.m.meanRun(), max(p.cfg.Workers, 1))
	return &OverloadError{Queued: q, Workers: p.cfg.Workers, Retry: max(retry, time.Second).Round(time.Second)}
}

// ErrNoWorkers is the error of Run on a pool with no local workers
// (Config.Workers is NoWorkers). It answers 503.
var ErrNoWorkers error = noWorkersError{}

type noWorkersError struct{}

func (noWorkersError) Error() string   { return "weft/offload: the pool has no local workers" }
func (noWorkersError) HTTPStatus() int { return 503 }
