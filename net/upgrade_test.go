package net_test

import (
	"bufio"
	"context"
	"io"
	stdnet "net"
	"net/http"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// echo is a trivial Protocol: it writes back what it is given, and
// reports its end on closed.
type echoProto struct {
	closed   chan error
	shutdown chan struct{}
	last     *net.Upgraded
}

func (e *echoProto) Traffic(u *net.Upgraded, in []byte) int {
	e.last = u
	u.Write(in)
	return len(in)
}

func (e *echoProto) Closed(u *net.Upgraded, err error) {
	if u.Context().Err() == nil {
		panic("Upgraded.Context not cancelled when Closed runs")
	}
	e.closed <- err
}

func (e *echoProto) Shutdown() {
	close(e.shutdown)
	// Say goodbye, then close.
	u := e.last
	u.Write([]byte("bye"))
	u.Close()
}

func TestUpgradeHandsTheConnectionToTheProtocol(t *testing.T) {
	e := &echoProto{closed: make(chan error, 1), shutdown: make(chan struct{})}
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		if c.Header("Upgrade") != "echo" {
			return c.Text(200, "plain")
		}
		c.SetHeader("Upgrade", "echo")
		return c.Upgrade(e)
	}}
	addr := startServer(t, srv)
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	// A plain request first: the connection serves HTTP until upgraded.
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("plain request: %v, %v", res, err)
	}
	io.Copy(io.Discard, res.Body)
	// The upgrade, with the protocol's first bytes right behind it.
	io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhello")
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Upgrade") != "echo" || res.Header.Get("Connection") != "Upgrade" {
		t.Fatalf("upgrade answered %d %v", res.StatusCode, res.Header)
	}
	if res.Header.Get("Content-Length") != "" || res.Header.Get("Transfer-Encoding") != "" {
		t.Fatalf("a 101 has no body framing: %v", res.Header)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo of the bytes sent with the request: %q, %v", buf, err)
	}
	io.WriteString(conn, "world")
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "world" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
	conn.Close()
	select {
	case err := <-e.closed:
		if err != nil {
			t.Fatalf("Closed after the client closed cleanly: %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Closed not called after the client closed")
	}
}

func TestUpgradedProtocolIsToldOfShutdown(t *testing.T) {
	e := &echoProto{closed: make(chan error, 1), shutdown: make(chan struct{})}
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		c.SetHeader("Upgrade", "echo")
		return c.Upgrade(e)
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := stdnet.Dial("tcp", srv.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhi")
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 101 {
		t.Fatalf("%v %v", res, err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	rest, err := io.ReadAll(br) // "bye", then the close
	if err != nil || string(rest) != "bye" {
		t.Fatalf("after Shutdown the client read %q, %v; want the protocol's goodbye", rest, err)
	}
	<-e.shutdown
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.closed; err != nil {
		t.Fatalf("Closed: %v", err)
	}
}

// greeter speaks first: it writes a greeting on its first Traffic call.
type greeter struct{ greeted bool }

func (g *greeter) Traffic(u *net.Upgraded, in []byte) int {
	if !g.greeted {
		g.greeted = true
		u.Write([]byte("hi"))
	}
	return len(in)
}

func (g *greeter) Closed(*net.Upgraded, error) {}

// TestProtocolMaySpeakFirst checks that Traffic is called right after the
// 101 is written, before the client sends anything, and that what it
// writes follows the 101.
func TestProtocolMaySpeakFirst(t *testing.T) {
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		c.SetHeader("Upgrade", "greet")
		return c.Upgrade(&greeter{})
	}}
	addr := startServer(t, srv)
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: greet\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v, %v", res, err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("greeting: %q, %v", buf, err)
	}
}

// producer is a Protocol that, asked once, writes total bytes with
// back-pressure (each write waits for the previous one's future) and
// counts the writes that had to wait.
type producer struct {
	total, chunk int
	waited       chan int
	first        chan struct{} // closed at the first write that waits
	started      bool
}

func (p *producer) Traffic(u *net.Upgraded, in []byte) int {
	if p.started {
		return len(in)
	}
	p.started = true
	buf := make([]byte, p.chunk)
	sent, waited := 0, 0
	var next func(struct{}) runtime.Future[struct{}]
	next = func(struct{}) runtime.Future[struct{}] {
		if sent == p.total {
			p.waited <- waited
			return runtime.Future[struct{}]{}
		}
		f := u.Write(buf)
		sent += p.chunk
		if !f.Ready() {
			if waited++; waited == 1 {
				close(p.first)
			}
		}
		return runtime.Then(u, f, next)
	}
	next(struct{}{})
	return len(in)
}

func (p *producer) Closed(*net.Upgraded, error) {}

func TestUpgradedWriteBackPressure(t *testing.T) {
	// More than the kernel's socket buffers hold, so that a client that
	// does not read makes the output pass the mark.
	p := &producer{total: 32 << 20, chunk: 64 << 10, waited: make(chan int, 1), first: make(chan struct{})}
	addr := startServer(t, &net.Server{MaxOutboundBytes: 128 << 10, Handler: func(c *net.Ctx) net.Result {
		c.SetHeader("Upgrade", "produce")
		return c.Upgrade(p)
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: produce\r\n\r\ngo")
	br := bufio.NewReader(conn)
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 101 {
		t.Fatalf("%v %v", res, err)
	}
	// Read nothing until a write has had to wait.
	select {
	case <-p.first:
	case w := <-p.waited:
		t.Fatalf("all %d bytes written with %d waits while the client read nothing: no back-pressure", p.total, w)
	}
	if n, err := io.CopyN(io.Discard, br, int64(p.total)); err != nil {
		t.Fatalf("read %d of %d: %v", n, p.total, err)
	}
	<-p.waited
}
