package middleware

import (
	"errors"
	"strings"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// RecoverConfig configures Recover. The zero value is ready to use, and
// logs nothing.
type RecoverConfig struct {
	// Logger receives one error line per panic: "panic recovered" with
	// the request's method, path, route and request id (see RequestID),
	// the panic value and the stack. Default zap.NewNop().
	Logger *zap.Logger

	// Handler, if set, answers a request whose handler panicked, instead
	// of the server's ErrorHandler (which answers 500). It runs on the
	// loop, with the response as the handler left it (remove what must
	// not be sent), and its Result settles the request. A panic in Handler
	// is answered by the server with a 500.
	Handler func(c *net.Ctx, p *runtime.PanicError) net.Result
}

// Recover returns middleware that logs, with the request's details and the
// stack, every panic of the handlers it wraps: in the handler itself, in
// its continuations and in the offload jobs and Blocking calls whose
// results they use (those arrive as a *runtime.PanicError in the
// handler's Result). It then answers with cfg.Handler, or lets the server
// answer 500.
//
// The server recovers panics without it (net.Handler's contract: a 500, the
// connection and the server go on) and logs them through its own logger;
// Recover adds a logger of your choice and a response of your choice. A
// panic is logged once, with its stack: by Recover if its Logger is
// enabled for errors (it then hands the panic on wrapped in net.Logged, so
// the server does not log it again), by the server otherwise. Place it after RequestID and Logger, so that the
// id is known and the 500 is logged.
//
// A request that does not panic costs no allocation. The middleware runs
// on the loop and is safe for concurrent use by every loop.
func Recover(cfg RecoverConfig) net.Middleware {
	st := &recoverer{log: cfg.Logger, handler: cfg.Handler}
	if st.log == nil {
		st.log = zap.NewNop()
	}
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) (res net.Result) {
			defer func() {
				if r := recover(); r != nil {
					res = st.recovered(c, runtime.NewPanicError(r))
				}
			}()
			res = next(c)
			if res.Ready() {
				if _, err := res.Get(); err == nil {
					return res
				}
			}
			return res.Catch(c, st.catchFor(c))
		}
	}
}

type recoverer struct {
	log     *zap.Logger
	handler func(*net.Ctx, *runtime.PanicError) net.Result
}

// catchFor returns the Catch step that handles a panic arriving as the
// error of the handler's Result.
func (st *recoverer) catchFor(c *net.Ctx) func(error) net.Result {
	return func(err error) net.Result {
		var pe *runtime.PanicError
		if errors.As(err, &pe) {
			return st.recovered(c, pe)
		}
		return net.Fail(err)
	}
}

// recovered logs a panic and answers it. A panic it logged is handed on
// marked net.Logged, so that the server does not log it again.
func (st *recoverer) recovered(c *net.Ctx, pe *runtime.PanicError) net.Result {
	var err error = pe
	if ce := st.log.Check(zap.ErrorLevel, "panic recovered"); ce != nil {
		err = net.Logged(pe)
		// Copies, not views of the request: a panic is rare, and a core
		// that keeps fields (or hands them to another goroutine) must not
		// see the next request's bytes.
		ce.Write(
			zap.String("method", strings.Clone(c.Method())),
			zap.String("path", strings.Clone(c.Path())),
			zap.String("route", c.Route()),
			zap.String("request_id", strings.Clone(RequestIDFrom(c))),
			zap.Any("panic", pe.Value),
			zap.ByteString("stack", pe.Stack),
		)
	}
	if st.handler != nil {
		return st.handler(c, pe)
	}
	return net.Fail(err)
}
