package websocket

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"go.uber.org/zap"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// MessageType is a data message's type (RFC 6455 §5.6).
type MessageType uint8

// The two data message types; the values are the frame opcodes.
const (
	TextMessage   MessageType = MessageType(frame.OpText)
	BinaryMessage MessageType = MessageType(frame.OpBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	if t == TextMessage {
		return "text"
	}
	return "binary"
}

// StatusCode is a close code (RFC 6455 §7.4).
type StatusCode uint16

// Close codes (RFC 6455 §7.4.1). 1005 and 1006 are never sent: they are
// what OnClose reports for a close frame without a code, and for a
// connection that ended without a close frame.
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusUnsupportedData StatusCode = 1003
	StatusNoStatusRcvd    StatusCode = 1005
	StatusAbnormalClosure StatusCode = 1006
	StatusInvalidPayload  StatusCode = 1007
	StatusPolicyViolation StatusCode = 1008
	StatusMessageTooBig   StatusCode = 1009
	StatusInternalError   StatusCode = 1011
)

// Errors of sends.
var (
	// ErrClosed: the session is closing or closed; nothing more can be sent.
	ErrClosed = errors.New("weft/websocket: session closed")
	// ErrBufferFull: the client was not reading, and more than
	// Upgrader.MaxBufferedBytes was already queued for it; the session is
	// closed with 1008.
	ErrBufferFull = errors.New("weft/websocket: client not reading; send buffer over its limit")
	// ErrInvalidCloseCode: Close was given a code that may not be sent.
	ErrInvalidCloseCode = errors.New("weft/websocket: invalid close code")
	// ErrMessageType: Send or SendPrepared was given a type other than
	// TextMessage and BinaryMessage (control frames have their own
	// methods: Ping, Close); nothing was sent.
	ErrMessageType = errors.New("weft/websocket: message type is not TextMessage or BinaryMessage")
)

// isData reports whether typ is a data message's type.
func isData(typ MessageType) bool { return typ == TextMessage || typ == BinaryMessage }

// Handler receives a session's events, on the session's loop, in order:
// its callbacks are loop-only code. Every field may be nil. A Handler value
// may serve any number of sessions.
type Handler struct {
	// OnOpen is called once when the session starts, before any message.
	OnOpen func(c *Conn)

	// OnMessage is called for each complete data message (fragments
	// reassembled, decompressed, text validated as UTF-8). data is
	// borrowed: valid until OnMessage returns, so copy what you keep (a
	// Send of it copies). A panic closes the session with 1011 and is
	// logged once.
	OnMessage func(c *Conn, typ MessageType, data []byte)

	// OnClose is called once when the connection is gone, with the
	// client's close code and reason (1005 for a close frame without a
	// code; 1006 when no close frame came: a dropped connection, a
	// timeout, or a protocol error the server closed on).
	OnClose func(c *Conn, code StatusCode, reason string)
}

// transport is what a session needs of the connection it runs on: net's
// *net.Upgraded in production, a fake in unit tests. Loop-only.
type transport interface {
	Write(p []byte) runtime.Future[struct{}]
	OutboundBuffered() int
	Close()
	Loop() runtime.Loop
	Context() context.Context
}

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // our close frame is sent; waiting for the client's
	stateClosed            // nothing more is sent; waiting for the transport to go
	stateGone              // the transport is gone
)

