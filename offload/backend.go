package offload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/weftgo/weft/runtime"
)

// A Backend runs jobs by name on workers outside this process, for Call.
// offload/nats is one (a nested module, so that offload's own module
// needs no NATS). A worker process serves the same *Job registrations with
// a Pool of its own; see offload/nats.
//
// Implementations must be safe for concurrent use.
type Backend interface {
	// Send starts req on a remote worker. It must not block (Call may
	// run on a loop) and must call done exactly once, from any goroutine
	// (possibly before Send returns), with the job's outcome:
	//   - the worker's answer: Reply.Output, or Reply.Err decoded from a
	//     Failure (so that *OverloadError, ErrClosed, *runtime.PanicError
	//     and context errors stay what they were on the worker);
	//   - ErrUnavailable if the job was not delivered to any worker (it
	//     did not run: it may run elsewhere);
	//   - ErrLost if the job was delivered but its worker went silent (it
	//     may or may not have run);
	//   - ctx's error once ctx is done (the backend tells the worker, whose
	//     job's context is then cancelled).
	// ctx's deadline travels with the job.
	Send(ctx context.Context, req Request, done func(Reply))
}

// A Request is a job sent to a Backend.
type Request struct {
	Job        string // the job's name (Job.Name)
	Input      []byte // the input, encoded by the job's codec
	Idempotent bool   // Job.Idempotent
	Attempt    int    // 1, or 2 for a retry
}

// A Reply is a Backend's answer to a Request.
type Reply struct {
	Output []byte // the output, encoded by the job's codec, if Err is nil
	Err    error
	// Queued and Ran are how long the job waited for a worker there and
	// ran (zero if it did not run), for the caller's runtime.Tracker.
	Queued, Ran time.Duration
}

// ErrUnavailable is the error a Backend reports when it could not deliver
// a job to any worker (the broker is unreachable, no worker serves the
// job): the job did not run. Call fails with it (503), or runs the job on
// the local workers if Config.LocalFallback is set.
var ErrUnavailable error = &statusError{"weft/offload: no remote worker is reachable", http.StatusServiceUnavailable}

// ErrLost is the error a Backend reports when the worker that took a job
// went silent (killed, partitioned) before answering: the job may or may
// not have run. Call retries a Job declared Idempotent once, and fails
// with it otherwise (503).
var ErrLost error = &statusError{"weft/offload: the remote worker running the job was lost", http.StatusServiceUnavailable}

type statusError struct {
	msg    string
	status int
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) HTTPStatus() int { return e.status }

// A RemoteError is a job's own error (not a panic, a cancellation or an
// overload) as it comes back from a remote worker: its message, and its
// HTTP status if the error had one (an HTTPStatus() int method).
type RemoteError struct {
	Job     string
	Message string
	Status  int // 0: none (500 through the error handler)
}

func (e *RemoteError) Error() string { return e.Message }

// HTTPStatus returns the original error's status, or 500.
func (e *RemoteError) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// Failure kinds.
const (
	FailError    = "error"    // the job's own error: *RemoteError
	FailPanic    = "panic"    // *runtime.PanicError, stack included
	FailCanceled = "canceled" // context.Canceled
	FailDeadline = "deadline" // context.DeadlineExceeded
	FailOverload = "overload" // *OverloadError
	FailClosed   = "closed"   // ErrClosed
	FailLost     = "lost"     // ErrLost
	FailNoWorker = "noworker" // ErrNoWorkers, ErrUnavailable
)

// A Failure is an error in a form that crosses a process boundary: a
// Backend encodes a worker's error with FailureOf and decodes it with
// Failure.Err, so that the caller sees the same kinds of errors as a local
// job gives. Encode it as the backend likes (its fields are plain).
type Failure struct {
	Kind    string // one of the Fail constants
	Message string
	Status  int           // FailError: the error's HTTP status, if any
	Retry   time.Duration // FailOverload: Retry-After
	Stack   []byte        // FailPanic: the worker's stack
}

// FailureOf describes err (non-nil) for the wire. Safe for concurrent use.
func FailureOf(err error) Failure {
	f := Failure{Kind: FailError, Message: err.Error()}
	var pe *runtime.PanicError
	var oe *OverloadError
	var hs interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &pe):
		f.Kind, f.Message, f.Stack = FailPanic, fmt.Sprint(pe.Value), pe.Stack
	case errors.As(err, &oe):
		f.Kind, f.Retry = FailOverload, oe.Retry
	case errors.Is(err, context.Canceled):
		f.Kind = FailCanceled
	case errors.Is(err, context.DeadlineExceeded):
		f.Kind = FailDeadline
	case errors.Is(err, ErrClosed):
		f.Kind = FailClosed
	case errors.Is(err, ErrLost):
		f.Kind = FailLost
	case errors.Is(err, ErrNoWorkers), errors.Is(err, ErrUnavailable):
		f.Kind = FailNoWorker
	case errors.As(err, &hs):
		f.Status = hs.HTTPStatus()
	}
	return f
}

// Err returns the error f describes, for a job named job: the same kind of
// error (and sentinel) as FailureOf was given; a job's own error becomes a
// *RemoteError. Safe for concurrent use.
func (f Failure) Err(job string) error {
	switch f.Kind {
	case FailPanic:
		return &runtime.PanicError{Value: f.Message, Stack: f.Stack}
	case FailCanceled:
		return context.Canceled
	case FailDeadline:
		return context.DeadlineExceeded
	case FailOverload:
		return &OverloadError{Retry: max(f.Retry, time.Second)}
	case FailClosed:
		return ErrClosed
	case FailLost:
		return ErrLost
	case FailNoWorker:
		return ErrUnavailable
	}
	return &RemoteError{Job: job, Message: f.Message, Status: f.Status}
}
