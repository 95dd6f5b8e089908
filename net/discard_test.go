package net_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// discardServer answers every request at once with its method and path,
// reading no streamed body (POSTs stream theirs), and records the paths
// it saw.
func discardServer(t *testing.T) (addr string, seen func() []string) {
	var mu sync.Mutex
	var paths []string
	addr = startServer(t, &net.Server{
		StreamBody: func(c *net.Ctx) int64 {
			if c.Method() == "POST" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *net.Ctx) net.Result {
			mu.Lock()
			paths = append(paths, strings.Clone(c.Path()))
			mu.Unlock()
			return c.Text(200, c.Method()+" "+c.Path())
		},
	})
	return addr, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

// sendPieces writes each piece in its own write, with Nagle off, so that
// the server is likely to read them apart.
func (r *rawConn) sendPieces(pieces ...string) {
	r.t.Helper()
	_ = r.c.(*stdnet.TCPConn).SetNoDelay(true)
	for _, p := range pieces {
		r.send(p)
	}
}

// TestDiscardedRestIsNeverARequest: the rest of an unread streamed body,
// dropped after the answer, is never read as a request, whatever it holds:
// a Content-Length body's bytes are counted, a chunked body's framing is
// decoded (a chunk whose data looks like the end of the body and a
// request; chunk extensions; trailers; size lines and trailers split across
// reads), and the request after it is served on the same connection.
func TestDiscardedRestIsNeverARequest(t *testing.T) {
	addr, seen := discardServer(t)
	fake := "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	next := "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct {
		name string
		head string   // sent first; the answer is read before the rest
		rest []string // the rest of the body, one write each
	}{
		{"Content-Length", fmt.Sprintf("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nab", 2+len(fake)), []string{fake[:7], fake[7:]}},
		{"chunked data", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
			[]string{fmt.Sprintf("%x\r\n%s\r\n", len(fake), fake), "0\r\n\r\n"}},
		{"chunked split", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
			[]string{"1", "0;name=\"v", "al\"\r\n0123456789", "abcdef\r", "\n0", "\r\nX-Trailer: ", "v\r", "\nY: w\r\n", "\r", "\n"}},
		{"chunked mid-chunk", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", len(fake)) + fake[:5],
			[]string{fake[5:], "\r", "\n", "0\r\n\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			rc.send(tc.head)
			if res, got := rc.read("POST"); res.Close || got != "POST /p" {
				t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
			}
			rc.sendPieces(append(tc.rest, next)...)
			if res, got := rc.read("GET"); got != "GET /next" {
				t.Fatalf("second answer: %q (close %v); want GET /next", got, res.Close)
			}
			for _, p := range seen() {
				if p == "/smuggled" {
					t.Fatalf("a request was read from the body: %q", seen())
				}
			}
		})
	}
}

// TestDiscardedRestMalformedCloses: bad chunked framing in the dropped
// rest closes the connection; what follows it is never read as a request.
func TestDiscardedRestMalformedCloses(t *testing.T) {
	addr, seen := discardServer(t)
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct{ name, rest string }{
		{"bad size", "zz\r\n" + smuggled},
		{"data longer than its size", "3\r\nabcdef\r\n0\r\n\r\n" + smuggled},
		{"no CRLF after data", "3\r\nabc" + smuggled},
		{"size line too long", strings.Repeat("0", 8<<10) + "1\r\nx\r\n0\r\n\r\n" + smuggled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			rc.send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n")
			if res, got := rc.read("POST"); res.Close || got != "POST /p" {
				t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
			}
			rc.send(tc.rest)
			rc.expectClosed()
			for _, p := range seen() {
				if p == "/smuggled" {
					t.Fatalf("a request was read from the body: %q", seen())
				}
			}
		})
	}
}

// TestDiscardedChunkedRestOverTheBoundCloses: a chunked rest passing 256
// KiB closes the connection after the answer instead of being dropped.
func TestDiscardedChunkedRestOverTheBoundCloses(t *testing.T) {
	addr, seen := discardServer(t)
	rc := dial(t, addr)
	rc.send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n")
	if res, got := rc.read("POST"); res.Close || got != "POST /p" {
		t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
	}
	piece := strings.Repeat("x", 32<<10)
	go func() {
		for i := 0; i < 12; i++ {
			if _, err := fmt.Fprintf(rc.c, "%x\r\n%s\r\n", len(piece), piece); err != nil {
				return
			}
		}
		_, _ = rc.c.Write([]byte("0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"))
	}()
	rc.expectClosed()
	if got := seen(); len(got) != 1 {
		t.Fatalf("requests served: %q; want only the POST", got)
	}
}

