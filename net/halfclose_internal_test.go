package net

import (
	"bufio"
	"context"
	"io"
	stdnet "net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/runtime"
)

// halfClose sends req and then shuts down the sending side of a new
// connection to addr, as `nc -N` and some proxies do. TCP_CORK holds the
// request until the shutdown, so the FIN rides on the request's last
// segment: the server reads the request and finds the end of the stream
// behind it in one go (the order this test needs, without a sleep).
func halfClose(t *testing.T, addr, req string) *bufio.Reader {
	t.Helper()
	c, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard only
	tc := c.(*stdnet.TCPConn)
	setCork(t, tc, 1)
	if _, err := io.WriteString(tc, req); err != nil {
		t.Fatal(err)
	}
	if err := tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return bufio.NewReader(tc)
}

func setCork(t *testing.T, tc *stdnet.TCPConn, v int) {
	t.Helper()
	rc, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v) }); err != nil || serr != nil {
		t.Fatalf("TCP_CORK: %v %v", err, serr)
	}
}

// TestHalfClosedClientIsAnswered (issue 8, half-close): a client that sends
// its whole request and then shuts down its sending side still waits for
// the answer. gnet closes a connection as soon as its read meets the end of
// the stream, which lost every answer not yet written: an answer from an
// asynchronous handler, and the rest of a large one still in gnet's buffer.
func TestHalfClosedClientIsAnswered(t *testing.T) {
	big := strings.Repeat("z", 8<<20) // more than the socket buffers take at once
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		switch c.Path() {
		case "/sync":
			return c.Text(200, "sync")
		case "/big":
			return c.Text(200, big)
		case "/post":
			n := len(c.Body())
			v := runtime.Blocking(c, func(context.Context) (int, error) { return n, nil })
			return runtime.Then(c, v, func(n int) Result { return c.Text(200, "got "+itoa(int64(n))) })
		}
		v := runtime.Blocking(c, func(context.Context) (string, error) { return "async", nil })
		return runtime.Then(c, v, func(s string) Result { return c.Text(200, s) })
	}})
	for _, tc := range []struct {
		name, req string
		wants     []string
	}{
		{"sync", "GET /sync HTTP/1.1\r\nHost: x\r\n\r\n", []string{"sync"}},
		{"async", "GET /async HTTP/1.1\r\nHost: x\r\n\r\n", []string{"async"}},
		{"async HTTP/1.0", "GET /async HTTP/1.0\r\n\r\n", []string{"async"}},
		{"large answer", "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", []string{big}},
		{"pipelined", "GET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /sync HTTP/1.1\r\nHost: x\r\n\r\nGET /async HTTP/1.1\r\nHost: x\r\n\r\n", []string{"async", "sync", "async"}},
		{"body", "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", []string{"got 5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := halfClose(t, addr, tc.req)
			for i, want := range tc.wants {
				got, err := readAnswer(br)
				if err != nil || got != want {
					t.Fatalf("answer %d: %d bytes (want %d), %v", i+1, len(got), len(want), err)
				}
			}
			// Then the server closes.
			if b, err := io.ReadAll(br); len(b) > 0 || err != nil && err != syscall.ECONNRESET {
				t.Fatalf("after the answers: %q, %v", b, err)
			}
		})
	}
}

// TestHalfClosedClientGetsAStreamedAnswerWhole: a client that half-closes
// after its request still gets the whole of a streamed answer whose handler
// goes on writing (the half-close cancels the request's context, as
// net/http does; it must not cut an answer the handler still writes). The
// stream writes a first part, then the rest once an off-loop step (which
// ignores the context) is done.
func TestHalfClosedClientGetsAStreamedAnswerWhole(t *testing.T) {
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		s := c.Stream(200)
		s.WriteString("first;")
		s.Flush()
		v := runtime.Blocking(c, func(context.Context) (string, error) { return "second", nil })
		return runtime.Then(c, v, func(str string) Result {
			s.WriteString(str)
			return s.End()
		})
	}})
	for _, tc := range []struct {
		name, req string
		wants     []string
	}{
		{"one", "GET /s HTTP/1.1\r\nHost: x\r\n\r\n", []string{"first;second"}},
		{"pipelined", "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /s HTTP/1.1\r\nHost: x\r\n\r\n", []string{"first;second", "first;second"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := halfClose(t, addr, tc.req)
			for i, want := range tc.wants {
				got, err := readAnswer(br)
				if err != nil || got != want {
					t.Fatalf("answer %d: %q (want %q), %v", i+1, got, want, err)
				}
			}
		})
	}
}

// TestHalfClosedClientGetsTheAnswersBeforeAFailure: when a half-close
// cancels a request whose handler then fails (nothing to answer it with),
// the connection closes at its turn, but the answers before it are all
// delivered, a large one included (a close with output still in gnet's
// buffer would cut it short).
func TestHalfClosedClientGetsTheAnswersBeforeAFailure(t *testing.T) {
	big := strings.Repeat("z", 8<<20) // more than the socket buffers take at once
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if c.Path() == "/big" {
			return c.Text(200, big)
		}
		v := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
		return runtime.Then(c, v, func(s string) Result { return c.Text(200, s) })
	}})
	br := halfClose(t, addr, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /fails HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err := readAnswer(br)
	if err != nil || got != big {
		t.Fatalf("first answer: %d bytes (want %d), %v", len(got), len(big), err)
	}
	if b, err := io.ReadAll(br); len(b) > 0 || err != nil && err != syscall.ECONNRESET {
		t.Fatalf("after the answers: %q, %v", b, err)
	}
}