// Conn is one WebSocket session. It lives on the loop of the connection it
// was upgraded from, for its whole life.
//
// Loop-only: call its methods on that loop (from the Handler's callbacks
// and continuations of futures bound to it); from elsewhere, post to
// Loop() or use a Group. Loop and Context are safe for concurrent use. A
// Conn is a runtime.Scope: runtime.Blocking(c, fn) runs fn off the loop and
// continues on it, with a context cancelled when the session ends.
type Conn struct {
	cfg     *config
	h       Handler
	t       transport
	proto   string
	deflate deflateParams

	state       connState
	opened      bool
	drainEarly  bool // Shutdown came before the first Traffic: close once open
	inputFailed bool // a bad frame waits behind messages being decompressed: read no more
	failed      bool // we closed with an error code: report 1006 unless the client's close came
	peerCode    StatusCode
	peerWhy     string
	closeDone   runtime.Promise[struct{}] // settled when the transport is gone; made on demand
	hasDone     bool

	// inbound
	st        frame.Stream
	hdr       frame.Header
	inFrame   bool  // a data frame's payload is being read
	remaining int64 // payload bytes of the current data frame still to come
	maskPos   int
	msg       *[]byte // the data message being assembled (pooled), or nil

	// context takeover windows (RFC 7692 §7.1.1), when negotiated: the last
	// 32 KiB sent compressed, and received decompressed
	sendWin, recvWin []byte

	// inbound messages waiting for an off-loop decompression, in order
	inq      []*inMsg
	inqBytes int

	// outbound, in order: sends waiting for an off-loop compression
	pending      []*pendingSend
	pendingBytes int // bytes held by pending, counted against MaxBufferedBytes

	// timers
	timer     *time.Timer
	lastRead  time.Time
	lastData  time.Time
	pingSent  time.Time
	pingOut   bool
	closeTill time.Time

	groups []*Group
}

func newConn(cfg *config, h Handler, proto string, d deflateParams) *Conn {
	return &Conn{cfg: cfg, h: h, proto: proto, deflate: d}
}

// Loop returns the loop the session runs on. Safe for concurrent use.
func (c *Conn) Loop() runtime.Loop { return c.t.Loop() }

// Context returns a context cancelled when the session's connection is
// gone. Safe for concurrent use.
func (c *Conn) Context() context.Context { return c.t.Context() }

// Subprotocol returns the negotiated subprotocol, or "". Safe for
// concurrent use (it never changes).
func (c *Conn) Subprotocol() string { return c.proto }

// Compressed reports whether the session negotiated permessage-deflate.
// Safe for concurrent use (it never changes).
func (c *Conn) Compressed() bool { return c.deflate.enabled }

// Buffered returns the bytes queued for the client and not yet written to
// the socket. Loop-only.
func (c *Conn) Buffered() int {
	if c.state == stateGone {
		return 0
	}
	return c.t.OutboundBuffered()
}

// openOnLoop starts the session on t.
func (c *Conn) openOnLoop(t transport) {
	if c.opened {
		return
	}
	c.opened, c.t = true, t
	now := time.Now()
	c.lastRead, c.lastData = now, now
	c.cfg.stats.open.Add(1)
	c.cfg.stats.opened.Add(1)
	if d := c.nextWakeOnLoop(now); d > 0 {
		c.timer = time.AfterFunc(d, c.timerFired)
	}
	if c.h.OnOpen != nil {
		c.callOnLoop(func() { c.h.OnOpen(c) })
	}
	if c.drainEarly {
		c.shutdownOnLoop()
	}
}

