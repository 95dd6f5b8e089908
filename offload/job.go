package offload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/runtime"
)

// A Job is a function registered by name, so that it can run on this
// process's workers or on a remote worker that registered the same name
// (a function cannot cross a process boundary; a name and bytes can). Its
// input and output cross as bytes made by its Codec. Make one per job, at
// start-up, in code that both the service and its worker binaries share,
// with NewJob.
//
// A *Job is immutable and safe for concurrent use.
type Job[In, Out any] struct {
	name       string
	fn         func(context.Context, In) (Out, error)
	codec      Codec
	idempotent bool
}

// JobConfig configures a Job. Its zero value is ready to use.
type JobConfig struct {
	// Codec encodes the job's input and output for remote workers.
	// Default: JSONCodec (encoding.BinaryMarshaler honoured, JSON
	// otherwise). A job that runs locally is passed its values as they
	// are, without encoding.
	Codec Codec

	// Idempotent declares that running the job twice does no harm: when
	// the remote worker running it is lost, Call sends it once more
	// (to another worker, or locally) instead of failing with ErrLost.
	Idempotent bool
}

// NewJob registers fn under name (letters, digits, '-' and '_', at most
// 128 bytes: it becomes part of a subject). It panics on a bad name:
// registration is start-up code, like a route.
func NewJob[In, Out any](name string, fn func(ctx context.Context, in In) (Out, error), cfg JobConfig) *Job[In, Out] {
	if err := checkJobName(name); err != nil {
		panic(err)
	}
	if fn == nil {
		panic("weft/offload: NewJob(" + name + ") with a nil function")
	}
	if cfg.Codec == nil {
		cfg.Codec = JSONCodec{}
	}
	return &Job[In, Out]{name: name, fn: fn, codec: cfg.Codec, idempotent: cfg.Idempotent}
}

func checkJobName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("weft/offload: job name %q: want 1 to 128 bytes", name)
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("weft/offload: job name %q: byte %q is not a letter, a digit, '-' or '_'", name, c)
		}
	}
	return nil
}

// Name returns the job's name.
func (j *Job[In, Out]) Name() string { return j.name }

// Idempotent returns JobConfig.Idempotent.
func (j *Job[In, Out]) Idempotent() bool { return j.idempotent }

// Serve decodes input, runs the job with ctx and encodes its output: what a
// worker does with a job that came from another process. A panic in the job
// is returned as a *runtime.PanicError. Safe for concurrent use; call it
// off the loops (a worker runs it on its Pool, through Run).
func (j *Job[In, Out]) Serve(ctx context.Context, input []byte) ([]byte, error) {
	out, err := j.decodeAndCall(ctx, input)
	if err != nil {
		return nil, err
	}
	data, err := j.codec.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("weft/offload: job %s: encoding its output: %w", j.name, err)
	}
	return data, nil
}

func (j *Job[In, Out]) decodeAndCall(ctx context.Context, input []byte) (out Out, err error) {
	var in In
	if err := j.codec.Unmarshal(input, &in); err != nil {
		return out, fmt.Errorf("weft/offload: job %s: decoding its input: %w", j.name, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = runtime.NewPanicError(r)
		}
	}()
	return j.fn(ctx, in)
}

// encode and decode run the job's codec on the caller's side, where a
// panic in it (a user's codec, a BinaryUnmarshaler given bytes it did not
// expect) would kill the loop or a backend's goroutine: it is returned as a
// *runtime.PanicError, as a panic in the job is.
func (j *Job[In, Out]) encode(in In) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = runtime.NewPanicError(r)
		}
	}()
	return j.codec.Marshal(in)
}

func (j *Job[In, Out]) decode(data []byte, out *Out) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = runtime.NewPanicError(r)
		}
	}()
	return j.codec.Unmarshal(data, out)
}

// A Handler is a Job without its types, as a worker serves it. *Job
// implements it; offload/nats takes a list of them.
type Handler interface {
	Name() string
	Idempotent() bool
	Serve(ctx context.Context, input []byte) ([]byte, error)
}

var _ Handler = (*Job[int, int])(nil)

