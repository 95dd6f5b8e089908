package net

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftgo/weft/runtime"
)

// ErrServerClosed is returned by ListenAndServe and Wait after Shutdown.
var ErrServerClosed = errors.New("weft/net: server closed")

// An Error is an error with the HTTP status to answer it with. Its Message
// is sent to the client; Err, if any, is only logged.
type Error struct {
	Status  int
	Message string
	Err     error
}

// NewError returns an *Error with the status and message; an empty message
// is sent as the status text.
func NewError(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}

// Errorf returns an *Error with the status whose Message is
// fmt.Sprintf(format, args...): for a 4xx, the client gets that message (as
// the body of DefaultErrorHandler's answer), like fmt.Errorf's text. So it
// is for what the client did wrong, in words meant for the client:
//
//	return net.Fail(net.Errorf(400, "title: at most %d characters", 80))
//
// A 5xx is the server's own failure, and its words (a database's error, an
// address) are the server's business: for a status of 500 or more the
// formatted text is only the Error's Err, logged, and the client gets the
// status text. So Errorf(500, "db: %w", err) is safe; to send a message with
// a 5xx, set it yourself (&Error{Status: 503, Message: "..."}).
//
// Errors wrapped with %w are found by errors.Is and errors.As; for a 4xx
// their text is in the message too, so never wrap an internal error into a
// 4xx: use &Error{Status: s, Message: "...", Err: err} to log a cause
// without sending it. Safe for concurrent use.
func Errorf(status int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	if status >= 500 {
		return &Error{Status: status, Err: err}
	}
	e := &Error{Status: status, Message: err.Error()}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = u.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = errors.Join(u.Unwrap()...)
	}
	return e
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = StatusText(e.Status)
	}
	if e.Err != nil && !strings.Contains(msg, e.Err.Error()) {
		return fmt.Sprintf("%d %s: %v", e.Status, msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns e.Status.
func (e *Error) HTTPStatus() int { return e.Status }

// StatusOf returns the HTTP status an error is answered with: the status of
// the first error in its chain with an HTTPStatus() int method (such as
// *Error, or offload's overload error, 503); 503 for runtime.ErrTimeout and
// context deadlines; 500 otherwise. A nil error is 200.
func StatusOf(err error) int {
	if err == nil {
		return StatusOK
	}
	// The common cases first: errors.As allocates.
	if hs, ok := err.(interface{ HTTPStatus() int }); ok {
		if s := hs.HTTPStatus(); s >= 100 && s <= 999 {
			return s
		}
	}
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		if s := hs.HTTPStatus(); s >= 100 && s <= 999 {
			return s
		}
	}
	if errors.Is(err, runtime.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return StatusServiceUnavailable
	}
	return StatusInternalServerError
}

// retryAfter returns the delay an error suggests to the client, from the
// first error in its chain with a RetryAfter() time.Duration method.
func retryAfter(err error) time.Duration {
	if ra, ok := err.(interface{ RetryAfter() time.Duration }); ok {
		return ra.RetryAfter()
	}
	if _, ok := err.(*Error); ok {
		return 0
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

// publicMessage returns what the client may see of err: the message of an
// *Error, else the status text. Internal error strings are never sent.
func publicMessage(err error, status int) string {
	if e, ok := err.(*Error); ok {
		if e.Message != "" {
			return e.Message
		}
		return StatusText(status)
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return StatusText(status)
}

// ResultStatus returns the status of the response to c once its handler's
// Result has settled with err, for middleware that records the outcome
// (metrics, access logs, traces): c's status if err is nil, or if the
// response was already final when the Result settled (HandlerTimeout
// answered 503, and the handler then failed with its cancelled context);
// StatusClientClosedRequest (499) if the client left before the answer
// (the failure is then most likely the cancelled context, and nothing was
// sent); StatusOf(err) otherwise, as DefaultErrorHandler answers it. A
// Result that succeeded after its stream was aborted before the stream's
// head was sent counts as failed with the abort's error (the server
// answers it so: see Stream.Abort). Loop-only.
func ResultStatus(c *Ctx, err error) int {
	if err == nil && !c.frozen {
		err = c.abortedUnsentOnLoop()
	}
	if err == nil || c.frozen {
		return c.status
	}
	if c.gone {
		return StatusClientClosedRequest
	}
	return StatusOf(err)
}
