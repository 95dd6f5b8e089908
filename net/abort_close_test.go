package net_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestAbortedCloseDelimitedStreamResets: a streamed body whose end is the
// connection's close (HTTP/1.0 without a length) has no framing that a cut
// could break, so an abort must not end it with a FIN, which the client
// takes for the end of a complete body: it ends with a reset (an abortive
// close), and the client's read fails. A body that ends normally still
// ends with a FIN, and one cut after the bytes written before the abort
// were delivered.
func TestAbortedCloseDelimitedStreamResets(t *testing.T) {
	tests := []struct {
		name  string
		abort bool
	}{
		{"aborted", true},
		{"ended", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := make(chan struct{})
			h := func(c *net.Ctx) net.Result {
				s := c.Stream(200)
				s.WriteString("first part\n")
				s.Flush()
				read := runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
					select {
					case <-next:
					case <-ctx.Done():
					}
					return struct{}{}, nil
				})
				return runtime.Then(c, read, func(struct{}) net.Result {
					if tt.abort {
						return s.Abort(errors.New("upstream failed midway"))
					}
					s.WriteString("second part\n")
					return s.End()
				})
			}
			addr := startServer(t, &net.Server{Handler: h, Loops: 1})
			rc := dial(t, addr)
			rc.send("GET / HTTP/1.0\r\n\r\n")
			var head strings.Builder
			for !strings.HasSuffix(head.String(), "\r\n\r\nfirst part\n") {
				b, err := rc.br.ReadByte()
				if err != nil {
					t.Fatalf("after %q: %v", head.String(), err)
				}
				head.WriteByte(b)
			}
			if h := head.String(); strings.Contains(h, "Content-Length") || strings.Contains(h, "chunked") {
				t.Fatalf("not a close-delimited body:\n%s", h)
			}
			next <- struct{}{}
			rest, err := io.ReadAll(rc.br)
			switch {
			case tt.abort && err == nil:
				t.Fatalf("the aborted body ended with a clean close after %q: the client takes it for a complete body", rest)
			case tt.abort && !errors.Is(err, syscall.ECONNRESET):
				t.Fatalf("the aborted body ended with %v, want a reset", err)
			case !tt.abort && (err != nil || string(rest) != "second part\n"):
				t.Fatalf("the whole body's end: %q, %v", rest, err)
			}
		})
	}
}
