package net

import (
	"context"
	stdnet "net"
	"testing"

	"github.com/panjf2000/gnet/v2"
)

// fakeConn is a gnet.Conn that serves one in-memory request buffer, for
// in-process benchmarks and tests of the connection state machine. The
// embedded interface is nil: a method not overridden here panics.
type fakeConn struct {
	gnet.Conn
	in  []byte
	out []byte
	ctx any
	el  *fakeLoop
}

func (f *fakeConn) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}

func (f *fakeConn) Discard(n int) (int, error) {
	f.in = f.in[n:]
	return n, nil
}

func (f *fakeConn) InboundBuffered() int        { return len(f.in) }
func (f *fakeConn) Write(p []byte) (int, error) { f.out = append(f.out, p...); return len(p), nil }
func (f *fakeConn) OutboundBuffered() int       { return 0 }
func (f *fakeConn) RemoteAddr() stdnet.Addr {
	return &stdnet.TCPAddr{IP: stdnet.IPv4(127, 0, 0, 1), Port: 1}
}
func (f *fakeConn) Context() any              { return f.ctx }
func (f *fakeConn) SetContext(v any)          { f.ctx = v }
func (f *fakeConn) EventLoop() gnet.EventLoop { return f.el }

// fakeLoop is a gnet.EventLoop that runs Execute'd tasks when told.
type fakeLoop struct {
	gnet.EventLoop
	tasks []gnet.Runnable
}

func (f *fakeLoop) Execute(_ context.Context, r gnet.Runnable) error {
	f.tasks = append(f.tasks, r)
	return nil
}

func (f *fakeLoop) runTasks() {
	for len(f.tasks) > 0 {
		t := f.tasks[0]
		f.tasks = f.tasks[1:]
		_ = t.Run(context.Background())
	}
}

// newFakeServer returns a loop of a server configured like s, without
// gnet, and a connection on it.
func newFakeServer(tb testing.TB, s *Server) (*loop, *fakeConn, *conn) {
	tb.Helper()
	cfg, err := s.configure()
	if err != nil {
		tb.Fatal(err)
	}
	st := newServerState(&cfg)
	tb.Cleanup(st.stopTicker)
	fl := &fakeLoop{}
	l := st.loopFor(fl)
	fc := &fakeConn{el: fl}
	cn := l.openOnLoop(fc)
	fc.ctx = cn
	return l, fc, cn
}
