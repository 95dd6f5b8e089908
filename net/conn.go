package net

// # The connection state machine
//
// A connection is in one phase (connPhase): serving requests, closing
// (reading no more, closing once every answer is written and sent),
// upgraded (a Protocol owns its bytes), lingering (answers sent, write side
// shut, input discarded until the client closes: linger.go) or closed. While serving, its read
// side is between requests, reading a head, or reading a body (readPhase);
// a head still arriving keeps its Ctx and the parser's resume state in
// cn.partial, so that the next bytes continue the parse instead of starting
// it again.
//
// Events only mark the connection (cn.marked): bytes arrived (OnTraffic), a
// response became final or a stream has bytes, output may have drained, a
// sweep. One service pass (serviceOnLoop) then does the work, in order:
// un-pause once gnet's OutboundBuffered is down to half the limit, release
// the writers waiting for that, parse and dispatch what is buffered (at most
// maxRequestsPerTurn requests or maxBytesPerTurn bytes), then one merged
// write of every response that is ready, in request order. OnTraffic runs
// the pass at once; any other event puts the connection on its loop's ready
// list, served by one task (serviceTask) after the loop's current batch.
//
// # What gnet v2.9.7 allows (measured against its source and behaviour)
//
// Reading cannot be paused through gnet's API. eventloop.read
// (eventloop_unix.go:253-299) reads whatever the socket has on every
// EPOLLIN and appends what OnTraffic left to the connection's inbound ring,
// which has no bound (TestInboundIsNotPausedByGnet shows it filling while
// nothing is consumed); gnet #712 asks for a pause. So weft stops
// *consuming* a client's bytes: while its output is over MaxOutboundBytes,
// its pipeline is full, or an upgrade is being answered, the pass parses
// nothing, the bytes wait in gnet's buffer, and past MaxInboundBytes the
// connection is closed. For a streamed request body, whose handler may
// consume slower than the client sends for as long as the upload lasts,
// that is not enough: there weft takes EPOLLIN out of the socket's
// interest on gnet's epoll descriptor (read by reflection: readpause.go)
// while the handler holds a chunk it has not asked past, so the client is
// held back by TCP. gnet re-arms EPOLLIN itself when a write meets EAGAIN
// (ModReadWrite, connection_unix.go:160-178) or its output drains
// (ModRead, eventloop_unix.go:348), which lets at most one more read in
// before the next pass pauses again (TestStreamedBodyPausesReading). A
// pause-read call in gnet would replace the reflection.
//
// Nothing in gnet tells weft that output drained: gnet raises no writable
// event, and AsyncWrite's callback runs when the bytes are buffered, not
// sent (connection_unix.go:252-271). So weft looks at OutboundBuffered, on
// the loop: in every service pass (a client that reads its answers usually
// sends its next request, which is a pass), and, while some connection
// waits for its output to drain to a level (drainTargetOnLoop: reading
// paused, a stream or an upgraded protocol waiting to write, a closing
// connection with bytes still queued), whenever the socket turns writable:
// the server's drain watcher, a goroutine in epoll_wait on an epoll set of
// its own, holds such a connection's descriptor with
// EPOLLOUT|EPOLLONESHOT and hands it to the loop when it fires. gnet
// writes its buffer on its own EPOLLOUT in the epoll batch that also
// returns its task eventfd, and runs tasks only after the batch's I/O
// callbacks (Polling, pkg/netpoll/poller_epoll_default.go:124-155), so the
// loop's look almost always comes after gnet's write; drain.go has the
// details, the fd-reuse and shutdown rules, and the 1 ms timer that stays
// as the fallback. The 250 ms sweep resumes nothing.
//
// What gnet holds is bounded by what weft hands it in one piece: what the
// socket does not take, gnet copies into a ring of up to 64 KiB, and past
// it into list nodes rounded up to a power of two (a Write into a smaller
// ring grows the ring to hold it all, also rounded up). weft hands it
// slices of at most 64 KiB (writevOnLoop), so that a 4 MiB write does not
// cost 8 MiB.
//
// The turn limit yields to epoll. gnet's task queues cannot do it: a task
// posted with Execute goes to the urgent queue (below
// highPriorityEventsThreshold, poller_epoll_default.go:90-98), which gnet
// empties, new tasks included, before it polls again (146-154), so a
// connection re-posting its next turn held the loop while other sockets'
// bytes waited. A connection that used its turn goes on the loop's yielded
// list instead, and the loop's waker (waker.go: a socket pair enrolled in
// gnet) is made readable: the next epoll_wait returns it with the other
// ready sockets, and its OnTraffic, beside theirs, puts the yielded
// connections back on the ready list
// (TestTurnLimitYieldsToEpollOverSockets).

