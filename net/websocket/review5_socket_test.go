package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"github.com/weftgo/weft/net"
	ws "github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/offload"
)

// Review 5 of issue 12: bugs shown over real sockets on 127.0.0.1. Each
// test fails on the code it was written against; see the commit messages.

// r5Frame builds a masked client frame (zero key: the payload is sent as
// is, which keeps the byte strings readable).
func r5Frame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch {
	case len(p) < 126:
		b = []byte{b0, 0x80 | byte(len(p))}
	case len(p) <= 0xFFFF:
		b = []byte{b0, 0x80 | 126, byte(len(p) >> 8), byte(len(p))}
	default:
		b = []byte{b0, 0x80 | 127}
		b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, p...)
}

// r5Dial sends req (a whole handshake request, possibly followed by more
// bytes) on a new connection and reads the response head. No deadline: a
// hang is the go test timeout's business.
func r5Dial(t *testing.T, addr, req string) (*webtest.RawConn, *http.Response) {
	t.Helper()
	rc, err := webtest.DialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if err := rc.Send(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.R, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rc, resp
}

func r5Handshake(addr, extra string) string {
	return "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// r5ReadFrame reads one server frame; err is io.EOF (or a reset) if the
// server closed the connection first.
func r5ReadFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0F, payload, nil
}

func r5Start(t *testing.T, s *net.Server) *webtest.TCPServer {
	t.Helper()
	ts, err := webtest.StartTCP(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts
}

// TestReview5LargeSendWithRefusingPool: Upgrader.Pool documents "a full
// pool is no error: an outgoing message then goes uncompressed". A pool
// that refuses at once (offload.Run returns an already-rejected future:
// queue full, closed, or NoWorkers) settles the compression future
// synchronously inside queueOnLoop, before compressOffLoop has stored the
// message in the pendingSend (ps.plain, ps.size, ps.dict are set after
// queueOnLoop returns): the session writes an EMPTY uncompressed frame in
// place of the message, then indexes c.pending[len-1] of the emptied
// queue and panics (conn.go compressOffLoop), which callOnLoop turns into
// a 1011 close. The client must get its 32 KiB echo.
func TestReview5LargeSendWithRefusingPool(t *testing.T) {
	// A closed pool refuses at once, as a full one does (MaxQueue).
	pool, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, takeover := range []bool{false, true} {
		name := "no context takeover"
		mode := websocket.CompressionNoContextTakeover
		if takeover {
			name, mode = "context takeover", websocket.CompressionContextTakeover
		}
		t.Run(name, func(t *testing.T) {
			up := &ws.Upgrader{EnableCompression: true, ContextTakeover: takeover, Pool: pool}
			ts := r5Start(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
				return up.Upgrade(c, ws.Handler{OnMessage: func(s *ws.Conn, typ ws.MessageType, data []byte) { s.Send(typ, data) }})
			}})
			c, _, err := websocket.Dial(t.Context(), "ws://"+ts.Addr+"/ws", &websocket.DialOptions{CompressionMode: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			msg := bytes.Repeat([]byte("weft review 5 "), (32<<10)/14+1)[:32<<10]
			if err := c.Write(t.Context(), websocket.MessageBinary, msg); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.Read(t.Context())
			if err != nil {
				t.Fatalf("no echo: %v (close status %d)", err, websocket.CloseStatus(err))
			}
			if typ != websocket.MessageBinary || !bytes.Equal(got, msg) {
				t.Fatalf("echo is a %v message of %d bytes, want the %d-byte binary message", typ, len(got), len(msg))
			}
		})
	}
}

// TestReview5NoPongAfterOurClose: the review read RFC 6455 §5.5.2 ("Upon
// receipt of a Ping frame, an endpoint MUST send a Pong frame in response,
// unless it already received a Close frame") as asking for a pong while
// the server's close waits for the client's. §5.5.1 says the other side of
// it: "After sending a Close frame, the endpoint MUST NOT send any further
// data", and gorilla/websocket refuses every write after its close
// (ErrCloseSent). weft keeps to §5.5.1: once its close is out, nothing
// follows it on the wire, so a client that stops parsing at the close
// frame (as browsers do) never has bytes behind it. The client here reads
// the server's close, sends a ping then its close: the next thing it reads
// must be the end of the connection, not a pong.
func TestReview5NoPongAfterOurClose(t *testing.T) {
	up := &ws.Upgrader{PingInterval: -1}
	ts := r5Start(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		return up.Upgrade(c, ws.Handler{OnOpen: func(s *ws.Conn) { s.Close(ws.StatusNormalClosure, "bye") }})
	}})
	rc, resp := r5Dial(t, ts.Addr, r5Handshake(ts.Addr, ""))
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	op, _, err := r5ReadFrame(rc.R)
	if err != nil || op != 0x8 {
		t.Fatalf("first frame op %#x, %v; want the server's close", op, err)
	}
	rc.Write(append(r5Frame(true, 0x9, []byte("still there?")), r5Frame(true, 0x8, []byte{0x03, 0xE8})...))
	if op, p, err := r5ReadFrame(rc.R); err == nil {
		t.Fatalf("frame op %#x %q after the server's close; want the connection's end", op, p)
	}
}
