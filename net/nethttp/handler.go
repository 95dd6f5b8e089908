package nethttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// MaxBuffered is the most response bytes a handler mounted with Handler
// may write: the response is buffered until streamed responses land in
// weft's net package.
const MaxBuffered = 64 << 20

// ErrBufferFull is returned by the ResponseWriter's Write once the
// response passes MaxBuffered bytes; the client then gets a 500.
var ErrBufferFull = errors.New("weft/nethttp: response larger than MaxBuffered")

// Handler returns a weft handler that serves each request with h, off the
// loop, with a real *http.Request and a buffering http.ResponseWriter (see
// the package doc). A panic in h (http.ErrAbortHandler included) is
// answered 500 and logged, as a panic in a weft handler is. The returned
// handler is loop-only, as every weft handler; h runs on a goroutine of its
// own.
func Handler(h http.Handler) net.Handler {
	return func(c *net.Ctx) net.Result {
		req, err := newRequest(c)
		if err != nil {
			return net.Fail(&net.Error{Status: net.StatusBadRequest, Message: "request refused by net/http: " + err.Error(), Err: err})
		}
		res := runtime.Blocking(c, func(ctx context.Context) (*responseWriter, error) {
			w := &responseWriter{header: http.Header{}, head: req.Method == "HEAD"}
			return w, serve(h, w, req.WithContext(ctx))
		})
		return runtime.Then(c, res, func(w *responseWriter) net.Result {
			return w.answer(c)
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
	return req, nil
}

// responseWriter buffers a response. Confined to the goroutine running the
// handler until it returns; then read on the loop.
type responseWriter struct {
	header  http.Header
	sent    http.Header // header as of WriteHeader: later changes are ignored, as in net/http
	status  int
	head    bool // a HEAD request: the body is dropped
	body    bytes.Buffer
	tooLong bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http
	}
	if w.status != 0 || (code < 200 && code != http.StatusSwitchingProtocols) {
		return // superfluous, or an interim response (dropped while buffering)
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
	if w.head {
		return len(p), nil
	}
	if w.body.Len()+len(p) > MaxBuffered {
		w.tooLong = true
		return 0, ErrBufferFull
	}
	return w.body.Write(p)
}

func (w *responseWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// answer copies the buffered response into c. It runs on the loop.
func (w *responseWriter) answer(c *net.Ctx) net.Result {
	if w.tooLong {
		return net.Fail(&net.Error{Status: net.StatusInternalServerError, Err: ErrBufferFull})
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK) // returned without writing: an empty 200
	}
	for name, values := range w.sent {
		if skipHeader(name) {
			continue
		}
		for _, v := range values {
			c.AddHeader(name, v)
		}
	}
	body := w.body.Bytes()
	if _, ok := w.sent["Content-Type"]; !ok && len(body) > 0 {
		// net/http sniffs a missing Content-Type from the first 512 bytes.
		c.SetContentType(http.DetectContentType(body))
	}
	return c.Send(w.status, c.ResponseHeader("Content-Type"), body)
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