// trafficOnLoop consumes inbound bytes: frames, as far as in goes. It
// returns how many bytes it consumed; the rest (part of a header, or of a
// control frame) comes back with more.
func (c *Conn) trafficOnLoop(in []byte) int {
	if c.inputFailed {
		return len(in) // a bad frame came: nothing after it is read
	}
	consumed := 0
	if len(in) > 0 {
		c.lastRead = time.Now()
		c.pingOut = false
	}
	for c.state < stateClosed && !c.inputFailed {
		if !c.inFrame {
			n, err := frame.ParseHeader(in[consumed:], &c.hdr, frame.Server)
			if err != nil {
				c.failInOrderOnLoop(err)
				return len(in)
			}
			if n == 0 {
				break
			}
			if c.hdr.Op.IsControl() {
				end := consumed + n + int(c.hdr.Length)
				if end > len(in) {
					break // whole control frames only: at most 139 bytes
				}
				var buf [frame.MaxControlPayload]byte
				p := buf[:c.hdr.Length]
				frame.MaskTo(p, in[consumed+n:end], c.hdr.Key, 0)
				consumed = end
				if err := c.st.Begin(&c.hdr, c.cfg.maxMessage, c.deflate.enabled); err != nil {
					c.failInOrderOnLoop(err)
					return len(in)
				}
				c.controlOnLoop(c.hdr.Op, p)
				continue
			}
			if err := c.st.Begin(&c.hdr, c.cfg.maxMessage, c.deflate.enabled); err != nil {
				c.failInOrderOnLoop(err)
				return len(in)
			}
			consumed += n
			c.inFrame, c.remaining, c.maskPos = true, c.hdr.Length, 0
			if c.msg == nil {
				c.msg = getBuf(&c.cfg.msgs)
			}
		}
		avail := min(c.remaining, int64(len(in)-consumed))
		if avail > 0 {
			m := *c.msg
			start := len(m)
			m = append(m, in[consumed:consumed+int(avail)]...)
			c.maskPos = frame.Mask(c.hdr.Key, c.maskPos, m[start:])
			*c.msg = m
			consumed += int(avail)
			c.remaining -= avail
			if op, compressed := c.st.Message(); op == frame.OpText && !compressed {
				if err := c.st.Text(m[start:]); err != nil {
					c.failInOrderOnLoop(err)
					return len(in)
				}
			}
		}
		if c.remaining > 0 {
			break
		}
		c.inFrame = false
		if c.hdr.Fin {
			c.messageOnLoop()
		}
	}
	if c.state >= stateClosed || c.inputFailed {
		return len(in) // after the close or a bad frame: discard
	}
	return consumed
}

// callOnLoop runs a user callback; a panic in it is logged and closes the
// session with 1011.
func (c *Conn) callOnLoop(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			pe := runtime.NewPanicError(r)
			c.cfg.log.Error("websocket: panic in a session callback; closing the session with 1011",
				zap.Any("panic", r), zap.ByteString("stack", pe.Stack))
			c.closeWithErrorOnLoop(StatusInternalError, "internal error")
		}
	}()
	fn()
}

// controlOnLoop handles a control frame (§5.5) with its unmasked payload.
func (c *Conn) controlOnLoop(op frame.Opcode, p []byte) {
	switch op {
	case frame.OpPing:
		// §5.5.2, §5.5.3: answer with a pong carrying the same data.
		// A pong is output like any other: a client that pings and
		// never reads must not make the server queue pongs without
		// bound (past MaxBufferedBytes: 1008).
		if c.state == stateOpen && !c.overLimitOnLoop() {
			c.writeControlOnLoop(frame.OpPong, p)
		}
	case frame.OpPong:
		// Any frame counts as life; nothing else to do (§5.5.3:
		// unsolicited pongs are allowed).
	case frame.OpClose:
		if len(c.inq) > 0 {
			// Messages received before it are still being
			// decompressed: the close waits its turn.
			m := &inMsg{c: c, close: true, ready: true}
			m.ctrlN = copy(m.ctrl[:], p)
			c.enqueueOnLoop(m, 0)
			return
		}
		c.closeFrameOnLoop(p)
	}
}

// closeFrameOnLoop handles the client's close frame (§5.5.1).
func (c *Conn) closeFrameOnLoop(p []byte) {
	code, reason, err := frame.ParseClose(p)
	if err != nil {
		c.failOnLoop(err)
		return
	}
	c.peerCode, c.peerWhy = StatusCode(code), string(reason)
	c.failed = false
	if c.state == stateOpen {
		// §5.5.1: answer with a close frame, echoing the code.
		c.sendCloseOnLoop(code, "")
	}
	// §7.1.1: the server closes the TCP connection first, once its
	// close frame is handed to the socket.
	c.state = stateClosed
	c.t.Close()
}

// failInOrderOnLoop fails the connection for an error in its input once
// the messages received before it (still being decompressed off the loop)
// are delivered, so that what a client sent before a bad frame does not
// depend on how its bytes were split into reads. Nothing more is read.
func (c *Conn) failInOrderOnLoop(err error) {
	if len(c.inq) == 0 {
		c.failOnLoop(err)
		return
	}
	c.inputFailed = true
	c.enqueueOnLoop(&inMsg{c: c, err: err, ready: true}, 0)
}

