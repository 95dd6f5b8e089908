package net

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/weftgo/weft/runtime"
)

// TestNoContinueAfterTheStreamHead: a handler streaming its answer to a
// request that expects 100-continue, and asking for the body only once
// the answer's head is out (with its first 16 KiB, or at the pass before
// a later continuation), must not send "100 Continue" then: an interim
// response after the final one lands inside the body and breaks its
// framing.
func TestNoContinueAfterTheStreamHead(t *testing.T) {
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("early=%v", early), func(t *testing.T) {
			var proceed runtime.Promise[struct{}] // the loop's
			ready := make(chan struct{})
			first := pattern(streamGather)
			if !early {
				first = first[:10]
			}
			addr, l := startInternal(t, &Server{
				StreamBody: func(c *Ctx) int64 { return 1 << 20 },
				Handler: func(c *Ctx) Result {
					s := c.Stream(StatusOK)
					s.Write(first)
					proceed = runtime.NewPromise[struct{}](c.Loop())
					close(ready)
					return runtime.Then(c, proceed.Future(), func(struct{}) Result {
						return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
							s.Write(b)
							return s.End()
						})
					})
				},
			})
			conn := dial(t, addr)
			if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil) // the final head comes first
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("status %d first", res.StatusCode)
			}
			<-ready
			onLoop(t, l, func() { proceed.Resolve(struct{}{}) })
			if _, err := io.WriteString(conn, "hello"); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			if want := append(bytes.Clone(first), "hello"...); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("body %d bytes (want %d), %v; tail %q", len(got), len(want), err, got[max(0, len(got)-40):])
			}
		})
	}
}
