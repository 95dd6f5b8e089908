package net

import (
	"encoding/json"
	"iter"
	"strconv"
	"strings"
	"unsafe"
)

// Response building. Every setter is loop-only and, once the response is
// final (the handler's Result settled, or a timeout answered), has no effect:
// a late continuation cannot change what was sent. A late call to a method
// that answers (Text, JSON, Send, Write, SetStatus, ...) is a bug when the
// handler returned a settled Result (net.Done()) instead of its
// continuation's future: the server logs a warning naming the route, once
// per route (see late.go). So does a status or header set after a streamed
// response's head was sent (with its first bytes): it cannot be sent, and
// the call has no effect (late.go, headSentOnLoop).

// SetStatus sets the response status code (default 200).
func (c *Ctx) SetStatus(code int) {
	checkFinalStatus(code)
	if c.frozen {
		c.lateWriteOnLoop("SetStatus")
		return
	}
	if c.headSentOnLoop("SetStatus") {
		return
	}
	c.status = code
}

// StatusCode returns the response status code set so far.
func (c *Ctx) StatusCode() int { return c.status }

// SetHeader sets a response header, replacing any of the same name
// (case-insensitive). The server writes Date, Content-Length and Connection
// itself and ignores them here; Content-Type goes through SetContentType.
// CR, LF and NUL in the name or value are replaced by spaces.
func (c *Ctx) SetHeader(name, value string) {
	name, value = fieldSafe(name), fieldSafe(value)
	if c.frozen || c.headSentOnLoop("SetHeader") || c.managedHeader(name, value) {
		return
	}
	for i := range c.header {
		if equalFoldASCII(c.header[i].name, name) {
			c.header[i].value = value
			c.removeHeaderFrom(name, i+1)
			return
		}
	}
	c.header = append(c.header, headerField{name, value})
}

// AddHeader adds a response header, keeping others of the same name.
func (c *Ctx) AddHeader(name, value string) {
	name, value = fieldSafe(name), fieldSafe(value)
	if c.frozen || c.headSentOnLoop("AddHeader") || c.managedHeader(name, value) {
		return
	}
	c.header = append(c.header, headerField{name, value})
}

// DelHeader removes the response headers named name.
func (c *Ctx) DelHeader(name string) {
	if c.frozen || c.headSentOnLoop("DelHeader") {
		return
	}
	if equalFoldASCII(name, "Content-Type") {
		c.contentType = ""
		return
	}
	c.removeHeaderFrom(name, 0)
}

// ResponseHeader returns the first response header named name, or "".
func (c *Ctx) ResponseHeader(name string) string {
	if equalFoldASCII(name, "Content-Type") {
		return c.contentType
	}
	for _, h := range c.header {
		if equalFoldASCII(h.name, name) {
			return h.value
		}
	}
	return ""
}

func (c *Ctx) removeHeaderFrom(name string, from int) {
	kept := c.header[:from]
	for _, h := range c.header[from:] {
		if !equalFoldASCII(h.name, name) {
			kept = append(kept, h)
		}
	}
	clear(c.header[len(kept):])
	c.header = kept
}

// managedHeader handles the headers the server owns, and reports whether
// name was one of them.
func (c *Ctx) managedHeader(name, value string) bool {
	switch {
	case equalFoldASCII(name, "Content-Type"):
		c.contentType = value
	case equalFoldASCII(name, "Content-Length"), equalFoldASCII(name, "Connection"),
		equalFoldASCII(name, "Transfer-Encoding"), equalFoldASCII(name, "Date"):
	default:
		return false
	}
	return true
}

// SetContentType sets the Content-Type of the response.
func (c *Ctx) SetContentType(ct string) {
	if !c.frozen && !c.headSentOnLoop("SetContentType") {
		c.contentType = fieldSafe(ct)
	}
}

// ResponseBody returns the response body set so far. It may be borrowed
// from the handler (Send, Text): do not modify it.
func (c *Ctx) ResponseBody() []byte { return c.resBody }

