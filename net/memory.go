package net

import (
	"context"
	"errors"
	"io"
	stdnet "net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// MemServer serves a Server's handler to in-memory connections: the same
// parser, connection state machine, limits, timeouts and response writer as
// a Server on gnet, on event loops of its own (one goroutine each, as gnet's
// are), without sockets. Handlers, their continuations, runtime.Blocking and
// offload jobs run as they would in production: futures are resolved off
// the loops and their continuations posted back.
//
// It is the transport under the webtest package (a test client in the
// spirit of net/http/httptest) and nethttp.ToHTTP (a weft handler inside a
// net/http server). Most code wants one of those rather than MemServer.
//
// Safe for concurrent use.
type MemServer struct {
	cfg   config
	st    *serverState
	loops []*memLoopRunner
	next  atomic.Uint32
	wg    sync.WaitGroup
	once  sync.Once
}

// NewMemServer starts s's configuration on in-memory loops (s.Loops of
// them, one per CPU by default; s.Addr is ignored, and s itself is not
// started). Close it when done: it owns goroutines.
func NewMemServer(s *Server) (*MemServer, error) {
	cfg, err := s.configure()
	if err != nil {
		return nil, err
	}
	m := &MemServer{cfg: cfg}
	m.st = newServerState(&m.cfg)
	for range m.cfg.loops {
		r := &memLoopRunner{wake: make(chan struct{}, 1), stop: make(chan struct{})}
		ready := make(chan struct{})
		m.wg.Add(1)
		go r.run(m.st, ready, &m.wg)
		<-ready
		m.loops = append(m.loops, r)
	}
	return m, nil
}

// Dial opens an in-memory connection to the server, as a client connecting
// from remote (nil: 192.0.2.1:1234, a documentation address): what the
// client writes is the request stream, what it reads the response stream.
// Writes never block (the server's MaxInboundBytes still applies); Read
// honours read deadlines; Close is the client leaving, which cancels the
// contexts of its requests in flight. Safe for concurrent use.
func (m *MemServer) Dial(remote stdnet.Addr) (stdnet.Conn, error) {
	if remote == nil {
		remote = testRemoteAddr
	}
	r := m.loops[int(m.next.Add(1))%len(m.loops)]
	p := &memPipe{
		el:       r,
		l:        r.l,
		remote:   remote,
		drainAt:  -1,
		readable: make(chan struct{}, 1),
		cliDone:  make(chan struct{}),
		srvDone:  make(chan struct{}),
	}
	if err := r.l.Post((*memOpen)(p)); err != nil {
		return nil, stdnet.ErrClosed
	}
	return &memClient{p: p}, nil
}

// InFlight returns how many requests have been read and not yet answered.
// Safe for concurrent use.
func (m *MemServer) InFlight() int { return int(m.st.inflight()) }

// Close closes every connection (their clients read EOF), cancels the
// contexts of the requests in flight, stops the loops and waits for them.
// Blocking functions and offload jobs still running finish on their own;
// their continuations no longer run. Safe for concurrent use; later calls
// do nothing.
func (m *MemServer) Close() {
	m.once.Do(func() {
		for _, r := range m.loops {
			close(r.stop)
		}
		m.wg.Wait()
		m.st.stopTicker()
	})
}

// memLoopRunner is the gnet.EventLoop of a MemServer loop: a goroutine
// running the tasks Execute queues. The embedded interface is nil: the
// server calls only Execute and Close.
type memLoopRunner struct {
	gnet.EventLoop
	l *loop

	mu      sync.Mutex
	tasks   []gnet.Runnable
	stopped bool
	wake    chan struct{}
	stop    chan struct{}
}

var errMemLoopStopped = errors.New("weft/net: in-memory loop stopped")

func (r *memLoopRunner) Execute(_ context.Context, t gnet.Runnable) error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return errMemLoopStopped
	}
	r.tasks = append(r.tasks, t)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close is gnet's loop-side close of a connection.
func (r *memLoopRunner) Close(c gnet.Conn) error {
	c.(*memPipe).closeOnLoop()
	return nil
}

