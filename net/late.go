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
	if _, warned := c.l.st.lateWarned.Load(c.route); warned {
		return
	}
	if _, warned := c.l.st.lateWarned.LoadOrStore(c.route, struct{}{}); warned {
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
