package net

import (
	"bufio"
	"bytes"
	"context"
	"io"
	stdnet "net"
	"net/http"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/runtime"
)

// pieceConn is a gnet.Conn that records the largest slice weft hands gnet
// in one Write or Writev (loop-only, as the connection).
type pieceConn struct {
	gnet.Conn
	largest int
}

func (p *pieceConn) Write(b []byte) (int, error) {
	p.largest = max(p.largest, len(b))
	return p.Conn.Write(b)
}

func (p *pieceConn) Writev(bs [][]byte) (int, error) {
	for _, b := range bs {
		p.largest = max(p.largest, len(b))
	}
	return p.Conn.Writev(bs)
}

// streamProbe is what a streaming handler saw after each of its writes.
type streamProbe struct {
	maxHeld    int // the most held ahead of and by the stream (heldUpToOnLoop)
	maxPending int // the most the stream had queued itself
	waits      int // writes that had to wait for a drain
	largest    int // the largest slice handed to gnet at once
}

// probedStream returns a handler that streams size bytes in writes of
// chunk bytes, waiting on each write's future, and records in *pr what it
// saw; done is closed when the handler has ended the stream.
func probedStream(size, chunk int, pr *streamProbe, done chan<- struct{}) Handler {
	body := bytes.Repeat([]byte("0123456789abcdef"), chunk/16)
	return func(c *Ctx) Result {
		c.SetContentLength(int64(size))
		s := c.Stream(StatusOK)
		// A small send buffer: the kernel takes little of what the
		// client does not read, whatever its autotuning would allow.
		_ = unix.SetsockoptInt(c.conn.gc.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 64<<10)
		rec := &pieceConn{Conn: c.conn.gc}
		c.conn.gc = rec
		var from func(sent int) Result
		from = func(sent int) Result {
			for sent < size {
				f := s.Write(body[:min(chunk, size-sent)])
				sent += min(chunk, size-sent)
				pr.maxHeld = max(pr.maxHeld, c.conn.heldUpToOnLoop(s))
				pr.maxPending = max(pr.maxPending, len(s.pending))
				if !f.Ready() {
					pr.waits++
					return runtime.Then(c, f, func(struct{}) Result { return from(sent) })
				}
			}
			pr.largest = rec.largest
			c.conn.gc = rec.Conn // el.Close wants gnet's own
			close(done)
			return s.End()
		}
		return from(0)
	}
}

// streamPaced serves one probedStream of size bytes in writes of chunk
// bytes, with mark as the stream's high-water mark, to a client that reads
// it with readPaced, and returns what the handler saw and the server's
// loop.
func streamPaced(t *testing.T, mark, size, chunk int) (streamProbe, *loop) {
	t.Helper()
	var pr streamProbe
	done := make(chan struct{})
	addr, l := startInternal(t, &Server{
		StreamHighWaterBytes: mark,
		Handler:              probedStream(size, chunk, &pr, done),
	})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	readPaced(t, conn, size)
	<-done // closed on the loop after the handler's last write: pr is complete
	return pr, l
}

// readPaced reads a response of size bytes from conn in small reads, a
// pause between them, so that the server's writer meets its mark.
func readPaced(t *testing.T, conn stdnet.Conn, size int) {
	t.Helper()
	br := bufio.NewReaderSize(conn, 16<<10)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 16<<10)
	n := 0
	for {
		k, err := res.Body.Read(buf)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	if n != size {
		t.Fatalf("read %d bytes, want %d", n, size)
	}
}

// dial connects to addr.
func dial(t *testing.T, addr string) stdnet.Conn {
	t.Helper()
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// The deadline turns a hang into a failure; nothing is timed.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// expectBodies reads one response per want from br, in order, and fails
// unless each body is exactly its want.
func expectBodies(t *testing.T, br *bufio.Reader, wants ...[]byte) {
	t.Helper()
	for i, want := range wants {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("response %d: %d bytes (want %d), %v", i+1, len(got), len(want), err)
		}
	}
}

// TestStreamHoldsAtMostTheMark is the regression test of issue 8's slow
// reader (+20 MiB for one client): a stream's body went through its
// pending buffer on the handler's first call (regrown to the mark), and
// gnet was handed multi-MiB writes, which its buffer rounds up to the next
// power of two. Now a stream whose writer waits on each future holds at
// most the mark plus one write in gnet's buffer and its own queue, queues
// nothing itself while it is the oldest response, and hands gnet no slice
// over maxPiece.
func TestStreamHoldsAtMostTheMark(t *testing.T) {
	const (
		size  = 8 << 20
		chunk = 96 << 10 // over maxPiece: cut in two for gnet
		mark  = 256 << 10
	)
	pr, _ := streamPaced(t, mark, size, chunk)
	if pr.waits == 0 {
		t.Fatal("no write waited: the test did not reach the mark")
	}
	if pr.maxHeld > mark+chunk {
		t.Errorf("held %d bytes at most; want at most the mark plus a write (%d)", pr.maxHeld, mark+chunk)
	}
	if pr.maxPending > 0 {
		t.Errorf("the stream queued up to %d bytes itself; its writes should all go to gnet", pr.maxPending)
	}
	if pr.largest > maxPiece {
		t.Errorf("gnet was handed %d bytes at once; want at most %d", pr.largest, maxPiece)
	}
}

