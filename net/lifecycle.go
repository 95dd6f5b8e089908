package net

import (
	"strings"

	"go.uber.org/zap"

	"github.com/weftgo/weft/runtime"
)

// A request's Ctx goes through these steps, all on its loop:
//
//  1. dispatched: queued on its connection, handler running; its Result
//     (the root) may still be pending (roots == 1).
//  2. frozen: the response is final. The root settled (the error handler
//     ran if it failed), or HandlerTimeout answered first. Setters are
//     ignored from now on, so a late continuation cannot change what is
//     sent.
//  3. written: its response went to the connection in request order, or
//     never will (the client left). Its context is cancelled.
//  4. recycled: written and no future it waits for (roots: the root,
//     HoldUntil) is pending. Only then is it reset and reused, so a late
//     continuation or an offload job still reading the request's bytes
//     never sees another request's.

// runHandler calls the handler, turning a panic into a failed Result.
func (c *Ctx) runHandler() (res Result) {
	c.l.obs.running.Store(c)
	defer func() {
		c.l.obs.running.Store(nil)
		if r := recover(); r != nil {
			res = Fail(runtime.NewPanicError(r))
		}
	}()
	return c.l.st.cfg.handler(c)
}

// finishOnLoop takes the root's outcome: the error handler answers a
// failure, and the response is frozen.
func (c *Ctx) finishOnLoop(err error) {
	if c.frozen {
		return
	}
	if err == nil {
		// A stream aborted before its head, by a handler that went on
		// to succeed: nothing of it was sent, so the abort is answered
		// (a 500), as Abort's failed Result would be, not left to a
		// close without an answer.
		err = c.abortedUnsentOnLoop()
	}
	if s := c.stream; s != nil {
		if err == nil || s.headSent || c.gone {
			s.finishOnLoop(err)
			if err != nil {
				c.logFailureOnLoop(err)
			}
			c.freezeOnLoop()
			return
		}
		// Nothing of it was sent: answer the error instead.
		s.aborted = true
		s.dropEncoderOnLoop()
		s.rejectWaitersOnLoop(err)
		c.stream = nil
	}
	if err != nil {
		c.answerErrorOnLoop(err)
	}
	c.freezeOnLoop()
}

// clientGoneOnLoop runs when the connection closes before c's answer is
// written: its context is cancelled at once, and what it streams fails.
func (c *Ctx) clientGoneOnLoop() {
	c.gone = true
	if c.cancel != nil {
		c.cancel()
	}
	c.endAnswerScope()
	if s := c.stream; s != nil && !s.done {
		s.aborted = true
		s.dropEncoderOnLoop()
		s.pending = s.pending[:0]
		s.rejectWaitersOnLoop(ErrClientGone)
	}
}

// logFailureOnLoop logs a failed Result the way answerErrorOnLoop does,
// for a response that can no longer be replaced (a stream under way, a
// client gone): "client closed" at info when the client left, the failure
// otherwise.
func (c *Ctx) logFailureOnLoop(err error) {
	if c.gone {
		c.l.log.Info("client closed",
			zap.String("method", strings.Clone(c.Method())),
			zap.String("path", strings.Clone(c.Path())),
			zap.String("route", c.route),
			zap.NamedError("handler", err))
		return
	}
	if StatusOf(err) >= 500 || c.stream != nil {
		c.l.log.Warn("streamed response failed; connection aborted",
			zap.String("method", strings.Clone(c.Method())),
			zap.String("path", strings.Clone(c.Path())),
			zap.String("route", c.route),
			zap.Error(err))
	}
}

// freezeOnLoop makes the response final and cancels the request's context:
// nothing the handler still does can change the answer.
func (c *Ctx) freezeOnLoop() {
	c.frozen = true
	if c.cancel != nil {
		c.cancel()
	}
}

// answerErrorOnLoop resets the response (keeping the headers that do not
// describe the body) and lets the error handler build one for err.
func (c *Ctx) answerErrorOnLoop(err error) {
	if c.gone {
		// Nobody to answer: the failure is most likely the cancelled
		// context. (A half-closed client's connection is still open:
		// noAnswer closes it at this request's turn.)
		c.logFailureOnLoop(err)
		c.noAnswer = true
		return
	}
	c.resetForError()
	status := StatusOf(err)
	if _, logged := err.(*loggedError); status >= 500 && !logged {
		// Cloned: a core that keeps fields must not read the request's
		// bytes after the Ctx is recycled.
		fields := []zap.Field{
			zap.Int("status", status),
			zap.String("method", strings.Clone(c.Method())),
			zap.String("path", strings.Clone(c.Path())),
			zap.String("route", c.route),
			zap.Error(err),
		}
		if c.requestID != "" {
			fields = append(fields, zap.String("request_id", strings.Clone(c.requestID)))
		}
		if pe, ok := err.(*runtime.PanicError); ok {
			fields = append(fields, zap.ByteString("stack", pe.Stack))
			c.l.log.Error("panic in a handler", fields...)
		} else {
			c.l.log.Warn("handler failed", fields...)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			c.l.log.Error("panic in the error handler", zap.Any("panic", r), zap.Error(err))
			c.resetForError()
			c.Text(StatusInternalServerError, StatusText(StatusInternalServerError))
		}
	}()
	c.l.st.cfg.errorHandler(c, err)
}