// SetResponseBody replaces the response body with b, borrowed until the
// response is written: do not modify b before then.
func (c *Ctx) SetResponseBody(b []byte) {
	if c.frozen {
		c.lateWriteOnLoop("SetResponseBody")
		return
	}
	c.setBody(b)
}

func (c *Ctx) setBody(b []byte) { c.resBody, c.bodyOwned = b, false }

// Write appends p to the response body; with WriteString it makes Ctx an
// io.Writer and io.StringWriter. It never fails before the response is final
// and returns len(p).
func (c *Ctx) Write(p []byte) (int, error) {
	if c.frozen {
		c.lateWriteOnLoop("Write")
		return 0, errFrozen
	}
	c.ownBody()
	c.wbuf = append(c.wbuf, p...)
	c.resBody = c.wbuf
	return len(p), nil
}

// WriteString appends s to the response body.
func (c *Ctx) WriteString(s string) (int, error) {
	if c.frozen {
		c.lateWriteOnLoop("WriteString")
		return 0, errFrozen
	}
	c.ownBody()
	c.wbuf = append(c.wbuf, s...)
	c.resBody = c.wbuf
	return len(s), nil
}

var errFrozen = NewError(StatusInternalServerError, "response already final")

// ownBody makes wbuf hold the body built so far, so it can grow.
func (c *Ctx) ownBody() {
	if !c.bodyOwned {
		c.wbuf = append(c.wbuf[:0], c.resBody...)
		c.bodyOwned = true
	}
}

// Text answers with status and s as text/plain; charset=utf-8.
func (c *Ctx) Text(status int, s string) Result {
	return c.sendString(status, "text/plain; charset=utf-8", s)
}

// HTML answers with status and s as text/html; charset=utf-8.
func (c *Ctx) HTML(status int, s string) Result {
	return c.sendString(status, "text/html; charset=utf-8", s)
}

func (c *Ctx) sendString(status int, ct, s string) Result {
	checkFinalStatus(status)
	if c.frozen {
		c.lateWriteOnLoop("Text")
		return Result{}
	}
	c.status, c.contentType = status, ct
	c.setBody(unsafe.Slice(unsafe.StringData(s), len(s)))
	return Result{}
}

// Send answers with status, contentType and body. body is borrowed until the
// response is written: do not modify it before then.
func (c *Ctx) Send(status int, contentType string, body []byte) Result {
	checkFinalStatus(status)
	if c.frozen {
		c.lateWriteOnLoop("Send")
		return Result{}
	}
	c.status, c.contentType = status, contentType
	c.setBody(body)
	return Result{}
}

// NoContent answers with status and no body.
func (c *Ctx) NoContent(status int) Result {
	checkFinalStatus(status)
	if c.frozen {
		c.lateWriteOnLoop("NoContent")
		return Result{}
	}
	c.status = status
	c.setBody(nil)
	return Result{}
}

// Redirect answers with status (301, 302, 303, 307 or 308) and a Location
// header.
func (c *Ctx) Redirect(status int, location string) Result {
	checkFinalStatus(status)
	if c.frozen {
		c.lateWriteOnLoop("Redirect")
		return Result{}
	}
	c.SetHeader("Location", location)
	c.status = status
	c.setBody(nil)
	return Result{}
}

// JSON answers with status and v encoded by encoding/json as
// application/json. An encoding error fails the Result (a 500). The
// encoder and its buffer are reused from request to request; encoding v
// itself costs what encoding/json costs (one allocation for a small struct).
func (c *Ctx) JSON(status int, v any) Result {
	checkFinalStatus(status)
	if c.frozen {
		c.lateWriteOnLoop("JSON")
		return Result{}
	}
	if c.json == nil {
		// Made once per pooled Ctx.
		c.json = &jsonEncoder{c: c}
		c.json.enc = json.NewEncoder(c.json)
	}
	c.wbuf = c.wbuf[:0]
	if err := c.json.enc.Encode(v); err != nil {
		c.wbuf = c.wbuf[:0]
		return Fail(err)
	}
	// Encode ends the value with a newline; drop it.
	if n := len(c.wbuf); n > 0 && c.wbuf[n-1] == '\n' {
		c.wbuf = c.wbuf[:n-1]
	}
	c.status, c.contentType = status, "application/json"
	c.resBody, c.bodyOwned = c.wbuf, true
	return Result{}
}

