package runtime

import (
	"errors"
	"sync"
	"time"
)

// Then returns a future for fn applied to f's value: when f resolves, fn runs
// with the value on s's loop, and the future returned by fn settles the
// result. If f fails, fn is skipped and the error passes through, as in a
// JavaScript promise chain.
//
// If f is ready, fn runs at once and Then returns fn's own future, without
// allocating. A panic in fn fails the result with a *PanicError. While fn
// waits, s is kept (its Tracker: a request's Ctx is not recycled before fn
// has run, even if the handler returned first). Call it on s's loop (off
// the loops for a Detached scope).
func Then[T, U any](s Scope, f Future[T], fn func(T) Future[U]) Future[U] {
	f = bindTo(s, f)
	if v, err, ok := f.readyResult(); ok {
		if err != nil {
			return Rejected[U](err)
		}
		return callThen(fn, v)
	}
	n := &chainNode[T, U]{then: fn, keep: keepScope(s, f.p.loop)}
	n.out.loop = f.p.loop
	f.p.listen(n)
	return Future[U]{p: &n.out}
}

// Map returns a future for fn applied to f's value, for steps that compute a
// value (or an error) without waiting; fn runs on s's loop. If f fails, fn is
// skipped. If f is ready, fn runs at once, without allocating. A panic in fn
// fails the result with a *PanicError. s is kept while fn waits, as in
// Then. Call it on s's loop (off the loops for a Detached scope).
func Map[T, U any](s Scope, f Future[T], fn func(T) (U, error)) Future[U] {
	f = bindTo(s, f)
	if v, err, ok := f.readyResult(); ok {
		if err != nil {
			return Rejected[U](err)
		}
		return callMap(fn, v)
	}
	n := &chainNode[T, U]{mapf: fn, keep: keepScope(s, f.p.loop)}
	n.out.loop = f.p.loop
	f.p.listen(n)
	return Future[U]{p: &n.out}
}

// Catch returns a future that settles like f, except that when f fails, fn
// runs with the error on s's loop and its future settles the result instead
// (return Rejected to keep failing). A panic in fn fails the result with a
// *PanicError. If f is ready, fn runs (or is skipped) at once. s is kept while fn waits, as in
// Then. Call it on s's loop (off the loops for a Detached scope).
func (f Future[T]) Catch(s Scope, fn func(error) Future[T]) Future[T] {
	f = bindTo(s, f)
	if v, err, ok := f.readyResult(); ok {
		if err == nil {
			return Resolved(v)
		}
		return callCatch(fn, err)
	}
	n := &sameNode[T]{catch: fn, keep: keepScope(s, f.p.loop)}
	n.out.loop = f.p.loop
	f.p.listen(n)
	return Future[T]{p: &n.out}
}

// Finally returns a future that settles like f after fn has seen f's result;
// fn runs whether f succeeded or failed, on s's loop. If fn panics, the result
// fails with a *PanicError. If f is ready, fn runs at once.
//
// Middleware that must not allocate on the synchronous path checks
// [Future.Ready] first and calls its code directly: the closure passed to
// Finally is allocated even when f is ready. s is kept while fn waits, as in
// Then. Call it on s's loop (off the loops for a Detached scope).
func (f Future[T]) Finally(s Scope, fn func(T, error)) Future[T] {
	f = bindTo(s, f)
	if v, err, ok := f.readyResult(); ok {
		if perr := callFinally(fn, v, err); perr != nil {
			return Rejected[T](perr)
		}
		return Future[T]{v: v, err: err}
	}
	n := &sameNode[T]{fin: fn, keep: keepScope(s, f.p.loop)}
	n.out.loop = f.p.loop
	f.p.listen(n)
	return Future[T]{p: &n.out}
}

// bindTo returns f as a future whose listeners run on s's loop: f itself
// when it is ready or already belongs there, otherwise a future on s's loop
// that f's result is posted to (see [Bind]). Comparing loops is a pointer
// comparison: attaching a continuation never asks which goroutine runs.
func bindTo[T any](s Scope, f Future[T]) Future[T] {
	return Bind(f, scopeLoop(s))
}

// keepScope holds s (through its Tracker, if that is a [Holder]: a
// request's Ctx) while a continuation attached with it waits on loop l,
// which is s's loop, so that s is not recycled under the continuation: a
// handler that returns before its continuation runs (net.Done(), a timeout
// that answered first) still has its own Ctx when the continuation runs,
// never the next request's. The node releases it on s's loop once the
// continuation has run. It returns the Holder held, or nil.
func keepScope(s Scope, l Loop) Holder {
	if l == nil || s.Loop() != l {
		return nil
	}
	h, _ := TrackerOf(s).(Holder)
	if h != nil {
		h.Hold()
	}
	return h
}

