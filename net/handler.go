package net

import "github.com/weftgo/weft/runtime"

// Result is what a handler returns: a future that settles when the response
// in the handler's *Ctx is complete. The response methods of Ctx (Text, JSON,
// Send, ...) return a ready Result, which costs nothing; an asynchronous
// handler returns the future of its last step, usually from [runtime.Then].
//
// A failed Result is answered by the server's ErrorHandler: the status its
// error carries (see [StatusOf]), 500 otherwise.
type Result = runtime.Future[struct{}]

// Done is a ready, successful Result, for handlers that have built their
// response with the Ctx's setters.
func Done() Result { return Result{} }

// Fail returns a Result failed with err, answered by the error handler.
func Fail(err error) Result { return runtime.Rejected[struct{}](err) }

// A Handler answers one request. It runs on the loop that owns the
// connection, must not block, and returns a Result.
//
// The handler builds the response in c. Everything c gives it (the request's
// strings and bytes, c itself) stays valid until the Result settles, the
// response is written, and every Blocking function or offload job started
// with c has returned; after that, c is recycled. So a handler may read them
// in its continuations and pass them to its jobs. Copy what must outlive the
// request (strings.Clone, bytes.Clone).
//
// A panic in a handler or in one of its continuations is recovered, logged
// and answered with a 500; the connection and the server go on.
type Handler func(c *Ctx) Result

// Middleware wraps a Handler, Express- and Koa-style: code before next runs
// on the way in, code after it on the way out, and it may replace the
// response or the error. Since next returns a future, code that must run
// after the response is built belongs in a continuation of next's Result:
//
//	func Timing(next net.Handler) net.Handler {
//		return func(c *net.Ctx) net.Result {
//			start := time.Now()
//			return next(c).Finally(c, func(_ struct{}, err error) {
//				c.SetHeader("X-Elapsed", time.Since(start).String())
//			})
//		}
//	}
//
// Finally allocates a closure per request; middleware on a hot path checks
// Result.Ready first and runs its code inline for synchronous handlers.
type Middleware func(next Handler) Handler

// Chain wraps h in mw, the first middleware outermost: Chain(h, a, b) serves
// a request through a, then b, then h.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
