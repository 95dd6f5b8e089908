package websocket_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coder/websocket"

	ws "github.com/weftgo/weft/net/websocket"
)

// TestFramesAround64KiBOverSocket echoes messages whose frames fall on
// either side of the one-write limit (header and payload up to 64 KiB),
// plain and compressed, random and repetitive, over a socket, with
// coder/websocket: each comes back whole.
func TestFramesAround64KiBOverSocket(t *testing.T) {
	sizes := []int{125, 126, 65531, 65532, 65533, 65535, 65536, 65537, 65540}
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 65540)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	repeated := bytes.Repeat([]byte("weft! "), 65540/6+1)[:65540]
	for _, compress := range []bool{false, true} {
		mode := websocket.CompressionDisabled
		if compress {
			mode = websocket.CompressionNoContextTakeover
		}
		addr := echoServer(t, &ws.Upgrader{EnableCompression: compress, MaxMessageBytes: 1 << 20}, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{CompressionMode: mode})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		for _, src := range [][]byte{random, repeated} {
			for _, n := range sizes {
				msg := src[:n]
				if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
					t.Fatal(err)
				}
				_, got, err := c.Read(ctx)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("compress %v, %d bytes: echo of %d bytes, %v", compress, n, len(got), err)
				}
			}
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
		cancel()
	}
}
