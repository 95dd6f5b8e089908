package net

import (
	"context"
	"errors"
	"io"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// Streamed request bodies. A request whose body the server streams
// (Server.StreamBody chose it when its head arrived) is dispatched as soon
// as its head is read; its body then arrives in chunks of at most
// bodyChunk bytes, each handed over when the handler asks for it
// (BodyChunk on the loop, BodyReader off it). The connection takes no more
// of the client's bytes while the handler holds a chunk it has not asked
// past: the rest waits in gnet's buffer (which gnet keeps filling, up to
// MaxInboundBytes; see conn.go), and the requests pipelined behind wait
// for the body's end.

// bodyChunk is the most a streamed body hands over at once.
const bodyChunk = 64 << 10

// ErrBodyNotStreamed is BodyChunk's error for a request whose body was
// read whole (use Body).
var ErrBodyNotStreamed = errors.New("weft/net: the request body is not streamed (see Server.StreamBody)")

// bodyIn is the state of a streamed request body. Loop-only.
type bodyIn struct {
	cn        *conn
	limit     int64
	remaining int64 // Content-Length bytes still to come; -1: chunked
	dec       http1.ChunkDecoder
	bufs      [2][]byte // double buffer: the chunk handed over, and the one filling
	fill      int       // index of the filling buffer
	has       bool      // bufs[fill] holds data not yet handed over
	eof       bool      // every body byte has been taken from the connection
	err       error     // the body failed (the client left, bad framing, over the limit)
	waiter    runtime.Promise[[]byte]
	waiting   bool
	asked     bool // the handler has asked for the body (100 Continue)
	starved   bool // the last feed found too few bytes to hand anything over
}

// BodyChunk returns the next chunk of a streamed request body: ready at
// once if one has arrived, pending until one does. The chunk is valid
// until the next call. At the end of the body the future fails with
// io.EOF; if the body cannot be read (the client left, bad chunked
// framing, over the limit) with that error. For a body that was read whole
// it fails with ErrBodyNotStreamed. Loop-only.
func (c *Ctx) BodyChunk() runtime.Future[[]byte] {
	b := c.bodyIn
	if b == nil {
		return runtime.Rejected[[]byte](ErrBodyNotStreamed)
	}
	if !b.asked {
		b.asked = true
		b.cn.continueBodyOnLoop(c)
	}
	if b.waiting {
		return runtime.Rejected[[]byte](errors.New("weft/net: BodyChunk called again before its previous future settled"))
	}
	if b.has {
		return runtime.Resolved(b.handOverOnLoop())
	}
	if b.err != nil {
		return runtime.Rejected[[]byte](b.err)
	}
	if b.eof {
		return runtime.Rejected[[]byte](io.EOF)
	}
	b.waiter, b.waiting = runtime.NewPromise[[]byte](c.l), true
	b.cn.markOnLoop(evIn) // the connection may hold bytes for it
	return b.waiter.Future()
}

// continueBodyOnLoop sends "100 Continue" for c, whose streamed body its
// handler has asked for, if c expects it and nothing is owed before it (an
// interim response must not overtake earlier answers): from BodyChunk, and
// again once the answers before c are written (writeOnLoop). Not once c's
// streamed answer has sent its head (at a pass, or with its first 16 KiB):
// an interim response after the final one would land inside its body.
func (cn *conn) continueBodyOnLoop(c *Ctx) {
	if !c.req.ExpectContinue || cn.sent100 || cn.closedNow() || len(cn.queue) == 0 || cn.queue[0] != c {
		return
	}
	if s := c.stream; s != nil && s.headSent {
		return
	}
	cn.sent100 = true
	_, _ = cn.gc.Write(continueLine)
}

// handOverOnLoop gives the filled buffer to the handler and lets the
// connection fill the other one.
func (b *bodyIn) handOverOnLoop() []byte {
	chunk := b.bufs[b.fill]
	b.fill ^= 1
	b.has = false
	if !b.cn.closedNow() {
		b.cn.markOnLoop(evIn)
	}
	return chunk
}

// settleOnLoop settles a waiting BodyChunk, with data or the end.
func (b *bodyIn) settleOnLoop() {
	if !b.waiting {
		return
	}
	switch {
	case b.has:
		b.waiting = false
		b.waiter.Resolve(b.handOverOnLoop())
	case b.err != nil:
		b.waiting = false
		b.waiter.Reject(b.err)
	case b.eof:
		b.waiting = false
		b.waiter.Reject(io.EOF)
	}
}

// failOnLoop ends the body with err.
func (b *bodyIn) failOnLoop(err error) {
	if b.err == nil && !b.eof {
		b.err = err
	}
	b.settleOnLoop()
}

// feedOnLoop takes the body's next bytes from the front of in into the
// filling buffer, if it is free, and reports how many bytes of in it
// consumed and whether the body has ended.
func (b *bodyIn) feedOnLoop(in []byte, lim *http1.Limits) (consumed int, done bool, err error) {
	if b.eof || b.err != nil {
		return 0, true, b.err
	}
	if b.has {
		return 0, false, nil // the handler has not taken the last chunk
	}
	buf := b.bufs[b.fill][:0]
	if b.remaining >= 0 {
		n := int(min(int64(len(in)), b.remaining, bodyChunk))
		consumed, buf = n, append(buf, in[:n]...)
		b.remaining -= int64(n)
		b.eof = b.remaining == 0
	} else {
		// Decode up to one chunk's worth of data.
		for len(buf) < bodyChunk && !b.dec.Done() {
			n, d, err := b.dec.Next(in[consumed:], bodyChunk-len(buf), b.limit, lim)
			if err != nil {
				b.bufs[b.fill] = buf
				return consumed, true, err
			}
			if n == 0 {
				break
			}
			consumed += n
			buf = append(buf, d...)
		}
		b.eof = b.dec.Done()
	}
	b.bufs[b.fill] = buf
	if len(buf) > 0 {
		b.has = true
	}
	b.starved = !b.has && !b.eof
	b.settleOnLoop()
	return consumed, b.eof, nil
}

// BodyReader returns an io.Reader over a streamed request body, for
// off-loop code (a Blocking function, an offload job): each Read takes the
// next chunk from the loop. Read returns io.EOF at the end, and the body's
// error if it fails, or ctx's if the request's context ends. Call
// BodyReader on the loop; use the reader from one goroutine, not the loop.
func (c *Ctx) BodyReader() io.Reader {
	return &bodyReader{c: c, l: c.l, ctx: c.Context(), got: make(chan chunkResult, 1)}
}

type chunkResult struct {
	b   []byte
	err error
}

type bodyReader struct {
	c    *Ctx
	l    *loop
	ctx  context.Context
	left []byte
	err  error
	got  chan chunkResult
}

func (r *bodyReader) Read(p []byte) (int, error) {
	for len(r.left) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if err := r.l.Post((*askChunk)(r)); err != nil {
			r.err = err
			return 0, err
		}
		select {
		case res := <-r.got:
			r.left, r.err = res.b, res.err
		case <-r.ctx.Done():
			// The loop may still answer; got has room for it.
			r.err = r.ctx.Err()
			return 0, r.err
		}
	}
	n := copy(p, r.left)
	r.left = r.left[n:]
	return n, nil
}

