package net

import (
	"errors"
	"io"
	"strconv"
	"unsafe"

	"github.com/weftgo/weft/runtime"
)

// A Stream is a response whose body is written progressively, from the
// loop, after its head: Ctx.Stream starts one. Its body is chunked unless
// the handler set Content-Length before starting it.
//
// The stream ends when End is called or when the handler's Result settles
// (a success ends it as End would; a failure aborts it), so a streaming
// handler returns the future of its last write's continuation, ending with
// End. A Stream is loop-only: call its methods on the request's loop.
type Stream struct {
	c       *Ctx
	cn      *conn
	status  int
	chunked bool
	head    bool  // HEAD request: the head only
	length  int64 // Content-Length framing, -1 if chunked
	want    int64 // the body's declared length, before any encoding; -1: none
	written int64 // body bytes taken
	sent    int64 // body bytes framed for the client, after the encoder

	headSent bool   // the head went to the connection
	pending  []byte // framed bytes not yet given to the connection
	ending   bool   // End called: the terminator is to be written
	done     bool   // everything, terminator included, went to the connection
	aborted  bool
	err      error // Abort's error
	events   bool  // Server-Sent Events: ended when the server drains

	waiters []runtime.Promise[struct{}]

	// size is writeDirectOnLoop's chunk-size line, kept so that a direct
	// write does not allocate.
	size [18]byte

	enc StreamEncoder // a content coding installed by OnStream, or nil
}

// A StreamEncoder encodes a streamed body (a content coding, such as
// Compress's): body bytes go in through Write, and it writes the encoded
// bytes to the io.Writer it was built on, which appends them to the
// stream. Flush pushes out what it holds (Stream.Flush, each SSE event);
// Close ends the coding (Stream.End, or Abort, whose output is dropped).
// Loop-only.
type StreamEncoder interface {
	io.Writer
	Flush() error
	Close() error
}

// OnStream registers fn, called on the loop when the handler starts a
// streamed response (Stream, SSE, SendReader, SendFile), before its head
// is written, with the status set: fn may set headers and return an
// encoder for the body built on w, or nil to leave the body as it is. A
// body with an encoder is chunked (its length is unknown). For a HEAD
// request fn is called too, so that the headers match the GET's; the
// encoder it returns is closed at once, unused. Middleware that transforms
// bodies (Compress) uses it. Loop-only.
func (c *Ctx) OnStream(fn func(c *Ctx, w io.Writer) StreamEncoder) {
	if !c.frozen {
		c.onStream = fn
	}
}

// streamSink is the io.Writer an encoder writes to: it frames and queues
// the encoded bytes.
type streamSink Stream

func (w *streamSink) Write(p []byte) (int, error) {
	s := (*Stream)(w)
	if len(p) > 0 && !s.aborted && !s.head {
		s.bodyOnLoop(p)
	}
	return len(p), nil
}

// Errors a Stream's writes fail with.
var (
	// ErrStreamClosed: the stream has ended or was aborted.
	ErrStreamClosed = errors.New("weft/net: stream ended")
	// ErrClientGone: the client closed the connection.
	ErrClientGone = errors.New("weft/net: client closed the connection")
	// ErrStreamLength: more bytes than the Content-Length set, or fewer at End.
	ErrStreamLength = errors.New("weft/net: stream body does not match its Content-Length")
)

// Stream starts a streamed response with status and the headers set so
// far; write its body with the Stream's methods. It is chunked unless
// Content-Length was set (SetHeader does not take Content-Length: use
// SetContentLength). Calling it again returns the same Stream. Called once
// the response is final (a continuation running after HandlerTimeout
// answered, or the request was dropped because the connection closes), it
// returns a closed Stream: its writes fail with ErrStreamClosed. Loop-only.
func (c *Ctx) Stream(status int) *Stream {
	if c.stream != nil {
		return c.stream
	}
	checkFinalStatus(status)
	if c.frozen || c.written {
		// The response is final (HandlerTimeout answered it, or the
		// handler's Result settled), or will never be written (dropped
		// behind a closing answer): nothing written now would be sent.
		// The writes fail rather than pile up unsent, or wait forever
		// for a drain that never concerns them.
		return &Stream{c: c, status: status, length: -1, want: -1, aborted: true}
	}
	s := &Stream{c: c, cn: c.conn, status: status, length: -1, head: c.isHead()}
	if c.streamLength >= 0 && c.streamLengthSet {
		s.length = c.streamLength
	} else {
		s.chunked = bodyAllowed(status) && c.req.Minor >= 1
		if !s.chunked && bodyAllowed(status) {
			// HTTP/1.0 without a length: the body ends with the
			// connection.
			c.lastOnLoop()
		}
	}
	if !bodyAllowed(status) {
		s.length = 0
	}
	// An encoder installed below makes the framing chunked; the length
	// declared still holds for the bytes written, or a body cut short
	// would end as a complete encoded one.
	s.want = s.length
	c.status = status
	c.stream = s
	if fn := c.onStream; fn != nil && bodyAllowed(status) {
		if enc := fn(c, (*streamSink)(s)); enc != nil {
			s.length = -1
			s.chunked = c.req.Minor >= 1
			if !s.chunked {
				c.lastOnLoop()
			}
			if s.head {
				// A HEAD gets the headers (and framing) the GET would
				// get, and no body: the coding ends unused.
				_ = enc.Close()
			} else {
				s.enc = enc
			}
		}
	}
	if s.cn != nil {
		s.cn.markOnLoop(evSettled)
	}
	return s
}

