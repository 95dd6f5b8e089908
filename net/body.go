package net

import (
	"context"
	"errors"
	"io"
	goruntime "runtime"
	"slices"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// Streamed request bodies. A request whose body the server streams
// (Server.StreamBody chose it when its head arrived) is dispatched as soon
// as its head is read; its body then arrives in chunks of at most
// bodyChunk bytes, each handed over when the handler asks for it
// (BodyChunk on the loop, BodyReader off it). Two buffers take turns: the
// handler holds one while the connection fills the other with what has
// arrived, so that a handler that asks again finds its next chunk ready,
// as large as the time it took allowed (a fast handler gets small chunks
// soon, a slow one large chunks, and fewer of them). Once the filling
// buffer has less room than one read, the connection takes no more of the
// client's bytes (readpause.go) until the handler asks; the requests
// pipelined behind wait for the body's end.
//
// A Content-Length body is read from the socket straight into the filling
// buffer when gnet holds none of its bytes (readpause.go: readDirectOnLoop),
// so most of a large upload is copied once, by the kernel, as with
// net/http; a chunked body is decoded from gnet's buffer.

const (
	// bodyChunk is the most a streamed body hands over at once.
	bodyChunk = 256 << 10
	// bodyReadRoom is the room the filling buffer must have to take
	// another read (gnet's ReadBufferCap): with less, reading pauses.
	bodyReadRoom = 64 << 10
)

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
	// sawEnd: a direct read met the end of the stream (or an error);
	// read directly no more, gnet's own read will see it and close.
	sawEnd  bool
	eof     bool  // every body byte has been taken from the connection
	err     error // the body failed (the client left, bad framing, over the limit)
	waiter  runtime.Promise[[]byte]
	waiting bool
	asked   bool // the handler has asked for the body (100 Continue)
	// owed: the handler asked while the body had not all arrived, so
	// "100 Continue" is due when its turn comes; continued: it was sent,
	// or may no longer be (a streamed answer's head is out).
	owed, continued bool
	starved         bool // the last feed found too few bytes to hand anything over
}