func (r *memLoopRunner) run(st *serverState, ready chan<- struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	r.l = st.loopFor(r) // claims this goroutine for the loop
	close(ready)
	for {
		select {
		case <-r.wake:
			r.runTasks()
		case <-r.stop:
			r.runTasks()
			(*closeAll)(r.l).Run()
			r.mu.Lock()
			r.stopped = true
			r.mu.Unlock()
			r.runTasks()
			r.l.closeInbox()
			r.l.owner.Release()
			return
		}
	}
}

func (r *memLoopRunner) runTasks() {
	for {
		r.mu.Lock()
		tasks := r.tasks
		r.tasks = nil
		r.mu.Unlock()
		if len(tasks) == 0 {
			return
		}
		for _, t := range tasks {
			_ = t.Run(context.Background())
		}
	}
}

// memPipe is one in-memory connection: the gnet.Conn the server sees, and
// the state the client side (memClient) shares with it. The embedded
// interface is nil: the server calls only the methods below.
type memPipe struct {
	gnet.Conn
	el     *memLoopRunner
	l      *loop
	remote stdnet.Addr

	// loop-only
	cn   *conn
	ctx  any
	in   []byte // inbound taken from pending: in[r:] is unread
	r    int
	gone bool // closed on the loop's side

	mu       sync.Mutex
	pending  []byte // written by the client, not yet taken by the loop
	out      []byte // written by the server, not yet read by the client
	taken    int64  // bytes the client has read, all told (bytesTakenOnLoop)
	drainAt  int    // the client's reads post memDrained once out is down to this; -1: none wanted
	queued   bool   // a memTraffic task is queued
	cliGone  bool
	srvGone  bool
	deadline time.Time
	readable chan struct{} // cap 1: out grew, or the deadline changed
	cliDone  chan struct{} // closed when the client closes
	srvDone  chan struct{} // closed when the server closes
}

// memOpen, memTraffic, memHangup and memDrained are a memPipe's tasks on
// its loop.
type (
	memOpen    memPipe
	memTraffic memPipe
	memHangup  memPipe
	memDrained memPipe
)

// Run tells the connection that its output drained to what it asked
// (armDrainOnLoop).
func (t *memDrained) Run() {
	p := (*memPipe)(t)
	if !p.gone && p.cn != nil {
		p.l.drainEventOnLoop(p.cn)
	}
}

// armDrainOnLoop asks for a memDrained task once the client has read the
// output down to target bytes (at once if it has): a MemServer learns of
// drains from its clients' reads, as a Server does from EPOLLOUT
// (drain.go).
func (p *memPipe) armDrainOnLoop(target int) {
	p.mu.Lock()
	now := len(p.out) <= target
	if !now {
		p.drainAt = target
	}
	p.mu.Unlock()
	if now {
		_ = p.l.Post((*memDrained)(p))
	}
}

func (t *memOpen) Run() {
	p := (*memPipe)(t)
	p.l.st.conns.Add(1)
	p.l.open.Add(1)
	p.cn = p.l.openOnLoop(p)
	p.ctx = p.cn
}

func (t *memTraffic) Run() {
	p := (*memPipe)(t)
	p.mu.Lock()
	p.in = append(p.in, p.pending...)
	p.pending = p.pending[:0]
	p.queued = false
	p.mu.Unlock()
	if p.gone {
		return
	}
	if p.cn.onTraffic() == gnet.Close {
		p.closeOnLoop()
	}
}

func (t *memHangup) Run() { (*memPipe)(t).closeOnLoop() }

// closeOnLoop closes the connection on the server's side (a gnet close):
// the client reads what was written, then EOF.
func (p *memPipe) closeOnLoop() {
	if p.gone {
		return
	}
	p.gone = true
	p.markServerGone()
	if p.cn != nil {
		p.cn.closedOnLoop(nil)
		p.l.open.Add(-1)
		p.l.st.conns.Add(-1)
	}
	p.in, p.r = nil, 0
}

func (p *memPipe) markServerGone() {
	p.mu.Lock()
	if !p.srvGone {
		p.srvGone = true
		close(p.srvDone)
	}
	p.mu.Unlock()
}

func (p *memPipe) Peek(n int) ([]byte, error) {
	in := p.in[p.r:]
	if n < 0 || n > len(in) {
		return in, nil
	}
	return in[:n], nil
}

func (p *memPipe) Discard(n int) (int, error) {
	n = min(n, len(p.in)-p.r)
	p.r += n
	if p.r == len(p.in) {
		p.in, p.r = p.in[:0], 0
	}
	return n, nil
}

