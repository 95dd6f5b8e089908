package offload

import (
	"fmt"
	"time"
)

// An OverloadError is the error of Run when the pool's queue is full. It
// answers 503 with Retry-After through weft's error handler.
type OverloadError struct {
	Queued, Workers int
	// Retry is how long the queue ahead should take to drain, from the
	// mean run time (at least a second).
	Retry time.Duration
}

func (e *OverloadError) Error() string {
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
	q := len(p.jobs)
	mean := p.m.run.snapshot().Mean
	retry := time.Duration(q/max(p.cfg.Workers, 1)) * mean
	return &OverloadError{Queued: q, Workers: p.cfg.Workers, Retry: max(retry, time.Second).Round(time.Second)}
}