// failOnLoop fails the connection (§7.1.7) for a protocol error: a close
// frame with the error's code, then the TCP connection is closed.
func (c *Conn) failOnLoop(err error) {
	code, reason := uint16(StatusProtocolError), "protocol error"
	if fe, ok := err.(*frame.Error); ok {
		code, reason = fe.Code, fe.Reason
	}
	c.cfg.log.Debug("websocket: failing the connection", zap.Uint16("code", code), zap.Error(err))
	c.closeWithErrorOnLoop(StatusCode(code), reason)
}

// closeWithErrorOnLoop sends a close frame with code (unless one was sent)
// and closes the connection without waiting for the client's.
func (c *Conn) closeWithErrorOnLoop(code StatusCode, reason string) {
	if c.state >= stateClosed {
		return
	}
	if c.state == stateOpen {
		c.sendCloseOnLoop(uint16(code), reason)
	}
	c.failed = true
	c.state = stateClosed
	c.t.Close()
}

// sendCloseOnLoop writes a close frame.
func (c *Conn) sendCloseOnLoop(code uint16, reason string) {
	var buf [frame.MaxControlPayload]byte
	p := frame.AppendClosePayload(buf[:0], code, reason)
	c.rejectPendingOnLoop()
	c.writeControlOnLoop(frame.OpClose, p)
}

// Close starts the closing handshake (§7.1.2): it sends a close frame with
// code and reason (cut to 123 bytes on a character boundary, bytes that
// are not UTF-8 replaced with U+FFFD) and waits up to
// Upgrader.CloseTimeout for the client's, then closes the connection. The
// future settles when the connection is gone. Sends still waiting for an
// off-loop compression fail with ErrClosed. Loop-only.
func (c *Conn) Close(code StatusCode, reason string) runtime.Future[struct{}] {
	if !frame.ValidCloseCode(uint16(code)) {
		return runtime.Rejected[struct{}](ErrInvalidCloseCode)
	}
	if c.state == stateOpen {
		c.sendCloseOnLoop(uint16(code), reason)
		c.state = stateClosing
		c.closeTill = time.Now().Add(c.cfg.closeTimeout)
		c.rearmOnLoop()
	}
	return c.Done()
}

// Done returns a future that settles when the session's connection is gone.
// Loop-only.
func (c *Conn) Done() runtime.Future[struct{}] {
	if c.state == stateGone {
		return runtime.Resolved(struct{}{})
	}
	if !c.hasDone {
		c.closeDone, c.hasDone = runtime.NewPromise[struct{}](c.t.Loop()), true
	}
	return c.closeDone.Future()
}

// shutdownOnLoop is the server draining: close with 1001 and wait for the
// handshake up to CloseTimeout.
func (c *Conn) shutdownOnLoop() {
	if !c.opened {
		// net may tell of a drain between the hand-over and the first
		// Traffic: there is no transport to write the close to yet.
		c.drainEarly = true
		return
	}
	c.Close(StatusGoingAway, "server shutting down")
}

// closedOnLoop is the transport gone: err says why (nil: closed cleanly).
func (c *Conn) closedOnLoop(error) {
	if c.state == stateGone {
		return
	}
	c.state = stateGone
	if c.timer != nil {
		c.timer.Stop()
	}
	c.rejectPendingOnLoop()
	if c.msg != nil {
		putBuf(&c.cfg.msgs, c.msg)
		c.msg = nil
	}
	c.dropInboundOnLoop()
	for _, g := range c.groups {
		g.removeOnLoop(c)
	}
	c.groups = nil
	if c.opened {
		c.cfg.stats.open.Add(-1)
	}
	code, reason := c.peerCode, c.peerWhy
	if code == 0 || c.failed {
		code, reason = StatusAbnormalClosure, ""
	}
	if c.opened && c.h.OnClose != nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					pe := runtime.NewPanicError(r)
					c.cfg.log.Error("websocket: panic in OnClose", zap.Any("panic", r), zap.ByteString("stack", pe.Stack))
				}
			}()
			c.h.OnClose(c, code, reason)
		}()
	}
	if c.hasDone {
		c.closeDone.Resolve(struct{}{})
	}
}

