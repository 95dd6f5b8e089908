package net

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/runtime"
)

// pattern returns n bytes that say where they are, so that a byte lost,
// repeated or moved is seen.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%23)
	}
	return b
}

// TestStreamGatherBoundariesPipelined: streams whose synchronous writes
// land around streamGather (the head goes out with the first 16 KiB),
// chunked and with a Content-Length, each pipelined between two plain
// responses, arrive whole and in order.
func TestStreamGatherBoundariesPipelined(t *testing.T) {
	cases := [][]int{
		{streamGather},
		{streamGather - 1},
		{streamGather - 1, 1},
		{streamGather - 1, 2},
		{1, streamGather - 1, 5},
		{streamGather / 2, streamGather / 2},
		{streamGather, streamGather},
		{maxPiece},
		{maxPiece + 1},
		{3 * maxPiece, 7, maxPiece - 1},
	}
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if !strings.HasPrefix(c.Path(), "/s/") {
			return c.Text(200, c.Path())
		}
		var sizes []int
		total := 0
		for _, f := range strings.Split(strings.TrimPrefix(c.Path(), "/s/"), ",") {
			n, _ := strconv.Atoi(f)
			sizes = append(sizes, n)
			total += n
		}
		if c.Query("len") != "" {
			c.SetContentLength(int64(total))
		}
		body := pattern(total)
		s := c.Stream(StatusOK)
		off := 0
		for i, n := range sizes {
			if i%2 == 1 {
				s.WriteString(string(body[off : off+n]))
			} else {
				s.Write(body[off : off+n])
			}
			off += n
		}
		return s.End()
	}})
	for _, sizes := range cases {
		for _, q := range []string{"", "?len=1"} {
			var path []string
			total := 0
			for _, n := range sizes {
				path = append(path, strconv.Itoa(n))
				total += n
			}
			p := "/s/" + strings.Join(path, ",") + q
			t.Run(p, func(t *testing.T) {
				conn := dial(t, addr)
				req := "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET " + p + " HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
				if _, err := io.WriteString(conn, req); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(conn)
				expectBodies(t, br, []byte("/a"), pattern(total), []byte("/b"))
			})
		}
	}
}

// TestStreamAbortAfterAnEarlyHead: a stream whose head went out with its
// first 16 KiB, aborted in the same call, is cut (the client cannot take
// it for complete) and nothing pipelined behind it is answered.
func TestStreamAbortAfterAnEarlyHead(t *testing.T) {
	for _, withLen := range []bool{false, true} {
		t.Run(fmt.Sprint(withLen), func(t *testing.T) {
			addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
				if c.Path() == "/b" {
					return c.Text(200, "b")
				}
				if withLen {
					c.SetContentLength(1 << 20)
				}
				s := c.Stream(StatusOK)
				s.Write(pattern(streamGather + 10))
				return s.Abort(errors.New("broke"))
			}})
			conn := dial(t, addr)
			if _, err := io.WriteString(conn, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			if err == nil {
				t.Fatalf("read %d bytes of an aborted stream without error", len(got))
			}
			if !bytes.Equal(got, pattern(streamGather+10)) {
				t.Fatalf("%d bytes before the cut; want %d", len(got), streamGather+10)
			}
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Fatalf("%d bytes after the cut: %q", len(rest), rest)
			}
		})
	}
}

// TestStreamHTTP10EarlyHead: an HTTP/1.0 stream (no framing: the body ends
// with the connection) that writes its head with its first 16 KiB is read
// whole, and the connection then closes.
func TestStreamHTTP10EarlyHead(t *testing.T) {
	const size = 5*streamGather + 3
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		s := c.Stream(StatusOK)
		b := pattern(size)
		s.Write(b[:streamGather+1])
		s.Write(b[streamGather+1:])
		return s.End()
	}})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil || !bytes.Equal(got, pattern(size)) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
}

// TestStreamConnectionCloseEarlyHead: a stream answering "Connection:
// close" sends everything before the connection closes, with a request
// pipelined behind it unanswered.
func TestStreamConnectionCloseEarlyHead(t *testing.T) {
	const size = 3 << 20
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		s := c.Stream(StatusOK)
		s.Write(pattern(size))
		return s.End()
	}})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil || !bytes.Equal(got, pattern(size)) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	if rest, err := io.ReadAll(br); len(rest) != 0 || err != nil {
		t.Fatalf("%d bytes after the closing response, %v", len(rest), err)
	}
}

// TestStreamWriteOfExactlyMaxIovecsPieces: one write cut into exactly
// maxIovecs pieces, and one more, with the head and chunk framing around
// them, reaches the client whole.
func TestStreamWriteOfExactlyMaxIovecsPieces(t *testing.T) {
	for _, size := range []int{maxIovecs * maxPiece, maxIovecs*maxPiece - 3 - 2*streamGather} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
				s := c.Stream(StatusOK)
				s.Write(pattern(size)) // whole, whatever the mark
				return s.End()
			}})
			conn := dial(t, addr)
			if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReaderSize(conn, 1<<20)
			for i := range 2 {
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(res.Body)
				if err != nil || !bytes.Equal(got, pattern(size)) {
					t.Fatalf("response %d: %d bytes, %v", i+1, len(got), err)
				}
			}
		})
	}
}

