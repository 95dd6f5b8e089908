package websocket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weftgo/weft/net"
	ws "github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/runtime"
)

// producerResult is what a server-side producer saw.
type producerResult struct {
	sent        int   // messages handed to Send successfully
	maxBuffered int   // the largest Buffered() seen before a send
	waited      bool  // some send's future was pending (back-pressure)
	err         error // the send error that stopped it, if any
}

// TestBackPressureOverSocket runs two producers against a client that does
// not read at first: one that waits for each send's future stays near net's
// high-water mark and delivers everything; one that ignores the futures is
// stopped at MaxBufferedBytes with ErrBufferFull, and the session fails
// with 1008.
func TestBackPressureOverSocket(t *testing.T) {
	const (
		msgSize  = 256 << 10
		total    = 256 // 64 MiB
		highMark = 1 << 20
	)
	msg := make([]byte, msgSize)
	tests := []struct {
		name    string
		waitFor bool
	}{
		{"producer waits for each send", true},
		{"producer ignores the futures", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := &ws.Upgrader{MaxBufferedBytes: 8 << 20}
			blocked := make(chan struct{}) // closed when the producer is held back or stopped
			done := make(chan producerResult, 1)
			srv := &net.Server{Loops: 1, MaxOutboundBytes: highMark, Handler: func(c *net.Ctx) net.Result {
				return up.Upgrade(c, ws.Handler{OnOpen: func(s *ws.Conn) {
					var r producerResult
					finish := func() {
						select {
						case <-blocked:
						default:
							close(blocked)
						}
						done <- r
					}
					var step func(struct{}) runtime.Future[struct{}]
					step = func(struct{}) runtime.Future[struct{}] {
						for r.sent < total {
							r.maxBuffered = max(r.maxBuffered, s.Buffered())
							f := s.Send(ws.BinaryMessage, msg)
							if _, err := f.Get(); err != nil && !errors.Is(err, runtime.ErrPending) {
								r.err = err
								finish()
								return runtime.Resolved(struct{}{})
							}
							r.sent++
							if tc.waitFor && !f.Ready() {
								if !r.waited {
									r.waited = true
									close(blocked)
								}
								return runtime.Then(s, f, step)
							}
						}
						finish()
						return runtime.Resolved(struct{}{})
					}
					step(struct{}{})
				}})
			}}
			ts, err := webtest.StartTCP(srv)
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, "ws://"+ts.Addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(msgSize)
			// Read nothing until the producer is held back or stopped.
			select {
			case <-blocked:
			case <-ctx.Done():
				t.Fatal("the producer was never held back nor stopped")
			}
			got := 0
			var readErr error
			for got < total {
				if _, _, readErr = c.Read(ctx); readErr != nil {
					break
				}
				got++
			}
			r := <-done
			if tc.waitFor {
				if readErr != nil || got != total || r.err != nil || !r.waited {
					t.Fatalf("read %d/%d (%v); producer %+v", got, total, readErr, r)
				}
				// Held back at the high-water mark: never much more
				// than it (plus the socket's own buffers, which gnet
				// does not count) was queued.
				if r.maxBuffered > highMark+2*msgSize {
					t.Fatalf("%d bytes queued for a client that did not read; high-water mark %d", r.maxBuffered, highMark)
				}
				return
			}
			if !errors.Is(r.err, ws.ErrBufferFull) {
				t.Fatalf("producer stopped by %v after %d sends, want ErrBufferFull", r.err, r.sent)
			}
			// The session is failed: the connection closes with what
			// the kernel took (net does not wait for a client that does
			// not read), so the client sees 1008 or an abrupt end,
			// never the rest of the stream.
			if readErr == nil || got >= total {
				t.Fatalf("client read %d of %d messages and no error", got, total)
			}
			if cs := websocket.CloseStatus(readErr); cs != -1 && cs != websocket.StatusPolicyViolation {
				t.Fatalf("client saw close %v, want 1008", cs)
			}
		})
	}
}