// jsonEncoder is the Ctx's reusable json.Encoder, writing into its wbuf.
type jsonEncoder struct {
	c   *Ctx
	enc *json.Encoder
}

func (j *jsonEncoder) Write(p []byte) (int, error) {
	j.c.wbuf = append(j.c.wbuf, p...)
	return len(p), nil
}

// resetForError forgets the status, the body and the headers that describe
// the body, before the error handler answers; other headers (CORS, a
// request id, Set-Cookie, ...) stay, as with Express's final handler.
func (c *Ctx) resetForError() {
	c.upgrade = nil
	c.status, c.contentType = StatusOK, ""
	c.setBody(nil)
	c.wbuf = c.wbuf[:0]
	kept := c.header[:0]
	for _, h := range c.header {
		if !contentHeader(h.name) {
			kept = append(kept, h)
		}
	}
	clear(c.header[len(kept):])
	c.header = kept
}

// contentHeader reports whether a response header describes the body.
func contentHeader(name string) bool {
	for _, h := range [...]string{"Content-Encoding", "Content-Language", "Content-Range",
		"Content-Disposition", "Content-Location", "ETag", "Last-Modified", "Accept-Ranges"} {
		if equalFoldASCII(name, h) {
			return true
		}
	}
	return false
}

// ResponseHeaders yields every response header set so far, in order
// (Content-Type first, if set).
func (c *Ctx) ResponseHeaders() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if c.contentType != "" && !yield("Content-Type", c.contentType) {
			return
		}
		for _, h := range c.header {
			if !yield(h.name, h.value) {
				return
			}
		}
	}
}

// bodyAllowed reports whether a response with status may have a body
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != StatusNoContent && status != StatusNotModified
}

// appendResponse appends the response's bytes to b.
func (c *Ctx) appendResponse(b, date []byte) []byte {
	if c.upgrade != nil {
		return c.appendHead(b, date, -2, false)
	}
	withBody := bodyAllowed(c.status)
	length := int64(-2)
	if withBody {
		length = int64(len(c.resBody))
	}
	b = c.appendHead(b, date, length, false)
	if withBody && !c.isHead() {
		b = append(b, c.resBody...)
	}
	return b
}

// appendHead appends the response's head to b: Content-Length: length
// when length >= 0, Transfer-Encoding: chunked when chunked, no framing
// field at all when length is -2 (no body, or a 101).
func (c *Ctx) appendHead(b, date []byte, length int64, chunked bool) []byte {
	b = appendStatusLine(b, c.status)
	b = append(b, date...)
	if c.contentType != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, c.contentType...)
		b = append(b, "\r\n"...)
	}
	for _, h := range c.header {
		b = append(b, h.name...)
		b = append(b, ": "...)
		b = append(b, h.value...)
		b = append(b, "\r\n"...)
	}
	switch {
	case chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case length >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	}
	switch {
	case c.upgrade != nil:
		b = append(b, "Connection: Upgrade\r\n"...)
	case c.closeAfter:
		b = append(b, "Connection: close\r\n"...)
	case c.req.Minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// isHead reports whether the request is HEAD (whose response has no body).
func (c *Ctx) isHead() bool {
	return !c.badRequest && c.Method() == "HEAD"
}

// fieldSafe returns s with CR, LF and NUL replaced by spaces, so that a
// header from user input cannot split the response. It allocates only when
// s has one.
func fieldSafe(s string) string {
	if strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
