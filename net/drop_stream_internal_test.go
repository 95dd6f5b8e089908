package net

import (
	"io"
	"testing"

	"github.com/weftgo/weft/runtime"
)

// TestDroppedStreamWriterIsReleased: a stream pipelined behind an answer
// that turns out to be the connection's last (an HTTP/1.0 stream started
// from a continuation) is never sent; a write of it waiting for room must
// fail then, not wait forever.
func TestDroppedStreamWriterIsReleased(t *testing.T) {
	var first runtime.Promise[struct{}] // the loop's
	queued := make(chan struct{})
	settled := false // loop-only
	addr, l := startInternal(t, &Server{
		StreamHighWaterBytes: 64 << 10,
		Handler: func(c *Ctx) Result {
			if c.Path() == "/first" {
				first = runtime.NewPromise[struct{}](c.Loop())
				return runtime.Then(c, first.Future(), func(struct{}) Result {
					s := c.Stream(StatusOK) // HTTP/1.0, no length: the last answer
					s.WriteString("first")
					return s.End()
				})
			}
			s := c.Stream(StatusOK)
			var f runtime.Future[struct{}]
			for f.Ready() {
				f = s.Write(pattern(32 << 10))
			}
			close(queued)
			return runtime.Then(c, f, func(struct{}) Result { return s.End() }).
				Finally(c, func(struct{}, error) { settled = true })
		},
	})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET /first HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /second HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-queued
	onLoop(t, l, func() { first.Resolve(struct{}{}) })
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatal(err)
	}
	done := false
	for range 3 {
		onLoop(t, l, func() { done = settled })
	}
	if !done {
		t.Fatal("the dropped stream's waiting write never settled")
	}
}
