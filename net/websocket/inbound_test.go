package websocket

import (
	"bytes"
	"strings"
	"testing"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
)

// TestInboundDecompressionOffLoop checks that a large compressed message
// is finished off the loop and that what follows it (plain and compressed
// messages, a ping, the close frame) keeps its order.
func TestInboundDecompressionOffLoop(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15}
	big := bytes.Repeat([]byte("off the loop "), 10000) // 130 KB, compresses to little
	h := newHarness(t, &Upgrader{EnableCompression: true, OffloadAbove: 4096}, d, nil)
	in := cat(
		clientRSV(true, true, frame.OpText, deflateMessage(t, big)),
		client(true, frame.OpText, []byte("plain after")),
		client(true, frame.OpPing, []byte("ping")),
		clientRSV(true, true, frame.OpBinary, deflateMessage(t, []byte("small compressed after"))),
		clientRSV(true, true, frame.OpText, deflateMessage(t, big)),
		client(true, frame.OpClose, closePayload(1000, "done")),
	)
	var done runtime.Future[struct{}]
	h.loop.Do(func() {
		done = h.c.Done()
		h.ft.in = append(h.ft.in, in...)
		if n := h.c.trafficOnLoop(h.ft.in); n != len(in) {
			t.Errorf("consumed %d of %d", n, len(in))
			return
		}
		if len(h.messages) != 0 {
			t.Errorf("%d messages delivered before the first one's decompression finished", len(h.messages))
			return
		}
		fs := h.frames()
		if len(fs) != 1 || fs[0].op != frame.OpPong {
			t.Errorf("frames %+v: the ping is answered at once, the close waits", fs)
			return
		}
	})
	if _, err := done.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.loop.Do(func() {
		want := []message{
			{TextMessage, string(big)},
			{TextMessage, "plain after"},
			{BinaryMessage, "small compressed after"},
			{TextMessage, string(big)},
		}
		if len(h.messages) != len(want) {
			t.Errorf("%d messages, want %d", len(h.messages), len(want))
			return
		}
		for i := range want {
			if h.messages[i] != want[i] {
				t.Errorf("message %d: %v %q", i, h.messages[i].typ, trunc(h.messages[i].data))
			}
		}
		if len(h.closes) != 1 || h.closes[0] != (closeEvent{1000, "done"}) {
			t.Errorf("OnClose %v", h.closes)
		}
	})
	if got := h.closeCode(); got != 1000 {
		t.Fatalf("close echoed %d", got)
	}
}

func TestInboundOffLoopFailures(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15}
	tests := []struct {
		name string
		up   *Upgrader
		in   func(t *testing.T) []byte
		code uint16
	}{
		{"§7.4.1 1009 past the limit, off the loop", &Upgrader{EnableCompression: true, OffloadAbove: 1024, MaxMessageBytes: 100000},
			func(t *testing.T) []byte {
				return clientRSV(true, true, frame.OpBinary, deflateMessage(t, make([]byte, 200000)))
			}, 1009},
		{"§8.1 1007 invalid UTF-8, off the loop", &Upgrader{EnableCompression: true, OffloadAbove: 1024},
			func(t *testing.T) []byte {
				return clientRSV(true, true, frame.OpText, deflateMessage(t, []byte(strings.Repeat("a", 50000)+"\xff")))
			}, 1007},
		{"1008 backlog behind a decompression", &Upgrader{EnableCompression: true, OffloadAbove: 1024, MaxMessageBytes: 64 << 10},
			func(t *testing.T) []byte {
				parts := [][]byte{clientRSV(true, true, frame.OpBinary, deflateMessage(t, make([]byte, 60000)))}
				for range 20 {
					parts = append(parts, client(true, frame.OpBinary, make([]byte, 64<<10)))
				}
				return cat(parts...)
			}, 1008},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.up, d, nil)
			var done runtime.Future[struct{}]
			h.loop.Do(func() { done = h.c.Done() })
			h.feed(tc.in(t))
			if _, err := done.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := h.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
			h.loop.Do(func() {
				if len(h.messages) != 0 {
					t.Errorf("%d messages delivered", len(h.messages))
				}
			})
		})
	}
}