// openFds counts the process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// TestDrainWatcherCyclesKeepNoDescriptors: Start and Shutdown, each time
// with a connection armed in the drain watcher (a stream waiting on a
// client that does not read), leave no descriptor open (goleak in TestMain
// checks the goroutines).
func TestDrainWatcherCyclesKeepNoDescriptors(t *testing.T) {
	before := openFds(t)
	for range 3 {
		waiting := make(chan struct{})
		s := &Server{
			Addr: "127.0.0.1:0", Loops: 1, tick: time.Hour,
			StreamHighWaterBytes: 64 << 10,
			Handler: func(c *Ctx) Result {
				s := c.Stream(StatusOK)
				_ = unix.SetsockoptInt(c.conn.gc.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 16<<10)
				b := pattern(32 << 10)
				for {
					if f := s.Write(b); !f.Ready() {
						close(waiting)
						return runtime.Then(c, f, func(struct{}) Result { return s.End() })
					}
				}
			},
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		var l *loop
		s.state.Load().forEachLoop(func(x *loop) { l = x })
		conn, err := stdnet.Dial("tcp", s.ListenAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		<-waiting
		armed := 0
		for armed == 0 {
			onLoop(t, l, func() { armed = len(l.armed) })
			if armed == 0 {
				goruntime.Gosched()
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no grace: the armed connection is cut
		_ = s.Shutdown(ctx)
		conn.Close()
	}
	if after := openFds(t); after > before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}

// holdEncoder is a StreamEncoder that holds every byte until Flush or
// Close, as a compressor does, and writes it upper-cased.
type holdEncoder struct {
	w   io.Writer
	buf []byte
}

func (e *holdEncoder) Write(p []byte) (int, error) { e.buf = append(e.buf, p...); return len(p), nil }
func (e *holdEncoder) Flush() error {
	_, err := e.w.Write(bytes.ToUpper(e.buf))
	e.buf = e.buf[:0]
	return err
}
func (e *holdEncoder) Close() error { return e.Flush() }

// TestStreamHeadAndEncoderEdges: a HEAD request to a handler that writes
// past streamGather gets the head only; a 204 stream has no framing; an
// encoder that releases 16 KiB and more only at End sends it after the
// head; all pipelined on one connection, in order.
func TestStreamHeadAndEncoderEdges(t *testing.T) {
	const size = 3*streamGather + 5
	body := pattern(size)
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		switch c.Path() {
		case "/nocontent":
			s := c.Stream(StatusNoContent)
			if f := s.Write([]byte("x")); f.Ready() {
				if _, err := f.Get(); err == nil {
					t.Error("a 204 stream took a body byte")
				}
			}
			return s.End()
		case "/enc":
			c.OnStream(func(c *Ctx, w io.Writer) StreamEncoder { return &holdEncoder{w: w} })
		}
		s := c.Stream(StatusOK)
		s.Write(body[:streamGather])
		s.Write(body[streamGather:])
		return s.End()
	}})
	conn := dial(t, addr)
	req := "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /enc HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, w := range []struct {
		method, body string
		status       int
	}{
		{"HEAD", "", 200},
		{"GET", "", 204},
		{"GET", string(bytes.ToUpper(body)), 200},
		{"GET", string(body), 200},
	} {
		res, err := http.ReadResponse(br, &http.Request{Method: w.method})
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != w.status || string(got) != w.body {
			t.Fatalf("response %d: status %d, %d bytes (want %d, %d), %v", i+1, res.StatusCode, len(got), w.status, len(w.body), err)
		}
	}
}

// TestDrainSpuriousEventKeepsTheWriterArmed: an event for a connection's
// descriptor that did not come from its own arming (the stale event of a
// closed connection whose number it took over) finds it still above its
// target: it is armed again, and its writer is still woken by the real
// drains (no timer).
func TestDrainSpuriousEventKeepsTheWriterArmed(t *testing.T) {
	const size = 2 << 20
	waiting := make(chan int, 1)
	addr, l := startInternal(t, &Server{
		StreamHighWaterBytes: 64 << 10,
		Handler: func(c *Ctx) Result {
			s := c.Stream(StatusOK)
			_ = unix.SetsockoptInt(c.conn.gc.Fd(), unix.SOL_SOCKET, unix.SO_SNDBUF, 16<<10)
			b := pattern(32 << 10)
			told := false
			var from func(sent int) Result
			from = func(sent int) Result {
				for sent < size {
					f := s.Write(b)
					sent += len(b)
					if !f.Ready() {
						if !told {
							told = true
							waiting <- c.conn.gc.Fd()
						}
						return runtime.Then(c, f, func(struct{}) Result { return from(sent) })
					}
				}
				return s.End()
			}
			return from(0)
		},
	})
	conn := dial(t, addr)
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	fd := <-waiting
	armed := false
	for !armed {
		onLoop(t, l, func() { armed = l.armed[fd] != nil })
		if !armed {
			goruntime.Gosched()
		}
	}
	for range 3 {
		l.firedOff(int32(fd)) // as the watcher would, for a stale event
		onLoop(t, l, func() {})
	}
	stillArmed := false
	onLoop(t, l, func() { stillArmed = l.armed[fd] != nil && l.armed[fd].drainArmed })
	if !stillArmed {
		t.Fatal("after a spurious event the waiting connection is no longer armed")
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || n != size {
		t.Fatalf("%d bytes, %v", n, err)
	}
	if p := l.drainPolls.Load(); p != 0 {
		t.Fatalf("%d drain polls: the writer was woken by the timer", p)
	}
}
