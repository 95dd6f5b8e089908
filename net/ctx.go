package net

import (
	"context"
	"io"
	"iter"
	stdnet "net"
	"net/url"
	"strings"
	"unsafe"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// Ctx is one request and the response being built for it. The server makes
// it, hands it to the handler, and recycles it once the handler's Result has
// settled and the response is written.
//
// Loop-only: call its methods on the loop that runs the handler (in the
// handler and its continuations), never from Blocking functions or offload
// jobs. The exceptions, safe for concurrent use: Loop, LoopID, LoopLag,
// LoopUtilization, Tracker and Timings. Give off-loop code values (and the
// context from Context), not the Ctx.
//
// The strings and byte slices it returns (Method, Path, Header, Param, Body,
// ...) are views of the request's bytes, which the Ctx owns: they stay valid
// until the Ctx is recycled, which waits for the request's Result, for
// anything held with HoldUntil, and for every Blocking function and offload
// job started with the Ctx as its scope. So continuations and off-loop jobs
// of the request may use them; anything kept longer (a goroutine of your
// own, a cache) must be copied (strings.Clone, bytes.Clone).
type Ctx struct {
	l    *loop
	conn *conn

	// request
	req     http1.Request
	chunks  http1.ChunkScanner
	raw     []byte // the request's bytes (head and body), owned
	body    []byte // a slice of raw
	total   int    // bytes of the request in the inbound buffer
	params  Params
	route   string
	trailer []http1.Header

	requestID string // SetRequestID's
	shown     shown  // route and id, for the watchdog (observe.go)

	// response
	status      int
	contentType string
	header      []headerField
	resBody     []byte // the response body: wbuf, or borrowed from the handler
	bodyOwned   bool   // resBody is wbuf
	wbuf        []byte // owned buffer for bodies the Ctx builds (JSON, Write)
	json        *jsonEncoder
	stream      *Stream  // a streamed response, once Stream is called
	upgrade     Protocol // the protocol to hand the connection to, once Upgrade is called

	streamLength    int64 // Content-Length of a streamed body, with streamLengthSet
	streamLengthSet bool
	onStream        func(*Ctx, io.Writer) StreamEncoder // see OnStream
	bodyIn          *bodyIn                             // a streamed request body (see body.go)

	values []ctxValue
	timing ctxTiming
	limit  int64 // body limit for this request

	// lifecycle (see lifecycle.go)
	start      int64 // coarse time the handler started
	frozen     bool  // the response is final
	written    bool  // the response is written, or will never be
	roots      int   // futures that must settle before recycling
	closeAfter bool  // close the connection after this response
	badRequest bool  // answered by the server before any handler ran
	gone       bool  // the client closed the connection before the answer was written
	noAnswer   bool  // gone, and failed: nothing to write; the connection closes at its turn
	timedOut   bool  // frozen by HandlerTimeout, not by the root settling
	reqCtx     context.Context
	cancel     context.CancelFunc
	ansCtx     context.Context // see answerScope
	ansCancel  context.CancelFunc
}

type headerField struct{ name, value string }

func newCtx(l *loop) *Ctx {
	return &Ctx{
		l:      l,
		req:    http1.Request{Headers: make([]http1.Header, 0, l.st.cfg.maxHeaderCount)},
		status: StatusOK,
	}
}

// reset clears every reference the Ctx holds, keeping its buffers.
func (c *Ctx) reset() {
	headers := c.req.Headers[:0]
	c.req.Reset()
	c.req.Headers = headers
	c.chunks.Reset()
	c.body = nil
	c.total = 0
	clear(c.params.Values[:cap(c.params.Values)])
	c.params = Params{Values: c.params.Values[:0]}
	c.route = ""
	c.requestID = ""
	c.shown.clearOnLoop()
	c.trailer = c.trailer[:0]
	c.status = StatusOK
	c.contentType = ""
	clear(c.header)
	c.header = c.header[:0]
	c.resBody, c.bodyOwned = nil, false
	c.stream, c.upgrade, c.onStream, c.bodyIn = nil, nil, nil, nil
	c.streamLength, c.streamLengthSet, c.gone, c.noAnswer = 0, false, false, false
	if cap(c.wbuf) > maxKeptOut {
		c.wbuf = nil
	}
	c.wbuf = c.wbuf[:0]
	if cap(c.raw) > maxKeptOut {
		c.raw = nil
	}
	c.raw = c.raw[:0]
	clear(c.values)
	c.values = c.values[:0]
	c.timing.reset()
	c.limit = 0
	c.conn = nil
	c.start = 0
	c.frozen, c.written, c.closeAfter, c.badRequest, c.timedOut = false, false, false, false, false
	c.roots = 0
	if c.cancel != nil {
		c.cancel()
	}
	c.reqCtx, c.cancel = nil, nil
	c.endAnswerScope()
	c.ansCtx = nil
}

// loadRequest copies the request's bytes out of gnet's buffer, which other
// connections' reads overwrite, into the Ctx, and decodes a chunked body in
// place.
func (c *Ctx) loadRequest(src []byte) error {
	c.raw = append(c.raw[:0], src...)
	head := c.req.HeadLen
	if !c.req.Chunked {
		c.body = c.raw[head:len(c.raw):len(c.raw)]
		return nil
	}
	body, trailer, err := http1.DecodeChunked(c.raw[head:], c.trailer[:0])
	if err != nil {
		return err
	}
	c.body, c.trailer = body[:len(body):len(body)], trailer
	// Trailer spans are relative to the body start; keep them absolute.
	for i := range c.trailer {
		c.trailer[i].Name.Start += int32(head)
		c.trailer[i].Name.End += int32(head)
		c.trailer[i].Value.Start += int32(head)
		c.trailer[i].Value.End += int32(head)
	}
	return nil
}

// headLimitOnLoop asks Server.BodyLimit for the request's body limit, with
// the head copied in so that c's accessors work. A panic in the hook (user
// code) is an error, answered 500.
func (c *Ctx) headLimitOnLoop(head []byte, cfg *config) (limit int64, err error) {
	c.raw = append(c.raw[:0], head...)
	c.body = nil
	defer func() {
		c.params.Names, c.params.Values = nil, c.params.Values[:0]
		c.route = ""
		c.shown.clearOnLoop()
		if r := recover(); r != nil {
			pe := runtime.NewPanicError(r)
			c.l.log.Error("panic in Server.BodyLimit", zap.Any("panic", r), zap.ByteString("stack", pe.Stack))
			limit, err = 0, pe
		}
	}()
	limit = cfg.bodyLimit(c)
	if limit <= 0 || limit > cfg.maxBodyBytes {
		limit = cfg.maxBodyBytes
	}
	return limit, nil
}

// str returns the request bytes of s as a string that shares c.raw.
func (c *Ctx) str(s http1.Span) string {
	if s.End <= s.Start {
		return ""
	}
	return unsafe.String(&c.raw[s.Start], int(s.End-s.Start))
}

// Method returns the request method, e.g. "GET".
func (c *Ctx) Method() string { return c.str(c.req.Method) }

// Path returns the path of the request target as sent, still
// percent-encoded ("/a%20b"), without the query.
func (c *Ctx) Path() string { return c.str(c.req.Path) }

// RawQuery returns the query of the request target, without '?', still
// encoded.
func (c *Ctx) RawQuery() string { return c.str(c.req.Query) }

// Target returns the request target exactly as sent.
func (c *Ctx) Target() string { return c.str(c.req.Target) }

// Proto returns "HTTP/1.1" or "HTTP/1.0".
func (c *Ctx) Proto() string {
	if c.req.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Host returns the Host header (or the authority of an absolute-form target).
func (c *Ctx) Host() string { return c.str(c.req.Host) }

// Header returns the value of the first request header named name
// (case-insensitive), or "".
func (c *Ctx) Header(name string) string {
	for _, h := range c.req.Headers {
		if equalFoldASCII(c.str(h.Name), name) {
			return c.str(h.Value)
		}
	}
	return ""
}

// Headers yields every request header field, in order, as sent.
func (c *Ctx) Headers() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, h := range c.req.Headers {
			if !yield(c.str(h.Name), c.str(h.Value)) {
				return
			}
		}
	}
}

