package net_test

import (
	"bufio"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// pipeCloser is an io.Pipe's reading end that says when it is closed.
type pipeCloser struct {
	*io.PipeReader
	once   sync.Once
	closed chan struct{}
}

func (p *pipeCloser) Close() error {
	p.once.Do(func() { close(p.closed) })
	return p.PipeReader.Close()
}

// TestReview5SendReaderBlockedReadIsClosedWhenTheClientLeaves: SendReader
// documents that r is closed "however it ends (... the client leaving while
// a read is in flight)". A reader whose Read blocks (an upstream that
// stalls: a pipe, a socket) while the client leaves must be closed then,
// which is what unblocks its Read; otherwise the Blocking goroutine, the
// reader and the request's Ctx stay for ever. Today the close is attached
// to the read's future (readerPump.next ... Finally), which never settles
// while Read blocks.
func TestReview5SendReaderBlockedReadIsClosedWhenTheClientLeaves(t *testing.T) {
	pr, pw := io.Pipe()
	r := &pipeCloser{PipeReader: pr, closed: make(chan struct{})}
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.SendReader(200, "text/plain", r, -1)
	}})
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) }) // runs before the server's Shutdown
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	go pw.Write([]byte("first chunk\n")) // then the upstream stalls
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first chunk\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	conn.Close() // the client leaves while the second Read blocks
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was not closed 10 s after the client left while its Read blocked: its goroutine and the request leak until the upstream speaks")
	}
}

// TestReview5AbortDoesNotCutAnEarlierAnswer: a stream's Abort closes the
// connection "when this response's turn comes: the ones before it are
// written first" (Stream.Abort). Written to gnet is not sent: gnet's close
// writes what the socket takes at once and drops the rest, so a large,
// complete answer pipelined ahead of the aborted stream arrives cut. The
// noAnswer path (a half-closed client's failure) already closes only once
// the answers before it are sent; Abort must too.
func TestReview5AbortDoesNotCutAnEarlierAnswer(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<19) // 8 MiB
	promises := make(chan runtime.Promise[struct{}], 1)
	addr := startServer(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/big" {
			return c.Text(200, big)
		}
		s := c.Stream(200)
		s.Write(make([]byte, 32<<10)) // past the gather size: its head goes out with the first pass
		p := runtime.NewPromise[struct{}](c.Loop())
		promises <- p
		return runtime.Then(c, p.Future(), func(struct{}) net.Result {
			return s.Abort(errors.New("upstream failed"))
		})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(64 << 10) // a client that reads later than the server writes
	io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	p := <-promises
	// The pass that dispatched /abort wrote /big and the stream's head
	// into gnet before this task can run on the loop.
	p.Resolve(struct{}{})
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || len(got) != len(big) {
		t.Fatalf("the complete answer ahead of the aborted stream arrived with %d of its %d bytes (%v)", len(got), len(big), err)
	}
}
