package net

import (
	"bufio"
	"bytes"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestDirectWritesKeepOrderUnderBackPressure: a chunked stream written
// from continuations (so its writes take the direct path once its head is
// out) to a client that reads nothing at first, so that gnet keeps part of
// each Writev, with a pipelined request behind it. Every byte must arrive
// in order, the stream's last chunk before the next response, and the
// output held must stay bounded while the client does not read.
func TestDirectWritesKeepOrderUnderBackPressure(t *testing.T) {
	const (
		limit  = 64 << 10
		writes = 3000
	)
	piece := func(i int) []byte {
		n := 1 + (i*7919)%(9<<10)
		return bytes.Repeat([]byte{byte('a' + i%26)}, n)
	}
	var want bytes.Buffer
	for i := range writes {
		want.Write(piece(i))
	}
	addr, l := startInternal(t, &Server{MaxOutboundBytes: limit, Handler: func(c *Ctx) Result {
		if c.Path() != "/s" {
			return c.Text(200, "behind")
		}
		s := c.Stream(200)
		i := 0
		var next func(struct{}) Result
		next = func(struct{}) Result {
			if i == writes {
				return s.End()
			}
			p := piece(i)
			i++
			if i%3 == 0 {
				return runtime.Then(c, s.WriteString(string(p)), next)
			}
			return runtime.Then(c, s.Write(p), next)
		}
		// The first write waits for a loop turn: the head is out by then.
		return runtime.Then(c, runtime.After(c, 0), next)
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Wait (hang guard only) until the producer waits on the mark.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		var held int
		onLoop(t, l, func() {
			for _, cn := range l.conns {
				held += cn.gc.OutboundBuffered()
				for _, c := range cn.queue {
					if s := c.stream; s != nil {
						held += len(s.pending)
						waiting = waiting || len(s.waiters) > 0
					}
				}
			}
		})
		if waiting {
			if held > limit+(10<<10) {
				t.Fatalf("%d bytes held for a client that reads nothing (limit %d)", held, limit)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the producer never waited (%d bytes held)", held)
		}
		time.Sleep(time.Millisecond)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v (after %d bytes)", err, len(got))
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("body differs: %d bytes, want %d; first difference at %d", len(got), want.Len(), firstDiff(got, want.Bytes()))
	}
	resp2, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(resp2.Body)
	if string(b2) != "behind" {
		t.Fatalf("second response %q", b2)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDirectWritesContentLength: a Content-Length stream written from
// continuations (direct path), with a pipelined request behind. A full
// body is followed by the next response; a short one, ended, must close
// the connection after the bytes written, never answer what follows (the
// client would take the next response's bytes for the rest of the body);
// a write past the length fails and sends nothing.
func TestDirectWritesContentLength(t *testing.T) {
	overErr := make(chan error, 1)
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		switch c.Path() {
		case "/full", "/short", "/over":
			c.SetContentLength(10)
			s := c.Stream(200)
			return runtime.Then(c, runtime.After(c, 0), func(struct{}) Result {
				s.WriteString("12345")
				switch c.Path() {
				case "/short":
					return runtime.Then(c, runtime.After(c, 0), func(struct{}) Result { return s.End() })
				case "/over":
					_, err := s.WriteString("1234567").Get()
					overErr <- err
				}
				return runtime.Then(c, runtime.After(c, 0), func(struct{}) Result {
					s.WriteString("67890")
					return s.End()
				})
			})
		}
		return c.Text(200, "behind")
	}})
	for _, tc := range []struct {
		path, want string
		next       bool
	}{
		{"/full", "1234567890", true},
		{"/over", "1234567890", true},
		{"/short", "12345", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			conn, err := stdnet.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			all, _ := io.ReadAll(conn)
			i := bytes.Index(all, []byte("\r\n\r\n"))
			if i < 0 {
				t.Fatalf("no head: %q", all)
			}
			rest := string(all[i+4:])
			if !strings.HasPrefix(rest, tc.want) {
				t.Fatalf("body %q, want %q first", rest, tc.want)
			}
			rest = rest[len(tc.want):]
			if tc.next != strings.HasPrefix(rest, "HTTP/1.1 200") {
				t.Fatalf("after the body: %q (next response expected: %v)", rest, tc.next)
			}
			if tc.path == "/over" {
				if err := <-overErr; err != ErrStreamLength {
					t.Fatalf("write past the length: %v, want ErrStreamLength", err)
				}
			}
		})
	}
}

// bufEncoder is a StreamEncoder that holds what it is given until Flush or
// Close (as a compressor does).
type bufEncoder struct {
	w   io.Writer
	buf []byte
}

func (e *bufEncoder) Write(p []byte) (int, error) { e.buf = append(e.buf, p...); return len(p), nil }
func (e *bufEncoder) Flush() error {
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}
func (e *bufEncoder) Close() error { return e.Flush() }

// TestDirectWritesClientGoneLeakNothing: a stream written on the direct
// path to a client that resets the connection (gnet closes it inside the
// write), with and without an encoder, or a continuation that panics after
// direct writes: the writes fail, and the connection, the in-flight count
// and the Ctx all come back.
func TestDirectWritesClientGoneLeakNothing(t *testing.T) {
	addr, l := startInternal(t, &Server{MaxOutboundBytes: 64 << 10, Handler: func(c *Ctx) Result {
		if c.Path() == "/enc" {
			c.OnStream(func(_ *Ctx, w io.Writer) StreamEncoder { return &bufEncoder{w: w} })
		}
		s := c.Stream(200)
		chunk := make([]byte, 8<<10)
		n := 0
		var next func(struct{}) Result
		next = func(struct{}) Result {
			n++
			if c.Path() == "/panic" && n == 50 {
				panic("late")
			}
			f := s.Write(chunk)
			s.Flush()
			return runtime.Then(c, runtime.Then(c, f, func(struct{}) runtime.Future[struct{}] { return runtime.After(c, 0) }), next)
		}
		s.WriteString("first")
		return runtime.Then(c, runtime.After(c, 0), next)
	}})
	for _, path := range []string{"/plain", "/enc", "/panic"} {
		t.Run(path, func(t *testing.T) {
			conn, err := stdnet.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			if _, err := io.ReadFull(br, make([]byte, 100<<10)); err != nil && path != "/panic" {
				t.Fatal(err)
			}
			_ = conn.(*stdnet.TCPConn).SetLinger(0)
			conn.Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				var conns, free int
				var inflight int64
				onLoop(t, l, func() { conns, free, inflight = len(l.conns), len(l.freeCtx), l.inflight.Load() })
				if conns == 0 && inflight == 0 && free == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: after the end, %d connections, %d in flight, %d Ctx in the pool (want 0, 0, 1)", path, conns, inflight, free)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// TestDirectWritesThroughAnEncoderAndHead: an encoder that holds bytes
// until Flush writes through the stream's sink on the direct path; what
// it flushed, what it holds at End, and a pipelined HEAD of the same
// stream behind it must come in order, the HEAD with no body.
func TestDirectWritesThroughAnEncoderAndHead(t *testing.T) {
	const writes = 200
	piece := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 1+i%97) }
	var want strings.Builder
	for i := range writes {
		want.WriteString(piece(i))
	}
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		c.OnStream(func(_ *Ctx, w io.Writer) StreamEncoder { return &bufEncoder{w: w} })
		s := c.Stream(200)
		i := 0
		var next func(struct{}) Result
		next = func(struct{}) Result {
			if i == writes {
				return s.End()
			}
			s.WriteString(piece(i))
			if i%3 == 0 {
				s.Flush()
			}
			i++
			return runtime.Then(c, runtime.After(c, 0), next)
		}
		return next(struct{}{})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for i, method := range []string{"GET", "HEAD", "GET"} {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if w := map[bool]string{true: "", false: want.String()}[method == "HEAD"]; string(got) != w {
			t.Fatalf("response %d (%s): %d bytes, want %d; first difference at %d", i, method, len(got), len(w), firstDiff(got, []byte(w)))
		}
	}
}