// release releases a Holder taken by keepScope, if any.
func release(h Holder) {
	if h != nil {
		h.Unhold()
	}
}

// scopeLoop returns s's loop, and explains a nil scope rather than letting it
// fail as a nil dereference.
func scopeLoop(s Scope) Loop {
	if s == nil {
		panic("weft/runtime: nil Scope: pass the handler's Ctx, or runtime.Detached(ctx) off the loops")
	}
	return s.Loop()
}

// readyResult returns f's result if it is ready.
func (f Future[T]) readyResult() (T, error, bool) {
	if f.p == nil {
		return f.v, f.err, true
	}
	return f.p.tryGet()
}

// chainNode is the state of Then and Map: the result's promise and the step.
type chainNode[T, U any] struct {
	out  promise[U]
	then func(T) Future[U]
	mapf func(T) (U, error)
	keep Holder // the scope's, held until the step has run (keepScope)
}

// Settled runs the step with the source's result, on the source's loop,
// which is also n.out's loop.
func (n *chainNode[T, U]) Settled(v T, err error) {
	then, mapf, keep := n.then, n.mapf, n.keep
	n.then, n.mapf, n.keep = nil, nil, nil
	var zero U
	// The scope is released once the step has run, before the result
	// settles: what follows keeps it on its own.
	switch {
	case err != nil:
		release(keep)
		n.out.settleFrom(n.out.loop, zero, err)
	case then != nil:
		g := callThen(then, v)
		release(keep)
		n.out.follow(g)
	default:
		u, err := callMap(mapf, v).Get()
		release(keep)
		n.out.settleFrom(n.out.loop, u, err)
	}
}

// sameNode is the state of Catch and Finally.
type sameNode[T any] struct {
	out   promise[T]
	catch func(error) Future[T]
	fin   func(T, error)
	keep  Holder // the scope's, held until the step has run (keepScope)
}

func (n *sameNode[T]) Settled(v T, err error) {
	catch, fin, keep := n.catch, n.fin, n.keep
	n.catch, n.fin, n.keep = nil, nil, nil
	switch {
	case catch != nil && err != nil:
		g := callCatch(catch, err)
		release(keep)
		n.out.follow(g)
	case fin != nil:
		if perr := callFinally(fin, v, err); perr != nil {
			var zero T
			v, err = zero, perr
		}
		release(keep)
		n.out.settleFrom(n.out.loop, v, err)
	default:
		release(keep)
		n.out.settleFrom(n.out.loop, v, err)
	}
}

func callThen[T, U any](fn func(T) Future[U], v T) (f Future[U]) {
	defer func() {
		if r := recover(); r != nil {
			f = Rejected[U](NewPanicError(r))
		}
	}()
	return fn(v)
}

func callMap[T, U any](fn func(T) (U, error), v T) (f Future[U]) {
	defer func() {
		if r := recover(); r != nil {
			f = Rejected[U](NewPanicError(r))
		}
	}()
	u, err := fn(v)
	return Future[U]{v: u, err: err}
}

func callCatch[T any](fn func(error) Future[T], err error) (f Future[T]) {
	defer func() {
		if r := recover(); r != nil {
			f = Rejected[T](NewPanicError(r))
		}
	}()
	return fn(err)
}

func callFinally[T any](fn func(T, error), v T, err error) (perr error) {
	defer func() {
		if r := recover(); r != nil {
			perr = NewPanicError(r)
		}
	}()
	fn(v, err)
	return nil
}

// All returns a future for the values of fs, in order, once all have
// resolved; it fails with the first error, without waiting for the rest (as
// Promise.all). With no futures it resolves to an empty slice. The inputs may
// belong to any loops; the result settles on s's loop. Call it on s's loop
// (off the loops for a Detached scope).
func All[T any](s Scope, fs ...Future[T]) Future[[]T] {
	vals := make([]T, len(fs))
	j := joinFor[T, []T](s, fs, joinAll)
	if j == nil {
		for i, f := range fs {
			v, err := f.Get()
			if err != nil {
				return Rejected[[]T](err)
			}
			vals[i] = v
		}
		return Resolved(vals)
	}
	j.vals = vals
	return j.start(fs)
}

// Any returns a future for the first value among fs to resolve successfully;
// if all fail, it fails with an error that joins theirs (errors.Join, in the
// order of fs). With no futures it fails with ErrNoFutures. The result
// settles on s's loop. Call it on s's loop (off the loops for a Detached
// scope).
func Any[T any](s Scope, fs ...Future[T]) Future[T] {
	if len(fs) == 0 {
		return Rejected[T](ErrNoFutures)
	}
	j := joinFor[T, T](s, fs, joinAny)
	if j == nil {
		errs := make([]error, len(fs))
		for i, f := range fs {
			v, err := f.Get()
			if err == nil {
				return Resolved(v)
			}
			errs[i] = err
		}
		return Rejected[T](errors.Join(errs...))
	}
	j.errs = make([]error, len(fs))
	return j.start(fs)
}