// Call runs job j with input in and returns a future for its output, whose
// continuations run on s's loop. It behaves as Run does (the same errors,
// panics as *runtime.PanicError, the same timings for the scope's
// runtime.Tracker) wherever the job runs:
//
//   - without Config.Remote, or while a local worker is idle, on this
//     process's workers, with in passed as it is;
//   - otherwise on a remote worker through Config.Remote: in is encoded
//     at once (so it may borrow the request's bytes), and the output
//     decoded when the answer comes. If the remote workers are
//     overloaded, the job joins the local queue (if there are local
//     workers; deadline-aware admission applies). If no worker is
//     reachable, it fails with ErrUnavailable, or runs locally with
//     Config.LocalFallback. With no local workers, a job that a remote
//     worker refuses as overloaded is sent once more (another worker may
//     be free) before it fails. If its worker is lost, it fails with
//     ErrLost, or is sent once more if j is Idempotent. Once s's context
//     is done the future fails with its error at once, and the worker is
//     told to cancel the job.
//
// Call it on s's loop (from a handler, with its *net.Ctx as s), or from any
// goroutine for a Scope with no loop (runtime.Detached).
func Call[In, Out any](s runtime.Scope, p *Pool, j *Job[In, Out], in In) runtime.Future[Out] {
	ctx := s.Context()
	if err := ctx.Err(); err != nil {
		p.m.cancelled.Add(1)
		return runtime.Rejected[Out](err)
	}
	if p.cfg.Remote == nil || p.idle() || p.isClosed() {
		return run(s, p, j.fn, func(ctx context.Context) (Out, error) { return j.fn(ctx, in) })
	}
	input, err := j.encode(in)
	if err != nil {
		return runtime.Rejected[Out](fmt.Errorf("weft/offload: job %s: encoding its input: %w", j.name, err))
	}
	c := &remoteCall[In, Out]{p: p, j: j, input: input, ctx: ctx, promise: runtime.NewPromise[Out](s.Loop()), start: time.Now()}
	c.tracker = runtime.TrackerOf(s)
	// The answer measures the job on the scope's Tracker (and a fallback
	// may run it locally): keep the scope (a request) until the future
	// settles, as Run does, so that it is not a recycled one by then.
	runtime.KeepFor(s, c.promise)
	c.send(1)
	return c.promise.Future()
}

// remoteCall is one Call sent to Config.Remote.
type remoteCall[In, Out any] struct {
	p       *Pool
	j       *Job[In, Out]
	input   []byte
	ctx     context.Context
	promise runtime.Promise[Out]
	tracker runtime.Tracker
	start   time.Time
	attempt int
}

func (c *remoteCall[In, Out]) send(attempt int) {
	c.attempt = attempt
	r := &c.p.m.remote
	r.sent.Add(1)
	r.inflight.Add(1)
	c.p.cfg.Remote.Send(c.ctx, Request{Job: c.j.name, Input: c.input, Idempotent: c.j.idempotent, Attempt: attempt}, c.done)
}

// done receives the backend's answer, on any goroutine.
func (c *remoteCall[In, Out]) done(rep Reply) {
	p, r := c.p, &c.p.m.remote
	r.inflight.Add(-1)
	local := p.cfg.Workers > 0
	switch {
	case rep.Err == nil:
		r.completed.Add(1)
		var out Out
		err := c.j.decode(rep.Output, &out)
		if err != nil {
			err = fmt.Errorf("weft/offload: job %s: decoding its output: %w", c.j.name, err)
		}
		c.finish(rep, out, err)
	case errors.Is(rep.Err, ErrUnavailable) && local && p.cfg.LocalFallback,
		errors.Is(rep.Err, ErrOverloaded) && local:
		r.fallback.Add(1)
		c.runLocally()
	case errors.Is(rep.Err, ErrOverloaded) && c.attempt == 1 && c.ctx.Err() == nil:
		// The broker picked a busy worker; another may be free. One more
		// try, as it costs one round trip.
		c.send(2)
	case errors.Is(rep.Err, ErrLost) && c.j.idempotent && c.attempt == 1 && c.ctx.Err() == nil:
		r.failed.Add(1)
		r.retried.Add(1)
		if local && p.idle() {
			c.runLocally()
			return
		}
		c.send(2)
	default:
		if rep.Ran > 0 || rep.Queued > 0 {
			r.completed.Add(1) // a worker answered
		} else {
			r.failed.Add(1)
		}
		var pe *runtime.PanicError
		if errors.As(rep.Err, &pe) {
			p.m.panicked.Add(1)
		}
		if errors.Is(rep.Err, ErrOverloaded) {
			// The caller gets the same 503 as from a full local queue:
			// count it the same (weft_offload_rejected_total).
			p.m.rejected.Add(1)
		}
		var zero Out
		c.finish(rep, zero, rep.Err)
	}
}

func (c *remoteCall[In, Out]) finish(rep Reply, out Out, err error) {
	c.p.m.remote.roundTrip.observe(int64(time.Since(c.start)))
	if c.tracker != nil && (rep.Queued > 0 || rep.Ran > 0) {
		c.tracker.Measure(runtime.WorkOffload, rep.Queued, rep.Ran)
	}
	c.tracker, c.ctx, c.input = nil, nil, nil
	c.promise.Settle(out, err)
}

// runLocally queues the job on the local workers, decoding its input from
// the bytes already made (the caller's value may borrow bytes that are no
// longer kept). Any goroutine.
func (c *remoteCall[In, Out]) runLocally() {
	input := c.input
	lj := &job[Out]{
		fn:      func(ctx context.Context) (Out, error) { return c.j.decodeAndCall(ctx, input) },
		ctx:     c.ctx,
		promise: c.promise,
		tracker: c.tracker,
		queued:  time.Now(),
	}
	if err := c.p.submit(lj, c.ctx); err != nil {
		lj.drop(err)
	}
}
