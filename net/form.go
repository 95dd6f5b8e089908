package net

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/weftgo/weft/runtime"
)

// DefaultMaxFormBytes is URLEncodedForm's limit on the body when it is
// given none: 10 MiB, net/http's limit for ParseForm.
const DefaultMaxFormBytes = 10 << 20

// formParseOnLoop is the largest body URLEncodedForm parses on the loop; a
// larger one is parsed off it (runtime.Blocking), so that a 10 MiB form
// does not stall the loop's other connections.
const formParseOnLoop = 64 << 10

// URLEncodedForm reads an application/x-www-form-urlencoded request body
// and parses it into a url.Values (a copy, safe to keep and to pass off the
// loop). It takes a body read whole and a streamed one alike (see
// Server.StreamBody; Form reads only the first): a streamed body is taken
// chunk by chunk on the loop (BodyChunk) and never held past maxBytes.
// maxBytes bounds the body; zero or less means DefaultMaxFormBytes, as
// net/http's ParseForm. The future fails with a 415 *Error if the
// Content-Type is not application/x-www-form-urlencoded, with a 413 one if
// the body is longer than maxBytes (at once if its Content-Length says so),
// with a 400 one if it is not valid urlencoded data, and with the body's
// own error if it cannot be read (ErrClientGone; a streamed body's bad
// chunked framing, 400, or its own limit, 413). A 413 leaves the rest of a
// streamed body unread, so its response closes the connection. It is
// MultipartForm's counterpart, and like it may be called once per request:
// on a streamed body whose reading had begun (a form read before, or
// BodyChunk, BodyReader) it fails with a 500 *Error.
// Loop-only; the future settles on the loop.
func (c *Ctx) URLEncodedForm(maxBytes int64) runtime.Future[url.Values] {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFormBytes
	}
	if !c.isForm() {
		return runtime.Rejected[url.Values](notForm(c))
	}
	if c.bodyIn == nil {
		if int64(len(c.Body())) > maxBytes {
			return runtime.Rejected[url.Values](errFormTooLarge(maxBytes))
		}
		return parseFormOnLoop(c, c.Body())
	}
	if c.bodyIn.asked {
		// Its bytes were handed over already (a form read before, or
		// BodyChunk, BodyReader): what is left is not the form.
		return runtime.Rejected[url.Values](errFormBodyTaken)
	}
	if c.req.ContentLength > maxBytes {
		return runtime.Rejected[url.Values](errFormTooLarge(maxBytes))
	}
	r := &formRead{c: c, max: maxBytes}
	return r.nextOnLoop(nil)
}

// formRead gathers a streamed urlencoded body, chunk by chunk. Loop-only.
type formRead struct {
	c   *Ctx
	max int64
	buf []byte
}

// nextOnLoop keeps chunk, and asks for the next one until the body ends.
func (r *formRead) nextOnLoop(chunk []byte) runtime.Future[url.Values] {
	if int64(len(r.buf))+int64(len(chunk)) > r.max {
		return runtime.Rejected[url.Values](errFormTooLarge(r.max))
	}
	r.buf = append(r.buf, chunk...)
	return runtime.Then(r.c, r.c.BodyChunk(), r.nextOnLoop).Catch(r.c, r.endOnLoop)
}

// endOnLoop parses the body once BodyChunk reports its end, and passes on
// any other error.
func (r *formRead) endOnLoop(err error) runtime.Future[url.Values] {
	if err != io.EOF {
		return runtime.Rejected[url.Values](err)
	}
	return parseFormOnLoop(r.c, r.buf)
}

// parseFormOnLoop parses body, on the loop if it is small, off it if not
// (body is then the caller's to give away: a streamed form's own buffer,
// or a whole body, which stays valid until the response is written).
func parseFormOnLoop(c *Ctx, body []byte) runtime.Future[url.Values] {
	if len(body) <= formParseOnLoop {
		v, err := parseForm(body)
		if err != nil {
			return runtime.Rejected[url.Values](err)
		}
		return runtime.Resolved(v)
	}
	return runtime.Blocking(c, func(context.Context) (url.Values, error) { return parseForm(body) })
}

func parseForm(body []byte) (url.Values, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &Error{Status: StatusBadRequest, Message: "request body: invalid form data", Err: err}
	}
	return v, nil
}

// ErrFormTooLarge is the error (with status 413) of a form body longer
// than its limit; the *Error URLEncodedForm returns unwraps to it.
var ErrFormTooLarge = errors.New("weft/net: the form body is longer than its limit")

func errFormTooLarge(max int64) error {
	return &Error{Status: StatusContentTooLarge,
		Message: fmt.Sprintf("request body: a form of more than %d bytes", max), Err: ErrFormTooLarge}
}

// errFormBodyTaken is URLEncodedForm's error (500) for a streamed body
// whose reading had begun: a second call, or one after BodyChunk.
var errFormBodyTaken = &Error{Status: StatusInternalServerError,
	Message: "request body: a streamed form body was already read (URLEncodedForm may be called once)"}

func notForm(c *Ctx) error {
	return &Error{Status: StatusUnsupportedMediaType,
		Message: fmt.Sprintf("request body: Content-Type %q is not application/x-www-form-urlencoded", c.Header("Content-Type"))}
}

// ErrBodyStreamed is Form's error for a request whose body is streamed
// (see Server.StreamBody): read it with URLEncodedForm, BodyChunk or
// BodyReader. It is a server error (500): the route chose to stream.
var ErrBodyStreamed = errors.New("weft/net: the request body is streamed: read the form with URLEncodedForm")