// TestDiscardAfterAPartialRead: a handler that took one chunk of its
// streamed body (its reads paused while it held it) and then answered
// keeps the connection: the rest, partly buffered, partly still to come,
// is dropped and the next request served.
func TestDiscardAfterAPartialRead(t *testing.T) {
	addr := startServer(t, &net.Server{
		StreamBody: func(c *net.Ctx) int64 {
			if c.Method() == "POST" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *net.Ctx) net.Result {
			if c.Method() != "POST" {
				return c.Text(200, "next")
			}
			return runtime.Then(c, c.BodyChunk(), func(b []byte) net.Result {
				return c.Text(200, fmt.Sprintf("took %d", len(b)))
			})
		},
	})
	body := strings.Repeat("q", 200<<10)
	var chunked strings.Builder
	fmt.Fprintf(&chunked, "%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	for _, tc := range []struct{ name, req string }{
		{"Content-Length", fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			go func() { _, _ = io.WriteString(rc.c, tc.req+"GET /next HTTP/1.1\r\nHost: x\r\n\r\n") }()
			res, got := rc.read("POST")
			if res.Close || !strings.HasPrefix(got, "took ") {
				t.Fatalf("first answer: %q, Connection: close %v; want the connection kept", got, res.Close)
			}
			if _, got := rc.read("GET"); got != "next" {
				t.Fatalf("second answer: %q", got)
			}
		})
	}
}

// TestDiscardThenHalfClose: a client that sends the rest of a body its
// handler did not read, a request behind it, and then half-closes gets
// both answers.
func TestDiscardThenHalfClose(t *testing.T) {
	addr, _ := discardServer(t)
	rc := dial(t, addr)
	rc.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	if res, got := rc.read("POST"); res.Close || got != "POST /p" {
		t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
	}
	rc.send("cdefghijGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := rc.c.(*stdnet.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, got := rc.read("GET"); got != "GET /next" {
		t.Fatalf("second answer: %q", got)
	}
	rc.expectClosed()
}

// TestDiscardOfAStalledClientTimesOut: a client that stops sending the
// rest of a body being dropped does not hold its connection forever:
// ReadTimeout closes it, or IdleTimeout with none (negative), and without a second
// answer (a 408 after the 200 would be an unsolicited response).
func TestDiscardOfAStalledClientTimesOut(t *testing.T) {
	for _, te := range []string{"Content-Length: 1000", "Transfer-Encoding: chunked"} {
		for _, tc := range []struct {
			name       string
			read, idle time.Duration
		}{
			{"ReadTimeout", 50 * time.Millisecond, time.Hour},
			{"IdleTimeout", -1, 50 * time.Millisecond}, // no ReadTimeout
		} {
			t.Run(te+"/"+tc.name, func(t *testing.T) {
				addr := startServer(t, &net.Server{
					ReadTimeout: tc.read,
					IdleTimeout: tc.idle,
					StreamBody:  func(c *net.Ctx) int64 { return 1 << 30 },
					Handler:     func(c *net.Ctx) net.Result { return c.Text(200, "ok") },
				})
				rc := dial(t, addr)
				rc.send("POST /p HTTP/1.1\r\nHost: x\r\n" + te + "\r\n\r\n2\r\nab")
				if res, got := rc.read("POST"); res.Close || got != "ok" {
					t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
				}
				// Nothing more is sent: the connection must close (the
				// dial's deadline is the hang guard), with nothing after
				// the answer.
				b, err := io.ReadAll(rc.br)
				if err != nil && !errors.Is(err, syscall.ECONNRESET) || len(b) > 0 {
					t.Fatalf("after the answer: %q, %v; want the connection closed, nothing more", b, err)
				}
			})
		}
	}
}

// TestShutdownDoesNotWaitForADiscard: a graceful shutdown does not wait
// for a client to send the rest of a body that was answered and is being
// dropped (nothing is owed to it; it used to be a lingering close, ended
// at once by the shutdown). The shutdown's context is only a hang guard,
// far shorter than ReadTimeout, which would otherwise end the wait.
func TestShutdownDoesNotWaitForADiscard(t *testing.T) {
	s := &net.Server{
		Addr:        "127.0.0.1:0",
		Loops:       1,
		ReadTimeout: time.Hour,
		StreamBody:  func(c *net.Ctx) int64 { return 1 << 30 },
		Handler:     func(c *net.Ctx) net.Result { return c.Text(200, "ok") },
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, s.ListenAddr().String())
	rc.send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
	if res, got := rc.read("POST"); res.Close || got != "ok" {
		t.Fatalf("first answer: %q, Connection: close %v", got, res.Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v; want it done without the rest of the body", err)
	}
	rc.expectClosed()
}
