package nethttp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// streamAfter is how many body bytes the ResponseWriter gathers before it
// starts streaming them: a response that fits is sent whole, with a
// Content-Length, in one write; a longer one (a profile, a file) streams in
// chunks of this size, with weft's back-pressure.
const streamAfter = 32 << 10

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

// Handler returns a weft handler that serves each request with h, off the
// loop, with a real *http.Request and an http.ResponseWriter that streams
// (see the package doc). A panic in h (http.ErrAbortHandler included) is
// answered 500 and logged, as a panic in a weft handler is, if nothing was
// sent yet, and otherwise aborts the response (the connection is closed,
// so the client cannot take a cut body for a whole one). The returned
// handler is loop-only, as every weft handler; h runs on a goroutine of
// its own.
func Handler(h http.Handler) net.Handler {
	return func(c *net.Ctx) net.Result {
		req, err := newRequest(c)
		if err != nil {
			return net.Fail(&net.Error{Status: net.StatusBadRequest, Message: "request refused by net/http: " + err.Error(), Err: err})
		}
		w := &responseWriter{c: c, loop: c.Loop(), header: http.Header{}, head: req.Method == "HEAD",
			ack: make(chan error, 1)}
		res := runtime.Blocking(c, func(ctx context.Context) (*responseWriter, error) {
			w.ctx = ctx
			return w, serve(h, w, req.WithContext(ctx))
		})
		return runtime.Then(c, res, func(w *responseWriter) net.Result {
			return w.finishOnLoop()
		}).Catch(c, func(err error) net.Result {
			if w.stream != nil {
				return w.stream.Abort(err)
			}
			return net.Fail(err)
		})
	}
}

// serve runs h, turning a panic into an error (a 500), as net/http
// recovers one.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = runtime.NewPanicError(v)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}

// newRequest builds the *http.Request of c with net/http's own parser, so
// that URL, Host, Header, Close and the rest are exactly what a net/http
// server would give. Every byte is copied: net/http code may keep what it
// is given.
func newRequest(c *net.Ctx) (*http.Request, error) {
	var head bytes.Buffer
	head.Grow(512)
	head.WriteString(c.Method())
	head.WriteByte(' ')
	head.WriteString(c.Target())
	head.WriteByte(' ')
	head.WriteString(c.Proto())
	head.WriteString("\r\n")
	for name, value := range c.Headers() {
		head.WriteString(name)
		head.WriteString(": ")
		head.WriteString(value)
		head.WriteString("\r\n")
	}
	head.WriteString("\r\n")
	req, err := http.ReadRequest(bufio.NewReader(&head))
	if err != nil {
		return nil, err
	}
	// weft has read (and de-chunked) the whole body already.
	body := bytes.Clone(c.Body())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.TransferEncoding = nil
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for name := range req.Trailer {
		if v := c.Trailer(name); v != "" {
			req.Trailer.Set(name, strings.Clone(v))
		}
	}
	if addr := c.RemoteAddr(); addr != nil {
		req.RemoteAddr = addr.String()
	}
	// The route's parameters, for r.PathValue, as ServeMux would set them.
	req.Pattern = c.Route()
	for _, name := range c.Params().Names {
		req.SetPathValue(name, strings.Clone(c.Param(name)))
	}
	return req, nil
}