// Send sends a data message. The future settles when the frame is handed to
// the socket: at once while the connection is under net's high-water mark,
// later when the client has drained it (back-pressure: wait for it before
// sending more). It fails with ErrClosed after Close or the client's close,
// with ErrBufferFull (closing the session with 1008) when more than
// MaxBufferedBytes is already queued, and with ErrMessageType for a type
// other than TextMessage and BinaryMessage. data is copied before Send
// returns.
// Loop-only.
func (c *Conn) Send(typ MessageType, data []byte) runtime.Future[struct{}] {
	if !isData(typ) {
		return runtime.Rejected[struct{}](ErrMessageType)
	}
	if c.state != stateOpen {
		return runtime.Rejected[struct{}](ErrClosed)
	}
	if c.overLimitOnLoop() {
		return runtime.Rejected[struct{}](ErrBufferFull)
	}
	c.lastData = time.Now()
	c.cfg.stats.msgsOut.Add(1)
	c.cfg.stats.bytesOut.Add(int64(len(data)))
	op := frame.Opcode(typ)
	if !c.deflate.enabled || len(data) < c.cfg.compressMin {
		if len(c.pending) > 0 {
			return c.queueOnLoop(&pendingSend{op: op, payload: append([]byte(nil), data...), ready: true, msgLen: len(data)}, runtime.Future[[]byte]{})
		}
		return c.writeFrameOnLoop(true, false, op, data)
	}
	if c.cfg.offloadAbove >= 0 && len(data) >= c.cfg.offloadAbove {
		return c.compressOffLoop(op, data)
	}
	sb := getBuf(&c.cfg.scratch)
	z := c.cfg.codec.compress((*sb)[:0], data, c.deflate.windowBits, c.sendWin)
	if c.deflate.serverTakeover {
		c.sendWin = slideWindow(c.sendWin, data)
	}
	var f runtime.Future[struct{}]
	if len(c.pending) > 0 {
		f = c.queueOnLoop(&pendingSend{op: op, rsv1: true, payload: append([]byte(nil), z...), ready: true, msgLen: len(data)}, runtime.Future[[]byte]{})
	} else {
		f = c.writeFrameOnLoop(true, true, op, z)
	}
	*sb = z
	putBuf(&c.cfg.scratch, sb)
	return f
}