// lastOnLoop makes c's answer the connection's last (Connection: close):
// no request behind it is parsed from now, or, while c's streamed body is
// still being read, once it ends (feedBodyOnLoop).
func (c *Ctx) lastOnLoop() {
	c.closeAfter = true
	if cn := c.conn; cn != nil && cn.phase == phaseServing && cn.bodyOf != c {
		cn.phase = phaseClosing
	}
}

// SetContentLength declares the length of a body the handler will stream
// (Stream then writes Content-Length instead of chunking). Loop-only.
func (c *Ctx) SetContentLength(n int64) {
	if !c.frozen && c.stream == nil && n >= 0 {
		c.streamLength, c.streamLengthSet = n, true
	}
}

// ResponseBodyLen returns the length of the response body: that of
// ResponseBody for a whole response; for a streamed one (Stream, SSE,
// SendReader, SendFile), the body bytes sent so far, after any content
// coding installed by OnStream (Compress) and without chunk framing (0 for
// a HEAD; an aborted stream's count may include its last bytes, dropped by
// the abort). Access logs use it. Loop-only.
func (c *Ctx) ResponseBodyLen() int64 {
	if s := c.stream; s != nil {
		return s.sent
	}
	return int64(len(c.resBody))
}

// abortedUnsentOnLoop returns the error a stream of c was aborted with
// before its head was sent (Stream.Abort), or nil: the server answers it
// as a failed Result, even one that succeeded. Not for a request whose
// client left or whose answer was dropped: nothing is answered there.
func (c *Ctx) abortedUnsentOnLoop() error {
	if s := c.stream; s != nil && s.aborted && !s.headSent && !c.gone && !c.written {
		return s.err
	}
	return nil
}

// StreamAbortError returns the error of a streamed response aborted
// (Stream.Abort) before its head was sent, by a handler whose Result then
// succeeded: the server answers that Result as failed with this error (a
// 500 unless the error carries a status), since nothing of the stream was
// sent. nil otherwise. Access logs use it. Loop-only.
func (c *Ctx) StreamAbortError() error { return c.abortedUnsentOnLoop() }

// Aborted reports whether the response was cut short: a streamed response
// that failed or was aborted after its head was sent, so that the
// connection was closed. Access logs use it. Loop-only.
func (c *Ctx) Aborted() bool { return c.stream != nil && c.stream.aborted && c.stream.headSent }

// Write sends p as the next bytes of the body (p is not kept: what the
// socket does not take at once is copied). The future is ready at once
// while the bytes the stream has in flight (in gnet's buffer for the
// client, queued by weft, and those of streams pipelined ahead of it) are
// under Server.StreamHighWaterBytes, and otherwise settles once the client
// has drained them to half: a producer that waits for it never holds more
// than the mark plus the write in hand. It fails if the stream has ended
// or the client has gone. Loop-only.
func (s *Stream) Write(p []byte) runtime.Future[struct{}] {
	if err := s.takeOnLoop(len(p)); err != nil {
		return runtime.Rejected[struct{}](err)
	}
	if len(p) > 0 && !s.head {
		if s.enc != nil {
			if _, err := s.enc.Write(p); err != nil {
				return runtime.Rejected[struct{}](err)
			}
		} else {
			s.bodyOnLoop(p)
		}
	}
	return s.pacedOnLoop()
}

