package net_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

func TestSendReaderUnderTestConn(t *testing.T) {
	body := strings.Repeat("abcdefghij", 20000) // 200 KB: several chunks
	tests := []struct {
		name string
		size int64
		want string
	}{
		{"known length", int64(len(body)), "Content-Length: 200000"},
		{"unknown length", -1, "Transfer-Encoding: chunked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
				return c.SendReader(200, "text/plain", strings.NewReader(body), tt.size)
			}})
			out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			s := string(out)
			if !strings.Contains(s, tt.want) {
				t.Fatalf("head: %q", s[:min(len(s), 300)])
			}
			t.Logf("%d bytes", len(s))
		})
	}
}

// TestSSEEventsArriveOneByOne: each event reaches the client before the
// handler sends the next (the handler waits for the client to have read
// it), and the stream ends with the handler's Result.
func TestSSEEventsArriveOneByOne(t *testing.T) {
	next := make(chan struct{})
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		var send func(i int) net.Result
		send = func(i int) net.Result {
			if i == 3 {
				return sse.Stream().End()
			}
			f := sse.Send(net.Event{ID: strconv.Itoa(i), Data: "tick " + strconv.Itoa(i) + "\nline two"})
			// Wait for the test's go-ahead, off the loop.
			ok := runtime.Blocking(c, func(context.Context) (struct{}, error) { <-next; return struct{}{}, nil })
			return runtime.Then(c, runtime.All(c, f, ok), func([]struct{}) net.Result { return send(i + 1) })
		}
		sse.Comment("hello")
		return send(0)
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers %v", res.Header)
	}
	br := bufio.NewReader(res.Body)
	readEvent := func() string {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", b.String(), err)
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	if got := readEvent(); got != ": hello\n" {
		t.Fatalf("comment: %q", got)
	}
	for i := range 3 {
		want := "id: " + strconv.Itoa(i) + "\ndata: tick " + strconv.Itoa(i) + "\ndata: line two\n"
		if got := readEvent(); got != want {
			t.Fatalf("event %d: %q; want %q", i, got, want)
		}
		next <- struct{}{} // only now may the handler send the next one
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the last event: %q, %v; want a clean end", rest, err)
	}
}

// TestSSEEndsWhenTheClientLeaves: a Send after the client has gone fails,
// which ends the handler's chain; the request's context is cancelled.
func TestSSEEndsWhenTheClientLeaves(t *testing.T) {
	ended := make(chan error, 1)
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		var tick func(struct{}) net.Result
		tick = func(struct{}) net.Result {
			return runtime.Then(c, sse.Send(net.Event{Data: "x"}), func(struct{}) net.Result {
				return runtime.Then(c, runtime.After(c, time.Millisecond), tick)
			})
		}
		return tick(struct{}{}).Finally(c, func(_ struct{}, err error) { ended <- err })
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := bufio.NewReader(conn).ReadString('x'); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the SSE chain ended without an error after the client left")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the SSE chain goes on after the client left")
	}
}

// TestStreamAbortIsNotATruncatedSuccess: a stream that fails midway closes
// the connection without the last chunk, so the client sees an error, and
// Ctx.Aborted says so.
func TestStreamAbortIsNotATruncatedSuccess(t *testing.T) {
	aborted := make(chan bool, 1)
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		s := c.Stream(200)
		s.WriteString("part one")
		res := runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return net.Fail(errors.New("the source broke"))
		})
		return res.Finally(c, func(struct{}, error) {}).Catch(c, func(err error) net.Result {
			r := s.Abort(err)
			aborted <- c.Aborted()
			return r
		})
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("read %q with no error: a cut body looked complete", body)
	}
	if string(body) != "part one" {
		t.Fatalf("body before the abort: %q", body)
	}
	if !<-aborted {
		t.Fatal("Ctx.Aborted is false after Abort")
	}
}