// BodyChunk returns the next chunk of a streamed request body (up to 256
// KiB, what has arrived since the last call): ready at once if some has
// arrived, pending until some does. The chunk is valid until the next call. At the end of the body the future fails with
// io.EOF; if the body cannot be read (the client left, bad chunked
// framing, over the limit) with that error. For a body that was read whole
// it fails with ErrBodyNotStreamed. Loop-only.
func (c *Ctx) BodyChunk() runtime.Future[[]byte] {
	b := c.bodyIn
	if b == nil {
		return runtime.Rejected[[]byte](ErrBodyNotStreamed)
	}
	if !b.asked {
		// "100 Continue" goes out from the connection's pass
		// (writeOnLoop), once it has taken what arrived with the head: a
		// body that had all arrived needs none (RFC 9110 §10.1.1), and
		// whether it had must not depend on when the handler asked.
		b.asked = true
		b.cn.markOnLoop(evIn)
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

// continueBodyOnLoop sends "100 Continue" for c, the request at the head
// of the queue, if c expects it, its handler asked for its streamed body
// while the body had not all arrived (owed, noted by writeOnLoop after each
// pass's feed: a body that came with its head needs none, RFC 9110
// §10.1.1), and it was not sent yet. It is sent only at the head of the
// queue: an interim response must not overtake earlier answers.
// Not once c's streamed answer has sent its head: an interim response
// after the final one would land inside its body.
func (cn *conn) continueBodyOnLoop(c *Ctx) {
	b := c.bodyIn
	if !c.req.ExpectContinue || !b.owed || b.continued || cn.closedNow() || len(cn.queue) == 0 || cn.queue[0] != c {
		return
	}
	if s := c.stream; s != nil && s.headSent {
		return
	}
	b.continued = true
	_, _ = cn.gc.Write(continueLine)
}

// appendContinueOnLoop appends "100 Continue" for c to out if it is due
// (as continueBodyOnLoop): writeOnLoop calls it as c's turn comes, so that
// it precedes c's answer when both go out in one write. Not after the
// head of c's streamed answer (see continueBodyOnLoop).
func (c *Ctx) appendContinueOnLoop(out []byte) []byte {
	b := c.bodyIn
	if b == nil || !c.req.ExpectContinue || !b.owed || b.continued {
		return out
	}
	if s := c.stream; s != nil && s.headSent {
		return out
	}
	b.continued = true
	return append(out, continueLine...)
}

// handOverOnLoop gives the filled buffer to the handler and lets the
// connection fill the other one (the handler's previous chunk, which its
// asking again has released).
func (b *bodyIn) handOverOnLoop() []byte {
	chunk := b.bufs[b.fill]
	b.fill ^= 1
	b.bufs[b.fill] = b.bufs[b.fill][:0]
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

// fullOnLoop reports whether the filling buffer cannot take another read:
// the connection then takes no more bytes until the handler asks.
func (b *bodyIn) fullOnLoop() bool {
	return b.has && len(b.bufs[b.fill]) > bodyChunk-bodyReadRoom
}

// roomOnLoop is how many more body bytes the filling buffer takes.
func (b *bodyIn) roomOnLoop() int {
	return bodyChunk - len(b.bufs[b.fill])
}

// feedOnLoop takes the body's next bytes from the front of in into the
// filling buffer, as many as it has room for, and reports how many bytes
// of in it consumed and whether the body has ended.
func (b *bodyIn) feedOnLoop(in []byte, lim *http1.Limits) (consumed int, done bool, err error) {
	if b.eof || b.err != nil {
		return 0, true, b.err
	}
	buf := b.bufs[b.fill]
	if len(buf) >= bodyChunk {
		return 0, false, nil // the handler has not taken the last chunk
	}
	if b.remaining >= 0 {
		n := int(min(int64(len(in)), b.remaining, int64(bodyChunk-len(buf))))
		consumed, buf = n, append(buf, in[:n]...)
		b.remaining -= int64(n)
		b.eof = b.remaining == 0
	} else {
		// Decode up to the buffer's room.
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
	b.noteFilledOnLoop()
	return consumed, b.eof, nil
}

// noteFilledOnLoop records what the filling buffer now holds and settles
// a waiting BodyChunk with it.
func (b *bodyIn) noteFilledOnLoop() {
	b.has = len(b.bufs[b.fill]) > 0
	b.starved = !b.has && !b.eof
	b.settleOnLoop()
}

// readDirectOnLoop reads the rest of a Content-Length body, as much as the
// filling buffer has room for, from the connection's socket straight into
// it (no copy through gnet's buffers), when gnet holds none of the
// connection's bytes. It reports how many bytes it read.
func (b *bodyIn) readDirectOnLoop() int {
	if b.remaining <= 0 || b.sawEnd || b.err != nil || b.fullOnLoop() {
		return 0
	}
	buf := b.bufs[b.fill]
	want := int(min(b.remaining, int64(bodyChunk-len(buf))))
	if cap(buf)-len(buf) < min(want, bodyReadRoom) {
		buf = slices.Grow(buf, min(want, max(len(buf), bodyReadRoom)))
	}
	n, end := b.cn.readSocketOnLoop(buf[len(buf):min(cap(buf), len(buf)+want)])
	b.sawEnd = end
	if n <= 0 {
		b.bufs[b.fill] = buf
		return 0
	}
	b.bufs[b.fill] = buf[:len(buf)+n]
	b.remaining -= int64(n)
	b.eof = b.remaining == 0
	b.noteFilledOnLoop()
	return n
}

// BodyReader returns an io.Reader over a streamed request body, for
// off-loop code (a Blocking function, an offload job): each Read takes the
// next chunk from the loop. Read returns io.EOF at the end, and the body's
// error if it fails, or ctx's if the request's context ends. The reader is
// also an io.WriterTo: io.Copy writes each chunk to its destination with no
// copy into a buffer of its own. A Read waiting for the next chunk first
// yields its processor a few times (askYields), then blocks. Call
// BodyReader on the loop; use the reader from one goroutine, not the loop.
func (c *Ctx) BodyReader() io.Reader {
	return &bodyReader{c: c, b: c.bodyIn, l: c.l, ctx: c.Context(), got: make(chan chunkResult, 1)}
}

type chunkResult struct {
	b   []byte
	err error
}

type bodyReader struct {
	c    *Ctx
	b    *bodyIn // c's body when the reader was made (c is recycled after its answer)
	l    *loop
	ctx  context.Context
	left []byte
	err  error
	got  chan chunkResult
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if err := r.nextOffLoop(); err != nil {
		return 0, err
	}
	n := copy(p, r.left)
	r.left = r.left[n:]
	return n, nil
}

// WriteTo writes the rest of the body to w, each chunk as the loop hands
// it over, without copying it into a buffer of the caller's (io.Copy uses
// it). It returns the bytes written and the first error other than io.EOF.
func (r *bodyReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := r.nextOffLoop(); err != nil {
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		n, err := w.Write(r.left)
		total += int64(n)
		r.left = r.left[n:]
		if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
}

// askYields is how many times a reader yields its processor (Gosched)
// waiting for the loop's answer to an ask before it parks on the channel.
//
// Why: with the server on one core (the benchmark's pinned protocol, or
// GOMAXPROCS=1), the loop answers an ask within microseconds once its
// goroutine has the processor, and a reader asks every 50–250 KiB. A
// reader that parks at once puts its thread to sleep and has the loop's
// thread woken for every chunk, an OS thread switch each way. Measured in
// docs/streaming.md ("Where the pinned upload's time goes"): a pinned
// 1 GiB upload ran at 608–898 MiB/s, the slow runs in a lockstep of two
// thread switches per ~50 KiB, with two to three times the context
// switches of the fast ones. Yielding lets the loop's goroutine run on
// the reader's thread and answer there. The cost is bounded: when no
// answer comes that soon (the client is slower than the handler, or the
// loop is busy), about askYields × 0.1–0.3 µs of CPU per ask, then the
// reader parks as before.
const askYields = 100

// nextOffLoop makes sure r.left holds unread bytes, asking the loop for
// the next chunk once it is used up, or returns the error that ends the
// body.
func (r *bodyReader) nextOffLoop() error {
	for len(r.left) == 0 {
		if r.err != nil {
			return r.err
		}
		if err := r.ctx.Err(); err != nil {
			r.err = err
			return err
		}
		if err := r.l.Post((*askChunk)(r)); err != nil {
			r.err = err
			return err
		}
		if res, ok := r.pollOffLoop(); ok {
			r.left, r.err = res.b, res.err
			continue
		}
		select {
		case res := <-r.got:
			r.left, r.err = res.b, res.err
		case <-r.ctx.Done():
			// The loop may still answer; got has room for it.
			r.err = r.ctx.Err()
			return r.err
		}
	}
	return nil
}

// pollOffLoop waits for the loop's answer to an ask by yielding the
// processor up to askYields times, and reports whether it came.
func (r *bodyReader) pollOffLoop() (chunkResult, bool) {
	for range askYields {
		select {
		case res := <-r.got:
			return res, true
		default:
			goruntime.Gosched()
		}
	}
	return chunkResult{}, false
}

// askChunk is the task that asks the loop for the reader's next chunk.
type askChunk bodyReader

func (a *askChunk) Run() {
	r := (*bodyReader)(a)
	if r.c.bodyIn != r.b {
		// The request was answered and its Ctx serves another one now:
		// its body is not this reader's.
		err := r.ctx.Err()
		if err == nil {
			err = ErrStreamClosed
		}
		(*chunkListener)(r).Settled(nil, err)
		return
	}
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
// request without reading it. The connection then reads no request past
// that body (a streamed answer's head may go out long before the body
// ends): one run behind it would never be answered.
func (c *Ctx) closeIfBodyUnreadOnLoop() {
	if c.bodyUnreadOnLoop() {
		c.closeAfter = true
		if cn := c.conn; cn != nil && cn.phase == phaseServing {
			cn.phase = phaseClosing
		}
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

// Discarding an unread body. A handler that answers without reading all of
// a streamed body used to cost its connection: the rest cannot be told
// from the next request without reading it. As net/http does
// (maxPostHandlerReadBytes), weft reads and drops up to maxDiscard bytes
// of the rest to keep the connection: net/http before it answers, weft
// after (the answer does not wait for the client's bytes). A
// Content-Length rest over maxDiscard, or a request whose client waits for
// a "100 Continue" it was never sent (it may never send the body), closes
// the connection after the answer, as before; a chunked rest, whose size is
// unknown, is dropped up to maxDiscard and closes the connection past it.
// What closes lingers (linger.go). ReadTimeout bounds a client that stops
// sending the rest.
const maxDiscard = 256 << 10

// closeIfRestLargeOnLoop is closeIfBodyUnreadOnLoop for a complete
// answer (writeOnLoop): a rest that may be dropped (restDiscardableOnLoop)
// keeps the connection. A streamed answer's head, which may go out while
// its handler still reads the body, closes as before.
func (c *Ctx) closeIfRestLargeOnLoop() {
	if !c.restDiscardableOnLoop() {
		c.closeIfBodyUnreadOnLoop()
	}
}

// restDiscardableOnLoop reports whether the unread rest of c's streamed
// body may be dropped to keep the connection (see maxDiscard).
func (c *Ctx) restDiscardableOnLoop() bool {
	b := c.bodyIn
	if b == nil || b.eof || b.err != nil || c.status == StatusContentTooLarge {
		return false // nothing unread; or a 413, which says the client sends too much
	}
	if c.req.ExpectContinue && !b.continued {
		return false
	}
	return b.remaining < 0 || b.remaining <= maxDiscard
}

// discardRestOnLoop starts dropping the rest of b, the body of a request
// answered without reading it all (readDiscard).
func (cn *conn) discardRestOnLoop(b *bodyIn) {
	cn.read, cn.reqStart = readDiscard, cn.l.st.now.Load()
	r := cn.rareOnLoop()
	r.discardLeft, r.discardDec, r.discardLimit, r.discarded = b.remaining, b.dec, b.limit, 0
	cn.markOnLoop(evIn) // the rest may be buffered already
}

// discardOnLoop drops what is buffered of the rest (readDiscard) and
// reports whether it has all gone: the next request may then be parsed.
// Past maxDiscard, or on bad framing, the connection closes after its
// answers (and lingers).
func (cn *conn) discardOnLoop(t *turn) bool {
	in, r := cn.gc.InboundBuffered(), cn.rare // made by discardRestOnLoop
	if r.discardLeft >= 0 {
		n := int(min(int64(in), r.discardLeft))
		if n > 0 {
			_, _ = cn.gc.Discard(n)
			r.discardLeft -= int64(n)
			r.discarded += n
			t.bytes += n
			cn.reqStart = cn.l.st.now.Load()
		}
		if r.discardLeft > 0 {
			return false
		}
	} else {
		buf, _ := cn.gc.Peek(min(in, maxDiscard+cn.l.st.cfg.maxHeaderBytes))
		consumed := 0
		var err error
		for !r.discardDec.Done() {
			var n int
			n, _, err = r.discardDec.Next(buf[consumed:], maxDiscard, r.discardLimit, &cn.l.st.limits)
			if err != nil || n == 0 {
				break
			}
			consumed += n
		}
		if consumed > 0 {
			_, _ = cn.gc.Discard(consumed)
			r.discarded += consumed
			t.bytes += consumed
			cn.reqStart = cn.l.st.now.Load()
		}
		if !r.discardDec.Done() {
			if err != nil || r.discarded > maxDiscard {
				cn.read, cn.reqStart = readIdle, 0
				cn.phase, cn.unread = phaseClosing, true
			}
			return false
		}
	}
	cn.read, cn.reqStart = readIdle, 0
	return true
}