// Race returns a future that settles like the first of fs to settle, value or
// error (as Promise.race). With no futures it fails with ErrNoFutures. The
// result settles on s's loop. Call it on s's loop (off the loops for a
// Detached scope).
func Race[T any](s Scope, fs ...Future[T]) Future[T] {
	if len(fs) == 0 {
		return Rejected[T](ErrNoFutures)
	}
	for _, f := range fs {
		if v, err, ok := f.readyResult(); ok {
			return Future[T]{v: v, err: err}
		}
	}
	j := joinFor[T, T](s, fs, joinRace)
	if j == nil {
		// Every input became ready since the loop above (a future with no
		// loop, settled by another goroutine): the first one wins.
		v, err := fs[0].Get()
		return Future[T]{v: v, err: err}
	}
	return j.start(fs)
}

// ErrNoFutures is the error of [Any] and [Race] called with no futures.
var ErrNoFutures = errors.New("weft/runtime: no futures given")

type joinKind uint8

const (
	joinAll joinKind = iota
	joinAny
	joinRace
)

// join is the shared state of All, Any and Race. Its inputs may belong to
// different loops, so its counters are under a mutex.
type join[T, R any] struct {
	out  promise[R]
	kind joinKind

	mu    sync.Mutex
	left  int
	vals  []T     // All
	errs  []error // Any
	slots []joinSlot[T, R]
}

// joinSlot is the Listener for input i.
type joinSlot[T, R any] struct {
	j    *join[T, R]
	i    int
	loop Loop
}

// joinFor returns the state for combining fs on s's loop, or nil if every
// input is ready (the caller then combines them at once).
func joinFor[T, R any](s Scope, fs []Future[T], kind joinKind) *join[T, R] {
	l := scopeLoop(s)
	for _, f := range fs {
		if !f.Ready() {
			return &join[T, R]{kind: kind, out: promise[R]{loop: l}}
		}
	}
	return nil
}

func (j *join[T, R]) start(fs []Future[T]) Future[R] {
	j.left = len(fs)
	j.slots = make([]joinSlot[T, R], len(fs))
	for i, f := range fs {
		j.slots[i] = joinSlot[T, R]{j: j, i: i, loop: f.Loop()}
	}
	for i, f := range fs {
		f.Listen(&j.slots[i])
	}
	return Future[R]{p: &j.out}
}

// Settled records input i's result. It runs on that input's loop, or at once
// inside start for an input that was ready; either way settleFrom decides
// whether the result may settle inline.
func (s *joinSlot[T, R]) Settled(v T, err error) {
	j := s.j
	j.mu.Lock()
	j.left--
	left := j.left
	var out R
	var outErr error
	done := false
	switch j.kind {
	case joinAll:
		if err != nil {
			outErr, done = err, true
		} else {
			j.vals[s.i] = v
			if left == 0 {
				out, done = any(j.vals).(R), true
			}
		}
	case joinAny:
		if err == nil {
			out, done = any(v).(R), true
		} else {
			j.errs[s.i] = err
			if left == 0 {
				outErr, done = errors.Join(j.errs...), true
			}
		}
	case joinRace:
		out, outErr, done = any(v).(R), err, true
	}
	j.mu.Unlock()
	if done {
		// A later input settling after the result is fixed is a no-op.
		j.out.settleFrom(s.loop, out, outErr)
	}
}

// WithTimeout returns a future that settles like f, or fails with ErrTimeout
// if f has not settled within d; its listeners run on s's loop. It stops
// waiting; it does not stop the work behind f, which should watch a context
// with the same deadline. A ready f is returned as it is. Call it on s's
// loop (off the loops for a Detached scope).
func WithTimeout[T any](s Scope, f Future[T], d time.Duration) Future[T] {
	f = bindTo(s, f)
	if f.Ready() {
		return f
	}
	n := &timeoutNode[T]{}
	n.out.loop = f.p.loop
	n.timer = time.AfterFunc(d, n.expire)
	f.p.listen(n)
	return Future[T]{p: &n.out}
}

type timeoutNode[T any] struct {
	out   promise[T]
	timer *time.Timer
}

// expire runs on the timer's goroutine.
func (n *timeoutNode[T]) expire() {
	var zero T
	n.out.resolve(zero, ErrTimeout)
}

// Settled runs on f's loop, which is n.out's loop.
func (n *timeoutNode[T]) Settled(v T, err error) {
	n.timer.Stop()
	n.out.settleFrom(n.out.loop, v, err)
}