// Trailer returns the value of the first trailer field named name of a
// chunked request, or "".
func (c *Ctx) Trailer(name string) string {
	for _, h := range c.trailer {
		if equalFoldASCII(c.str(h.Name), name) {
			return c.str(h.Value)
		}
	}
	return ""
}

// Body returns the request body (decoded, for a chunked request). The server
// reads the whole body, up to Server.MaxBodyBytes, before the handler runs,
// unless Server.StreamBody chose to stream it: Body is then nil, and the
// body comes through BodyChunk or BodyReader.
func (c *Ctx) Body() []byte { return c.body }

// Query returns the first value of the query parameter key, decoded, or "".
// It allocates only when the value is percent- or plus-encoded.
func (c *Ctx) Query(key string) string {
	q := c.RawQuery()
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == key || (strings.ContainsAny(k, "%+") && unescapeQuery(k) == key) {
			return unescapeQuery(v)
		}
	}
	return ""
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// RemoteAddr returns the client's address.
func (c *Ctx) RemoteAddr() stdnet.Addr {
	if c.conn == nil || c.conn.closedNow() {
		return nil
	}
	return c.conn.gc.RemoteAddr()
}

// Params are the parameters a router matched in the request path. Names is
// shared with the route and must not be modified.
type Params struct {
	Names  []string
	Values []string
}

