package runtime

import (
	"bytes"
	"context"
	"errors"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A Task is a unit of work run on a loop.
type Task interface {
	Run()
}

// TaskFunc adapts a function to [Task]. Converting a closure to a TaskFunc
// allocates; types that post often implement Task on a struct they already
// have instead.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// A Loop runs tasks one at a time, in the order they were posted, on one
// goroutine that it owns for its whole life. Futures post their continuations
// to the loop they belong to.
//
// Implementations must make Post and Running safe for concurrent use.
type Loop interface {
	// Post queues t to run on the loop after the tasks already queued. It
	// never blocks and never runs t before it returns. It returns
	// ErrLoopClosed if the loop has stopped, in which case t never runs.
	Post(t Task) error

	// Running reports whether the caller is running on the loop's
	// goroutine.
	Running() bool
}

// ErrLoopClosed is returned by [Loop.Post] when the loop no longer runs tasks.
var ErrLoopClosed = errors.New("weft/runtime: loop closed")

// A Scope binds asynchronous work to the loop its continuations run on and to
// the context that cancels it. The net package's *Ctx is a Scope: pass it to
// [Blocking], [After] or offload.Run from a handler.
type Scope interface {
	// Loop returns the loop that continuations run on, or nil for work
	// started off any loop (continuations then run on the goroutine that
	// resolves the future).
	Loop() Loop

	// Context returns the context that cancels the work. It must be safe
	// to use from other goroutines.
	Context() context.Context
}

// A Tracker follows the asynchronous work started for a Scope; a Scope that
// has one returns it from a Tracker() method (net's *Ctx does). It is for
// code that starts work off the loop, like Blocking and the offload package;
// handlers never call it.
//
// Keep is called on the scope's loop when work starts, and Release on that
// loop once the work's future has settled, whether or not anything waits for
// it: the scope keeps the resources the work may read (a request's bytes)
// until then. Measure is called from the goroutine that ran the work, before
// its future is resolved, with how long it waited for a worker and ran (for
// access logs and Server-Timing); it must be safe for concurrent use and
// cheap.
type Tracker interface {
	Keep()
	Release()
	Measure(w Work, queued, ran time.Duration)
}

// A QueueTracker is a Tracker that also follows work while it waits in a
// queue (an offload job before a worker takes it), so that a request
// answered while its job still waits (a timeout) counts the wait as queue
// time, not as time unaccounted for. KeepQueued calls Queued on the scope's
// loop, right after Keep, for work that enters a queue; Dequeued is called
// by the goroutine that takes the work out of the queue, before the work
// runs and before its future settles, with how long it waited (see the
// function Dequeued). Queued is loop-only; Dequeued must be safe for
// concurrent use and cheap. Either may come first: a worker can take a job
// before its submitter returns to the loop.
type QueueTracker interface {
	Tracker
	Queued(w Work)
	Dequeued(w Work, queued time.Duration)
}

// KeepQueued is KeepFor for work that waits in a queue before it runs: it
// also tells s's Tracker, if it is a QueueTracker, that work of kind w is
// queued. Call it on s's loop once the work is in the queue; the code that
// takes it out calls Dequeued.
func KeepQueued[T any](s Scope, p Promise[T], w Work) {
	t := TrackerOf(s)
	keepFor(s, t, p.p)
	if qt, ok := t.(QueueTracker); ok && s.Loop() != nil && s.Loop() == p.p.loop {
		qt.Queued(w)
	}
}

// Dequeued tells t, if it is a QueueTracker, that work of kind w left its
// queue after waiting queued, before the work runs (or is dropped) and
// before its future settles. It returns the wait left for the work's
// Measure: 0 if t counted it here, queued otherwise (t nil or not a
// QueueTracker), so that the wait is counted once either way:
//
//	waited = runtime.Dequeued(t, runtime.WorkOffload, waited)
//	... run the job ...
//	t.Measure(runtime.WorkOffload, waited, ran)
//
// Safe for concurrent use.
func Dequeued(t Tracker, w Work, queued time.Duration) time.Duration {
	if qt, ok := t.(QueueTracker); ok {
		qt.Dequeued(w, queued)
		return 0
	}
	return queued
}

// A Holder is a Tracker that can also hold its scope for a continuation.
// Then, Map, Catch and Finally call Hold on the scope's loop when they
// attach a continuation that must wait, and Unhold there once it has run,
// so that the scope's resources (a request's Ctx) are not reused while a
// continuation may still touch them. Unlike Keep and Release, a hold is not
// work: it is not measured. A continuation on a future that never settles
// holds its scope for good (a request's Ctx is never reused), so a shared
// future (a cache fill) must settle, with an error if need be.
// Loop-only: both are called on the scope's loop.
type Holder interface {
	Tracker
	Hold()
	Unhold()
}

// TrackerOf returns s's Tracker, or nil if s has none. Safe for concurrent
// use when s's Tracker method is.
func TrackerOf(s Scope) Tracker {
	if ts, ok := s.(interface{ Tracker() Tracker }); ok {
		return ts.Tracker()
	}
	return nil
}

// Detached returns a Scope with no loop, for starting asynchronous work from
// ordinary goroutines (a test, a background job). Futures made in it run their
// continuations on whichever goroutine resolves them, and can be waited for
// with [Future.Wait]. Safe for concurrent use.
func Detached(ctx context.Context) Scope { return detached{ctx} }

type detached struct{ ctx context.Context }

func (detached) Loop() Loop                 { return nil }
func (d detached) Context() context.Context { return d.ctx }

// Owner records which goroutine owns a loop, so that the loop can implement
// [Loop.Running], and so that [Future.Wait] can refuse to block any loop. The
// zero Owner is owned by no goroutine.
//
// Claim is called once, on the loop's goroutine. Running is safe for
// concurrent use; it costs about a microsecond (Go exposes goroutine identity
// only through a stack trace), so it belongs in checks, not on hot paths.
type Owner struct {
	id atomic.Int64
}

// Claim makes the calling goroutine the owner, and marks it as a loop for
// the rest of the process's life.
func (o *Owner) Claim() {
	id := goroutineID()
	o.id.Store(id)
	loopGoroutines.Store(id, struct{}{})
}

// Release gives up ownership: the goroutine no longer counts as a loop. A
// loop that runs on a goroutine it borrowed (net.TestConn runs its loop on
// the test's goroutine) releases it when it stops.
func (o *Owner) Release() {
	if id := o.id.Swap(0); id != 0 {
		loopGoroutines.Delete(id)
	}
}

// loopGoroutines holds the ids of every goroutine that has claimed a loop.
// It is the package's one piece of process-wide state: goroutine identity is
// process-wide, and Wait must know whether its caller is any loop, not only
// the future's. Go never reuses a goroutine id, so entries never go stale;
// each costs a few bytes per loop ever started.
var loopGoroutines sync.Map

// onAnyLoop reports whether the caller is a loop's goroutine.
func onAnyLoop() bool {
	_, ok := loopGoroutines.Load(goroutineID())
	return ok
}

// Running reports whether the caller is the owning goroutine.
func (o *Owner) Running() bool {
	id := o.id.Load()
	return id != 0 && id == goroutineID()
}

// goroutineID returns the calling goroutine's id, parsed from the header line
// of its stack trace ("goroutine 42 [running]:").
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:goruntime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic("weft/runtime: cannot read goroutine id from " + strconv.Quote(string(buf[:])))
	}
	return id
}
