package runtime

import (
	"context"
	"sync"
)

// A Future is a value of type T, or an error, that will be there later.
//
// A Future is a small value: copy it, return it, pass it around. Its zero
// value is a future already resolved with T's zero value. A future made
// already resolved ([Resolved], [Rejected]) holds its result inline and costs
// no allocation; only a future that is still pending when it is made points
// to shared state.
//
// A future belongs to the loop it was made for: the loop its result is
// taken in on. Continuations attached with the combinators run on the loop
// of the scope they are attached with, which may be another (see the package
// doc). [Future.Get] and [Future.Listen] are for the future's own loop;
// [Future.Wait] is for code off the loops. A Future value is safe to copy
// across goroutines.
type Future[T any] struct {
	p   *promise[T] // nil: resolved at creation, result below
	v   T
	err error
}

// Resolved returns a future already resolved with v. It does not allocate.
func Resolved[T any](v T) Future[T] { return Future[T]{v: v} }

// Rejected returns a future already failed with err. It does not allocate.
// A nil err gives a future resolved with T's zero value.
func Rejected[T any](err error) Future[T] { return Future[T]{err: err} }

// Ready reports whether the future's result can be read with [Future.Get].
// For a future bound to a loop, a result set off the loop becomes ready when
// the loop has taken it in, just before its continuations run.
func (f Future[T]) Ready() bool {
	if f.p == nil {
		return true
	}
	_, _, ok := f.p.tryGet()
	return ok
}

// Get returns the future's value and error once it is ready, and ErrPending
// before. Call it on the future's loop.
func (f Future[T]) Get() (T, error) {
	if f.p == nil {
		return f.v, f.err
	}
	v, err, ok := f.p.tryGet()
	if !ok {
		var zero T
		return zero, ErrPending
	}
	return v, err
}

// Loop returns the loop the future's continuations run on, or nil.
func (f Future[T]) Loop() Loop {
	if f.p == nil {
		return nil
	}
	return f.p.loop
}