// DefaultErrorHandler answers err with the status StatusOf gives, the
// error's public message as text/plain (the status text unless it is an
// *Error with a Message: internal error strings are never sent), and a
// Retry-After header if the error suggests one.
func DefaultErrorHandler(c *Ctx, err error) {
	status := StatusOf(err)
	if d := retryAfter(err); d > 0 {
		secs := int64((d + 999_999_999) / 1_000_000_000)
		c.SetHeader("Retry-After", itoa(secs))
	}
	c.Text(status, publicMessage(err, status))
}

// rootListener receives the settling of a handler's pending Result.
type rootListener Ctx

func (r *rootListener) Settled(_ struct{}, err error) {
	c := (*Ctx)(r)
	c.finishOnLoop(err)
	c.roots--
	if c.written {
		c.recycleIfDoneOnLoop()
		return
	}
	c.conn.markOnLoop(evSettled)
}

// holdListener releases a hold taken by HoldUntil.
type holdListener Ctx

func (h *holdListener) Settled(struct{}, error) {
	c := (*Ctx)(h)
	c.roots--
	c.recycleIfDoneOnLoop()
}

// HoldUntil keeps c (and the request's bytes) from being recycled until f
// settles, even after the response is written. Middleware that answers
// before the handler's own Result settles (a timeout) holds the Ctx until
// that Result settles, so the handler's late continuations still find their
// request. Loop-only.
func (c *Ctx) HoldUntil(f Result) {
	c.roots++
	runtime.Bind(f, c.l).Listen((*holdListener)(c))
}

// Tracker returns the runtime.Tracker of the request, for code that starts
// work off the loop for it (runtime.Blocking and offload.Run use it):
// Keep and Release, on the loop, keep the request's bytes from reuse while
// the work may read them; Measure records the work's time for Timings.
// Handlers never need it. Safe for concurrent use; the Tracker's Keep and
// Release are loop-only, its Measure safe for concurrent use.
func (c *Ctx) Tracker() runtime.Tracker { return (*tracker)(c) }

// tracker is a Ctx seen as the runtime.Tracker of its request.
type tracker Ctx

func (t *tracker) Keep() {
	t.roots++
	t.timing.keptOnLoop()
}

func (t *tracker) Release() {
	t.timing.releasedOnLoop()
	t.roots--
	(*Ctx)(t).recycleIfDoneOnLoop()
}

// Hold keeps the request from being recycled while a continuation attached
// with the Ctx waits (runtime's combinators call it; see runtime.Holder).
// Not work: Timings do not count it. Loop-only.
func (t *tracker) Hold() { t.roots++ }

// Unhold releases a Hold once the continuation has run. Loop-only.
func (t *tracker) Unhold() {
	t.roots--
	(*Ctx)(t).recycleIfDoneOnLoop()
}

// timeoutOnLoop answers a request whose handler outlived HandlerTimeout.
func (c *Ctx) timeoutOnLoop() {
	c.timedOut = true
	c.answerErrorOnLoop(errHandlerTimeout)
	c.freezeOnLoop()
}

var errHandlerTimeout = &Error{Status: StatusServiceUnavailable, Err: runtime.ErrTimeout}

// writtenOnLoop marks the response written (or abandoned).
func (c *Ctx) writtenOnLoop() {
	c.written = true
	if cn := c.conn; cn != nil && cn.bodyOf == c {
		// Answered before its streamed body ended: the response said
		// Connection: close; nobody reads the rest.
		cn.bodyOf, cn.read, cn.reqStart = nil, readIdle, 0
		if cn.phase == phaseServing && !c.closeAfter {
			// Small enough to drop: the connection stays (body.go).
			cn.discardRestOnLoop(c.bodyIn)
		} else {
			cn.unread = true // its close lingers (linger.go)
		}
		c.bodyIn.failOnLoop(ErrStreamClosed)
	}
	c.l.inflight.Add(-1)
	if c.cancel != nil {
		c.cancel()
	}
	c.endAnswerScope() // written, or never to be: no more reads for it
	c.recycleIfDoneOnLoop()
}

func (c *Ctx) recycleIfDoneOnLoop() {
	if c.written && c.roots == 0 {
		c.l.putCtx(c)
	}
}
