package net

import (
	"context"
	"io"
	"strings"
	"syscall"
	"testing"

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
