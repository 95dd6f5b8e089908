package net

import (
	"context"
	"errors"
	stdnet "net"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// TestConn is an in-memory connection to a Server's handler: request bytes
// in, response bytes out, through the same parser, connection state machine
// and response writer as a real connection, without gnet or sockets. It is
// for tests and benchmarks of handlers, routers and middleware, as
// net/http/httptest is for net/http.
//
// The goroutine that calls NewTestConn acts as the connection's loop:
// confine the TestConn to it. Continuations of asynchronous handlers run on
// it while Serve waits for their responses.
type TestConn struct {
	st *serverState
	l  *loop
	mc *memConn
	cn *conn
}

// NewTestConn returns a TestConn serving with s's configuration (s is not
// started; Addr and Loops are ignored). Close it when done.
func NewTestConn(s *Server) (*TestConn, error) {
	cfg, err := s.configure()
	if err != nil {
		return nil, err
	}
	st := newServerState(&cfg)
	st.noLagProbe = true
	ml := &memLoop{wake: make(chan struct{}, 1)}
	l := st.loopFor(ml)
	mc := &memConn{el: ml}
	cn := l.openOnLoop(mc)
	mc.ctx = cn
	return &TestConn{st: st, l: l, mc: mc, cn: cn}, nil
}

// ErrTestTimeout is returned by TestConn.Serve when responses are still
// owed after its timeout.
var ErrTestTimeout = errors.New("weft/net: TestConn: requests still in flight after the timeout")

// Serve feeds req (one or more requests, or part of one) to the connection
// and returns every response byte written until no request is in flight
// (or the one in flight waits for more of its streamed body), or until
// timeout (then with ErrTestTimeout). The returned slice is valid
// until the next call. Serve of a complete synchronous request does not
// allocate.
func (tc *TestConn) Serve(req []byte, timeout time.Duration) ([]byte, error) {
	tc.mc.out = tc.mc.out[:0]
	tc.mc.buf = append(tc.mc.buf, req...)
	if tc.mc.closed {
		return tc.mc.out, stdnet.ErrClosed
	}
	if tc.cn.onTraffic() == gnet.Close {
		tc.closeOnLoop()
	}
	var deadline <-chan time.Time
	for !tc.mc.closed {
		if tc.mc.el.runTasks() {
			continue // tasks may answer requests or read more (a resume)
		}
		if tc.l.inflight.Load() == 0 || tc.cn.awaitsBodyBytesOnLoop() {
			break // done, or nothing more can happen without more input
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-tc.mc.el.wake:
		case <-deadline:
			return tc.mc.out, ErrTestTimeout
		}
	}
	tc.mc.el.runTasks()
	return tc.mc.out, nil
}

// Closed reports whether the server closed the connection.
func (tc *TestConn) Closed() bool { return tc.mc.closed }

// Close closes the connection, as a client leaving, and releases the
// TestConn.
func (tc *TestConn) Close() {
	tc.closeOnLoop()
	tc.st.stopTicker()
	tc.l.owner.Release() // the goroutine is the caller's again
}

func (tc *TestConn) closeOnLoop() {
	if !tc.mc.closed {
		tc.mc.closed = true
		tc.cn.closedOnLoop(nil)
	}
}

// memConn is the gnet.Conn of a TestConn. The embedded interface is nil:
// the server calls only the methods below.
type memConn struct {
	gnet.Conn
	buf    []byte // inbound: buf[r:] is unread
	r      int
	out    []byte
	ctx    any
	el     *memLoop
	closed bool
}

func (m *memConn) Peek(n int) ([]byte, error) {
	in := m.buf[m.r:]
	if n < 0 || n > len(in) {
		return in, nil
	}
	return in[:n], nil
}

func (m *memConn) Discard(n int) (int, error) {
	n = min(n, len(m.buf)-m.r)
	m.r += n
	if m.r == len(m.buf) {
		m.buf, m.r = m.buf[:0], 0
	}
	return n, nil
}

func (m *memConn) InboundBuffered() int        { return len(m.buf) - m.r }
func (m *memConn) Write(p []byte) (int, error) { m.out = append(m.out, p...); return len(p), nil }
func (m *memConn) OutboundBuffered() int       { return 0 }

// Writev is Write for several buffers (a Stream's direct writes).
func (m *memConn) Writev(bs [][]byte) (n int, err error) {
	for _, b := range bs {
		m.out = append(m.out, b...)
		n += len(b)
	}
	return n, nil
}
func (m *memConn) RemoteAddr() stdnet.Addr   { return testRemoteAddr }
func (m *memConn) Context() any              { return m.ctx }
func (m *memConn) SetContext(v any)          { m.ctx = v }
func (m *memConn) EventLoop() gnet.EventLoop { return m.el }

var testRemoteAddr = &stdnet.TCPAddr{IP: stdnet.IPv4(192, 0, 2, 1), Port: 1234}

// memLoop is the gnet.EventLoop of a TestConn: Execute queues, and the
// TestConn's goroutine runs the queue.
type memLoop struct {
	gnet.EventLoop
	mu    sync.Mutex
	tasks []gnet.Runnable
	wake  chan struct{}
}

func (m *memLoop) Execute(_ context.Context, r gnet.Runnable) error {
	m.mu.Lock()
	m.tasks = append(m.tasks, r)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close is gnet's loop-side close; the TestConn marks its conn closed.
func (m *memLoop) Close(c gnet.Conn) error {
	mc := c.(*memConn)
	if !mc.closed {
		mc.closed = true
		if cn, ok := mc.ctx.(*conn); ok {
			cn.closedOnLoop(nil)
		}
	}
	return nil
}

// runTasks runs the queued tasks and reports whether there were any.
func (m *memLoop) runTasks() bool {
	m.mu.Lock()
	tasks := m.tasks
	m.tasks = nil
	m.mu.Unlock()
	for _, t := range tasks {
		_ = t.Run(context.Background())
	}
	return len(tasks) > 0
}
