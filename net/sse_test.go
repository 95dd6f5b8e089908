package net_test

import (
	"bufio"
	stdnet "net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestSSEEventFromATimerIsOnTheSocketBeforeItsTaskEnds: an event sent
// from a timer's continuation is written to the socket inside that Send,
// not queued for a later pass, so that the time an event carries is the
// time it was written (issue 8's bar: each event within 5 ms of the
// write). Over loopback a write(2) lands in the client's receive queue at
// once, so the bytes the client's socket holds (SIOCINQ) must grow across
// the Send, in the same task.
func TestSSEEventFromATimerIsOnTheSocketBeforeItsTaskEnds(t *testing.T) {
	var clientFD atomic.Int64
	clientFD.Store(-1)
	type sample struct{ before, after int }
	got := make(chan sample, 1)
	inq := func() int {
		n, err := unix.IoctlGetInt(int(clientFD.Load()), unix.SIOCINQ)
		if err != nil {
			return -1
		}
		return n
	}
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		sse.Comment("start") // the head and this go out with the first pass
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			s := sample{before: inq()}
			f := sse.Send(net.Event{ID: "1", Data: "tick"})
			s.after = inq()
			got <- s
			return runtime.Then(c, f, func(struct{}) net.Result { return sse.Stream().End() })
		})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*stdnet.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Control(func(fd uintptr) { clientFD.Store(int64(fd)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.before < 0 || s.after <= s.before {
		t.Fatalf("the client's socket held %d bytes before the Send and %d after it: the event was not written within its task", s.before, s.after)
	}
	body, err := readAllString(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "\r\n\r\n") || !strings.Contains(body, "id: 1\ndata: tick\n\n") {
		t.Fatalf("response %q: want the event", body)
	}
}

// readAllString reads r until the chunked body's last chunk.
func readAllString(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "0\r\n\r\n") {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}
