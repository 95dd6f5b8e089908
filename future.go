package weft

import (
	"context"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// The request and its answer.
type (
	// Ctx is one request and its response; see net.Ctx. Loop-only: call
	// its methods on the request's loop (in the handler and its
	// continuations), except those whose doc says otherwise.
	Ctx = net.Ctx
	// Handler answers one request on its loop and returns a Result; see
	// net.Handler.
	Handler = net.Handler
	// Result is what a handler returns: a future that settles when the
	// response in its Ctx is complete; see net.Result.
	Result = net.Result
	// Middleware wraps a Handler, Express- and Koa-style; see
	// net.Middleware.
	Middleware = net.Middleware
	// Group is a set of routes under a common prefix with its own
	// middleware; see router.Group.
	Group = router.Group
	// Error is an error with the HTTP status to answer it with; see
	// net.Error.
	Error = net.Error
	// BindOptions tunes Ctx.BindJSONWith; see net.BindOptions.
	BindOptions = net.BindOptions
)

// Futures.
type (
	// Future is a value of type T, or an error, that will be there later;
	// see runtime.Future. Safe to copy across goroutines.
	Future[T any] = runtime.Future[T]
	// Promise is the producing side of a Future; see runtime.Promise. Its
	// Resolve, Reject and Settle are safe for concurrent use.
	Promise[T any] = runtime.Promise[T]
	// Scope binds asynchronous work to the loop its continuations run on
	// and to the context that cancels it. A *Ctx is a Scope; off the
	// loops, use Detached.
	Scope = runtime.Scope
	// PanicError is a panic recovered from user code, with its stack.
	PanicError = runtime.PanicError
)

// Done is a ready, successful Result, for handlers that have built their
// response with the Ctx's setters. Safe anywhere.
func Done() Result { return net.Done() }

// Fail returns a Result failed with err, answered by the server's error
// handler (the status err carries, 500 otherwise). Safe anywhere.
func Fail(err error) Result { return net.Fail(err) }

// NewError returns an error answered with status and message. Safe anywhere.
func NewError(status int, message string) *Error { return net.NewError(status, message) }

// Errorf returns an error answered with status; see net.Errorf for what
// the client sees. Safe anywhere.
func Errorf(status int, format string, args ...any) *Error {
	return net.Errorf(status, format, args...)
}

// StatusOf returns the HTTP status err is answered with. Safe anywhere.
func StatusOf(err error) int { return net.StatusOf(err) }

// Chain wraps h in mw, the first middleware outermost. Safe anywhere.
func Chain(h Handler, mw ...Middleware) Handler { return net.Chain(h, mw...) }

// Resolved returns a future already resolved with v, without allocating.
// Safe anywhere.
func Resolved[T any](v T) Future[T] { return runtime.Resolved(v) }

// Rejected returns a future already failed with err, without allocating.
// Safe anywhere.
func Rejected[T any](err error) Future[T] { return runtime.Rejected[T](err) }

// NewPromise returns a pending promise whose future belongs to s's loop.
// Resolve it from any goroutine. Call it on s's loop (or with a Detached
// scope anywhere).
func NewPromise[T any](s Scope) Promise[T] { return runtime.NewPromise[T](s.Loop()) }

// Detached returns a Scope with no loop and the given context, for starting
// asynchronous work off the loops (a test, main, a background job). Safe
// for concurrent use.
func Detached(ctx context.Context) Scope { return runtime.Detached(ctx) }

// Blocking runs fn on a goroutine off the loop (database/sql, files, a
// net/http client) and returns a future for its result, continued on s's
// loop; see runtime.Blocking. Call it on s's loop.
func Blocking[T any](s Scope, fn func(ctx context.Context) (T, error)) Future[T] {
	return runtime.Blocking(s, fn)
}

// After returns a future that resolves after d on s's loop, or fails when
// s's context ends first; see runtime.After. Call it on s's loop.
func After(s Scope, d time.Duration) Future[struct{}] { return runtime.After(s, d) }

// Then returns a future for fn applied to f's value; fn runs on s's loop.
// See runtime.Then. Call it on s's loop.
func Then[T, U any](s Scope, f Future[T], fn func(T) Future[U]) Future[U] {
	return runtime.Then(s, f, fn)
}

// Map returns a future for fn applied to f's value; fn runs on s's loop.
// See runtime.Map. Call it on s's loop.
func Map[T, U any](s Scope, f Future[T], fn func(T) (U, error)) Future[U] {
	return runtime.Map(s, f, fn)
}

// All returns a future for the values of fs once all have resolved, or the
// first error, settled on s's loop. See runtime.All. Call it on s's loop.
func All[T any](s Scope, fs ...Future[T]) Future[[]T] { return runtime.All(s, fs...) }

// Any returns a future for the first of fs to resolve successfully, settled
// on s's loop. See runtime.Any. Call it on s's loop.
func Any[T any](s Scope, fs ...Future[T]) Future[T] { return runtime.Any(s, fs...) }

// Race returns a future that settles like the first of fs to settle, on s's
// loop. See runtime.Race. Call it on s's loop.
func Race[T any](s Scope, fs ...Future[T]) Future[T] { return runtime.Race(s, fs...) }

// WithTimeout returns a future that settles like f, or fails with
// ErrTimeout after d, on s's loop. It stops waiting, not the work. See
// runtime.WithTimeout. Call it on s's loop.
func WithTimeout[T any](s Scope, f Future[T], d time.Duration) Future[T] {
	return runtime.WithTimeout(s, f, d)
}

// ErrTimeout is the error of a future given up on by WithTimeout; it
// matches context.DeadlineExceeded and is answered 503.
var ErrTimeout = runtime.ErrTimeout
