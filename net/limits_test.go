package net_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

// bigBody is a large response body, bigger than loopback socket buffers.
var bigBody = bytes.Repeat([]byte("0123456789abcdef"), (16<<20)/16)

func TestLargeLastResponseIsNotCutShort(t *testing.T) {
	// A client that closes after one request and reads slowly: gnet's
	// close sends only what the socket takes at once, so the server must
	// wait for its output to drain before closing.
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Send(200, "application/octet-stream", bigBody)
	}})
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		rc := dial(t, addr)
		_ = rc.c.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
		rc.send(req)
		time.Sleep(300 * time.Millisecond) // let the server queue what it cannot send
		resp, body := rc.read("GET")
		if len(body) != len(bigBody) || !resp.Close {
			t.Fatalf("%q: got %d of %d bytes", req, len(body), len(bigBody))
		}
	}
}

func TestClientThatDoesNotReadIsPausedThenResumed(t *testing.T) {
	var served atomic.Int32
	body := bytes.Repeat([]byte("x"), 16<<10)
	addr := startServer(t, &net.Server{MaxOutboundBytes: 64 << 10, Handler: func(c *net.Ctx) net.Result {
		served.Add(1)
		return c.Send(200, "application/octet-stream", body)
	}})
	rc := dial(t, addr)
	_ = rc.c.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	const n = 2000 // 32 MiB of responses
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	go io.WriteString(rc.c, b.String()) // errors show up in the reads below
	time.Sleep(500 * time.Millisecond)
	// Not reading: the server must have stopped producing for this client
	// long before the 2000th request (socket buffers take a few MiB).
	if s := served.Load(); s >= n {
		t.Fatalf("served all %d requests to a client that reads nothing", s)
	}
	t.Logf("served %d of %d while the client did not read", served.Load(), n)
	for i := range n {
		resp, got := rc.read("GET")
		if resp.StatusCode != 200 || len(got) != len(body) {
			t.Fatalf("response %d: %d, %d bytes", i, resp.StatusCode, len(got))
		}
	}
}

func TestInboundFloodIsCutOff(t *testing.T) {
	// A client that keeps sending requests and never reads an answer: its
	// unread requests pile up in the server; past MaxInboundBytes the
	// connection is closed, while another client is served normally.
	addr := startServer(t, &net.Server{
		MaxOutboundBytes: 64 << 10,
		MaxInboundBytes:  1 << 20,
		Handler: func(c *net.Ctx) net.Result {
			return c.Send(200, "application/octet-stream", c.Body())
		},
	})
	flood, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	_ = flood.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	req := []byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 16384\r\n\r\n" + strings.Repeat("b", 16384))
	cut := make(chan error, 1)
	go func() {
		_ = flood.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for range 10000 {
			if _, err := flood.Write(req); err != nil {
				cut <- err
				return
			}
		}
		cut <- nil
	}()
	// Meanwhile, a well-behaved client.
	cl := client(t)
	for range 5 {
		if code, _, _ := get(t, cl, "http://"+addr+"/"); code != 200 {
			t.Fatalf("other client: %d", code)
		}
	}
	select {
	case err := <-cut:
		if err == nil || (!errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !strings.Contains(err.Error(), "reset")) {
			t.Fatalf("the flood was not cut off: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the flooding client was never cut off")
	}
}

func TestReadHeaderTimeoutAnswers408(t *testing.T) {
	addr := startServer(t, &net.Server{ReadHeaderTimeout: 300 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "ok")
	}})
	rc := dial(t, addr)
	start := time.Now()
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n") // never finishes its head
	resp, err := http.ReadResponse(bufio.NewReader(rc.c), nil)
	if err != nil {
		t.Fatalf("no response before the close: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 408 || !resp.Close {
		t.Fatalf("got %d (close %v), want 408 and close", resp.StatusCode, resp.Close)
	}
	// A lower bound only: how late it comes depends on the machine's load.
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("answered after %v, before its 300 ms ReadHeaderTimeout", d)
	}
}

func TestWriteTimeoutClosesAStalledReader(t *testing.T) {
	addr := startServer(t, &net.Server{WriteTimeout: 400 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		return c.Send(200, "application/octet-stream", bigBody)
	}})
	rc := dial(t, addr)
	_ = rc.c.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(1500 * time.Millisecond) // read nothing: no progress for longer than WriteTimeout
	n, _ := io.Copy(io.Discard, rc.c)
	if n >= int64(len(bigBody)) {
		t.Fatalf("a client that stalled past WriteTimeout still got the whole response (%d bytes)", n)
	}
}

func TestMaxConnsRefusesPolitely(t *testing.T) {
	addr := startServer(t, &net.Server{MaxConns: 2, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }})
	a, b := dial(t, addr), dial(t, addr)
	for _, rc := range []*rawConn{a, b} {
		rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := rc.read("GET"); body != "ok" {
			t.Fatalf("held connection: %q", body)
		}
	}
	third := dial(t, addr)
	third.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := third.read("GET")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Fatalf("third connection: %d Retry-After %q close %v; want 503, Retry-After, close", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
	a.c.Close()
	time.Sleep(100 * time.Millisecond)
	fourth := dial(t, addr)
	fourth.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := fourth.read("GET"); body != "ok" {
		t.Fatalf("after one closed, a new connection got %q", body)
	}
}
