package net

import (
	"bufio"
	"context"
	"io"
	stdnet "net"
	"net/http"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestRefusedUpgradeServesPipelinedRequests: a request that asks for an
// upgrade the handler does not grant (curl's "Upgrade: h2c", a WebSocket
// handshake answered 426) is an ordinary request; the requests pipelined
// behind it, already received, must be answered without the client sending
// more, whether the handler answers at once or later. The sweep is off, so
// only the connection's own passes can serve them.
func TestRefusedUpgradeServesPipelinedRequests(t *testing.T) {
	for _, async := range []bool{false, true} {
		name := "sync"
		if async {
			name = "async"
		}
		t.Run(name, func(t *testing.T) {
			addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result {
				if async && c.Path() == "/first" {
					done := runtime.Blocking(c, func(context.Context) (struct{}, error) { return struct{}{}, nil })
					return runtime.Then(c, done, func(struct{}) Result { return c.Text(200, c.Path()) })
				}
				return c.Text(200, c.Path())
			}})
			conn, err := stdnet.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The deadline only turns a hang into a failure; nothing is timed.
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, "GET /first HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"+
				"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			for _, want := range []string{"/first", "/second"} {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("waiting for the answer to %s: %v", want, err)
				}
				body, _ := io.ReadAll(resp.Body)
				if string(body) != want {
					t.Fatalf("body %q, want %q", body, want)
				}
			}
			if n := l.sweeps.Load(); n != 0 {
				t.Fatalf("%d sweeps ran; the test needs none", n)
			}
		})
	}
}
