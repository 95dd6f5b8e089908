package websocket

import (
	"strconv"
	"testing"

	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// TestEchoDoesNotAllocate fails on any allocation in a warm session's
// receive, deliver and send path for a small message: parse, unmask,
// UTF-8, the callback, and the frame written back.
func TestEchoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
	h.c.h.OnMessage = func(c *Conn, typ MessageType, data []byte) {
		c.Send(typ, data)
		c.SendText("and a string")
	}
	in := cat(client(true, frame.OpText, []byte("hello, weft")), client(false, frame.OpBinary, make([]byte, 300)),
		client(true, frame.OpPing, []byte("p")), client(true, frame.OpContinuation, make([]byte, 300)))
	h.loop.Do(func() {
		run := func() {
			h.ft.out = h.ft.out[:0]
			if n := h.c.trafficOnLoop(in); n != len(in) {
				t.Fatalf("consumed %d of %d", n, len(in))
			}
		}
		run()
		if a := testing.AllocsPerRun(200, run); a != 0 {
			t.Errorf("%v allocations per echo", a)
		}
	})
}

func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			h := newHarness(b, &Upgrader{MaxMessageBytes: 1 << 20}, deflateParams{}, nil)
			h.c.h.OnMessage = func(c *Conn, typ MessageType, data []byte) { c.Send(typ, data) }
			in := client(true, frame.OpBinary, make([]byte, size))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			h.loop.Do(func() {
				for b.Loop() {
					h.ft.out = h.ft.out[:0]
					h.c.trafficOnLoop(in)
				}
			})
		})
	}
}