func (p *memPipe) InboundBuffered() int { return len(p.in) - p.r }

func (p *memPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	if !p.cliGone {
		p.out = append(p.out, b...)
	}
	p.mu.Unlock()
	select {
	case p.readable <- struct{}{}:
	default:
	}
	return len(b), nil
}

// Writev is Write for several buffers (a Stream's direct writes).
func (p *memPipe) Writev(bs [][]byte) (int, error) {
	p.mu.Lock()
	n := 0
	for _, b := range bs {
		if !p.cliGone {
			p.out = append(p.out, b...)
		}
		n += len(b)
	}
	p.mu.Unlock()
	select {
	case p.readable <- struct{}{}:
	default:
	}
	return n, nil
}

func (p *memPipe) OutboundBuffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.out)
}

// bytesTakenOnLoop returns the bytes the client has read so far: a
// MemServer's stand-in for the bytes a socket's client acknowledged
// (noteAckedOnLoop), since out, unlike a socket's send buffer, takes all
// that is written, so its size alone hides a steady slow reader.
func (p *memPipe) bytesTakenOnLoop() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.taken
}

func (p *memPipe) RemoteAddr() stdnet.Addr   { return p.remote }
func (p *memPipe) LocalAddr() stdnet.Addr    { return memAddr{} }
func (p *memPipe) Context() any              { return p.ctx }
func (p *memPipe) SetContext(v any)          { p.ctx = v }
func (p *memPipe) EventLoop() gnet.EventLoop { return p.el }

// memClient is the client's end of a memPipe.
type memClient struct{ p *memPipe }

func (c *memClient) Read(b []byte) (int, error) {
	p := c.p
	for {
		p.mu.Lock()
		if len(p.out) > 0 {
			n := copy(b, p.out)
			p.out = p.out[n:]
			p.taken += int64(n)
			if len(p.out) == 0 {
				p.out = nil
			}
			drained := p.drainAt >= 0 && len(p.out) <= p.drainAt
			if drained {
				p.drainAt = -1
			}
			p.mu.Unlock()
			if drained {
				_ = p.l.Post((*memDrained)(p))
			}
			return n, nil
		}
		if p.cliGone {
			p.mu.Unlock()
			return 0, stdnet.ErrClosed
		}
		if p.srvGone {
			p.mu.Unlock()
			return 0, io.EOF
		}
		dl := p.deadline
		p.mu.Unlock()
		if err := p.waitReadable(dl); err != nil {
			return 0, err
		}
	}
}

// waitReadable waits until something may have changed for a reader, or
// until the deadline dl (zero: none) passes.
func (p *memPipe) waitReadable(dl time.Time) error {
	var timeout <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.readable:
	case <-p.srvDone:
	case <-p.cliDone:
	case <-timeout:
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (c *memClient) Write(b []byte) (int, error) {
	p := c.p
	p.mu.Lock()
	switch {
	case p.cliGone:
		p.mu.Unlock()
		return 0, stdnet.ErrClosed
	case p.srvGone:
		p.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	p.pending = append(p.pending, b...)
	post := !p.queued
	p.queued = true
	p.mu.Unlock()
	if post {
		if err := p.l.Post((*memTraffic)(p)); err != nil {
			return 0, io.ErrClosedPipe
		}
	}
	return len(b), nil
}

func (c *memClient) Close() error {
	p := c.p
	p.mu.Lock()
	if p.cliGone {
		p.mu.Unlock()
		return nil
	}
	p.cliGone = true
	p.out = nil
	close(p.cliDone)
	p.mu.Unlock()
	_ = p.l.Post((*memHangup)(p))
	return nil
}

func (c *memClient) LocalAddr() stdnet.Addr  { return c.p.remote }
func (c *memClient) RemoteAddr() stdnet.Addr { return memAddr{} }

func (c *memClient) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *memClient) SetReadDeadline(t time.Time) error {
	p := c.p
	p.mu.Lock()
	p.deadline = t
	p.mu.Unlock()
	select {
	case p.readable <- struct{}{}:
	default:
	}
	return nil
}

// SetWriteDeadline does nothing: writes never block.
func (c *memClient) SetWriteDeadline(time.Time) error { return nil }

// memAddr is the server's address on an in-memory connection.
type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "weft.memory:80" }
