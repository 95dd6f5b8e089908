package runtime

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Blocking runs fn on a new goroutine, off the loop, and returns a future for
// its result whose continuations run on s's loop. It is how loop code calls
// anything that blocks: database/sql, files, a net/http client, a DNS lookup.
// It plays the part of libuv's thread pool in Node.
//
// fn gets s's context and should return when it is done. If that context is
// already done, fn is not started and the future fails with the context's
// error. A panic in fn fails the future with a *PanicError.
//
// Each call starts a goroutine (about 2 µs and 2 KiB of stack while it runs);
// nothing bounds how many run at once, so bound the resource instead (as
// database/sql does with SetMaxOpenConns). For CPU-bound work use the offload
// package, whose workers are bounded and keep the loops responsive.
//
// If s has a Tracker (a *net.Ctx does), s keeps its resources (the request's
// bytes) until fn has returned, even if nothing waits for the future.
//
// Call it on s's loop (from a handler, with its *net.Ctx as s), or from any
// goroutine for a Scope with no loop (Detached).
func Blocking[T any](s Scope, fn func(ctx context.Context) (T, error)) Future[T] {
	ctx := s.Context()
	if err := ctx.Err(); err != nil {
		return Rejected[T](err)
	}
	p := &promise[T]{loop: s.Loop()}
	t := TrackerOf(s)
	keepFor(s, t, p)
	blockingInFlight.Add(1)
	go runBlocking(ctx, p, t, fn)
	return Future[T]{p: p}
}

func runBlocking[T any](ctx context.Context, p *promise[T], t Tracker, fn func(context.Context) (T, error)) {
	start := time.Now()
	v, err := callBlocking(ctx, fn)
	blockingInFlight.Add(-1)
	if t != nil {
		t.Measure(WorkBlocking, 0, time.Since(start))
	}
	p.resolve(v, err)
}

func callBlocking[T any](ctx context.Context, fn func(context.Context) (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = NewPanicError(r)
		}
	}()
	return fn(ctx)
}

// blockingInFlight counts the Blocking functions running in the process.
// Like the goroutine count it stands for, it is process-wide by nature:
// Blocking is a function, not a method of a server.
var blockingInFlight atomic.Int64

// BlockingInFlight returns how many functions started by Blocking are
// running now, in the whole process (every server, and Detached scopes).
// Safe for concurrent use.
func BlockingInFlight() int { return int(blockingInFlight.Load()) }

// After returns a future that resolves d from now, on s's loop, or fails with
// the context's error if s's context is done first. It is the loop's timer:
// Then on it is setTimeout. Call it on s's loop, or from any goroutine for a
// Scope with no loop.
func After(s Scope, d time.Duration) Future[struct{}] {
	ctx := s.Context()
	if err := ctx.Err(); err != nil {
		return Rejected[struct{}](err)
	}
	t := &timerNode{ctx: ctx}
	t.out.loop = s.Loop()
	// The two callbacks run on their own goroutines, not before mu is
	// released; the first to resolve wins and stops the other.
	t.mu.Lock()
	t.timer = time.AfterFunc(d, t.fire)
	t.stopCtx = context.AfterFunc(ctx, t.cancel)
	t.mu.Unlock()
	return Future[struct{}]{p: &t.out}
}

type timerNode struct {
	out promise[struct{}]
	ctx context.Context

	mu      sync.Mutex
	timer   *time.Timer
	stopCtx func() bool
}

func (t *timerNode) fire() {
	t.mu.Lock()
	t.stopCtx()
	t.mu.Unlock()
	t.out.resolve(struct{}{}, nil)
}

func (t *timerNode) cancel() {
	t.mu.Lock()
	t.timer.Stop()
	t.mu.Unlock()
	t.out.resolve(struct{}{}, t.ctx.Err())
}

// Work names a kind of asynchronous work, for a Tracker.
type Work uint8

const (
	// WorkBlocking is a function run by Blocking.
	WorkBlocking Work = iota
	// WorkOffload is a job run by the offload package.
	WorkOffload
)
