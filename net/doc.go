// Package net is weft's HTTP/1.1 server on gnet event loops: Server, the
// per-request Ctx, Handler and Middleware, and the limits, timeouts and
// graceful shutdown around them.
//
// One event loop per core reads its connections, parses requests (strictly:
// anything that could desynchronize framing is a 400 and a close), and runs
// the handler. A handler returns a Result, a runtime.Future: ready at once
// for a synchronous answer, which costs no allocation, or settled later by a
// continuation on the same loop after a database query (runtime.Blocking) or
// a CPU-bound job (the offload package). Responses go out in request order
// whatever order their futures settle in.
//
//	srv := &net.Server{Addr: ":8080", Handler: func(c *net.Ctx) net.Result {
//		return c.Text(200, "Hello, "+c.Query("name"))
//	}}
//	if err := srv.Start(); err != nil {
//		log.Fatal(err)
//	}
//	// ... on SIGTERM:
//	srv.Shutdown(ctx)
//
// Bodies too large, slow or endless to build whole are streamed
// (Ctx.Stream, SendReader, SendFile, SSE), with back-pressure as futures;
// Ctx.Upgrade hands a connection to another protocol (WebSocket).
//
// docs/architecture.md explains the request path and every default limit;
// docs/streaming.md streaming and upgrades; docs/operations.md what hostile
// clients cost.
//
// # Concurrency
//
// A connection belongs to one loop for its life, and so do its requests,
// their Ctx and every continuation of their futures: handler code never
// races with itself. Ctx is loop-only (except Loop, LoopID, LoopLag,
// LoopUtilization, Tracker and Timings); give off-loop code values and the
// context from Ctx.Context. The
// strings and bytes a Ctx returns stay valid until the request's Result has
// settled, its response is written, and every Blocking function and offload
// job started for it has returned. Server's methods are safe for concurrent
// use; call Shutdown from outside the loops. TestConn is confined to the
// goroutine that made it, which acts as its loop.
//
// Each server runs a watchdog goroutine off the loops: it samples what each
// loop runs (for utilization) and reports a loop blocked in one callback
// for longer than Server.BlockedLoopThreshold, with its stack. Server.Stats
// reads the loops' figures (lag, utilization samples, blocked episodes,
// refused requests and connections) for metrics; docs/observability.md
// describes them.
//
// Status codes and texts are defined here (they equal net/http's), and the
// request path does not touch net/http. The cookie helpers take and give
// net/http's *http.Cookie, so that its attributes and validation are
// net/http's own; that import costs nothing, since zap already links
// net/http into every weft binary. The nethttp sub-package mounts net/http
// handlers on weft and weft handlers in net/http servers; the webtest
// sub-package serves a handler in memory for tests.
//
// Request helpers: BindJSON (strict JSON bodies, 400/415 that say what is
// wrong), QueryInt and the other typed getters (a 400 naming the
// parameter), Cookie, Cookies and SetCookie, HeaderValues, FormValue and
// Form. Their errors are *Error values whose Message reaches the client:
// return net.Fail(err).
package net