// Wait blocks until the future settles or ctx is done, and returns its result
// (or ctx's error). It is for code off the loops: tests, main, a goroutine
// that bridges to blocking code. Called on a loop it would block every
// connection of that loop (and deadlock it, if the future is that loop's),
// so it panics instead, unless the future is already settled.
func (f Future[T]) Wait(ctx context.Context) (T, error) {
	if f.p == nil {
		return f.v, f.err
	}
	p := f.p
	p.mu.Lock()
	if p.settled {
		v, err := p.v, p.err
		p.mu.Unlock()
		return v, err
	}
	p.mu.Unlock()
	if onAnyLoop() {
		panic("weft/runtime: Future.Wait called on a loop; it would block the loop (and deadlock it, if the future is the loop's own). Register a continuation with Then instead")
	}
	p.mu.Lock()
	if p.settled {
		v, err := p.v, p.err
		p.mu.Unlock()
		return v, err
	}
	if p.waitCh == nil {
		p.waitCh = make(chan struct{})
	}
	ch := p.waitCh
	p.mu.Unlock()
	select {
	case <-ch:
		p.mu.Lock()
		v, err := p.v, p.err
		p.mu.Unlock()
		return v, err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// A Listener receives a future's result. Implementing it on an object the
// caller already has (a pooled request, a connection) lets the caller wait for
// a future without allocating a closure; it is how the net package learns that
// a handler's future has settled.
//
// Settled must not panic: unlike the functions given to [Then] and the other
// combinators, it runs unprotected on the loop.
type Listener[T any] interface {
	Settled(v T, err error)
}

// Listen arranges for l.Settled to be called once with the future's result:
// at once, on the calling goroutine, if the future is ready; otherwise on the
// future's loop when it settles (or on the goroutine that resolves it, for a
// future with no loop). Call it on the future's loop.
func (f Future[T]) Listen(l Listener[T]) {
	if f.p == nil {
		l.Settled(f.v, f.err)
		return
	}
	f.p.listen(l)
}

// Promise is the producing side of a future: whoever holds it resolves the
// future, once. Resolve, Reject and Settle are safe for concurrent use; only
// the first call has an effect.
//
// A promise that is never settled leaves its continuations waiting forever
// (they are garbage collected with it). Code that can fail must reject.
type Promise[T any] struct {
	p *promise[T]
}

// NewPromise returns a pending promise whose future's continuations run on
// loop l (nil: on the goroutine that resolves it).
func NewPromise[T any](l Loop) Promise[T] {
	return Promise[T]{p: &promise[T]{loop: l}}
}

// Future returns the future this promise resolves.
func (p Promise[T]) Future() Future[T] { return Future[T]{p: p.p} }

// Resolve resolves the future with v. It reports whether this call settled it.
// For a future with a loop, continuations are posted to that loop, even when
// Resolve is called on it: they never run inside Resolve. For a future with no
// loop, they run inside Resolve, on the calling goroutine.
func (p Promise[T]) Resolve(v T) bool { return p.p.resolve(v, nil) }

// Reject fails the future with err (which should not be nil). It reports
// whether this call settled it.
func (p Promise[T]) Reject(err error) bool {
	var zero T
	return p.p.resolve(zero, err)
}

// Settle resolves the future with v if err is nil, or fails it with err.
// It reports whether this call settled it.
func (p Promise[T]) Settle(v T, err error) bool { return p.p.resolve(v, err) }

// promise is a future's shared state.
//
// Fields under mu may be touched from any goroutine. Listeners are called
// outside mu. A promise bound to a loop becomes ready (listeners may run)
// only on its loop: when resolved off the loop, the promise posts itself
// there (it is the Task) and its Run marks it ready.
type promise[T any] struct {
	loop Loop
	from Loop    // the loop of the future this one follows, if any; see follow
	keep Tracker // released on the loop once settled (Blocking, offload)

	mu      sync.Mutex
	settled bool // a result is stored
	ready   bool // listeners have been (or are being) called
	v       T
	err     error
	inline  [inlineListeners]Listener[T] // the first listeners, in order
	rest    *[]Listener[T]               // those after them
	waitCh  chan struct{}                // made on demand by Wait, closed when settled
}

func (p *promise[T]) tryGet() (v T, err error, ok bool) {
	p.mu.Lock()
	v, err, ok = p.v, p.err, p.ready
	p.mu.Unlock()
	return v, err, ok
}

func (p *promise[T]) listen(l Listener[T]) {
	p.mu.Lock()
	if p.ready {
		v, err := p.v, p.err
		p.mu.Unlock()
		l.Settled(v, err)
		return
	}
	for i := range p.inline {
		if p.inline[i] == nil {
			p.inline[i] = l
			p.mu.Unlock()
			return
		}
	}
	if p.rest == nil {
		p.rest = new([]Listener[T])
	}
	*p.rest = append(*p.rest, l)
	p.mu.Unlock()
}

// inlineListeners is how many listeners a promise holds without
// allocating: the server's, and a Metrics and a Logger middleware's, which
// listen to the handler's Result itself (the promise keeps its 144-byte
// size class with a rest pointer in place of a slice).
const inlineListeners = 3

// store records the result; the caller holds mu. It reports false if the
// promise was already settled.
func (p *promise[T]) storeLocked(v T, err error) bool {
	if p.settled {
		return false
	}
	p.settled, p.v, p.err = true, v, err
	if p.waitCh != nil {
		close(p.waitCh)
	}
	return true
}

// resolve settles p from any goroutine.
func (p *promise[T]) resolve(v T, err error) bool {
	p.mu.Lock()
	if !p.storeLocked(v, err) {
		p.mu.Unlock()
		return false
	}
	if p.loop == nil {
		p.fireLocked()
		return true
	}
	p.mu.Unlock()
	// If the loop is gone, nothing can run there any more; the result
	// stays readable through Wait.
	_ = p.loop.Post(p)
	return true
}

// settleOnLoop settles p and runs its listeners at once. The caller runs on
// p's loop (or p has none).
func (p *promise[T]) settleOnLoop(v T, err error) {
	p.mu.Lock()
	if !p.storeLocked(v, err) {
		p.mu.Unlock()
		return
	}
	p.fireLocked()
}

// settleFrom settles p with the result of a future bound to loop src, from
// the goroutine that future's listeners run on: inline when that is p's loop,
// posted to p's loop otherwise.
func (p *promise[T]) settleFrom(src Loop, v T, err error) {
	if src != nil && src == p.loop {
		p.settleOnLoop(v, err)
		return
	}
	p.resolve(v, err)
}

// Run makes a promise resolved off its loop ready; it runs on the loop.
func (p *promise[T]) Run() {
	p.mu.Lock()
	p.fireLocked()
}

// fireLocked marks p ready, releases mu, and calls the listeners in the
// order they registered.
func (p *promise[T]) fireLocked() {
	p.ready = true
	inline, rest := p.inline, p.rest
	p.inline, p.rest = [inlineListeners]Listener[T]{}, nil
	v, err := p.v, p.err
	keep := p.keep
	p.keep = nil
	p.mu.Unlock()
	if keep != nil {
		defer keep.Release()
	}
	settleListeners(&inline, rest, 0, v, err)
}

// settleListeners calls the listeners from the i-th on, the inline ones
// first, in order. A listener that panics does not take the others down:
// those after it are still called (the server's own, which answers the
// request, is the last), and the panic then goes on to the loop, which logs
// it.
func settleListeners[T any](inline *[inlineListeners]Listener[T], rest *[]Listener[T], i int, v T, err error) {
	done := false
	defer func() {
		if !done { // listener i panicked
			settleListeners(inline, rest, i+1, v, err)
		}
	}()
	for ; ; i++ {
		var l Listener[T]
		if i < inlineListeners {
			l = inline[i]
		} else if rest != nil && i-inlineListeners < len(*rest) {
			l = (*rest)[i-inlineListeners]
		}
		if l == nil {
			break
		}
		l.Settled(v, err)
	}
	done = true
}

// KeepFor makes s keep its resources until the future of p settles, when s
// has a Tracker; Blocking and offload.Run call it when they start work for
// s, on s's loop. It is exported for other packages that start work off the
// loop in the same way.
func KeepFor[T any](s Scope, p Promise[T]) { keepFor(s, TrackerOf(s), p.p) }

func keepFor[T any](s Scope, t Tracker, p *promise[T]) {
	if t != nil && s.Loop() != nil && s.Loop() == p.loop {
		t.Keep()
		p.mu.Lock()
		p.keep = t
		p.mu.Unlock()
	}
}

// Bind returns a future that settles like f but whose continuations run on
// loop l: f itself if it is ready or already on l, otherwise a future on l
// that f's result is posted to. It is how code on a loop adopts a future made
// elsewhere (with no loop, or on another loop) before continuing on its own.
func Bind[T any](f Future[T], l Loop) Future[T] {
	if f.p == nil || f.p.loop == l {
		return f
	}
	if v, err, ok := f.p.tryGet(); ok {
		return Future[T]{v: v, err: err}
	}
	p := &promise[T]{loop: l, from: f.p.loop}
	f.p.listen(p)
	return Future[T]{p: p}
}

// follow settles p like f. The caller runs on p's loop.
func (p *promise[T]) follow(f Future[T]) {
	if f.p == nil {
		p.settleFrom(p.loop, f.v, f.err)
		return
	}
	p.from = f.p.loop
	f.p.listen(p)
}

// Settled makes p a Listener for the future it follows.
func (p *promise[T]) Settled(v T, err error) { p.settleFrom(p.from, v, err) }
