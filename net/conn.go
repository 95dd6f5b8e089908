package net

import (
	"runtime/debug"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// conn is one client connection. All of it is loop-only: it is touched only
// by gnet callbacks and tasks on the loop that owns it.
//
// Requests are answered in the order they arrived (HTTP/1.1 pipelining),
// whatever order their futures settle in: queue holds the requests in flight,
// oldest first, and only a settled head is written.
type conn struct {
	gc  gnet.Conn
	l   *loop
	idx int // position in l.conns

	queue   []*Ctx // requests in flight, oldest first
	partial *Ctx   // a request whose head is read but whose body is not complete

	closed   bool // gnet has closed the connection: never touch gc again
	closing  bool // read no more requests; close once the queue is written and drained
	paused   bool // the client does not read: read no more requests until it does
	busy     bool // inside onTraffic or pump: the caller writes at the end
	sent100  bool // "100 Continue" sent for the partial request
	resuming bool // a resume task is queued

	lastActive int64 // coarse time of the last byte read or written
	reqStart   int64 // coarse time of the first byte of the request being read; 0: none
	writeStart int64 // coarse time of the last progress of output waiting in gnet's buffer; 0: none waits
	lastOut    int   // bytes waiting at the last sweep
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
	cn := &conn{gc: gc, l: l, idx: len(l.conns), lastActive: l.st.now.Load()}
	l.conns = append(l.conns, cn)
	return cn
}

// onTraffic serves what has arrived on the connection. It runs inside gnet's
// OnTraffic.
func (cn *conn) onTraffic() (action gnet.Action) {
	defer func() {
		if r := recover(); r != nil {
			cn.l.log.Error("panic in weft serving a connection; closing it",
				zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			cn.busy = false
			action = gnet.Close
		}
	}()
	cn.lastActive = cn.l.st.now.Load()
	if cn.pumpOnLoop() {
		return gnet.Close
	}
	if !cn.closed && cn.gc.InboundBuffered() > cn.l.st.cfg.maxInbound {
		// More unread bytes than the server will hold for one client
		// (requests it keeps sending while it does not read our
		// answers): gnet cannot stop reading the socket, so close.
		cn.l.log.Debug("closing a connection over MaxInboundBytes", zap.Int("buffered", cn.gc.InboundBuffered()))
		return gnet.Close
	}
	return gnet.None
}

// pumpOnLoop reads and dispatches the requests that are buffered and writes
// the responses that are ready, until nothing more can be done now. It
// reports whether the connection must now be closed.
func (cn *conn) pumpOnLoop() bool {
	cn.busy = true
	defer func() { cn.busy = false }()
	served, bytes := 0, 0
	for !cn.closed {
		cn.flushOnLoop()
		n, b := cn.readOnLoop()
		if n == 0 {
			break
		}
		served, bytes = served+n, bytes+b
		if served >= maxRequestsPerTurn || bytes >= maxBytesPerTurn {
			cn.flushOnLoop()
			cn.resumeLaterOnLoop()
			break
		}
	}
	return cn.doneOnLoop()
}

// doneOnLoop reports whether the connection is to be closed now: it is
// closing, every response is written, and gnet has sent them all. (gnet's
// close sends what it can without waiting, so closing with output still
// queued would cut a large last response short; the sweep closes such a
// connection once its output has drained.)
func (cn *conn) doneOnLoop() bool {
	return !cn.closed && cn.closing && len(cn.queue) == 0 && cn.gc.OutboundBuffered() == 0
}

// readOnLoop parses and dispatches buffered requests, as many as the
// pipelining limit and the turn allow, and returns how many it queued
// (rejected ones included, so that the pump writes their answer at once)
// and how many bytes they took.
func (cn *conn) readOnLoop() (int, int) {
	l := cn.l
	cfg := l.st.cfg
	if cn.closing || cn.closed || cn.paused || len(cn.queue) >= cfg.maxPipelined {
		return 0, 0
	}
	if p := cn.partial; p != nil && !p.req.Chunked && cn.gc.InboundBuffered() < p.total {
		return 0, 0 // still waiting for a Content-Length body
	}
	buf, _ := cn.gc.Peek(-1)
	off, n := 0, 0
	for off < len(buf) && !cn.closing && len(cn.queue) < cfg.maxPipelined && n < maxRequestsPerTurn && off < maxBytesPerTurn {
		data := buf[off:]
		c := cn.partial
		if c == nil {
			if cn.reqStart == 0 {
				cn.reqStart = l.st.now.Load()
			}
			c = l.getCtx(cn)
			head, err := http1.ParseHead(data, &c.req, &l.st.limits)
			if err != nil {
				cn.rejectOnLoop(c, err)
				n++
				break
			}
			if head == 0 {
				l.putCtx(c)
				break
			}
			c.limit = cfg.maxBodyBytes
			if cfg.bodyLimit != nil && (c.req.Chunked || c.req.ContentLength > 0) {
				limit, err := c.headLimitOnLoop(data[:head], cfg)
				if err != nil {
					cn.rejectOnLoop(c, err)
					n++
					break
				}
				c.limit = limit
			}
			if !c.req.Chunked {
				if c.req.ContentLength > c.limit {
					cn.rejectOnLoop(c, http1.ErrBodyTooLarge)
					n++
					break
				}
				c.total = head + int(max(c.req.ContentLength, 0))
			}
			cn.partial, cn.sent100 = c, false
		}
		if c.req.Chunked {
			end, err := c.chunks.Scan(data[c.req.HeadLen:], c.limit, &l.st.limits)
			if err != nil {
				cn.partial = nil
				cn.rejectOnLoop(c, err)
				n++
				break
			}
			if end == 0 {
				cn.maybeContinueOnLoop(c)
				break
			}
			c.total = c.req.HeadLen + end
		} else if len(data) < c.total {
			cn.maybeContinueOnLoop(c)
			break
		}
		cn.partial = nil
		if err := c.loadRequest(data[:c.total]); err != nil {
			cn.rejectOnLoop(c, err)
			n++
			break
		}
		off += c.total
		cn.reqStart = 0
		n++
		cn.dispatchOnLoop(c)
	}
	if off > 0 {
		_, _ = cn.gc.Discard(off)
	}
	return n, off
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

// rejectOnLoop answers a request that cannot be parsed or accepted with the
// error's status and closes the connection after it: the framing of what
// follows cannot be trusted.
func (cn *conn) rejectOnLoop(c *Ctx, err error) {
	cn.closing = true
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
		cn.closing = true
		c.closeAfter = true
	} else if l.st.draining.Load() {
		// Still answered while draining, but the connection's last.
		l.st.lastReq.Store(time.Now().UnixNano())
		cn.closing = true
		c.closeAfter = true
	}
	c.start = l.st.now.Load()
	res := c.runHandler()
	if res.Ready() {
		_, err := res.Get()
		c.finishOnLoop(err)
		return
	}
	// A Result made elsewhere (on another loop, or on none) settles there:
	// bring it to this loop before anything touches c or the connection.
	c.roots++
	runtime.Bind(res, runtime.Loop(l)).Listen((*rootListener)(c))
}

// flushOnLoop writes the responses at the head of the queue that are
// complete, in order, in one write.
func (cn *conn) flushOnLoop() {
	if cn.closed {
		return
	}
	l := cn.l
	out := l.out[:0]
	draining := l.st.draining.Load()
	done, wroteLast := 0, false
	for i, c := range cn.queue {
		if !c.frozen {
			break
		}
		done++
		// While draining, every request already read is answered; only
		// the last one queued says Connection: close.
		if draining && i == len(cn.queue)-1 {
			c.closeAfter = true
		}
		wroteLast = c.closeAfter
		out = c.appendResponse(out, l.st.date.Load().line)
		c.writtenOnLoop()
		if wroteLast {
			break
		}
	}
	// Shift the rest down, keeping the queue's array.
	n := copy(cn.queue, cn.queue[done:])
	clear(cn.queue[n:])
	cn.queue = cn.queue[:n]
	if wroteLast {
		// Nothing after a closing response is answered.
		cn.closing = true
		cn.dropQueueOnLoop()
	}
	if len(out) > 0 {
		cn.lastActive = l.st.now.Load()
		_, _ = cn.gc.Write(out)
		if !cn.closed {
			if ob := cn.gc.OutboundBuffered(); ob > 0 {
				if cn.writeStart == 0 {
					cn.writeStart = cn.lastActive
				}
				if ob > l.st.cfg.maxOutbound {
					// The client is not reading: stop producing for it
					// until it does (the sweep resumes it).
					cn.paused = true
				}
			}
		}
	}
	if cap(out) > maxKeptOut {
		out = nil
	}
	l.out = out[:0]
	if p := cn.partial; p != nil && len(cn.queue) == 0 && !cn.closed {
		// A request waiting for "100 Continue" behind earlier responses
		// may have it now that they are written.
		cn.maybeContinueOnLoop(p)
	}
}

// dropQueueOnLoop abandons the requests still queued (their responses will
// never be written).
func (cn *conn) dropQueueOnLoop() {
	for i, c := range cn.queue {
		cn.queue[i] = nil
		c.writtenOnLoop()
	}
	cn.queue = cn.queue[:0]
}

// afterSettleOnLoop runs when one of cn's requests settled outside
// onTraffic: write what is ready, then serve what waits in the buffer.
func (cn *conn) afterSettleOnLoop() {
	if cn.closed || cn.busy {
		return
	}
	if cn.pumpOnLoop() {
		cn.closeNowOnLoop()
	}
}

// resume is the task that continues serving a connection that used up its
// turn.
type resume conn

func (r *resume) Run() {
	cn := (*conn)(r)
	cn.resuming = false
	cn.afterSettleOnLoop()
}

func (cn *conn) resumeLaterOnLoop() {
	if cn.resuming {
		return
	}
	cn.resuming = true
	if cn.l.Post((*resume)(cn)) != nil {
		cn.resuming = false
	}
}

// closeNowOnLoop closes the connection from a task (not from OnTraffic,
// which returns gnet.Close instead). gnet calls OnClose, and closedOnLoop,
// before it returns.
func (cn *conn) closeNowOnLoop() {
	if cn.closed {
		return
	}
	if err := cn.l.el.Close(cn.gc); err != nil || !cn.closed {
		cn.closedOnLoop()
	}
}

// closedOnLoop runs from OnClose: forget gc (its fd may soon belong to
// another client), cancel what is in flight, leave the loop's list.
func (cn *conn) closedOnLoop() {
	if cn.closed {
		return
	}
	cn.closed = true
	l := cn.l
	if p := cn.partial; p != nil {
		cn.partial = nil
		l.putCtx(p)
	}
	cn.dropQueueOnLoop()
	last := len(l.conns) - 1
	l.conns[cn.idx] = l.conns[last]
	l.conns[cn.idx].idx = cn.idx
	l.conns[last] = nil
	l.conns = l.conns[:last]
	cn.gc = nil
}

// idleOnLoop reports whether the connection has nothing in flight.
func (cn *conn) idleOnLoop() bool {
	return len(cn.queue) == 0 && cn.partial == nil && cn.reqStart == 0
}

// drainOnLoop ends the connection's part of a graceful shutdown, once
// requests have stopped coming: an idle connection is closed; one with a
// request already received is served (its answer closes it); one with
// requests in flight closes after them. It reports whether the connection
// was closed.
func (cn *conn) drainOnLoop() bool {
	if cn.closed {
		return false
	}
	if cn.idleOnLoop() && cn.gc.InboundBuffered() == 0 {
		if cn.gc.OutboundBuffered() > 0 {
			// Answers still being sent: the sweep closes it once they
			// are (doneOnLoop), or at WriteTimeout.
			cn.closing = true
			return false
		}
		cn.closeNowOnLoop()
		return true
	}
	cn.afterSettleOnLoop()
	return cn.closed
}

// expiredOnLoop reports whether one of the connection's timeouts has passed.
// Settled-but-unwritten requests are not its concern; a request whose
// handler is too slow is answered here (HandlerTimeout) without closing.
func (cn *conn) expiredOnLoop(cfg *config, now int64) bool {
	if cn.closed {
		return false
	}
	if cn.writeStart != 0 {
		switch ob := cn.gc.OutboundBuffered(); {
		case ob == 0:
			cn.writeStart, cn.lastOut = 0, 0
			if cn.paused {
				cn.paused = false
				cn.afterSettleOnLoop()
			}
			if cn.doneOnLoop() {
				return true
			}
		case ob < cn.lastOut:
			cn.writeStart, cn.lastOut = now, ob // the client reads
			if cn.paused && ob <= cfg.maxOutbound/2 {
				cn.paused = false
				cn.afterSettleOnLoop()
			}
		case cfg.writeTimeout > 0 && now-cn.writeStart > int64(cfg.writeTimeout):
			return true // no progress for WriteTimeout
		default:
			cn.lastOut = ob
		}
		if cn.closed {
			return false
		}
	}
	if cfg.handlerTimeout > 0 {
		for _, c := range cn.queue {
			if !c.frozen && now-c.start > int64(cfg.handlerTimeout) {
				c.timeoutOnLoop()
			}
		}
		if len(cn.queue) > 0 && cn.queue[0].frozen && !cn.busy {
			cn.afterSettleOnLoop()
			if cn.closed {
				return false
			}
		}
	}
	if cn.reqStart != 0 {
		limit := cfg.readHeaderTimeout
		if cn.partial != nil {
			limit = cfg.readTimeout
		}
		if limit > 0 && now-cn.reqStart > int64(limit) {
			cn.l.refusedOnLoop(StatusRequestTimeout, errRequestTimeout, cn.gc.RemoteAddr())
			if len(cn.queue) == 0 {
				// Nothing else is owed: say why before closing.
				out := append(cn.l.out[:0], requestTimeoutHead...)
				out = append(out, cn.l.st.date.Load().line...)
				out = append(out, requestTimeoutTail...)
				_, _ = cn.gc.Write(out)
				cn.l.out = out[:0]
			}
			return true
		}
	}
	if cfg.idleTimeout > 0 && cn.idleOnLoop() && cn.writeStart == 0 && now-cn.lastActive > int64(cfg.idleTimeout) {
		return true
	}
	return false
}