// TestStreamWithContentLength: a length set before Stream gives
// Content-Length framing; a short body aborts.
func TestStreamWithContentLength(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		c.SetContentLength(10)
		s := c.Stream(200)
		s.WriteString("01234")
		if c.Path() == "/short" {
			// 5 of 10, once the head is out: aborts.
			return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result { return s.End() })
		}
		s.WriteString("56789")
		return s.End()
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(body) != "0123456789" || res.ContentLength != 10 || len(res.TransferEncoding) != 0 {
		t.Fatalf("%q, %v, length %d, %v", body, err, res.ContentLength, res.TransferEncoding)
	}
	res, err = http.Get("http://" + addr + "/short")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Fatalf("a short body %q read without error", body)
	}
}

// TestSendFile: ranges, conditional requests and a large file streamed.
func TestSendFile(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.SendFile(filepath.Join(dir, strings.TrimPrefix(c.Path(), "/")))
	}})
	get := func(path string, hdr ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	res, body := get("/big.bin")
	if res.StatusCode != 200 || !bytes.Equal(body, big) || res.Header.Get("ETag") == "" {
		t.Fatalf("whole file: %d, %d bytes, %v", res.StatusCode, len(body), res.Header)
	}
	etag := res.Header.Get("ETag")
	res, body = get("/big.bin", "Range", "bytes=16-31")
	if res.StatusCode != 206 || string(body) != "0123456789abcdef" || res.Header.Get("Content-Range") != "bytes 16-31/1048576" {
		t.Fatalf("range: %d %q %v", res.StatusCode, body, res.Header)
	}
	res, _ = get("/big.bin", "If-None-Match", etag)
	if res.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d", res.StatusCode)
	}
	res, _ = get("/big.bin", "Range", "bytes=2000000-")
	if res.StatusCode != 416 || res.Header.Get("Content-Range") != "bytes */1048576" {
		t.Fatalf("unsatisfiable: %d %v", res.StatusCode, res.Header)
	}
	res, _ = get("/missing")
	if res.StatusCode != 404 {
		t.Fatalf("missing: %d", res.StatusCode)
	}
}

// TestShutdownEndsEventStreams: an endless SSE handler does not hold a
// graceful Shutdown until its deadline: its context is cancelled when the
// drain starts.
func TestShutdownEndsEventStreams(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		var tick func(struct{}) net.Result
		tick = func(struct{}) net.Result {
			return runtime.Then(c, sse.Send(net.Event{Data: "x"}), func(struct{}) net.Result {
				return runtime.Then(c, runtime.After(c, time.Millisecond), tick)
			})
		}
		return tick(struct{}{})
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + srv.ListenAddr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := bufio.NewReader(res.Body).ReadString('x'); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an event stream open: %v; want it ended by the drain", err)
	}
}

// closeCounter is a reader that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed chan struct{}
}

func (c *closeCounter) Close() error { close(c.closed); return nil }

// TestSendReaderClosesItsReaderWhenTheClientLeaves: a reader still being
// sent is closed (once) when the client goes away.
func TestSendReaderClosesItsReaderWhenTheClientLeaves(t *testing.T) {
	r := &closeCounter{Reader: endless{}, closed: make(chan struct{})}
	addr := startServer(t, &net.Server{MaxOutboundBytes: 64 << 10, Handler: func(c *net.Ctx) net.Result {
		return c.SendReader(200, "application/octet-stream", r, -1)
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := io.ReadFull(conn, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was not closed after the client left")
	}
}

// endless reads zeros for ever.
type endless struct{}

func (endless) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStreamNoContentHasNoFraming: a streamed 204 carries no
// Content-Length or Transfer-Encoding.
func TestStreamNoContentHasNoFraming(t *testing.T) {
	tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.Stream(204).End() }})
	out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 204") ||
		strings.Contains(string(out), "Content-Length") || strings.Contains(string(out), "Transfer-Encoding") {
		t.Fatalf("%q, %v", out, err)
	}
}
