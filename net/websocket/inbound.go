package websocket

import (
	"context"
	"unicode/utf8"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// Inbound messages. An uncompressed message, or a compressed one whose
// decompressed size stays under OffloadAbove, is delivered at once, on the
// loop, from the session's pooled buffer. A larger compressed message is
// decompressed on the loop up to OffloadAbove bytes of output, and the rest
// off the loop (offload.Pool or a Blocking goroutine), so one client's 16
// MiB message does not hold the loop's other sessions. Messages (and a
// close frame) that arrive meanwhile wait behind it in inq, as received,
// and are decompressed and delivered in order, one at a time: a session
// holds at most one decompressed message beside a backlog of received
// bytes bounded by twice MaxMessageBytes plus 1 MiB (past it: 1008).

// errBacklog: messages arrive faster than they can be decompressed.
var errBacklog = &frame.Error{Code: frame.CodePolicyViolation, Reason: "messages arriving faster than they can be decompressed"}

// inMsg is a received message, or close frame, waiting its turn.
type inMsg struct {
	c          *Conn
	op         frame.Opcode
	compressed bool
	raw        *[]byte   // the payload as received (the message, or its compressed form)
	out        *[]byte   // the decompressed message, for a compressed one
	f          *inflater // the decompressor, while it runs
	size       int       // bytes counted in the backlog
	started    bool      // decompression started
	ready      bool
	ran        bool // the off-loop job ran (written off the loop, read after it settles)
	gone       bool // the session ended while the job ran: release on settle
	err        error

	close bool // a close frame waiting behind messages
	ctrl  [frame.MaxControlPayload]byte
	ctrlN int
}

// messageOnLoop takes the message assembled in c.msg: delivers it, or
// queues it behind messages still being decompressed, or starts its
// decompression off the loop.
func (c *Conn) messageOnLoop() {
	op, compressed := c.st.Message()
	if err := c.st.End(); err != nil {
		c.failInOrderOnLoop(err)
		return
	}
	raw := c.msg
	c.msg = nil
	if len(c.inq) > 0 {
		raw = c.fitOnLoop(raw)
		c.enqueueOnLoop(&inMsg{c: c, op: op, compressed: compressed, raw: raw, ready: !compressed}, cap(*raw))
		return
	}
	if !compressed {
		c.deliverOnLoop(op, *raw)
		putBuf(&c.cfg.msgs, raw)
		return
	}
	m := inMsg{c: c, op: op, compressed: true, raw: raw}
	if c.inflateOnLoop(&m) {
		c.finishOnLoop(&m)
		return
	}
	// Decompressing off the loop: m waits in the queue.
	pm := new(inMsg)
	*pm = m
	if c.enqueueOnLoop(pm, cap(*raw)) {
		c.startJobOnLoop(pm)
	}
}

// fitOnLoop returns a message to queue in a buffer of its own size when
// the pooled one it was assembled in is much larger (grown by an earlier
// message, up to maxPooledBuf), and puts that one back: the backlog
// counts, and holds, what waits, so a small message must not count 64 KiB
// (sixteen of them would pass a 1 MiB backlog).
func (c *Conn) fitOnLoop(raw *[]byte) *[]byte {
	if cap(*raw) <= 2*len(*raw)+1<<10 {
		return raw
	}
	b := append(make([]byte, 0, len(*raw)), *raw...)
	putBuf(&c.cfg.msgs, raw)
	return &b
}

// inflateOnLoop decompresses m on the loop up to OffloadAbove bytes of
// output, and reports whether that finished it (m.ready, m.err set).
// Otherwise m.f holds the decompressor for startJobOnLoop.
func (c *Conn) inflateOnLoop(m *inMsg) bool {
	m.started = true
	m.out = getBuf(&c.cfg.msgs)
	var dict []byte
	if c.deflate.clientTakeover {
		dict = c.recvWin
	}
	f := c.cfg.codec.startInflate(m.raw, dict)
	budget := max(c.cfg.offloadAbove, 0) // negative: never off the loop
	d, done, err := f.read((*m.out)[:0], 0, c.cfg.maxMessage, budget)
	*m.out = d
	if !done {
		m.f = f
		return false
	}
	c.cfg.codec.endInflate(f)
	m.err, m.ready = checkText(m.op, d, err), true
	c.slideRecvOnLoop(m)
	return true
}

// slideRecvOnLoop adds a decompressed message to the client's window, for
// context takeover; messages are decompressed one at a time, in order.
func (c *Conn) slideRecvOnLoop(m *inMsg) {
	if c.deflate.clientTakeover && m.err == nil {
		c.recvWin = slideWindow(c.recvWin, *m.out)
	}
}

// finishOnLoop delivers (or fails on) a message that is ready and first in
// line, and releases it.
func (c *Conn) finishOnLoop(m *inMsg) {
	switch {
	case c.state >= stateClosed:
	case m.close:
		c.closeFrameOnLoop(m.ctrl[:m.ctrlN])
	case m.err != nil:
		c.failOnLoop(m.err)
	case m.out != nil:
		c.deliverOnLoop(m.op, *m.out)
	default:
		c.deliverOnLoop(m.op, *m.raw)
	}
	m.release()
}

// startJobOnLoop finishes m's decompression off the loop.
func (c *Conn) startJobOnLoop(m *inMsg) {
	f, out, op, max := m.f, m.out, m.op, c.cfg.maxMessage
	job := func(context.Context) ([]byte, error) {
		m.ran = true
		d, _, err := f.read(*out, 0, max, 0)
		return d, checkText(op, d, err)
	}
	var z runtime.Future[[]byte]
	if c.cfg.pool != nil {
		z = offload.Run(c, c.cfg.pool, job)
	} else {
		z = runtime.Blocking(c, job)
	}
	z.Listen(m)
}

// checkText applies §8.1 to a decompressed text message.
func checkText(op frame.Opcode, d []byte, err error) error {
	if err == nil && op == frame.OpText && !utf8.Valid(d) {
		return frame.ErrInvalidUTF8
	}
	return err
}

// Settled receives the off-loop decompression, on the loop.
func (m *inMsg) Settled(d []byte, err error) {
	c := m.c
	if !m.ran && !m.gone && c.state < stateClosed {
		// The job never ran (a full pool, say): finish on the loop.
		d, _, err = m.f.read(*m.out, 0, c.cfg.maxMessage, 0)
		err = checkText(m.op, d, err)
	}
	c.cfg.codec.endInflate(m.f)
	m.f = nil
	if d != nil {
		*m.out = d
	}
	m.err, m.ready = err, true
	if m.gone {
		m.release()
		return
	}
	c.slideRecvOnLoop(m)
	c.drainInboundOnLoop()
}

// enqueueOnLoop queues m, counting size received bytes against the
// backlog; past it the session fails with 1008 (and m is released). It
// reports whether m was queued.
func (c *Conn) enqueueOnLoop(m *inMsg, size int) bool {
	if c.inqBytes+size > int(2*c.cfg.maxMessage)+1<<20 {
		if m.f != nil { // its job is not started
			c.cfg.codec.endInflate(m.f)
			m.f = nil
		}
		m.release()
		c.failOnLoop(errBacklog)
		return false
	}
	c.inqBytes += size
	m.size = size
	c.inq = append(c.inq, m)
	return true
}

// drainInboundOnLoop delivers the queued messages that are ready, in
// order, starting the decompression of the next compressed one in line.
func (c *Conn) drainInboundOnLoop() {
	for len(c.inq) > 0 && c.state < stateClosed {
		m := c.inq[0]
		if !m.ready {
			if !m.compressed || m.started {
				break // its decompression is running
			}
			if !c.inflateOnLoop(m) {
				c.startJobOnLoop(m)
				break
			}
		}
		c.inq[0] = nil
		c.inq = c.inq[1:]
		c.inqBytes -= m.size
		c.finishOnLoop(m)
	}
	if c.state >= stateClosed {
		c.dropInboundOnLoop()
	}
	if len(c.inq) == 0 {
		c.inq = nil
	}
}

// dropInboundOnLoop abandons the queue: the session is gone.
func (c *Conn) dropInboundOnLoop() {
	for _, m := range c.inq {
		if m.ready {
			m.release()
		} else {
			m.gone = true
		}
	}
	c.inq, c.inqBytes = nil, 0
}

// release returns m's buffers to the pools.
func (m *inMsg) release() {
	if m.raw != nil {
		putBuf(&m.c.cfg.msgs, m.raw)
		m.raw = nil
	}
	if m.out != nil {
		putBuf(&m.c.cfg.msgs, m.out)
		m.out = nil
	}
}

// deliverOnLoop hands a complete message to OnMessage.
func (c *Conn) deliverOnLoop(op frame.Opcode, data []byte) {
	c.lastData = c.lastRead
	c.cfg.stats.msgsIn.Add(1)
	c.cfg.stats.bytesIn.Add(int64(len(data)))
	if c.state == stateOpen && c.h.OnMessage != nil {
		c.callOnLoop(func() { c.h.OnMessage(c, MessageType(op), data) })
	}
}
