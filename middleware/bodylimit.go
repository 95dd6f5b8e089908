package middleware

import (
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net"
)

// BodyLimitConfig configures BodyLimit and LimitBody.
type BodyLimitConfig struct {
	// Limit is the most request body bytes accepted. Required. The
	// server's MaxBodyBytes (4 MiB by default) stays the ceiling: a
	// larger Limit cannot raise it.
	Limit int64
}

// BodyLimiter is a set of routes whose bodies the server can limit before
// buffering them: *router.Group implements it (MaxBody records the limit
// for the routes registered after it, Router.BodyLimit gives it to the
// server, and Use adds middleware to the same routes). LimitBody calls its
// methods while routes are registered, never while serving.
type BodyLimiter interface {
	MaxBody(n int64)
	Use(mw ...net.Middleware)
}

// LimitBody limits the request bodies of the routes g registers from now on
// to cfg.Limit bytes: it is the one-liner that keeps the guarantee that a
// body over the limit is refused with 413 before it is buffered.
//
//	api := r.Group("/api")
//	middleware.LimitBody(api, middleware.BodyLimitConfig{Limit: 1 << 20})
//	api.POST("/upload", upload)
//	srv := &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit}
//
// It sets g.MaxBody(cfg.Limit), which the server enforces from the request
// head (a Content-Length over the limit is answered 413 at once and the
// connection closed; a chunked body as soon as it passes the limit), and it
// adds BodyLimit(cfg) to g's middleware as a safety net. The guarantee needs
// the server's BodyLimit field set to the router's BodyLimit method, as
// above; without it the safety net still answers 413, but only after the
// body was buffered (up to the server's MaxBodyBytes), and it logs a warning
// once through the server's logger.
//
// For one limit on every request, set net.Server.MaxBodyBytes instead. Call
// LimitBody while registering routes, before the server starts; it panics
// if cfg is invalid.
func LimitBody(g BodyLimiter, cfg BodyLimitConfig) {
	st := newBodyLimit(cfg)
	st.routed = true
	g.MaxBody(cfg.Limit)
	g.Use(st.middleware)
}

// BodyLimit returns middleware that answers 413 to a request whose body is
// longer than cfg.Limit. The server has already buffered that body by the time any
// middleware runs (up to its MaxBodyBytes): with the router, use LimitBody,
// which also refuses it before buffering. BodyLimit is for handlers served
// without the router, or as a second check.
//
// The 413 goes through the server's ErrorHandler; the connection stays
// open, since the body was read. BodyLimit costs no allocation. It panics
// if cfg.Limit is not positive. The middleware runs on the loop and is safe
// for concurrent use by every loop.
func BodyLimit(cfg BodyLimitConfig) net.Middleware {
	return newBodyLimit(cfg).middleware
}

type bodyLimit struct {
	limit  int64
	err    *net.Error // made once: failing with it allocates nothing
	routed bool       // made by LimitBody: the server should have refused first
	warned atomic.Bool
}

func newBodyLimit(cfg BodyLimitConfig) *bodyLimit {
	if cfg.Limit <= 0 {
		panic(fmt.Sprintf("middleware.BodyLimit: BodyLimitConfig.Limit is %d; want a positive number of bytes", cfg.Limit))
	}
	return &bodyLimit{limit: cfg.Limit, err: net.NewError(net.StatusContentTooLarge, "")}
}

func (st *bodyLimit) middleware(next net.Handler) net.Handler {
	return func(c *net.Ctx) net.Result {
		if st.over(c) {
			if st.routed && !st.warned.Swap(true) {
				c.Logger().Warn("middleware.LimitBody: a body over the limit was buffered before it was refused; set net.Server.BodyLimit to the router's BodyLimit method",
					zap.Int64("limit", st.limit), zap.String("route", c.Route()))
			}
			return net.Fail(st.err)
		}
		return next(c)
	}
}

// over reports whether c's body is longer than the limit. The server
// reads the whole body (it checked Content-Length against it) before any
// middleware runs, so its length is what was declared.
func (st *bodyLimit) over(c *net.Ctx) bool { return int64(len(c.Body())) > st.limit }
