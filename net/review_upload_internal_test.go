package net

import (
	"bufio"
	"io"
	stdnet "net"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestStreamedBodyNoContinueAfterStreamHead: a handler that starts its
// streamed answer (its head goes out) and only then asks for a streamed
// body that expects 100-continue must not get "100 Continue" written after
// that head: an interim response after the final one lands in the middle
// of the answer's body (RFC 9110 §15.2: 1xx only before the final
// response).
func TestStreamedBodyNoContinueAfterStreamHead(t *testing.T) {
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			s := c.Stream(200)
			s.WriteString("start;")
			s.Flush()
			return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
				s.WriteString("got " + string(b))
				return s.End()
			})
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hang guard
	if _, err := io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var got strings.Builder
	for { // up to the end of the first head, interim or final
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%q, %v", got.String(), err)
		}
		got.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br) // the answer closes the connection: its body was unread
	all := got.String() + string(rest)
	final := strings.Index(all, "HTTP/1.1 200")
	if i := strings.LastIndex(all, "100 Continue"); i > final {
		t.Fatalf("100 Continue after the final head:\n%q", all)
	}
	if !strings.Contains(all, "got hello") {
		t.Fatalf("no echo of the body:\n%q", all)
	}
}