// SendText sends a text message; s must be valid UTF-8 (the client fails
// the connection otherwise). Loop-only.
func (c *Conn) SendText(s string) runtime.Future[struct{}] {
	// Send copies before it returns and never writes to data: no need to
	// copy s into a []byte first.
	return c.Send(TextMessage, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// Ping sends a ping with data (at most 125 bytes). Loop-only.
func (c *Conn) Ping(data []byte) runtime.Future[struct{}] {
	if c.state != stateOpen {
		return runtime.Rejected[struct{}](ErrClosed)
	}
	if len(data) > frame.MaxControlPayload {
		data = data[:frame.MaxControlPayload]
	}
	return c.writeControlOnLoop(frame.OpPing, data)
}

// writeFrameOnLoop writes one unfragmented server frame.
func (c *Conn) writeFrameOnLoop(fin, rsv1 bool, op frame.Opcode, payload []byte) runtime.Future[struct{}] {
	sb := getBuf(&c.cfg.scratch)
	b := frame.AppendHeader((*sb)[:0], fin, rsv1, op, len(payload))
	var f runtime.Future[struct{}]
	if len(b)+len(payload) <= maxPooledBuf {
		// One write(2), one TCP segment: with the header written
		// alone, the client is woken for it and again for the payload
		// (TCP_NODELAY sends each write at once). Copying up to 64 KiB
		// costs less than the second system call.
		b = append(b, payload...)
		f = c.t.Write(b)
	} else {
		c.t.Write(b)
		f = c.t.Write(payload)
	}
	*sb = b
	putBuf(&c.cfg.scratch, sb)
	return f
}

// writeControlOnLoop writes a control frame (at most 125 bytes of payload)
// in one Write; p is not retained, so callers may pass stack buffers.
func (c *Conn) writeControlOnLoop(op frame.Opcode, p []byte) runtime.Future[struct{}] {
	sb := getBuf(&c.cfg.scratch)
	b := frame.AppendHeader((*sb)[:0], true, false, op, len(p))
	b = append(b, p...)
	f := c.t.Write(b)
	*sb = b
	putBuf(&c.cfg.scratch, sb)
	return f
}

// overLimitOnLoop reports whether more than MaxBufferedBytes is queued for
// the client (in net's output and behind off-loop compressions), and if so
// fails the session with 1008.
func (c *Conn) overLimitOnLoop() bool {
	if c.t.OutboundBuffered()+c.pendingBytes <= c.cfg.maxBuffered {
		return false
	}
	c.closeWithErrorOnLoop(StatusPolicyViolation, "client not reading")
	return true
}

// pendingSend is a send waiting behind an off-loop compression.
type pendingSend struct {
	c       *Conn
	op      frame.Opcode
	rsv1    bool
	payload []byte
	ready   bool
	plain   []byte // the uncompressed message, sent if compression could not run
	whole   []byte // a complete frame (a prepared message), instead of op and payload
	size    int    // bytes counted in pendingBytes
	msgLen  int    // the message's length as counted in Stats.BytesOut
	dict    []byte // the send window before this message (context takeover), non-nil then
	out     runtime.Promise[struct{}]
}

// compressOffLoop compresses a large message off the loop; the send and
// every send after it wait for it, in order.
func (c *Conn) compressOffLoop(op frame.Opcode, data []byte) runtime.Future[struct{}] {
	src := append([]byte(nil), data...)
	bits := c.deflate.windowBits
	var dict []byte // the window as it is before this message
	if c.deflate.serverTakeover {
		dict = append([]byte{}, c.sendWin...)
		c.sendWin = slideWindow(c.sendWin, data)
	}
	job := func(context.Context) ([]byte, error) {
		return c.cfg.codec.compress(nil, src, bits, dict), nil
	}
	var z runtime.Future[[]byte]
	if c.cfg.pool != nil {
		z = offload.Run(c, c.cfg.pool, job)
	} else {
		z = runtime.Blocking(c, job)
	}
	// The pending send is whole before it listens: a pool that refuses at
	// once settles z inside queueOnLoop.
	return c.queueOnLoop(&pendingSend{op: op, rsv1: true, plain: src, dict: dict, msgLen: len(data)}, z)
}

// queueOnLoop appends ps (op, rsv1, msgLen, and either its payload, ready,
// or, for the compression z, the plain message and its dict) to the
// pending queue.
func (c *Conn) queueOnLoop(ps *pendingSend, z runtime.Future[[]byte]) runtime.Future[struct{}] {
	ps.c, ps.out = c, runtime.NewPromise[struct{}](c.t.Loop())
	ps.size = len(ps.payload) + len(ps.plain)
	c.pending = append(c.pending, ps)
	c.pendingBytes += ps.size
	if !ps.ready {
		z.Listen(ps)
	}
	return ps.out.Future()
}

// Settled receives the compressed payload, on the loop.
func (ps *pendingSend) Settled(z []byte, err error) {
	switch {
	case err == nil:
	case ps.dict != nil:
		// The job did not run, and the message is already in the
		// window the client will keep: it must go compressed.
		z = ps.c.cfg.codec.compress(nil, ps.plain, ps.c.deflate.windowBits, ps.dict)
	default:
		// The pool was full or closed: send the message as it is.
		ps.rsv1, z = false, ps.plain
	}
	ps.dict = nil
	ps.payload, ps.ready, ps.plain = z, true, nil
	ps.c.flushPendingOnLoop()
}

// flushPendingOnLoop writes the pending sends that are ready, in order.
func (c *Conn) flushPendingOnLoop() {
	for len(c.pending) > 0 && c.pending[0].ready {
		ps := c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
		c.pendingBytes -= ps.size
		if c.state != stateOpen {
			c.dropPendingOnLoop(ps)
			continue
		}
		var f runtime.Future[struct{}]
		if ps.whole != nil {
			f = c.t.Write(ps.whole)
		} else {
			f = c.writeFrameOnLoop(true, ps.rsv1, ps.op, ps.payload)
		}
		f.Listen(forward(ps.out))
	}
	if len(c.pending) == 0 {
		c.pending = nil
	}
}

// rejectPendingOnLoop fails every send still waiting: a close frame is
// being sent, and nothing may follow it.
func (c *Conn) rejectPendingOnLoop() {
	for _, ps := range c.pending {
		c.dropPendingOnLoop(ps)
	}
	c.pending, c.pendingBytes = nil, 0
}

// dropPendingOnLoop fails a pending send the session closed before: it was
// never handed to the socket, so it is not counted as sent after all.
func (c *Conn) dropPendingOnLoop(ps *pendingSend) {
	c.cfg.stats.msgsOut.Add(-1)
	c.cfg.stats.bytesOut.Add(-int64(ps.msgLen))
	ps.out.Reject(ErrClosed)
}

// forward settles a promise like the future it listens to.
type forward runtime.Promise[struct{}]

func (f forward) Settled(v struct{}, err error) { runtime.Promise[struct{}](f).Settle(v, err) }

// Timers: one time.Timer per session, re-armed for the nearest deadline;
// its expiry is posted to the loop.

type tick Conn

func (t *tick) Run() { (*Conn)(t).tickOnLoop() }

func (c *Conn) timerFired() { _ = c.t.Loop().Post((*tick)(c)) }

func (c *Conn) tickOnLoop() {
	if c.state == stateGone {
		return
	}
	now := time.Now()
	switch {
	case c.state == stateClosing && !now.Before(c.closeTill):
		// §7.1.1: no close frame from the client in time.
		c.state = stateClosed
		c.t.Close()
		return
	case c.state != stateOpen:
	case c.cfg.idleTimeout > 0 && now.Sub(c.lastData) >= c.cfg.idleTimeout:
		c.Close(StatusGoingAway, "idle timeout")
	case c.cfg.pingInterval > 0 && c.pingOut && now.Sub(c.pingSent) >= c.cfg.pongTimeout:
		c.failed = true
		c.state = stateClosed
		c.t.Close()
		return
	case c.cfg.pingInterval > 0 && !c.pingOut && now.Sub(c.lastRead) >= c.cfg.pingInterval:
		c.pingOut, c.pingSent = true, now
		c.writeControlOnLoop(frame.OpPing, nil)
	}
	c.rearmOnLoop()
}

func (c *Conn) rearmOnLoop() {
	if c.state == stateGone {
		return
	}
	d := c.nextWakeOnLoop(time.Now())
	if d <= 0 {
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.timerFired)
		return
	}
	c.timer.Reset(d)
}

// nextWakeOnLoop returns the time until the nearest deadline, or 0 for
// none.
func (c *Conn) nextWakeOnLoop(now time.Time) time.Duration {
	var next time.Time
	at := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	switch c.state {
	case stateClosing:
		at(c.closeTill)
	case stateOpen:
		if c.cfg.idleTimeout > 0 {
			at(c.lastData.Add(c.cfg.idleTimeout))
		}
		if c.cfg.pingInterval > 0 {
			if c.pingOut {
				at(c.pingSent.Add(c.cfg.pongTimeout))
			} else {
				at(c.lastRead.Add(c.cfg.pingInterval))
			}
		}
	}
	if next.IsZero() {
		return 0
	}
	return max(next.Sub(now), time.Millisecond)
}