import (
	"cmp"
	"runtime/debug"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// connPhase is where a connection is in its life.
type connPhase uint8

const (
	phaseServing   connPhase = iota // reads requests and answers them in order
	phaseClosing                    // reads no more; closes once every answer is written and sent
	phaseUpgraded                   // a Protocol owns the connection's bytes
	phaseLingering                  // every answer sent, write side shut: discards what the client still sends (linger.go)
	phaseClosed                     // gnet closed it: never touch gc again
)

// readPhase is where the read side of a serving connection is.
type readPhase uint8

const (
	readIdle     readPhase = iota // between requests
	readHead                      // cn.partial holds a head still arriving
	readBody                      // cn.partial's head is parsed; its body is arriving
	readStreamed                  // cn.bodyOf is dispatched; its streamed body is arriving
	readDiscard                   // an answered request's unread streamed body is dropped (body.go: discardOnLoop)
)

// events are what a connection was marked with since its last pass.
type events uint8

const (
	evIn      events = 1 << iota // bytes arrived, or parsing may go on
	evSettled                    // a response became final, or a stream has bytes
	evDrain                      // output may have drained
	evTimers                     // the sweep: check the timeouts
)

// conn is one client connection. All of it is loop-only: it is touched only
// by gnet callbacks and tasks on the loop that owns it.
//
// Requests are answered in the order they arrived (HTTP/1.1 pipelining),
// whatever order their futures settle in: queue holds the requests in flight,
// oldest first, and only a settled head is written.
type conn struct {
	gc gnet.Conn
	l  *loop

	idx     int32 // position in l.conns
	drainFd int32 // see drainReg
	phase   connPhase
	read    readPhase
	marked  events // what happened since the last pass
	queued  bool   // on the loop's ready list
	inPass  bool   // inside serviceOnLoop
	outHigh bool   // output passed MaxOutboundBytes: parse nothing until it drains to half
	watched bool   // on the loop's drain timer (drain.go)
	// drainArmed: the connection will hear when its output drains
	// (drain.go), through the drain watcher, or through its own client (a
	// MemServer's). drainReg: its descriptor, drainFd, is in the drain
	// watcher's set (armed or spent).
	drainArmed, drainReg bool
	// gathering: writeOnLoop is merging responses into the loop's out
	// buffer; a stream may not write past them (Stream.directOnLoop).
	gathering bool
	sent100   bool // "100 Continue" sent for the partial request
	// readPaused: EPOLLIN was taken out of the socket's interest (see
	// readpause.go).
	readPaused bool
	// peerDone: the client shut down its sending side (half-close) after
	// everything it sent reached gnet's buffer; the socket is never read
	// again, so that gnet does not meet the end of the stream and close
	// before the answers are written (readpause.go: notePeerDoneOnLoop).
	peerDone bool
	// unread: a request refused or answered before its body was read
	// left client bytes to come; its close lingers (linger.go).
	unread bool
	// upgrading: a request asked for an upgrade; read nothing more until
	// it is answered (what follows may be the new protocol's).
	upgrading bool

	// rare: state few connections need (slow output, discarding an
	// answered request's unread body, a lingering close), made on first
	// use so that an idle connection stays small (128 bytes).
	rare *connRare

	queue   []*Ctx // requests in flight, oldest first
	partial *Ctx   // a request whose head or body is still arriving
	bodyOf  *Ctx   // the request whose streamed body is arriving (readStreamed)

	up *Upgraded // the protocol's side, once upgraded

	lastActive int64 // coarse time of the last byte read or written
	reqStart   int64 // coarse time of the first byte of the request being read; 0: none
	writeStart int64 // coarse time of the last progress of output waiting in gnet's buffer; 0: none waits
}

// connRare is the state of a connection that few connections need.
type connRare struct {
	// lastOut and ackedAt: while output waits in gnet's buffer, its size
	// at the last check and the bytes the client had acknowledged
	// (TCP_INFO) at the last sweep, -1 before the first (noteOutputOnLoop,
	// noteAckedOnLoop).
	lastOut int
	ackedAt int64
	// lingerStart and lingered: when lingering began, and the bytes it
	// has discarded.
	lingerStart int64
	lingered    int
	// discard: the rest of an answered request's unread streamed body,
	// dropped before the next request is read (readDiscard): Content-Length
	// bytes left (-1: chunked, decoded by discardDec up to discardLimit),
	// and the bytes dropped so far.
	discardLeft  int64
	discardDec   http1.ChunkDecoder
	discardLimit int64
	discarded    int
	// reset: the connection ends with a reset, not a FIN (linger.go's
	// resetOnCloseOnLoop).
	reset bool
}

// rareOnLoop returns the connection's rare state, made on first use.
func (cn *conn) rareOnLoop() *connRare {
	if cn.rare == nil {
		cn.rare = &connRare{}
	}
	return cn.rare
}

// A connection's turn on the loop ends after maxRequestsPerTurn requests or
// maxBytesPerTurn bytes of them, so that a client pipelining thousands of
// requests (or large ones) does not hold the loop from its other
// connections; the rest is served in a later turn.
const (
	maxRequestsPerTurn = 128
	maxBytesPerTurn    = 256 << 10
)

func (l *loop) openOnLoop(gc gnet.Conn) *conn {
	cn := &conn{gc: gc, l: l, idx: int32(len(l.conns)), lastActive: l.st.now.Load()}
	l.conns = append(l.conns, cn)
	return cn
}

// closedNow reports whether gnet has closed the connection.
func (cn *conn) closedNow() bool { return cn.phase == phaseClosed }

// onTraffic serves what has arrived on the connection. It runs inside gnet's
// OnTraffic, and is the connection's pass for this turn.
func (cn *conn) onTraffic() (action gnet.Action) {
	defer func() {
		if r := recover(); r != nil {
			cn.l.log.Error("panic in weft serving a connection; closing it",
				zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			cn.inPass = false
			action = gnet.Close
		}
	}()
	cn.lastActive = cn.l.st.now.Load()
	cn.marked |= evIn
	if cn.serviceOnLoop() {
		return gnet.Close
	}
	if !cn.closedNow() && cn.gc.InboundBuffered() > cn.l.st.cfg.maxInbound {
		// More unread bytes than the server will hold for one client
		// (requests it keeps sending while it does not read our
		// answers): gnet cannot stop reading the socket, so close.
		cn.l.log.Debug("closing a connection over MaxInboundBytes", zap.Int("buffered", cn.gc.InboundBuffered()))
		return gnet.Close
	}
	return gnet.None
}

// markOnLoop records ev and makes sure a pass will see it: the running pass,
// or one from the loop's ready list.
func (cn *conn) markOnLoop(ev events) {
	cn.marked |= ev
	if cn.inPass || cn.queued || cn.closedNow() {
		return
	}
	cn.queued = true
	cn.l.readyOnLoop(cn)
}

// serviceOnLoop is the connection's pass: it takes the events marked since
// the last one and does what they call for. It reports whether the
// connection must now be closed (the caller closes it: OnTraffic by
// returning gnet.Close, a task with closeNowOnLoop).
func (cn *conn) serviceOnLoop() bool {
	if cn.closedNow() {
		return false
	}
	l := cn.l
	cfg := l.st.cfg
	ev := cn.marked
	cn.marked = 0
	cn.inPass = true
	now := l.st.now.Load()
	if ev&evTimers != 0 {
		cn.answerOverdueOnLoop(cfg, now)
	}
	out := cn.gc.OutboundBuffered()
	if cn.outHigh && out <= cfg.maxOutbound/2 {
		cn.outHigh = false
	}
	cn.releaseWritersOnLoop(out)
	more := false
	switch cn.phase {
	case phaseServing:
		// Parse, write; parse again while writing freed room in a full
		// pipeline, within the turn's budget.
		t := turn{}
		for {
			stop := cn.parseOnLoop(&t)
			if cn.closedNow() {
				break
			}
			cn.writeOnLoop()
			if stop != stopPipelineFull || len(cn.queue) >= cfg.maxPipelined || cn.phase != phaseServing {
				more = stop == stopTurnUsed
				break
			}
		}
	case phaseUpgraded:
		cn.protocolTrafficOnLoop()
		cn.writeOnLoop()
	case phaseLingering:
		if cn.lingerDiscardOnLoop() {
			cn.inPass = false
			return true
		}
	default:
		if cn.read == readStreamed {
			// Closing reads no more requests, but the streamed body of
			// the last one (Connection: close, HTTP/1.0) still arrives.
			cn.feedBodyOnLoop(&turn{})
		} else if cn.lingerDiscardOnLoop() {
			// Nothing more is read from a closing connection: what the
			// client still sends while its answers go out is dropped
			// (linger.go), not kept until MaxInboundBytes closes the
			// connection under them.
			cn.inPass = false
			return true
		}
		cn.writeOnLoop()
	}
	cn.inPass = false
	if cn.closedNow() {
		return false
	}
	// What was just written may all have gone to the kernel.
	cn.releaseWritersOnLoop(cn.gc.OutboundBuffered())
	if cn.up != nil && cn.up.closing && cn.phase == phaseUpgraded {
		// The protocol is done: close once what it wrote (a close
		// frame, the end of a backlog) is sent, or WriteTimeout passes,
		// as after an HTTP response that closes; gnet's close would
		// drop what is still in its buffer.
		cn.phase = phaseClosing
	}
	cn.noteOutputOnLoop(now)
	if cn.notePeerDoneOnLoop() {
		return true
	}
	if cn.peerDone && cn.phase == phaseServing && len(cn.queue) == 0 && cn.bodyOf == nil && !more {
		// Every request the client sent before its FIN is answered:
		// close once the answers are sent (a partial head left behind
		// can never complete).
		cn.phase = phaseClosing
	}
	if ev&evTimers != 0 {
		cn.noteAckedOnLoop(now)
		switch cn.expiredOnLoop(cfg, now) {
		case expiredNot:
		case expiredRequest:
			if cn.read == readDiscard {
				// The request was answered; only the rest of its body
				// was late: close without a second answer.
				return true
			}
			cn.l.refusedOnLoop(StatusRequestTimeout, errRequestTimeout, cn.gc.RemoteAddr())
			if len(cn.queue) == 0 {
				// Nothing else is owed: say why before closing.
				cn.writeRequestTimeoutOnLoop()
			}
			return true
		default:
			return true
		}
	}
	if cn.doneOnLoop() {
		if cn.rare != nil && cn.rare.reset {
			return cn.resetReadyOnLoop()
		}
		return !cn.lingerOnLoop(now)
	}
	switch {
	case more:
		// The turn is used: the rest waits until gnet has polled, so
		// that other connections' bytes are read first.
		cn.marked |= evIn
		l.yieldOnLoop(cn)
	case cn.marked != 0:
		cn.queued = true
		l.readyOnLoop(cn)
	}
	if cn.waitsForDrainOnLoop() {
		l.watchOnLoop(cn)
	}
	cn.applyReadPauseOnLoop()
	return false
}

// doneOnLoop reports whether the connection is to be closed now: it is
// closing, every response is written, and gnet has sent them all. (gnet's
// close sends what it can without waiting, so closing with output still
// queued would cut a large last response short; the drain watch closes such
// a connection once its output has drained.)
func (cn *conn) doneOnLoop() bool {
	return cn.phase == phaseClosing && len(cn.queue) == 0 && cn.gc.OutboundBuffered() == 0
}

// turn counts what a connection's pass has parsed.
type turn struct{ requests, bytes int }

// parseStop says why parseOnLoop stopped.
type parseStop uint8

const (
	stopWaiting      parseStop = iota // nothing more to parse now
	stopPipelineFull                  // MaxPipelined requests in flight
	stopTurnUsed                      // the turn's budget is spent, bytes remain
)

// parseOnLoop parses and dispatches buffered requests, as many as the
// pipelining limit and the turn's budget allow, and says why it stopped.
func (cn *conn) parseOnLoop(t *turn) parseStop {
	l := cn.l
	cfg := l.st.cfg
	if cn.read == readStreamed && !cn.feedBodyOnLoop(t) {
		return stopWaiting
	}
	if cn.read == readDiscard && !cn.discardOnLoop(t) {
		return stopWaiting
	}
	if cn.outHigh || cn.upgrading {
		return stopWaiting
	}
	if len(cn.queue) >= cfg.maxPipelined {
		return stopPipelineFull
	}
	if p := cn.partial; cn.read == readBody && !p.req.Chunked && cn.gc.InboundBuffered() < p.total {
		return stopWaiting // still waiting for a Content-Length body (Peek would copy it)
	}
	buf, _ := cn.gc.Peek(-1)
	off := 0
	stop := stopWaiting
	for off < len(buf) && cn.phase == phaseServing && !cn.upgrading && cn.read != readStreamed {
		if len(cn.queue) >= cfg.maxPipelined {
			stop = stopPipelineFull
			break
		}
		if t.requests >= maxRequestsPerTurn || t.bytes >= maxBytesPerTurn {
			stop = stopTurnUsed
			break
		}
		size, ok := cn.nextRequestOnLoop(buf[off:])
		if !ok {
			break
		}
		off += size
		t.requests++
		t.bytes += size
	}
	if off > 0 && !cn.closedNow() {
		_, _ = cn.gc.Discard(off)
	}
	if cn.read == readStreamed && stop == stopWaiting && cn.feedBodyOnLoop(t) {
		// A body that had all arrived: parse what follows it in the
		// next pass.
		cn.marked |= evIn
	}
	return stop
}

// feedBodyOnLoop hands the streamed body's next bytes to its request, if
// it has taken the last ones, and reports whether the body has ended (so
// that the requests behind it may be parsed).
func (cn *conn) feedBodyOnLoop(t *turn) bool {
	c := cn.bodyOf
	b := c.bodyIn
	var (
		n    int
		done bool
		err  error
	)
	if in := cn.gc.InboundBuffered(); in > 0 || b.eof {
		// Only what the buffer's room may need: Peek copies what it
		// returns when gnet's ring holds it.
		want := b.roomOnLoop() + cn.l.st.cfg.maxHeaderBytes + 4<<10
		if b.remaining >= 0 {
			want = int(min(b.remaining, int64(b.roomOnLoop())))
		}
		if want > 0 || b.eof {
			buf, _ := cn.gc.Peek(min(want, in))
			n, done, err = b.feedOnLoop(buf, &cn.l.st.limits)
			if n > 0 {
				_, _ = cn.gc.Discard(n)
			}
		}
	}
	if err == nil && !done && !cn.closedNow() && cn.gc.InboundBuffered() == 0 {
		// gnet holds nothing more of the body: take what the socket
		// has straight into the buffer.
		n += b.readDirectOnLoop()
		done = b.eof
	}
	if n > 0 {
		t.bytes += n
		// ReadTimeout bounds a streamed body's time without progress,
		// not its whole length (an upload may take hours).
		cn.lastActive = cn.l.st.now.Load()
		cn.reqStart = cn.lastActive
	}
	if err != nil {
		// Bad framing or over the limit: the body fails, and what
		// follows cannot be trusted.
		b.failOnLoop(bodyError(err))
		c.closeAfter = true
		cn.phase = phaseClosing
		cn.unread = true
		cn.bodyOf, cn.read, cn.reqStart = nil, readIdle, 0
		return false
	}
	if !done {
		return false
	}
	cn.bodyOf, cn.read, cn.reqStart = nil, readIdle, 0
	if c.closeAfter && cn.phase == phaseServing {
		// Its answer, under way, said Connection: close (a stream's
		// head sent before the body ended): nothing behind it is read.
		cn.phase = phaseClosing
	}
	return true
}

// nextRequestOnLoop reads the request at the start of data: it dispatches
// it once complete, or answers it if it cannot be accepted. It returns the
// bytes the request took, and false when nothing more can be read now (the
// request is incomplete, or was rejected and the connection is closing).
func (cn *conn) nextRequestOnLoop(data []byte) (int, bool) {
	l := cn.l
	if cn.read == readIdle {
		if cn.reqStart == 0 {
			cn.reqStart = l.st.now.Load()
		}
		cn.partial, cn.read, cn.sent100 = l.getCtx(cn), readHead, false
	}
	c := cn.partial
	if cn.read == readHead {
		head, err := http1.ParseHead(data, &c.req, &l.st.limits)
		if err != nil {
			cn.rejectOnLoop(err)
			return 0, false
		}
		if head == 0 {
			return 0, false // the rest of the head has not arrived
		}
		if l.st.cfg.streamBody != nil && (c.req.Chunked || c.req.ContentLength > 0) {
			streamed, err := cn.streamBodyOnLoop(c, data[:head])
			if err != nil {
				cn.rejectOnLoop(err)
				return 0, false
			}
			if streamed {
				return head, true
			}
		}
		if err := cn.acceptHeadOnLoop(c, data[:head]); err != nil {
			cn.rejectOnLoop(err)
			return 0, false
		}
		cn.read = readBody
	}
	if c.req.Chunked {
		end, err := c.chunks.Scan(data[c.req.HeadLen:], c.limit, &l.st.limits)
		if err != nil {
			cn.rejectOnLoop(err)
			return 0, false
		}
		if end == 0 {
			cn.maybeContinueOnLoop(c)
			return 0, false
		}
		c.total = c.req.HeadLen + end
	} else if len(data) < c.total {
		cn.maybeContinueOnLoop(c)
		return 0, false
	}
	if err := c.loadRequest(data[:c.total]); err != nil {
		cn.rejectOnLoop(err)
		return 0, false
	}
	cn.partial, cn.read, cn.reqStart = nil, readIdle, 0
	cn.dispatchOnLoop(c)
	return c.total, true
}

// streamBodyOnLoop asks Server.StreamBody whether c's body is streamed,
// and if so dispatches c now, its body to follow (readStreamed).
func (cn *conn) streamBodyOnLoop(c *Ctx, head []byte) (bool, error) {
	limit, err := c.streamLimitOnLoop(head, cn.l.st.cfg)
	if err != nil || limit <= 0 {
		return false, err
	}
	if !c.req.Chunked && c.req.ContentLength > limit {
		return false, http1.ErrBodyTooLarge
	}
	b := &bodyIn{cn: cn, limit: limit, remaining: -1}
	if !c.req.Chunked {
		b.remaining = c.req.ContentLength
	}
	c.bodyIn, c.body = b, nil
	cn.partial, cn.bodyOf, cn.read = nil, c, readStreamed
	cn.dispatchOnLoop(c)
	return true, nil
}

// acceptHeadOnLoop decides the body limit of a request whose head is
// complete, and refuses a Content-Length over it.
func (cn *conn) acceptHeadOnLoop(c *Ctx, head []byte) error {
	cfg := cn.l.st.cfg
	c.limit = cfg.maxBodyBytes
	if cfg.bodyLimit != nil && (c.req.Chunked || c.req.ContentLength > 0) {
		limit, err := c.headLimitOnLoop(head, cfg)
		if err != nil {
			return err
		}
		c.limit = limit
	}
	if !c.req.Chunked {
		if c.req.ContentLength > c.limit {
			return http1.ErrBodyTooLarge
		}
		c.total = len(head) + int(max(c.req.ContentLength, 0))
	}
	return nil
}

// maybeContinueOnLoop sends "100 Continue" to a client that waits for it
// before sending the body (RFC 9110 §10.1.1), once, and only when no earlier
// response is still owed (an interim response must not overtake them).
func (cn *conn) maybeContinueOnLoop(c *Ctx) {
	if !c.req.ExpectContinue || cn.sent100 || len(cn.queue) > 0 {
		return
	}
	cn.sent100 = true
	_, _ = cn.gc.Write(continueLine)
}

var (
	continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")
	// The 408 sent when a request takes too long to arrive, around the
	// cached Date line.
	requestTimeoutHead = "HTTP/1.1 408 Request Timeout\r\n"
	requestTimeoutTail = "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 15\r\nConnection: close\r\n\r\nRequest Timeout"
)

// rejectOnLoop answers the partial request, which cannot be parsed or
// accepted, with the error's status and closes the connection after it: the
// framing of what follows cannot be trusted.
func (cn *conn) rejectOnLoop(err error) {
	c := cn.partial
	// Nothing more is read: no request is arriving now, and the read
	// timer must not close the connection on the answers still owed.
	cn.partial, cn.read, cn.reqStart = nil, readIdle, 0
	cn.phase = phaseClosing
	cn.unread = true // its body, or whatever follows, may still come
	c.closeAfter = true
	c.badRequest = true
	status := StatusOf(err)
	if pe, ok := err.(*http1.Error); ok {
		status = pe.Status
	}
	cn.queue = append(cn.queue, c)
	cn.l.inflight.Add(1)
	cn.l.refusedOnLoop(status, err, cn.gc.RemoteAddr())
	c.Text(status, StatusText(status))
	c.freezeOnLoop()
}

// dispatchOnLoop queues c and runs the handler.
func (cn *conn) dispatchOnLoop(c *Ctx) {
	l := cn.l
	cn.queue = append(cn.queue, c)
	l.inflight.Add(1)
	if !c.req.KeepAlive || c.req.Form == http1.FormAuthority {
		// Read no further; the response closes. A CONNECT exchange
		// (authority-form) always ends its connection: weft does not
		// tunnel, and a proxy in front that saw a 2xx would start to.
		cn.phase = phaseClosing
		c.closeAfter = true
	} else if l.st.draining.Load() {
		// Still answered while draining, but the connection's last.
		l.st.lastReq.Store(time.Now().UnixNano())
		cn.phase = phaseClosing
		c.closeAfter = true
	}
	if c.req.Minor >= 1 && len(c.req.Headers) > 0 && c.Header("Upgrade") != "" {
		// What follows may be the new protocol's: wait for the answer.
		cn.upgrading = true
	}
	c.start = l.st.now.Load()
	// The handler's call holds c: a stream's direct write that finds the
	// client gone closes the connection inside it, which must not recycle
	// c under the handler.
	c.roots++
	res := c.runHandler()
	if res.Ready() {
		_, err := res.Get()
		c.finishOnLoop(err)
		c.roots--
		c.recycleIfDoneOnLoop()
		return
	}
	// A Result made elsewhere (on another loop, or on none) settles there:
	// bring it to this loop before anything touches c or the connection.
	// The hold taken above is now the root's.
	runtime.Bind(res, runtime.Loop(l)).Listen((*rootListener)(c))
}

// writeOnLoop writes the responses at the head of the queue that are
// ready, in order, in one write: complete responses, and what a streamed
// response at the head has so far.
func (cn *conn) writeOnLoop() {
	l := cn.l
	out := l.out[:0]
	var tail []byte // a stream's large pending, written after out uncopied
	draining := l.st.draining.Load()
	done, wroteLast := 0, false
	cn.gathering = true
	for i, c := range cn.queue {
		out = c.appendContinueOnLoop(out) // its turn: an interim response owed
		if c.stream != nil {
			if c.stream.aborted {
				// Its turn: cut the connection here, once the answers
				// before it (and what the stream wrote before its
				// abort) are sent: gnet's close drops what is still in
				// its buffer. The client sees the body end early.
				wroteLast = true
				if c.stream.closeDelimitedOnLoop() {
					cn.resetOnCloseOnLoop()
				}
				break
			}
			var finished bool
			out, tail, finished = c.stream.appendOnLoop(out, l.st.date.Load().line)
			if !finished {
				break
			}
			done++
			wroteLast = c.closeAfter
			c.writtenOnLoop()
			if wroteLast {
				break
			}
			if tail != nil {
				// Nothing may follow the tail into out: the next
				// pass writes the rest.
				cn.marked |= evSettled
				break
			}
			continue
		}
		if !c.frozen {
			break
		}
		if c.noAnswer {
			// Its client half-closed and it failed: nothing can be
			// answered in order after it. Close once the answers before
			// it are sent (aborting would cut them short: gnet's close
			// drops what is still in its buffer).
			wroteLast = true
			break
		}
		done++
		// While draining, every request already read is answered; only
		// the last one queued says Connection: close.
		if draining && i == len(cn.queue)-1 {
			c.closeAfter = true
		}
		c.closeIfRestLargeOnLoop()
		wroteLast = c.closeAfter
		out = c.appendResponse(out, l.st.date.Load().line)
		if c.upgrade != nil {
			cn.handOverOnLoop(c)
			c.writtenOnLoop()
			break
		}
		c.writtenOnLoop()
		if wroteLast {
			break
		}
	}
	cn.gathering = false
	// Shift the rest down, keeping the queue's array.
	n := copy(cn.queue, cn.queue[done:])
	clear(cn.queue[n:])
	cn.queue = cn.queue[:n]
	if n == 0 && cn.phase == phaseServing && cn.upgrading {
		// Answered without an upgrade: read on, starting with the
		// requests already buffered behind it (no new bytes may come
		// to trigger a pass).
		cn.upgrading = false
		cn.markOnLoop(evIn)
	}
	if wroteLast {
		// Nothing after a closing response is answered.
		if cn.phase == phaseServing {
			cn.phase = phaseClosing
		}
		cn.dropQueueOnLoop()
	}
	if len(out) > 0 || len(tail) > 0 {
		cn.lastActive = l.st.now.Load()
		cn.writevOnLoop(out, tail)
	}
	if cap(out) > maxKeptOut {
		out = nil
	}
	l.out = out[:0]
	if p := cn.partial; p != nil && cn.read == readBody && len(cn.queue) == 0 && !cn.closedNow() {
		// A request waiting for "100 Continue" behind earlier responses
		// may have it now that they are written.
		cn.maybeContinueOnLoop(p)
	}
	if c := cn.bodyOf; c != nil && c.bodyIn.asked {
		// Its handler asked for a streamed body still arriving.
		c.bodyIn.owed = true
	}
	if len(cn.queue) > 0 && cn.queue[0].bodyIn != nil {
		// The same for a streamed body, once its request is first.
		cn.continueBodyOnLoop(cn.queue[0])
	}
}

// maxPiece bounds each slice handed to gnet in one write. What the socket
// does not take, gnet copies into its buffer (v2.9.7, pkg/buffer/elastic):
// a ring of up to 64 KiB, then a list of nodes from its byteslice pool,
// each rounded up to a power of two; a Write into a ring smaller than
// 64 KiB grows the ring to hold all of it, also rounded up, and the ring
// goes back to a pool shared with every connection's inbound buffer. One
// 4 MiB write could so cost 8 MiB held (the slow reader of issue 8); in
// pieces of 64 KiB, given with Writev (whose copy into the ring stops at
// 64 KiB), what gnet holds stays within a node of what is buffered.
const maxPiece = 64 << 10

// maxIovecs bounds the pieces of one writev(2) (Linux takes 1024; gnet
// closes the connection on the error past it).
const maxIovecs = 256

// writevOnLoop writes bufs to the connection in order, in one write when
// they are small, otherwise in vectored writes of pieces of at most
// maxPiece (see maxPiece); none of them is kept. Output past
// MaxOutboundBytes stops the parsing of the connection's requests until it
// drains (outHigh).
func (cn *conn) writevOnLoop(bufs ...[]byte) {
	l := cn.l
	n, last := 0, -1
	for i, b := range bufs {
		if len(b) > 0 {
			n, last = n+1, i
		}
	}
	switch {
	case n == 0:
		return
	case n == 1 && len(bufs[last]) <= maxPiece:
		_, _ = cn.gc.Write(bufs[last])
	default:
		iov := l.iov[:0]
		for _, b := range bufs {
			for len(b) > 0 && !cn.closedNow() {
				k := min(len(b), maxPiece)
				iov = append(iov, b[:k])
				b = b[k:]
				if len(iov) == maxIovecs {
					_, _ = cn.gc.Writev(iov)
					clear(iov)
					iov = iov[:0]
				}
			}
		}
		if len(iov) > 0 && !cn.closedNow() {
			_, _ = cn.gc.Writev(iov)
		}
		clear(iov) // the caller's bytes are not kept
		l.iov = iov[:0]
	}
	if !cn.closedNow() && cn.gc.OutboundBuffered() > l.st.cfg.maxOutbound {
		// The client is not reading: stop producing for it until it
		// does (a pass, or the drain watch, resumes it).
		cn.outHigh = true
	}
}

// noteOutputOnLoop tracks whether the output waiting in gnet's buffer makes
// progress, for WriteTimeout.
func (cn *conn) noteOutputOnLoop(now int64) {
	ob := cn.gc.OutboundBuffered()
	switch {
	case ob == 0:
		cn.writeStart = 0
	case cn.writeStart == 0:
		r := cn.rareOnLoop()
		cn.writeStart, r.lastOut, r.ackedAt = now, ob, -1 // new output
	case ob < cn.rare.lastOut:
		cn.writeStart, cn.rare.lastOut = now, ob // the client reads
	}
}

// noteAckedOnLoop is WriteTimeout's finer look, once a sweep while output
// waits in gnet's buffer: that buffer moves only when the socket has room
// for a good part of it again, which a client reading steadily, but slower
// than the producer writes, can take longer than WriteTimeout to make,
// while the kernel's send buffer drains all along. So the bytes the client
// has acknowledged (TCP_INFO's tcpi_bytes_acked) are compared with the
// previous sweep's; more is progress. The clock restarts at the sweep that
// sees it: late by up to a sweep, never early. A MemServer's connection
// counts the bytes its client has read instead (takenCounter).
func (cn *conn) noteAckedOnLoop(now int64) {
	if cn.writeStart == 0 {
		return // nothing waits
	}
	var acked int64
	if tc, ok := cn.gc.(takenCounter); ok {
		acked = tc.bytesTakenOnLoop()
	} else if cn.l.epfd < 0 {
		return // not a socket (a TestConn's)
	} else {
		info, err := unix.GetsockoptTCPInfo(cn.gc.Fd(), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		acked = int64(info.Bytes_acked)
	}
	r := cn.rare // made when writeStart was set
	if r.ackedAt >= 0 && acked > r.ackedAt {
		cn.writeStart = now
	}
	r.ackedAt = acked
}

// takenCounter is what a connection that is not a socket offers in place
// of TCP_INFO's acknowledged bytes (a MemServer's memPipe): the bytes its
// client has read so far.
type takenCounter interface {
	bytesTakenOnLoop() int64
}

// releaseWritersOnLoop resolves the futures of writers (a stream, an
// upgraded protocol) held back by the high-water mark once the output is
// down to half of it.
func (cn *conn) releaseWritersOnLoop(out int) {
	if out > cn.l.st.cfg.maxOutbound/2 {
		return
	}
	if cn.up != nil {
		cn.up.releaseOnLoop()
	}
	for _, c := range cn.queue {
		if s := c.stream; s != nil && len(s.waiters) > 0 {
			s.releaseOnLoop()
		}
	}
}

// dropQueueOnLoop abandons the requests still queued (their responses will
// never be written): what they stream is aborted, so that a write waiting
// for room fails rather than waits for ever.
func (cn *conn) dropQueueOnLoop() {
	for i, c := range cn.queue {
		cn.queue[i] = nil
		if s := c.stream; s != nil {
			s.Abort(ErrStreamClosed)
		}
		c.writtenOnLoop()
	}
	cn.queue = cn.queue[:0]
}

// closeNowOnLoop closes the connection from a task (not from OnTraffic,
// which returns gnet.Close instead). gnet calls OnClose, and closedOnLoop,
// before it returns.
func (cn *conn) closeNowOnLoop() {
	if cn.closedNow() {
		return
	}
	if err := cn.l.el.Close(cn.gc); err != nil || !cn.closedNow() {
		cn.closedOnLoop(nil)
	}
}

// closedOnLoop runs from OnClose: forget gc (its fd may soon belong to
// another client), cancel what is in flight (the client is gone), leave the
// loop's list.
func (cn *conn) closedOnLoop(err error) {
	if cn.closedNow() {
		return
	}
	cn.phase = phaseClosed
	l := cn.l
	l.forgetDrainOnLoop(cn)
	// Leave the loop's list first: what follows runs continuations.
	last := len(l.conns) - 1
	l.conns[cn.idx] = l.conns[last]
	l.conns[cn.idx].idx = cn.idx
	l.conns[last] = nil
	l.conns = l.conns[:last]
	cn.gc = nil
	if p := cn.partial; p != nil {
		cn.partial, cn.read = nil, readIdle
		l.putCtx(p)
	}
	if c := cn.bodyOf; c != nil {
		cn.bodyOf = nil
		c.bodyIn.failOnLoop(ErrClientGone)
	}
	for _, c := range cn.queue {
		c.clientGoneOnLoop()
	}
	cn.dropQueueOnLoop()
	if up := cn.up; up != nil {
		up.closedOnLoop(err)
	}
}

// idleOnLoop reports whether the connection has nothing in flight.
func (cn *conn) idleOnLoop() bool {
	return len(cn.queue) == 0 && cn.partial == nil && cn.reqStart == 0
}

// drainOnLoop ends the connection's part of a graceful shutdown, once
// requests have stopped coming: an idle connection is closed; one with a
// request already received is served (its answer closes it); one with
// requests in flight closes after them; an upgraded one is told to finish.
// It reports whether the connection was closed.
func (cn *conn) drainOnLoop() bool {
	if cn.closedNow() {
		return false
	}
	if cn.up != nil {
		cn.up.shutdownOnLoop()
		return cn.closedNow()
	}
	if cn.phase == phaseLingering {
		cn.closeNowOnLoop()
		return true
	}
	// A connection dropping the rest of an answered body (readDiscard)
	// owes nothing: it is idle but for the client's bytes, which are not
	// waited for (as a lingering close, which it used to be).
	discarding := cn.read == readDiscard && len(cn.queue) == 0
	if discarding {
		cn.read, cn.reqStart, cn.unread = readIdle, 0, true
	}
	if discarding || cn.idleOnLoop() && cn.gc.InboundBuffered() == 0 {
		if cn.gc.OutboundBuffered() > 0 {
			// Answers still being sent: the drain watch closes it once
			// they are (doneOnLoop), or WriteTimeout does.
			cn.phase = phaseClosing
			cn.l.watchOnLoop(cn)
			return false
		}
		cn.closeNowOnLoop()
		return true
	}
	cn.markOnLoop(evIn)
	return false
}

// expiry is which of a connection's timeouts has passed.
type expiry uint8

const (
	expiredNot     expiry = iota
	expiredWrite          // output made no progress for WriteTimeout
	expiredRequest        // a request took too long to arrive (ReadHeaderTimeout, ReadTimeout)
	expiredIdle           // nothing happened for IdleTimeout
)

// expiredOnLoop reports which of the connection's timeouts has passed, if
// any. It changes nothing.
func (cn *conn) expiredOnLoop(cfg *config, now int64) expiry {
	if cn.phase == phaseLingering {
		if now-cn.rare.lingerStart > int64(lingerTimeout) {
			return expiredIdle
		}
		return expiredNot
	}
	if cn.writeStart != 0 && cfg.overdue(now, cn.writeStart, cfg.writeTimeout) {
		return expiredWrite
	}
	if cn.reqStart != 0 {
		limit := cfg.readHeaderTimeout
		switch cn.read {
		case readBody, readStreamed:
			limit = cfg.readTimeout
		case readDiscard:
			// Bytes nobody wants: bounded by IdleTimeout when there is
			// no ReadTimeout.
			limit = cmp.Or(cfg.readTimeout, cfg.idleTimeout)
		}
		if cfg.overdue(now, cn.reqStart, limit) {
			return expiredRequest
		}
	}
	if cn.phase != phaseUpgraded && cn.idleOnLoop() && cn.writeStart == 0 && cfg.overdue(now, cn.lastActive, cfg.idleTimeout) {
		return expiredIdle
	}
	return expiredNot
}

// overdue reports whether limit (0: none) has passed since a time stamped
// from the coarse clock. A stamp is the clock's value, which lags the real
// time by up to a tick, so the real time since then is more than now -
// since - tick: the limit is counted from the latest moment the stamp can
// stand for. A timeout so never fires early, and fires at most two ticks
// late (the stamp's lag and the sweep's period).
func (cfg *config) overdue(now, since int64, limit time.Duration) bool {
	return limit > 0 && now-since > int64(limit+cfg.tick)
}

// writeRequestTimeoutOnLoop says why the connection closes: a request took
// too long to arrive.
func (cn *conn) writeRequestTimeoutOnLoop() {
	out := append(cn.l.out[:0], requestTimeoutHead...)
	out = append(out, cn.l.st.date.Load().line...)
	out = append(out, requestTimeoutTail...)
	_, _ = cn.gc.Write(out)
	cn.l.out = out[:0]
}

// answerOverdueOnLoop answers the requests whose handler outlived
// HandlerTimeout (the connection stays open).
func (cn *conn) answerOverdueOnLoop(cfg *config, now int64) {
	if cfg.handlerTimeout <= 0 {
		return
	}
	for _, c := range cn.queue {
		if !c.frozen && c.stream == nil && cfg.overdue(now, c.start, cfg.handlerTimeout) {
			c.timeoutOnLoop()
		}
	}
}
