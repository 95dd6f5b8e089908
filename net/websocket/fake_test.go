package websocket

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// fakeTransport stands in for *net.Upgraded: it records what the session
// writes, simulates the outbound buffer for back-pressure, and reports the
// connection gone (Closed) on the loop after Close, as net does.
type fakeTransport struct {
	loop   *runtimetest.Loop
	ctx    context.Context
	cancel context.CancelFunc
	c      *Conn

	in        []byte // inbound bytes not yet consumed
	out       []byte // everything written
	writes    int    // Write calls
	buffered  int    // bytes "not yet written to the socket"
	highWater int    // 0: never back-pressure
	waiting   []runtime.Promise[struct{}]
	closed    bool
	syncClose bool // call Closed inside Close, as a transport may
}

func (f *fakeTransport) Write(p []byte) runtime.Future[struct{}] {
	if f.closed {
		return runtime.Rejected[struct{}](context.Canceled)
	}
	f.out = append(f.out, p...)
	f.writes++
	if f.highWater == 0 {
		return runtime.Resolved(struct{}{})
	}
	f.buffered += len(p)
	if f.buffered <= f.highWater {
		return runtime.Resolved(struct{}{})
	}
	pr := runtime.NewPromise[struct{}](f.loop)
	f.waiting = append(f.waiting, pr)
	return pr.Future()
}

func (f *fakeTransport) OutboundBuffered() int    { return f.buffered }
func (f *fakeTransport) Loop() runtime.Loop       { return f.loop }
func (f *fakeTransport) Context() context.Context { return f.ctx }

func (f *fakeTransport) Close() {
	if f.closed {
		return
	}
	f.closed = true
	if f.syncClose {
		f.cancel()
		f.c.closedOnLoop(nil)
		return
	}
	f.loop.Post(runtime.TaskFunc(func() {
		f.cancel()
		f.c.closedOnLoop(nil)
	}))
}

// drainOnLoop empties the simulated buffer and settles waiting writes.
func (f *fakeTransport) drainOnLoop() {
	f.buffered = 0
	for _, p := range f.waiting {
		p.Resolve(struct{}{})
	}
	f.waiting = nil
}

// harness is one session on a fake transport, and what its handler saw.
type harness struct {
	t    testing.TB
	loop *runtimetest.Loop
	ft   *fakeTransport
	c    *Conn

	// recorded on the loop
	messages []message
	closes   []closeEvent
}

type message struct {
	typ  MessageType
	data string
}

type closeEvent struct {
	code   StatusCode
	reason string
}

// newHarness opens a session with u's settings; extra, if set, is called
// for each message after it is recorded.
func newHarness(t testing.TB, u *Upgrader, d deflateParams, extra func(c *Conn, typ MessageType, data []byte)) *harness {
	t.Helper()
	return newHarnessOn(t, runtimetest.NewLoop(t), u, d, extra)
}

// newHarnessOn is newHarness with a session on loop, which other
// harnesses may share.
func newHarnessOn(t testing.TB, loop *runtimetest.Loop, u *Upgrader, d deflateParams, extra func(c *Conn, typ MessageType, data []byte)) *harness {
	t.Helper()
	cfg, err := u.configure()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, loop: loop}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.ft = &fakeTransport{loop: h.loop, ctx: ctx, cancel: cancel}
	h.c = newConn(cfg, Handler{
		OnMessage: func(c *Conn, typ MessageType, data []byte) {
			h.messages = append(h.messages, message{typ, string(data)})
			if extra != nil {
				extra(c, typ, data)
			}
		},
		OnClose: func(c *Conn, code StatusCode, reason string) {
			h.closes = append(h.closes, closeEvent{code, reason})
		},
	}, "", d)
	h.ft.c = h.c
	h.loop.Do(func() { h.c.openOnLoop(h.ft) })
	t.Cleanup(func() {
		h.loop.Do(func() {
			if !h.ft.closed {
				h.ft.Close()
			}
		})
	})
	return h
}

// feed delivers bytes as gnet would: appended to what is unconsumed.
func (h *harness) feed(b []byte) {
	h.loop.Do(func() {
		if h.ft.closed {
			return
		}
		h.ft.in = append(h.ft.in, b...)
		n := h.c.trafficOnLoop(h.ft.in)
		h.ft.in = append(h.ft.in[:0], h.ft.in[n:]...)
	})
}

// sync waits until the tasks posted so far have run.
func (h *harness) sync() { h.loop.Do(func() {}) }

// serverFrame is a frame the server wrote.
type serverFrame struct {
	op      frame.Opcode
	rsv1    bool
	fin     bool
	payload []byte
}

// frames parses everything the server wrote, as a client would. Tests
// must not call t.Fatal inside loop.Do: it would end the loop's goroutine.
func (h *harness) frames() []serverFrame {
	var out []byte
	h.loop.Do(func() { out = bytes.Clone(h.ft.out) })
	var fs []serverFrame
	for len(out) > 0 {
		var hd frame.Header
		n, err := frame.ParseHeader(out, &hd, frame.Client)
		if err != nil || n == 0 || int64(len(out)-n) < hd.Length {
			// Errorf, not Fatalf: frames may run on the loop's goroutine.
			h.t.Errorf("server wrote a bad frame: n=%d err=%v in % x", n, err, out)
			return fs
		}
		fs = append(fs, serverFrame{hd.Op, hd.RSV1, hd.Fin, out[n : n+int(hd.Length)]})
		out = out[n+int(hd.Length):]
	}
	return fs
}

// closeCode returns the code of the server's close frame, or 0 if it sent
// none.
func (h *harness) closeCode() uint16 {
	for _, f := range h.frames() {
		if f.op == frame.OpClose {
			if len(f.payload) < 2 {
				return uint16(StatusNoStatusRcvd)
			}
			return binary.BigEndian.Uint16(f.payload)
		}
	}
	return 0
}

func (h *harness) closed() bool {
	var c bool
	h.loop.Do(func() { c = h.ft.closed })
	return c
}

var testKey = [4]byte{0x12, 0x34, 0x56, 0x78}

// client builds a masked client frame.
func client(fin bool, op frame.Opcode, p []byte) []byte {
	return clientRSV(fin, false, op, p)
}

func clientRSV(fin, rsv1 bool, op frame.Opcode, p []byte) []byte {
	b := frame.AppendMaskedHeader(nil, fin, rsv1, op, len(p), testKey)
	s := len(b)
	b = append(b, p...)
	frame.Mask(testKey, 0, b[s:])
	return b
}

func closePayload(code uint16, reason string) []byte {
	return frame.AppendClosePayload(nil, code, reason)
}

// deflateMessage compresses p as a client would with no context takeover.
func deflateMessage(t testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), deflateTail)
}

func inflate(t testing.TB, p []byte) []byte {
	var cd codec
	out, err := cd.decompress(nil, bytes.Clone(p), 1<<30)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