// Get returns the value of the parameter name as the router matched it, or
// "": weft's router matches a path decoded except for %2F and %25, which
// stay encoded in the value (Ctx.Param decodes them).
func (p *Params) Get(name string) string {
	for i, n := range p.Names {
		if n == name && i < len(p.Values) {
			return p.Values[i]
		}
	}
	return ""
}

// Params returns the route parameters, for routers to fill and for
// handlers that want them all. Its Values keep their capacity from request
// to request, so a router that appends to Values[:0] does not allocate.
func (c *Ctx) Params() *Params { return &c.params }

// Param returns the route parameter name, percent-decoded (it allocates only
// when the value has escapes), or "".
func (c *Ctx) Param(name string) string {
	v := c.params.Get(name)
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// Route returns the pattern of the route that matched, as a router set it
// with SetRoute ("/users/:id"), for logs and metrics.
func (c *Ctx) Route() string { return c.route }

// SetRoute records on c the pattern of the route that matched, which
// c.Route returns; routers call it, handlers never need to. Loop-only.
func SetRoute(c *Ctx, pattern string) {
	c.route = pattern
	c.shown.setOnLoop(pattern, c.requestID)
}

// Context returns the request's context. It is cancelled when the response
// is final (the handler's Result settled, or a timeout answered), when the
// client goes away, and when Shutdown gives up waiting; asked for after the
// response is final, it is already cancelled. Loop-only; the context it
// returns is safe for concurrent use: pass it to off-loop code.
func (c *Ctx) Context() context.Context {
	if c.reqCtx == nil {
		if c.frozen || c.written {
			// Made after the fact: born cancelled, as it would have been.
			return c.l.doneCtx
		}
		c.reqCtx, c.cancel = context.WithCancel(c.l.ctx)
	}
	return c.reqCtx
}

// answerScope is the scope weft's own answering helpers (SendFile,
// SendReader) read their bodies in, off the loop. Its context ends when the
// connection closes, the stream is aborted, or the server stops waiting;
// not when the request's context is cancelled because the client
// half-closed (drainOnLoop): an answer under way is still written to such
// a client, as net/http's io.Copy into its ResponseWriter would be.
func (c *Ctx) answerScope() runtime.Scope {
	if c.ansCtx == nil {
		if c.written {
			// Answered, or dropped (a closed connection drops its
			// requests): nothing more to read for it.
			c.ansCtx = c.l.doneCtx
		} else {
			c.ansCtx, c.ansCancel = context.WithCancel(c.l.ctx)
		}
	}
	return answerScope{c, c.ansCtx}
}

// endAnswerScope cancels answerScope's context, if made.
func (c *Ctx) endAnswerScope() {
	if c.ansCancel != nil {
		c.ansCancel()
		c.ansCancel = nil
	}
}

type answerScope struct {
	*Ctx
	ctx context.Context
}

func (a answerScope) Context() context.Context { return a.ctx }

// Loop returns the loop the request runs on. Safe for concurrent use.
func (c *Ctx) Loop() runtime.Loop { return c.l }

// Logger returns the server's logger, for handlers and middleware.
func (c *Ctx) Logger() *zap.Logger { return c.l.log }

// equalFoldASCII reports whether a and b are equal ignoring ASCII case.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			return false
		}
	}
	return true
}
