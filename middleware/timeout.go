package middleware

import (
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TimeoutConfig configures Timeout.
type TimeoutConfig struct {
	// Timeout is how long the handler's Result may take to settle,
	// counted from when the handler returns it. (The handler's synchronous
	// part holds the loop, so no timer could fire during it anyway; not
	// reading the clock before it keeps synchronous requests free.)
	// Required.
	Timeout time.Duration

	// Status answers a request past its deadline, through the server's
	// ErrorHandler (which resets the response and writes the status text).
	// Default 503.
	Status int

	// Handler, if set, answers a request past its deadline instead. It
	// runs on the loop, with the response as the handler left it (headers
	// set by the handler or by outer middleware are still there: remove
	// what must not be sent), and its Result settles the request.
	Handler net.Handler
}

// Timeout returns middleware that gives up on a handler whose Result has
// not settled within cfg.Timeout: the request is answered with cfg.Status
// (503) or by cfg.Handler at the deadline (a loop timer, exact to a few
// microseconds, unlike the server's HandlerTimeout sweep), and the response
// is final from then on.
//
// When the response becomes final the server cancels the request's context
// (Ctx.Context), so an offload job or Blocking call started with the Ctx as
// its Scope sees ctx.Err() and can stop. The handler's own Result is left
// to settle on its own: whatever its late continuations set on the Ctx is
// ignored (the response is frozen), and the Ctx is held (Ctx.HoldUntil)
// until that Result settles, so those continuations still read their own
// request, never the next one's. A handler that never settles therefore
// holds its Ctx for good: work behind it must watch its context.
//
// An error of runtime.ErrTimeout from the handler itself (a WithTimeout of
// its own) is answered like the middleware's deadline.
//
// Use it per route or per group: g := r.Group("/api", middleware.Timeout(
// middleware.TimeoutConfig{Timeout: 2 * time.Second})). A handler whose
// Result is ready when it returns costs nothing more (no clock read, no
// allocation); a pending one costs a timer and a few small allocations. Timeout panics if
// cfg is invalid (no Timeout, a Status outside 100-599). The middleware
// runs on the loop and is safe for concurrent use by every loop.
func Timeout(cfg TimeoutConfig) net.Middleware {
	if cfg.Timeout <= 0 {
		panic(fmt.Sprintf("middleware.Timeout: TimeoutConfig.Timeout is %v; want a positive duration", cfg.Timeout))
	}
	status := cfg.Status
	switch {
	case status == 0:
		status = net.StatusServiceUnavailable
	case status < 100 || status > 599:
		panic(fmt.Sprintf("middleware.Timeout: TimeoutConfig.Status is %d; want 100-599", cfg.Status))
	}
	st := &timeout{d: cfg.Timeout, handler: cfg.Handler, err: &net.Error{Status: status, Err: runtime.ErrTimeout}}
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			res := next(c)
			if res.Ready() {
				return res
			}
			// The response may be answered before res settles: keep the
			// Ctx for res's continuations until it does.
			c.HoldUntil(res)
			return runtime.WithTimeout(c, res, st.d).Catch(c, func(err error) net.Result {
				if errors.Is(err, runtime.ErrTimeout) {
					return st.expired(c)
				}
				return net.Fail(err)
			})
		}
	}
}

type timeout struct {
	d       time.Duration
	handler net.Handler
	err     *net.Error // made once: failing with it allocates nothing
}

// expired answers a request past its deadline.
func (st *timeout) expired(c *net.Ctx) net.Result {
	if st.handler != nil {
		return st.handler(c)
	}
	return net.Fail(st.err)
}