// bodyOnLoop frames p and sends it on its way: straight to the connection
// when it may go there (directOnLoop), or when the head is not out yet but
// the stream may start (startsOnLoop) and has gathered streamGather bytes
// with p, with its head; otherwise into pending, for the next pass. p is
// not kept.
func (s *Stream) bodyOnLoop(p []byte) {
	s.sent += int64(len(p))
	if s.directOnLoop() || s.startsOnLoop(len(p)) {
		s.writeDirectOnLoop(p)
		return
	}
	s.appendBodyOnLoop(p)
}

// streamGather is what a stream whose head is not out yet gathers in
// pending before it writes its head, what it gathered and the write in
// hand at once (startsOnLoop): small first writes still leave in one
// write, and a large one is never copied by weft.
const streamGather = 16 << 10

// directOnLoop reports whether the stream's next bytes may go straight to
// the connection (gnet writes them to the socket at once, and buffers only
// what the socket does not take): its head and every byte it queued before
// are out, and it may write now (frontOnLoop). Otherwise its bytes wait in
// pending for the connection's next pass, or for startsOnLoop.
func (s *Stream) directOnLoop() bool {
	return s.headSent && len(s.pending) == 0 && s.frontOnLoop()
}

// startsOnLoop reports whether the stream, its head not out yet, writes
// its head now, with what it gathered and n more bytes (streamGather or
// more): it may write now (frontOnLoop), and its request's streamed body,
// if any, has been read (a head sent before would say Connection: close,
// closeIfBodyUnreadOnLoop, for a body the pass was about to take; the
// pass writes it). From then on an Abort closes the connection without an
// answer (see Abort).
func (s *Stream) startsOnLoop(n int) bool {
	return !s.headSent && len(s.pending)+n >= streamGather && !s.c.bodyUnreadOnLoop() && s.frontOnLoop()
}

// frontOnLoop reports whether the stream may write to the connection now:
// it is the oldest response, so nothing is owed ahead of it, no merged
// write is being gathered, and the connection is not closed.
func (s *Stream) frontOnLoop() bool {
	cn := s.cn
	return !s.aborted && !cn.gathering && !cn.closedNow() &&
		len(cn.queue) > 0 && cn.queue[0] == s.c
}

// writeDirectOnLoop frames p (a chunk, if chunked) and writes it to the
// connection (see directOnLoop), after the head and what pending holds if
// the head is not out yet (startsOnLoop): one vectored write, in pieces
// gnet buffers without rounding them up (writevOnLoop). gnet copies what
// the socket does not take, so neither p nor pending is kept.
func (s *Stream) writeDirectOnLoop(p []byte) {
	cn := s.cn
	l := cn.l
	cn.lastActive = l.st.now.Load()
	var head []byte
	if !s.headSent {
		head = s.appendHeadOnLoop(l.head[:0], l.st.date.Load().line)
	}
	if s.chunked {
		size := strconv.AppendInt(s.size[:0], int64(len(p)), 16)
		size = append(size, "\r\n"...)
		cn.writevOnLoop(head, s.pending, size, p, crlf)
	} else {
		cn.writevOnLoop(head, s.pending, p)
	}
	if head != nil {
		l.head = head[:0]
	}
	if cap(s.pending) > maxKeptOut {
		s.pending = nil // grown while pipelined behind another response
	} else {
		s.pending = s.pending[:0]
	}
	if cn.closedNow() {
		return
	}
	// A direct write marks no pass, so account for the output here as a
	// pass would: all taken by the socket clears WriteTimeout's clock (an
	// old backlog must not make a reading client look stalled).
	cn.noteOutputOnLoop(cn.lastActive)
}

// crlf ends a chunk.
var crlf = []byte("\r\n")

// appendBodyOnLoop frames p (a chunk, if chunked) and queues it.
func (s *Stream) appendBodyOnLoop(p []byte) {
	if len(p) == 0 {
		return
	}
	if s.chunked {
		s.pending = strconv.AppendInt(s.pending, int64(len(p)), 16)
		s.pending = append(s.pending, "\r\n"...)
		s.pending = append(s.pending, p...)
		s.pending = append(s.pending, "\r\n"...)
	} else {
		s.pending = append(s.pending, p...)
	}
}

// WriteString is Write for a string. Loop-only.
func (s *Stream) WriteString(str string) runtime.Future[struct{}] {
	if s.enc != nil {
		return s.Write([]byte(str))
	}
	if err := s.takeOnLoop(len(str)); err != nil {
		return runtime.Rejected[struct{}](err)
	}
	if len(str) > 0 && !s.head {
		// Neither way keeps the bytes: gnet copies what it buffers, and
		// pending is a copy.
		s.bodyOnLoop(unsafe.Slice(unsafe.StringData(str), len(str)))
	}
	return s.pacedOnLoop()
}