// askChunk is the task that asks the loop for the reader's next chunk.
type askChunk bodyReader

func (a *askChunk) Run() {
	r := (*bodyReader)(a)
	r.c.BodyChunk().Listen((*chunkListener)(r))
}

// chunkListener passes a chunk's future to the reading goroutine.
type chunkListener bodyReader

func (l *chunkListener) Settled(b []byte, err error) {
	(*bodyReader)(l).got <- chunkResult{b, err}
}

// bodyError turns the parser's error about a streamed body into the error
// the handler sees (its status: 400, 413, 431).
func bodyError(err error) error {
	if pe, ok := err.(*http1.Error); ok {
		return &Error{Status: pe.Status, Err: pe}
	}
	return err
}

// streamLimitOnLoop asks Server.StreamBody whether to stream the body of
// c, whose head is complete (and copied in, so that c's accessors work),
// and with what limit. A panic in the hook is an error, answered 500.
func (c *Ctx) streamLimitOnLoop(head []byte, cfg *config) (limit int64, err error) {
	c.raw = append(c.raw[:0], head...)
	c.body = nil
	defer func() {
		c.params.Names, c.params.Values = nil, c.params.Values[:0]
		c.route = ""
		if r := recover(); r != nil {
			pe := runtime.NewPanicError(r)
			c.l.log.Error("panic in Server.StreamBody", zap.Any("panic", r), zap.ByteString("stack", pe.Stack))
			limit, err = 0, pe
		}
	}()
	return cfg.streamBody(c), nil
}

// closeIfBodyUnreadOnLoop makes c's response close the connection if its
// streamed body has not all arrived: the rest cannot be told from the next
// request without reading it.
func (c *Ctx) closeIfBodyUnreadOnLoop() {
	if c.bodyUnreadOnLoop() {
		c.closeAfter = true
	}
}

// bodyUnreadOnLoop reports whether c's streamed body has bytes still to
// be taken from the connection.
func (c *Ctx) bodyUnreadOnLoop() bool {
	b := c.bodyIn
	return b != nil && !b.eof && b.err == nil
}

// awaitsBodyBytesOnLoop reports whether the connection waits for more of a
// streamed body that nothing buffered can supply (TestConn.Serve returns
// then).
func (cn *conn) awaitsBodyBytesOnLoop() bool {
	if cn.read != readStreamed || cn.bodyOf == nil {
		return false
	}
	b := cn.bodyOf.bodyIn
	return b.waiting && (b.starved || cn.gc.InboundBuffered() == 0)
}