// TestStreamDrainWakesWithoutTheTimer: a writer waiting for the client to
// drain its output is released by the drain watcher's event, never by the
// 1 ms timer (which capped a waiting stream at half the mark a poll).
func TestStreamDrainWakesWithoutTheTimer(t *testing.T) {
	const (
		size  = 4 << 20
		chunk = 64 << 10
	)
	pr, l := streamPaced(t, 128<<10, size, chunk)
	if pr.waits == 0 {
		t.Fatal("no write waited: the test did not reach the mark")
	}
	if n := l.drainEvents.Load(); n == 0 {
		t.Error("no drain event: the writers were released otherwise")
	}
	if n := l.drainPolls.Load(); n != 0 {
		t.Errorf("%d drain polls ran; the watcher should have told every drain", n)
	}
}

// TestDrainWatcherStopsOnShutdown: the drain watcher's goroutine exits
// when the server stops (goleak in TestMain checks every test too).
func TestDrainWatcherStopsOnShutdown(t *testing.T) {
	s := &Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *Ctx) Result { return c.Text(200, "ok") }}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w := s.state.Load().drainW
	if w == nil {
		t.Fatal("the server has no drain watcher")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	default:
		t.Fatal("Shutdown returned with the drain watcher still running")
	}
}

// TestPipelinedStreamKeepsOrder: a stream pipelined behind a response that
// is not ready queues its body (more than maxKeptOut, written after the
// merged write without being copied into it); the earlier response still
// goes out first, and every byte in order.
func TestPipelinedStreamKeepsOrder(t *testing.T) {
	const size = 300 << 10
	body := make([]byte, size)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	var first runtime.Promise[struct{}] // the loop's
	queued := make(chan struct{})
	addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if c.Path() == "/first" {
			first = runtime.NewPromise[struct{}](c.Loop())
			return runtime.Then(c, first.Future(), func(struct{}) Result { return c.Text(200, "first") })
		}
		s := c.Stream(StatusOK)
		for i := 0; i < size; i += 50 << 10 {
			s.Write(body[i:min(i+50<<10, size)])
		}
		if len(s.pending) <= maxKeptOut {
			t.Errorf("the stream queued %d bytes; the test wants more than %d", len(s.pending), maxKeptOut)
		}
		close(queued)
		return s.End()
	}})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-queued
	onLoop(t, l, func() { first.Resolve(struct{}{}) })
	br := bufio.NewReader(conn)
	expectBodies(t, br, []byte("first"), body)
}

// TestStreamLengthShortBeforeItsHeadIs500: a stream whose first writes are
// under streamGather keeps them for the pass, so ending it short of its
// Content-Length in the same call is still answered 500, not cut.
func TestStreamLengthShortBeforeItsHeadIs500(t *testing.T) {
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		c.SetContentLength(100)
		s := c.Stream(StatusOK)
		s.Write([]byte("short"))
		return s.End()
	}})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 500 {
		t.Fatalf("status %d, want 500", res.StatusCode)
	}
}

// TestMemServerDrainsOnReads: on a MemServer, a writer waiting for its
// client is released by the client's reads, not by the drain timer.
func TestMemServerDrainsOnReads(t *testing.T) {
	const (
		size  = 2 << 20
		chunk = 32 << 10
	)
	body := bytes.Repeat([]byte("x"), chunk)
	waits := 0
	m, err := NewMemServer(&Server{
		Loops:                1,
		StreamHighWaterBytes: 64 << 10,
		Handler: func(c *Ctx) Result {
			s := c.Stream(StatusOK)
			var from func(sent int) Result
			from = func(sent int) Result {
				for ; sent < size; sent += chunk {
					if f := s.Write(body); !f.Ready() {
						waits++
						return runtime.Then(c, f, func(struct{}) Result { return from(sent + chunk) })
					}
				}
				return s.End()
			}
			return from(0)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	conn, err := m.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	readPaced(t, conn, size)
	l := m.st.drainTest()
	onLoop(t, l, func() {})
	if waits == 0 {
		t.Fatal("no write waited: the test did not reach the mark")
	}
	if l.drainEvents.Load() == 0 || l.drainPolls.Load() != 0 {
		t.Fatalf("%d drain events, %d drain polls; want events only", l.drainEvents.Load(), l.drainPolls.Load())
	}
}

// drainTest returns the state's one loop.
func (st *serverState) drainTest() *loop { return (*st.loops.Load())[0] }

// TestStreamMarkDefault: the stream mark is 256 KiB unless MaxOutboundBytes
// is less (then it is that), and a mark over MaxOutboundBytes is refused.
// 256 KiB, not 1 MiB: a reader that keeps the socket full cost a third of
// the page faults and RSS for the same CPU and rates (docs/streaming.md,
// Figures).
func TestStreamMarkDefault(t *testing.T) {
	for _, tc := range []struct{ outbound, mark, want int }{
		{0, 0, 256 << 10},
		{100 << 10, 0, 100 << 10},
		{0, 1 << 20, 1 << 20},
	} {
		s := &Server{MaxOutboundBytes: tc.outbound, StreamHighWaterBytes: tc.mark, Handler: func(c *Ctx) Result { return c.Text(StatusOK, "") }}
		cfg, err := s.configure()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.streamMark != tc.want {
			t.Errorf("MaxOutboundBytes %d, StreamHighWaterBytes %d: mark %d, want %d", tc.outbound, tc.mark, cfg.streamMark, tc.want)
		}
	}
	over := &Server{MaxOutboundBytes: 64 << 10, StreamHighWaterBytes: 128 << 10, Handler: func(c *Ctx) Result { return c.Text(StatusOK, "") }}
	if _, err := over.configure(); err == nil {
		t.Error("a mark over MaxOutboundBytes was accepted")
	}
}
