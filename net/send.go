package net

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftgo/weft/net/httpfile"
	"github.com/weftgo/weft/runtime"
)

// readChunk is how much SendReader reads at a time, off the loop; one chunk
// is in flight at once, so a response read from an io.Reader holds at most
// this plus the connection's MaxOutboundBytes.
const readChunk = 64 << 10

// SendReader answers with status and a body read from r off the loop (by
// runtime.Blocking, readChunk bytes at a time, one read in flight), written
// as the client takes it: memory stays bounded whatever the size. size is
// the body's length (Content-Length; no more than size bytes are read from
// r, as io.CopyN does), or -1 if unknown (chunked, read to EOF). r is
// closed at the end if it is an io.Closer, and at once if the client leaves
// while a Read is in flight (which unblocks a pipe's or a socket's Read).
// If r fails, or ends before size bytes, the connection is aborted (the
// client cannot take a cut body for a whole one) and the Result fails.
// Loop-only.
func (c *Ctx) SendReader(status int, contentType string, r io.Reader, size int64) Result {
	if c.frozen || c.stream != nil {
		closeReader(r)
		return Fail(errFrozen)
	}
	if contentType != "" {
		c.SetContentType(contentType)
	}
	if size >= 0 {
		c.SetContentLength(size)
	}
	s := c.Stream(status)
	if s.head || s.want == 0 {
		closeReader(r)
		return s.End()
	}
	p := &readerPump{c: c, scope: c.answerScope(), s: s, r: r, buf: make([]byte, readChunk), left: size}
	p.close = sync.OnceFunc(func() { closeReader(r) })
	// However it ends (the body sent, the reader failing, the client
	// leaving while a read is in flight), r is closed once.
	return p.next().Finally(c, func(struct{}, error) { p.close() })
}

func closeReader(r io.Reader) {
	if cl, ok := r.(io.Closer); ok {
		_ = cl.Close()
	}
}

// readerPump moves an io.Reader into a Stream, one chunk at a time.
type readerPump struct {
	c     *Ctx
	scope runtime.Scope // c.answerScope: reads go on for a half-closed client
	s     *Stream
	r     io.Reader
	buf   []byte
	left  int64 // bytes of the body still to read; -1: up to EOF
	n     int
	err   error
	close func() // closes r, once, from any goroutine
}

// next reads the next chunk off the loop, then writes it and waits for the
// stream's turn before reading again. A read that blocks while the client
// leaves is ended by closing r (what unblocks a pipe's or a socket's Read).
func (p *readerPump) next() Result {
	buf := p.buf
	if p.left >= 0 && p.left < int64(len(buf)) {
		buf = buf[:p.left] // never past size: a longer reader is cut there, as io.CopyN does
	}
	read := runtime.Blocking(p.scope, func(ctx context.Context) (struct{}, error) {
		if err := ctx.Err(); err != nil {
			return struct{}{}, err
		}
		stop := context.AfterFunc(ctx, p.close)
		defer stop()
		p.n, p.err = 0, nil
		for p.n == 0 && p.err == nil {
			p.n, p.err = p.r.Read(buf)
		}
		return struct{}{}, nil
	})
	return runtime.Then(p.c, read, p.wrote)
}

func (p *readerPump) wrote(struct{}) Result {
	s := p.s
	var w runtime.Future[struct{}]
	if p.n > 0 {
		if p.left >= 0 {
			p.left -= int64(p.n)
		}
		w = s.Write(p.buf[:p.n])
		if w.Ready() {
			if _, err := w.Get(); err != nil {
				return s.Abort(err)
			}
		}
	}
	switch {
	case p.err == io.EOF:
		if s.want >= 0 && s.written < s.want {
			return s.Abort(io.ErrUnexpectedEOF)
		}
		return runtime.Then(p.c, w, func(struct{}) Result { return s.End() })
	case p.err != nil:
		return s.Abort(p.err)
	case s.want >= 0 && s.written == s.want:
		return runtime.Then(p.c, w, func(struct{}) Result { return s.End() })
	}
	return runtime.Then(p.c, w, func(struct{}) Result { return p.next() })
}

