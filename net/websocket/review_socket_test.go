package websocket_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	ws "github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/net/webtest"
)

// readFrame reads one unmasked server frame.
func readFrame(t *testing.T, br *bufio.Reader) (op byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("reading a frame header: %v", err)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			t.Fatal(err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			t.Fatal(err)
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if got, err := io.ReadFull(br, payload); err != nil {
		t.Fatalf("frame op %#x: got %d of %d payload bytes: %v", h[0]&0x0F, got, n, err)
	}
	return h[0] & 0x0F, payload
}

// TestCloseKeepsQueuedOutput: a session that closes while its output is
// still in gnet's buffer (here a large message sent just before the
// client's close) must deliver all of it, and its close frame, before the
// connection goes: net's Upgraded.Close waits for the output to drain, as
// an HTTP response's close does.
func TestCloseKeepsQueuedOutput(t *testing.T) {
	const size = 32 << 20
	up := &ws.Upgrader{MaxBufferedBytes: 64 << 20}
	ts, err := webtest.StartTCP(&net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		return up.Upgrade(c, ws.Handler{OnOpen: func(s *ws.Conn) {
			s.Send(ws.BinaryMessage, make([]byte, size))
		}})
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	conn, br := rawUpgrade(t, ts.Addr)
	// The client's close, masked with a zero key, before reading anything.
	if _, err := conn.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8}); err != nil {
		t.Fatal(err)
	}
	op, p := readFrame(t, br)
	if op != 0x2 || len(p) != size {
		t.Fatalf("first frame op %#x, %d bytes; want the %d-byte binary message", op, len(p), size)
	}
	op, p = readFrame(t, br)
	if op != 0x8 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1000 {
		t.Fatalf("second frame op %#x % x; want the close 1000", op, p)
	}
}

// TestClosedSessionEndsAtWriteTimeout: since Upgraded.Close waits for the
// output to drain, a session failed with 1008 for a client that never
// reads must still end: WriteTimeout closes the connection, and OnClose
// runs.
func TestClosedSessionEndsAtWriteTimeout(t *testing.T) {
	up := &ws.Upgrader{MaxBufferedBytes: 1 << 20}
	closed := make(chan ws.StatusCode, 1)
	failed := make(chan error, 1)
	ts, err := webtest.StartTCP(&net.Server{Loops: 1, WriteTimeout: 100 * time.Millisecond, MaxOutboundBytes: 256 << 10,
		Handler: func(c *net.Ctx) net.Result {
			return up.Upgrade(c, ws.Handler{
				OnOpen: func(s *ws.Conn) {
					msg := make([]byte, 256<<10)
					for range 4096 { // 1 GiB: far past what the kernel buffers
						if f := s.Send(ws.BinaryMessage, msg); f.Ready() {
							if _, err := f.Get(); err != nil {
								failed <- err
								return
							}
						}
					}
					failed <- nil
				},
				OnClose: func(s *ws.Conn, code ws.StatusCode, _ string) { closed <- code },
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	rawUpgrade(t, ts.Addr) // and never read
	select {
	case err := <-failed:
		if !errors.Is(err, ws.ErrBufferFull) {
			t.Fatalf("send failed with %v, want ErrBufferFull", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the producer was never stopped")
	}
	select {
	case code := <-closed:
		if code != ws.StatusAbnormalClosure {
			t.Fatalf("OnClose %d, want 1006", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the connection of a failed session was never closed (WriteTimeout 100 ms)")
	}
}
