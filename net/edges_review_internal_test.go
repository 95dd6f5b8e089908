package net

import (
	"bufio"
	"context"
	"io"
	stdnet "net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestHalfClosedClientGetsAnswerOwedBehindALargeOne: a half-closed client
// pipelines a large answer and an asynchronous one. Once gnet has sent the
// large answer it re-arms reading (ModRead), reads the end of the stream,
// and closes: the answer still owed was lost.
func TestHalfClosedClientGetsAnswerOwedBehindALargeOne(t *testing.T) {
	big := strings.Repeat("z", 8<<20)
	release := make(chan struct{})
	addr, _ := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if c.Path() == "/big" {
			return c.Text(200, big)
		}
		v := runtime.Blocking(c, func(context.Context) (string, error) { <-release; return "held", nil })
		return runtime.Then(c, v, func(s string) Result { return c.Text(200, s) })
	}})
	br := halfClose(t, addr, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /held HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err := readAnswer(br)
	if err != nil || got != big {
		t.Fatalf("answer 1: %d bytes (want %d), %v", len(got), len(big), err)
	}
	// Every byte of the large answer has left gnet's buffer (gnet then
	// asks for reading again, and its poll finds the end of the stream
	// at once); only now is the second answer ready.
	close(release)
	got, err = readAnswer(br)
	if err != nil || got != "held" {
		t.Fatalf("answer 2: %q, %v", got, err)
	}
	if b, err := io.ReadAll(br); len(b) > 0 || err != nil && err != syscall.ECONNRESET {
		t.Fatalf("after the answers: %q, %v", b, err)
	}
}

// TestLingerReadsWhatAPausedReadLeft: a handler that answers a streamed
// upload unread while reading was paused for back-pressure (its chunk
// held) left the connection lingering with reading still paused: nothing
// was read or discarded, so a client that sends its whole body before
// reading the answer stayed blocked until the linger timed out, and then
// met a reset that destroyed the answer.
func TestLingerReadsWhatAPausedReadLeft(t *testing.T) {
	paused := make(chan struct{})
	s := &Server{
		StreamBody: func(*Ctx) int64 { return 1 << 40 },
		Handler: func(c *Ctx) Result {
			v := runtime.Blocking(c, func(context.Context) (int, error) { <-paused; return 0, nil })
			return runtime.Then(c, v, func(int) Result { return c.Text(200, "no") })
		},
	}
	addr, l := startInternal(t, s)
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second)) // a hang guard only
	sent := make(chan error, 1)
	go func() {
		if _, err := io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n"); err != nil {
			sent <- err
			return
		}
		p := make([]byte, 64<<10)
		for n := 0; n < 8<<20; n += len(p) {
			if _, err := conn.Write(p); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for l.readPauses.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(paused)
	// The client writes its 8 MiB (less than lingerBytes) before it
	// reads: the lingering server must take them.
	if err := <-sent; err != nil {
		t.Fatalf("sending the body: %v (lingers %d)", err, l.lingers.Load())
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(got) != "no" {
		t.Fatalf("got %d %q", res.StatusCode, got)
	}
}
