package net

import (
	"bufio"
	"context"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// startInternal starts s on 127.0.0.1 with one loop and a sweep that never
// comes (so that nothing a test sees can be the sweep's doing).
func startInternal(t *testing.T, s *Server) (string, *loop) {
	t.Helper()
	s.Addr = "127.0.0.1:0"
	s.Loops = 1
	if s.tick == 0 {
		s.tick = time.Hour
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	var l *loop
	s.state.Load().forEachLoop(func(x *loop) { l = x })
	return s.ListenAddr().String(), l
}

// TestReadingResumesWhenOutputDrains is the regression test of issue 8 §5.1:
// a response larger than MaxOutboundBytes paused reading, and only the
// 250 ms sweep resumed it. With the sweep disabled, the pipelined request
// behind such a response must still be answered: the drain watch resumes
// the connection.
func TestReadingResumesWhenOutputDrains(t *testing.T) {
	const size = 8 << 20 // more than the kernel's socket buffers take at once
	body := strings.Repeat("x", size)
	addr, l := startInternal(t, &Server{
		MaxOutboundBytes: 64 << 10,
		MaxPipelined:     1,
		Handler:          func(c *Ctx) Result { return c.Text(200, body) },
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The deadline only turns a hang (the old behaviour, with no sweep)
	// into a failure; nothing is timed.
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(conn, 4096)
	for i := range 2 {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || n != size {
			t.Fatalf("response %d: %d bytes, %v", i+1, n, err)
		}
	}
	if n := l.sweeps.Load(); n != 0 {
		t.Fatalf("%d sweeps ran; the test needs none", n)
	}
	if l.drains.Load() == 0 {
		t.Fatal("the second request was answered, but not after a drain the watch saw")
	}
}

// TestLargeResponsesOnKeepAliveNeedNoSweep: 16 MiB responses one after the
// other on one connection (the slowness of issue 8): each request, sent once
// the previous response is read, is a pass that sees the output drained.
func TestLargeResponsesOnKeepAliveNeedNoSweep(t *testing.T) {
	const size = 16 << 20
	body := strings.Repeat("y", size)
	addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result { return c.Text(200, body) }})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReaderSize(conn, 64<<10)
	for i := range 4 {
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if n != size {
			t.Fatalf("response %d: %d bytes", i+1, n)
		}
	}
	if n := l.sweeps.Load(); n != 0 {
		t.Fatalf("%d sweeps ran; the test needs none", n)
	}
}

// onLoop runs fn on l and waits for it.
func onLoop(t *testing.T, l *loop, fn func()) {
	t.Helper()
	done := make(chan struct{})
	if err := l.Post(taskFunc(func() { fn(); close(done) })); err != nil {
		t.Fatal(err)
	}
	<-done
}

type taskFunc func()

func (f taskFunc) Run() { f() }

// TestInboundIsNotPausedByGnet is the trial behind conn.go's header: while
// weft consumes nothing of a connection (its one allowed request is in
// flight), gnet still reads everything the client sends into the
// connection's inbound buffer. If gnet ever learns to pause reading, this
// fails, and weft should use it.
func TestInboundIsNotPausedByGnet(t *testing.T) {
	const sent = 4 << 20
	hold := make(chan struct{})
	addr, l := startInternal(t, &Server{
		MaxPipelined:    1,
		MaxInboundBytes: 64 << 20,
		Handler: func(c *Ctx) Result {
			if c.Path() == "/hold" {
				p := runtime.NewPromise[struct{}](c.Loop())
				go func() { <-hold; p.Resolve(struct{}{}) }()
				return runtime.Then(c, p.Future(), func(struct{}) Result { return c.Text(200, "held") })
			}
			return c.Text(200, "ok")
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(conn, strings.Repeat(req, sent/len(req))); err != nil {
		t.Fatal(err)
	}
	// Everything was written; wait (by looking on the loop) until gnet has
	// read it all, unconsumed.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var in int
		onLoop(t, l, func() {
			for _, cn := range l.conns {
				in = max(in, cn.gc.InboundBuffered())
			}
		})
		if in >= sent-len(req) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnet holds %d unconsumed bytes of %d sent: it paused reading?", in, sent)
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
}

// TestLoopRunsOnlyItsBatch: a task posted by a task of the loop's batch
// runs in the next batch (one more gnet Execute), not in the same one.
func TestLoopRunsOnlyItsBatch(t *testing.T) {
	tc, err := NewTestConn(&Server{Handler: func(c *Ctx) Result { return Done() }})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	l := tc.l
	var order []string
	_ = l.Post(taskFunc(func() {
		order = append(order, "a")
		_ = l.Post(taskFunc(func() { order = append(order, "b") }))
	}))
	tc.mc.el.runTasks()
	if len(order) != 1 {
		t.Fatalf("first batch ran %v; want only a", order)
	}
	tc.mc.el.runTasks()
	if len(order) != 2 {
		t.Fatalf("second batch: %v; want a, b", order)
	}
}

// TestTurnLimitYields: a client pipelining more than maxRequestsPerTurn
// requests gets that many answered in its turn; the rest wait for the
// loop's next batch.
func TestTurnLimitYields(t *testing.T) {
	tc, err := NewTestConn(&Server{MaxPipelined: 1000, Handler: func(c *Ctx) Result { return c.Text(200, "k") }})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	const n = maxRequestsPerTurn*2 + 10
	tc.mc.buf = append(tc.mc.buf, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", n)...)
	tc.cn.onTraffic()
	count := func() int { return strings.Count(string(tc.mc.out), "HTTP/1.1 200") }
	if got := count(); got != maxRequestsPerTurn {
		t.Fatalf("first turn answered %d; want %d", got, maxRequestsPerTurn)
	}
	tc.mc.el.runTasks()
	if got := count(); got != 2*maxRequestsPerTurn {
		t.Fatalf("after the next batch: %d answered; want %d", got, 2*maxRequestsPerTurn)
	}
	for tc.mc.el.runTasks() {
	}
	if got := count(); got != n {
		t.Fatalf("in the end %d answered; want %d", got, n)
	}
}

// TestHeadInPiecesParsesInLinearWork is the regression test of issue 8
// §5.2: a 4 KiB head arriving 16 bytes at a time over a real socket was
// parsed from its start at every piece (the partial Ctx went back to the
// pool, and the parser resumed only for the same buffer address). Each
// piece is let in only once the loop holds the previous ones, so that
// every piece is a read of its own.
func TestHeadInPiecesParsesInLinearWork(t *testing.T) {
	scanned := make(chan int, 1)
	addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		scanned <- c.req.Scanned
		return c.Text(200, "ok")
	}})
	var head strings.Builder
	head.WriteString("GET /x HTTP/1.1\r\nHost: x\r\n")
	for i := 0; head.Len() < 4000; i++ {
		head.WriteString("X-Field-" + strings.Repeat("a", i%7) + ": " + strings.Repeat("v", 60) + "\r\n")
	}
	head.WriteString("\r\n")
	req := head.String()
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	for off := 0; off < len(req); off += 16 {
		end := min(off+16, len(req))
		if _, err := io.WriteString(conn, req[off:end]); err != nil {
			t.Fatal(err)
		}
		if end == len(req) {
			break
		}
		for held := 0; held < end; {
			onLoop(t, l, func() {
				held = 0
				for _, cn := range l.conns {
					held = cn.gc.InboundBuffered()
				}
			})
		}
	}
	got := <-scanned
	if got > 3*len(req) {
		t.Fatalf("the parser examined %d bytes for a %d-byte head in 16-byte pieces; want linear work (at most %d)", got, len(req), 3*len(req))
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%v, %v", res, err)
	}
}

// TestFailedStartCanBeShutDownAndRetried is the regression test of issue 8
// §5.3: a Start that failed inside serve (gnet's listener) left Shutdown a
// nil listener to close, and Start could not be called again.
func TestFailedStartCanBeShutDownAndRetried(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *Ctx) Result { return c.Text(200, "ok") }}
	s.loopsAddr = "tcp://" + ln.Addr().String() // taken: gnet cannot listen there
	if err := s.Start(); err == nil {
		t.Fatal("Start succeeded on a taken private socket")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after a failed Start: %v", err)
	}
	s.loopsAddr = ""
	if err := s.Start(); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	res, err := http.Get("http://" + s.ListenAddr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestStartWithoutATempDir is the regression test of issue 8 §5.8: Start
// needed a writable TMPDIR for its private socket.
func TestStartWithoutATempDir(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent/weft-test")
	t.Setenv("XDG_RUNTIME_DIR", "/nonexistent/weft-test")
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result { return c.Text(200, "ok") }})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// TestStartWithNoDirectoryAtAll: with no writable directory, gnet's private
// listener is a loopback TCP port, and the loops' probes are recognized on
// it (they are never served as clients).
func TestStartWithNoDirectoryAtAll(t *testing.T) {
	addr, cleanup, err := privateSocketIn([]string{"/nonexistent/a", "/nonexistent/b"})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if !strings.HasPrefix(addr, "tcp://127.0.0.1:") {
		t.Fatalf("fallback address %q; want a loopback TCP port", addr)
	}
	s := &Server{Handler: func(c *Ctx) Result { return c.Text(200, "ok") }}
	s.loopsAddr = addr
	a, _ := startInternal(t, s)
	res, err := http.Get("http://" + a + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// TestStreamBackPressure: a producer that waits for each Write's future
// never has more than MaxOutboundBytes (plus the write in hand) queued for
// the client, some writes do wait, and the client gets every byte. The
// sweep is off: the drain watch alone releases the writers.
func TestStreamBackPressure(t *testing.T) {
	const (
		limit = 64 << 10
		chunk = 16 << 10
		total = 32 << 20 // more than the kernel's socket buffers hold
	)
	var maxQueued, waited int
	first := make(chan struct{}) // closed at the first write that waits
	addr, l := startInternal(t, &Server{MaxOutboundBytes: limit, Handler: func(c *Ctx) Result {
		c.SetContentLength(total)
		s := c.Stream(200)
		buf := []byte(strings.Repeat("z", chunk))
		sent := 0
		var next func(struct{}) Result
		next = func(struct{}) Result {
			if sent == total {
				return s.End()
			}
			f := s.Write(buf)
			sent += chunk
			maxQueued = max(maxQueued, s.cn.gc.OutboundBuffered()+len(s.pending))
			if !f.Ready() {
				if waited++; waited == 1 {
					close(first)
				}
			}
			return runtime.Then(c, f, next)
		}
		return next(struct{}{})
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	// Read none of the body until a write has had to wait (if none ever
	// does, the handler ends and the deadline of the read below fails).
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("no write waited while the client read nothing: no back-pressure")
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || n != total {
		t.Fatalf("read %d of %d: %v", n, total, err)
	}
	// The handler ran on the loop: read its counts there.
	onLoop(t, l, func() {})
	if maxQueued > limit+chunk {
		t.Fatalf("up to %d bytes queued; want at most the limit %d plus one write %d", maxQueued, limit, chunk)
	}
}

// TestStreamedBodyPausesReading: while the handler holds a chunk of its
// streamed body without asking for the next, the connection takes the
// socket out of gnet's read interest, so the client's bytes wait in TCP
// (its window closes) instead of piling up in gnet's buffer; once the
// handler reads on, the whole body arrives intact.
func TestStreamedBodyPausesReading(t *testing.T) {
	const size = 16 << 20
	release := make(chan struct{})
	got := make(chan int64, 1)
	addr, l := startInternal(t, &Server{
		StreamBody: func(*Ctx) int64 { return 1 << 30 },
		Handler: func(c *Ctx) Result {
			var n int64
			var next func([]byte) Result
			next = func(b []byte) Result {
				n += int64(len(b))
				if n > 0 && n == int64(len(b)) {
					// The first chunk: hold it until the test says.
					p := runtime.NewPromise[struct{}](c.Loop())
					go func() { <-release; p.Resolve(struct{}{}) }()
					return runtime.Then(c, p.Future(), func(struct{}) Result {
						return runtime.Then(c, c.BodyChunk(), next)
					})
				}
				return runtime.Then(c, c.BodyChunk(), next)
			}
			return next(nil).Catch(c, func(err error) Result {
				got <- n
				return c.Text(200, "ok")
			})
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		io.WriteString(conn, strings.Repeat("b", size))
	}()
	deadline := time.Now().Add(20 * time.Second)
	for l.readPauses.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("reading was never paused")
		}
		time.Sleep(time.Millisecond)
	}
	// Look at gnet's buffer a few times while the handler holds its chunk.
	held := 0
	for range 50 {
		onLoop(t, l, func() {
			for _, cn := range l.conns {
				held = max(held, cn.gc.InboundBuffered())
			}
		})
	}
	close(release)
	if n := <-got; n != size {
		t.Fatalf("the handler read %d of %d bytes", n, size)
	}
	if held > 1<<20 {
		t.Fatalf("gnet held %d unread bytes while reading was paused; want at most a few reads", held)
	}
}

// TestStalledStreamedBodyTimesOut: a client that sends part of a streamed
// body and stops is cut off after ReadTimeout without progress, and the
// handler's read fails.
func TestStalledStreamedBodyTimesOut(t *testing.T) {
	failed := make(chan error, 1)
	s := &Server{
		ReadTimeout: 50 * time.Millisecond,
		tick:        10 * time.Millisecond,
		StreamBody:  func(*Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			var next func([]byte) Result
			next = func([]byte) Result { return runtime.Then(c, c.BodyChunk(), next) }
			return next(nil).Catch(c, func(err error) Result {
				failed <- err
				return Fail(err)
			})
		},
	}
	addr, _ := startInternal(t, s) // with a fast sweep
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nsome")
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the server did not close the stalled connection: %v", err)
	}
	if err := <-failed; !errors.Is(err, ErrClientGone) {
		t.Fatalf("the handler's read failed with %v; want ErrClientGone", err)
	}
}