// SSE is a stream of Server-Sent Events (text/event-stream), started by
// Ctx.SSE. Each event is written and sent at once. Loop-only.
type SSE struct {
	s   *Stream
	buf []byte
}

// Event is one Server-Sent Event. Empty fields are not sent; Data may hold
// several lines (each becomes a data: line).
type Event struct {
	ID    string
	Event string
	Data  string
	Retry time.Duration
}

// SSE starts a Server-Sent Events response (200, text/event-stream,
// Cache-Control: no-cache). The stream ends when the handler's Result
// settles; return the future of the last Send's continuation, which fails
// once the client has left (its Context is cancelled then too). When the
// server starts a graceful Shutdown, the contexts of SSE responses are
// cancelled (timers made with runtime.After on the Ctx fail): an event
// stream does not end by itself, and EventSource clients reconnect.
// Loop-only.
func (c *Ctx) SSE() *SSE {
	if c.stream != nil {
		return &SSE{s: c.stream}
	}
	c.SetContentType("text/event-stream")
	c.SetHeader("Cache-Control", "no-cache")
	c.SetHeader("X-Accel-Buffering", "no") // nginx: do not buffer
	c.Context()                            // made now, so that a drain can cancel it
	s := c.Stream(StatusOK)
	s.events = true
	if c.l.st.draining.Load() && c.cancel != nil {
		// Started after the drain's endEventStreams ran: end it as that
		// task would have.
		c.cancel()
	}
	return &SSE{s: s}
}

// ErrSSEID is Send's error for an Event whose ID holds a NUL byte, which
// an EventSource would ignore.
var ErrSSEID = errors.New("weft/net: an SSE event id cannot hold NUL")

// Send writes ev and sends it at once. The future is the stream's
// back-pressure (see Stream.Write); it fails once the client has left, and
// with ErrSSEID (nothing written) for an ID holding NUL. Retry is sent in
// whole milliseconds, rounded up. Loop-only.
func (e *SSE) Send(ev Event) runtime.Future[struct{}] {
	if strings.IndexByte(ev.ID, 0) >= 0 {
		// An EventSource ignores such an id (WHATWG HTML §9.2.6) and
		// would resume from an older event.
		return runtime.Rejected[struct{}](ErrSSEID)
	}
	b := e.buf[:0]
	if ev.ID != "" {
		b = appendSSEField(b, "id", ev.ID)
	}
	if ev.Event != "" {
		b = appendSSEField(b, "event", ev.Event)
	}
	if ev.Retry > 0 {
		b = append(b, "retry: "...)
		// Whole milliseconds, rounded up: a positive retry is never 0.
		b = strconv.AppendInt(b, int64((ev.Retry+time.Millisecond-1)/time.Millisecond), 10)
		b = append(b, '\n')
	}
	data := ev.Data
	for {
		line, rest, more := strings.Cut(data, "\n")
		b = appendSSEField(b, "data", strings.TrimSuffix(line, "\r"))
		if !more {
			break
		}
		data = rest
	}
	b = append(b, '\n')
	e.buf = b
	f := e.s.Write(b)
	e.s.Flush()
	return f
}

// Comment sends a comment line (": text"), which clients ignore: a
// keep-alive through proxies that close idle connections. CR and LF in
// text (either ends a line for an EventSource) become spaces. Loop-only.
func (e *SSE) Comment(text string) runtime.Future[struct{}] {
	b := appendSSEField(e.buf[:0], "", text)
	b = append(b, '\n')
	e.buf = b
	f := e.s.Write(b)
	e.s.Flush()
	return f
}

// Stream returns the underlying Stream (to End or Abort it). Loop-only.
func (e *SSE) Stream() *Stream { return e.s }

// appendSSEField appends "name: value\n", with CR and LF in value (which
// would end the field) replaced by spaces.
func appendSSEField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	for i := 0; i < len(value); i++ {
		ch := value[i]
		if ch == '\r' || ch == '\n' {
			ch = ' '
		}
		b = append(b, ch)
	}
	return append(b, '\n')
}

// errNotRegular is SendFile's answer to a directory or a device.
var errNotRegular = errors.New("weft/net: not a regular file")