// takeOnLoop checks that n more bytes may be written.
func (s *Stream) takeOnLoop(n int) error {
	switch {
	case s.ending || s.aborted:
		return ErrStreamClosed
	case s.cn == nil || s.cn.closedNow():
		return ErrClientGone
	case s.want >= 0 && s.written+int64(n) > s.want:
		return ErrStreamLength
	}
	s.written += int64(n)
	return nil
}

// pacedOnLoop asks for a write and returns the future of the writer's turn.
func (s *Stream) pacedOnLoop() runtime.Future[struct{}] {
	cn := s.cn
	if cn.closedNow() {
		// The write met the client's close.
		return runtime.Rejected[struct{}](ErrClientGone)
	}
	held := cn.heldUpToOnLoop(s)
	if held > 0 || !s.headSent {
		// A pass writes what waits, and watches gnet's buffer (for
		// WriteTimeout and the drain). Bytes written directly and all
		// taken by the socket need none.
		cn.markOnLoop(evSettled)
	}
	if held < cn.l.st.cfg.streamMark {
		return runtime.Future[struct{}]{}
	}
	p := runtime.NewPromise[struct{}](cn.l)
	s.waiters = append(s.waiters, p)
	return p.Future()
}

// Flush sends what was written at once. Writes are sent by the
// connection's next pass anyway, in the same loop turn; what Flush adds is
// flushing an encoder installed by OnStream (a compressor holds bytes
// until then). Loop-only.
func (s *Stream) Flush() {
	if s.enc != nil && !s.ending && !s.aborted {
		_ = s.enc.Flush()
	}
	if s.cn != nil && !s.cn.closedNow() && (len(s.pending) > 0 || !s.headSent) {
		s.cn.markOnLoop(evSettled)
	}
}

// End finishes the body (the last chunk, for a chunked stream) and returns
// a ready Result, or a failed one if a Content-Length was declared and not
// reached (the connection is then aborted). Loop-only.
func (s *Stream) End() Result {
	if s.aborted {
		return Fail(ErrStreamClosed)
	}
	if s.ending {
		return Result{}
	}
	if s.want >= 0 && s.written != s.want && !s.head {
		return s.Abort(ErrStreamLength)
	}
	if s.enc != nil {
		if err := s.enc.Close(); err != nil {
			s.enc = nil
			return s.Abort(err)
		}
		s.enc = nil
	}
	s.ending = true
	if s.chunked && !s.head {
		s.pending = append(s.pending, "0\r\n\r\n"...)
	}
	if s.cn != nil {
		s.cn.markOnLoop(evSettled)
	}
	return Result{}
}

// Abort ends the response by closing the connection, so that the client
// cannot take a cut body for a complete one; err says why, and the Result
// fails with it (nil: ErrStreamClosed). If the head has not been sent
// yet, nothing of the stream is: when the handler's Result settles, the
// error handler answers the abort's error as any failure (a 500 for
// ErrStreamLength, which is how a short Content-Length stream ended before
// its first pass is answered), even if that Result succeeded; otherwise
// the connection closes without a response. The head goes out at the connection's next pass (the end of
// the handler's call, if the stream is the oldest response), or sooner,
// with the first 16 KiB of body written. Loop-only.
func (s *Stream) Abort(err error) Result {
	if err == nil {
		err = ErrStreamClosed
	}
	if s.aborted || (s.ending && s.done) {
		return Fail(err)
	}
	s.aborted, s.err = true, err
	s.c.endAnswerScope() // a SendReader's read in flight ends
	s.dropEncoderOnLoop()
	s.pending = s.pending[:0]
	s.rejectWaitersOnLoop(err)
	if cn := s.cn; cn != nil && !cn.closedNow() {
		// The connection closes when this response's turn comes: the
		// ones before it are written first.
		cn.markOnLoop(evSettled)
	}
	return Fail(err)
}

// dropEncoderOnLoop closes the encoder installed by OnStream, if any, once
// the stream is aborted (its sink drops what the encoder still writes): a
// pooled encoder goes back to its pool however the stream ends.
func (s *Stream) dropEncoderOnLoop() {
	if enc := s.enc; enc != nil {
		s.enc = nil
		_ = enc.Close()
	}
}

