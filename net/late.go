package net

import (
	"strings"

	"go.uber.org/zap"
)

// Late writes. A handler that starts asynchronous work and returns a settled
// Result (net.Done(), or the Result of a c.Text it called first) has told the
// server its response is complete: the server writes it (an empty 200, say),
// and the continuation that answers later finds the response final. Its
// call has no effect, silently, unless it is reported: lateWriteOnLoop logs
// a warning naming the route, once per route per server, so that the bug is
// found without flooding the log.
//
// Cost: nothing on the path of a live response (the frozen check was there
// already); on the late path, one sync.Map lookup per call and one log line
// per route (BenchmarkLateWrite).

// lateWriteOnLoop reports a call of method on c after its response was
// final.
func (c *Ctx) lateWriteOnLoop(method string) {
	if c.l == nil || c.badRequest {
		return
	}
	if !c.firstWarningOnLoop(c.route) {
		return
	}
	why := "the handler's Result had already settled: return the future of the continuation that answers (runtime.Then(...)), not net.Done(); or middleware (a timeout) had answered first"
	if c.timedOut {
		why = "HandlerTimeout had already answered 503"
	}
	c.l.log.Warn("response method called after the response was final; the call had no effect (logged once per route)",
		zap.String("call", "Ctx."+method),
		zap.String("route", c.route),
		zap.String("method", strings.Clone(c.Method())),
		zap.String("path", strings.Clone(c.Path())),
		zap.String("why", why))
}

// Headers after a stream's head. A streamed response (Ctx.Stream,
// SendReader, SSE, ...) sends its status and headers with its first
// bytes; a status or header set after that cannot be sent. net/http
// ignores such a change silently (Header's doc); weft ignores it too, and
// says so: headSentOnLoop logs a warning naming the route and the call,
// once per route per server, as for a late write (a panic, net/http's
// choice for nothing but a second WriteHeader, would cut a response that
// is already half sent over one header). Cost: one check of a field on a
// setter of a streamed response.

// headerAfterHead is lateWarned's key for a route warned of a header set
// after its stream's head was sent.
type headerAfterHead struct{ route string }

// headSentOnLoop reports whether c streams a response whose head has
// already gone to the connection, so that the call of method (a status
// or header setter) can have no effect; it then warns, once per route.
func (c *Ctx) headSentOnLoop(method string) bool {
	s := c.stream
	if s == nil || !s.headSent {
		return false
	}
	if c.l == nil {
		return true
	}
	if c.firstWarningOnLoop(headerAfterHead{c.route}) {
		c.l.log.Warn("response header or status set after the streamed response's head was sent; the call had no effect (logged once per route)",
			zap.String("call", "Ctx."+method),
			zap.String("route", c.route),
			zap.String("method", strings.Clone(c.Method())),
			zap.String("path", strings.Clone(c.Path())),
			zap.String("why", "a stream sends its status and headers with its first bytes: set them before the first Write or Flush"))
	}
	return true
}

// firstWarningOnLoop reports whether key (a route, or a kind of warning
// and its route) has not been warned of yet by this server, and marks it
// warned. A key already warned of costs a lookup, no allocation.
func (c *Ctx) firstWarningOnLoop(key any) bool {
	if _, warned := c.l.st.lateWarned.Load(key); warned {
		return false
	}
	_, warned := c.l.st.lateWarned.LoadOrStore(key, struct{}{})
	return !warned
}