// SendFile answers with the file at path, opened and read off the loop
// (runtime.Blocking): Content-Type by extension (sniffed otherwise),
// Last-Modified and an ETag from size and time, 304/412 for conditional
// requests, and a single Range (206, 416; several ranges get the whole
// file). The body is streamed (SendReader), so any size is served in
// bounded memory. A missing file fails the Result with a 404 *Error, one
// that cannot be read with a 403 or a 500. Loop-only.
func (c *Ctx) SendFile(path string) Result {
	m := c.Method()
	cond := httpfile.Request{
		Get:      m == "GET",
		Unsafe:   m != "GET" && m != "HEAD",
		IfMatch:  c.Header("If-Match"),
		IfNone:   c.Header("If-None-Match"),
		IfModSnc: c.Header("If-Modified-Since"),
		IfUnmod:  c.Header("If-Unmodified-Since"),
		Range:    c.Header("Range"),
		IfRange:  c.Header("If-Range"),
	}
	opened := runtime.Blocking(c.answerScope(), func(context.Context) (*fileAnswer, error) {
		return openForSend(path, &cond)
	})
	return runtime.Then(c, opened, func(a *fileAnswer) Result {
		c.SetHeader("ETag", a.file.ETag)
		c.SetHeader("Last-Modified", httpfile.LastModified(a.file.ModTime))
		c.SetHeader("Accept-Ranges", "bytes")
		switch a.status {
		case StatusNotModified:
			return c.NoContent(a.status)
		case StatusPreconditionFailed:
			return c.Text(a.status, StatusText(a.status))
		case StatusRangeNotSatisfiable:
			c.SetHeader("Content-Range", httpfile.ContentRange(0, 0, a.file.Size))
			return c.Text(a.status, StatusText(a.status))
		case StatusPartialContent:
			c.SetHeader("Content-Range", httpfile.ContentRange(a.start, a.length, a.file.Size))
		}
		return c.SendReader(a.status, a.ctype, a.body, a.length)
	})
}

// fileAnswer is what SendFile's off-loop part decided.
type fileAnswer struct {
	status        int
	file          httpfile.File
	start, length int64
	ctype         string
	body          io.ReadCloser // nil unless a body is sent
}

// openForSend opens path and decides the answer; off the loop.
func openForSend(path string, cond *httpfile.Request) (*fileAnswer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return nil, fileError(err)
	}
	if !info.Mode().IsRegular() {
		return nil, &Error{Status: StatusNotFound, Err: errNotRegular}
	}
	a := &fileAnswer{file: httpfile.File{Size: info.Size(), ModTime: info.ModTime()}}
	a.file.ETag = httpfile.ETag(a.file.Size, a.file.ModTime)
	if a.status = httpfile.Preconditions(cond, &a.file); a.status != 0 {
		return a, nil
	}
	if a.start, a.length, a.status = httpfile.ChooseRange(cond, &a.file); a.status == StatusRangeNotSatisfiable {
		return a, nil
	}
	a.ctype = mime.TypeByExtension(filepath.Ext(path))
	if a.ctype == "" {
		head := make([]byte, 512)
		n, _ := f.ReadAt(head, 0)
		a.ctype = sniffContentType(head[:n])
	}
	if _, err := f.Seek(a.start, io.SeekStart); err != nil {
		return nil, err
	}
	keep = true
	a.body = fileBody{io.LimitReader(f, a.length), f}
	return a, nil
}

type fileBody struct {
	io.Reader
	io.Closer
}

// fileError maps an error opening a file to the status to answer.
func fileError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{Status: StatusNotFound, Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &Error{Status: StatusForbidden, Err: err}
	}
	return err
}

// sniffContentType is a small stand-in for net/http's DetectContentType
// (weft's net does not import net/http): text if the head is valid UTF-8
// without control bytes, octet-stream otherwise.
func sniffContentType(head []byte) string {
	if utf8.Valid(head) && !bytes.ContainsFunc(head, func(r rune) bool {
		return r < 0x20 && r != '\n' && r != '\r' && r != '\t'
	}) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