// closeDelimitedOnLoop reports whether the stream's body ends with the
// connection (HTTP/1.0 without a length) and has started: the only thing
// that tells its client a cut from the end is how the connection ends.
func (s *Stream) closeDelimitedOnLoop() bool {
	return s.headSent && !s.chunked && s.length < 0 && !s.head && bodyAllowed(s.status)
}

// appendOnLoop appends what the stream has for the connection to out, and
// reports whether the stream is finished (its last byte given). What
// pending holds past maxKeptOut (a stream pipelined behind another, which
// gathered up to the mark meanwhile) is not copied into out but returned
// as tail, to be written after out (writevOnLoop); pending lets go of it.
func (s *Stream) appendOnLoop(out, date []byte) (_, tail []byte, finished bool) {
	if s.aborted {
		return out, nil, false
	}
	if !s.headSent {
		out = s.appendHeadOnLoop(out, date)
	}
	if len(s.pending) > maxKeptOut {
		tail, s.pending = s.pending, nil
	} else {
		out = append(out, s.pending...)
		s.pending = s.pending[:0]
	}
	if s.ending {
		s.done = true
		s.rejectWaitersOnLoop(nil)
		return out, tail, true
	}
	return out, tail, false
}

// appendHeadOnLoop appends the stream's head to out; it is out from now.
func (s *Stream) appendHeadOnLoop(out, date []byte) []byte {
	s.c.closeIfBodyUnreadOnLoop()
	if b := s.c.bodyIn; b != nil {
		if cn := s.c.conn; cn != nil && cn.bodyOf == s.c {
			// The answer starts while its streamed body is still
			// arriving, and the connection reads that body on (an echo:
			// SendReader over BodyReader, whose first read comes after
			// this head): a client waiting for "100 Continue" must have
			// it now, or never send the body.
			b.owed = true
		}
		// An interim response owed goes before the final head, and none
		// after it (RFC 9110 §15.2): it would land in the answer's body.
		out = s.c.appendContinueOnLoop(out)
		b.continued = true
	}
	// Out from now: no interim response may follow (appendContinueOnLoop
	// checks it, so the one owed above had to go first).
	s.headSent = true
	length := s.length
	if !bodyAllowed(s.status) {
		length = -2 // no framing field on a 1xx, 204 or 304
	}
	return s.c.appendHead(out, date, length, s.chunked)
}

// heldUpToOnLoop returns the bytes held for the client ahead of and by s:
// gnet's buffer, and what s and the streams queued before it have not yet
// given to the connection. A stream behind another that is still going
// counts what is ahead of it, so that pipelined streams share the mark;
// the ones ahead do not count it (they must finish for it to be sent).
func (cn *conn) heldUpToOnLoop(s *Stream) int {
	n := cn.gc.OutboundBuffered()
	for _, c := range cn.queue {
		if cs := c.stream; cs != nil {
			n += len(cs.pending)
			if cs == s {
				return n
			}
		}
	}
	return n + len(s.pending) // not queued (cannot happen while it writes)
}

// releaseOnLoop resolves the futures of writers held back, once the output
// is down to half the limit.
func (s *Stream) releaseOnLoop() {
	if len(s.waiters) == 0 || s.cn.heldUpToOnLoop(s) > s.cn.l.st.cfg.streamMark/2 {
		return
	}
	ws := s.waiters
	s.waiters = nil
	for _, p := range ws {
		p.Resolve(struct{}{})
	}
}

// rejectWaitersOnLoop settles the futures of writers held back: resolved
// when the stream finished normally (err nil), failed otherwise.
func (s *Stream) rejectWaitersOnLoop(err error) {
	ws := s.waiters
	s.waiters = nil
	for _, p := range ws {
		if err == nil {
			p.Resolve(struct{}{})
		} else {
			p.Reject(err)
		}
	}
}

// finishOnLoop ends the stream when the handler's Result settles: a
// success ends it, a failure aborts it.
func (s *Stream) finishOnLoop(err error) {
	switch {
	case err != nil:
		s.Abort(err)
	case !s.ending && !s.aborted:
		s.End()
	}
}

// checkFinalStatus panics for a status that cannot be a final response:
// outside 200–999, or 1xx (weft writes interim responses itself: 100
// Continue, and 101 through Upgrade). As net/http's checkWriteHeaderCode,
// it is a programming error, and the panic is answered 500.
func checkFinalStatus(status int) {
	if status < 200 || status > 999 {
		panic("weft/net: invalid final status " + strconv.Itoa(status) + " (want 200–999; 1xx only through the protocol: Upgrade)")
	}
}