// responseWriter is the http.ResponseWriter of a handler mounted with
// Handler. The handler's goroutine owns it until it returns, except for the
// fields marked loop-only, which only tasks on the loop touch, while that
// goroutine waits for them (on ack): so every access is ordered.
//
// It gathers up to streamAfter bytes. If the handler returns first, the
// response goes out whole (finishOnLoop). Past streamAfter, or at Flush,
// it starts a Stream on the Ctx and from then on hands each gathered chunk
// to the loop and waits until the Stream has taken it and the client keeps
// up (the Stream's write future): back-pressure for a handler that writes
// faster than the client reads, in at most MaxOutboundBytes of memory.
type responseWriter struct {
	c    *net.Ctx // loop-only
	loop runtime.Loop
	ctx  context.Context

	header http.Header
	sent   http.Header // header as of WriteHeader: later changes are ignored, as in net/http
	status int
	head   bool  // a HEAD request: the body is dropped (buf keeps its first bytes, for sniffing)
	headN  int64 // bytes a HEAD handler wrote, for the Content-Length net/http would send
	buf    []byte
	err    error // the stream failed: every later write fails with it

	streaming bool        // a Stream was started (set before the task that starts it is posted)
	stream    *net.Stream // loop-only
	ack       chan error  // a loop task's outcome, for the handler's goroutine
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if w.status != 0 || (code < 200 && code != http.StatusSwitchingProtocols) {
		return // superfluous, or an interim response (weft sends none for a handler)
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.head {
		// Dropped, but counted and sniffed, as net/http does.
		w.headN += int64(len(p))
		if k := sniffLen - len(w.buf); k > 0 {
			w.buf = append(w.buf, p[:min(k, len(p))]...)
		}
		return len(p), nil
	}
	n := 0
	for len(p) > 0 {
		room := streamAfter - len(w.buf)
		k := min(room, len(p))
		w.buf = append(w.buf, p[:k]...)
		n, p = n+k, p[k:]
		if len(w.buf) >= streamAfter {
			if err := w.sendChunk(false); err != nil {
				return n - len(w.buf), err
			}
		}
	}
	return n, nil
}

func (w *responseWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Flush sends what was written so far, starting the streamed response if
// needed, and returns once the client keeps up. It implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting failure (the client left, the response
// was aborted), for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	return w.sendChunk(true)
}

// sendChunk hands the gathered bytes to the loop (starting the Stream
// first if needed) and waits for the Stream's write future.
func (w *responseWriter) sendChunk(flush bool) error {
	w.streaming = true
	t := &chunkTask{w: w, p: w.buf, flush: flush}
	if w.head {
		t.p = nil // buf only holds what to sniff
	}
	if err := w.loop.Post(t); err != nil {
		w.err = err
		return err
	}
	select {
	case err := <-w.ack:
		w.buf = w.buf[:0] // the Stream copied it
		if err != nil {
			w.err = err
		}
		return err
	case <-w.ctx.Done():
		// The request is over (the client left, or a timeout): the
		// task may still run, but nothing will wait for it.
		w.err = w.ctx.Err()
		w.buf = nil // the task may still read the old one
		return w.err
	}
}

// chunkTask writes a chunk on the loop.
type chunkTask struct {
	w     *responseWriter
	p     []byte
	flush bool
}

func (t *chunkTask) Run() {
	w := t.w
	if w.stream == nil {
		first := t.p
		if w.head {
			first = w.buf
		}
		if err := w.startOnLoop(first); err != nil {
			w.ack <- err
			return
		}
	}
	f := w.stream.Write(t.p)
	if t.flush {
		w.stream.Flush()
	}
	f.Listen((*ackListener)(w))
}

// ackListener tells the handler's goroutine that its chunk was taken.
type ackListener responseWriter

func (a *ackListener) Settled(_ struct{}, err error) { a.ack <- err }

// startOnLoop starts the Stream with the handler's status and headers;
// first is the beginning of the body, for sniffing a Content-Type.
func (w *responseWriter) startOnLoop(first []byte) error {
	c := w.c
	if err := c.Context().Err(); err != nil {
		return err // the response is already final (a timeout answered)
	}
	w.copyHeadersOnLoop(first)
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		c.SetContentLength(n)
	}
	w.stream = c.Stream(w.status)
	return nil
}

// copyHeadersOnLoop copies the handler's headers into c, sniffing a missing
// Content-Type from body as net/http does.
func (w *responseWriter) copyHeadersOnLoop(body []byte) {
	c := w.c
	for name, values := range w.sent {
		if skipHeader(name) {
			continue
		}
		for _, v := range values {
			c.AddHeader(name, v)
		}
	}
	if _, ok := w.sent["Content-Type"]; !ok && len(body) > 0 && bodyAllowed(w.status) {
		c.SetContentType(http.DetectContentType(body))
	}
}

// finishOnLoop answers once the handler has returned: the rest of a
// streamed body and its end, or the whole response.
func (w *responseWriter) finishOnLoop() net.Result {
	c := w.c
	if w.status == 0 {
		w.WriteHeader(http.StatusOK) // returned without writing: an empty 200
	}
	if w.streaming {
		if w.stream == nil {
			return net.Fail(w.err) // its start failed; the handler was told
		}
		if len(w.buf) > 0 && w.err == nil {
			w.stream.Write(w.buf) // copied; the end waits for the drain anyway
		}
		return w.stream.End()
	}
	if w.head && (w.headN > 0 || w.sent.Get("Content-Length") != "") {
		// A HEAD answer's Content-Length is the handler's, or else the
		// size of what it wrote (the body a GET would get), and its
		// Content-Type is sniffed from that, as net/http answers: a
		// Stream declares them without a body.
		if w.sent.Get("Content-Length") == "" && bodyAllowed(w.status) {
			w.sent.Set("Content-Length", strconv.FormatInt(w.headN, 10))
		}
		if err := w.startOnLoop(w.buf); err != nil {
			return net.Fail(err)
		}
		return w.stream.End()
	}
	w.copyHeadersOnLoop(w.buf)
	return c.Send(w.status, c.ResponseHeader("Content-Type"), w.buf)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// skipHeader reports whether a header of a net/http response is weft's to
// write (framing, Date) rather than the handler's.
func skipHeader(name string) bool {
	switch name {
	case "Content-Length", "Transfer-Encoding", "Connection", "Date", "Trailer", "Keep-Alive":
		return true
	}
	return strings.HasPrefix(name, http.TrailerPrefix)
}
