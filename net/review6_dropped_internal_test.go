package net

import (
	"bytes"
	"errors"
	"io"
	stdnet "net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// closeCounter is a reader that records its Close.
type closeCounter struct {
	io.Reader
	closed atomic.Bool
}

func (r *closeCounter) Close() error { r.closed.Store(true); return nil }

// TestReview6SendReaderOfADroppedRequest (798e44d, 48da8d4): an aborted
// stream now leaves the connection open (phaseClosing) until the answers
// before it are sent, and drops the requests queued behind it
// (dropQueueOnLoop: writtenOnLoop, not frozen; their request context is
// cancelled, their answer scope is not). A handler behind it that answers
// later with SendFile (its open finishing after the drop) gets a live Stream
// on the dropped Ctx, and its pump reads in the still-live answer scope;
// the Stream is in no queue, so its writes wait for a turn that never
// comes, and when the connection closes nothing rejects them
// (closedOnLoop and releaseWritersOnLoop only see cn.queue): the pump's
// Result never settles, the reader is never closed, the Ctx never recycled.
// (Before 798e44d the abort closed the connection in the same pass, and
// before 48da8d4 the read ran in the request's context, cancelled by
// writtenOnLoop.)
func TestReview6SendReaderOfADroppedRequest(t *testing.T) {
	pA := make(chan runtime.Promise[struct{}], 1)
	pB := make(chan runtime.Promise[struct{}], 1)
	r := &closeCounter{Reader: bytes.NewReader(make([]byte, 1<<20))}
	var later *Ctx
	addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		p := runtime.NewPromise[struct{}](c.Loop())
		if c.Path() == "/abort" {
			s := c.Stream(StatusOK)
			s.Write(make([]byte, 8<<20)) // the client does not read: most waits in gnet's buffer
			pA <- p
			return runtime.Then(c, p.Future(), func(struct{}) Result { return s.Abort(errors.New("upstream failed")) })
		}
		later = c
		// What SendFile does at its call: its open, off the loop, runs
		// in the answer scope, and SendReader reads in the same scope.
		c.answerScope()
		pB <- p
		return runtime.Then(c, p.Future(), func(struct{}) Result {
			return c.SendReader(StatusOK, "application/octet-stream", r, 1<<20)
		})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	if _, err := io.WriteString(conn, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	a, b := <-pA, <-pB
	a.Resolve(struct{}{})
	// Until the abort's turn has dropped /later (the connection stays
	// open: its output waits for a client that does not read).
	for dropped := false; !dropped; {
		onLoop(t, l, func() {
			dropped = later.written && len(l.conns) == 1 && l.conns[0].phase == phaseClosing
		})
		time.Sleep(time.Millisecond)
	}
	b.Resolve(struct{}{})
	// Until its SendReader has either started writing (the bug: a live
	// stream on a dropped request) or ended (closing its reader).
	for started := false; !started; {
		onLoop(t, l, func() { started = r.closed.Load() || (later.stream != nil && later.stream.written > 0) })
		time.Sleep(time.Millisecond)
	}
	conn.Close()
	for gone := false; !gone; {
		onLoop(t, l, func() { gone = len(l.conns) == 0 })
		time.Sleep(time.Millisecond)
	}
	onLoop(t, l, func() {})
	if !r.closed.Load() {
		t.Fatal("the connection is closed, but the SendReader of the request dropped behind the aborted stream still waits: its reader was never closed (its Ctx and goroutine leak)")
	}
}
