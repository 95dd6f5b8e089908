package websocket

import (
	"testing"

	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// FuzzSession feeds arbitrary client bytes, cut at an arbitrary point, to a
// session (with and without permessage-deflate) and checks what it
// promises for any input: no panic, every byte consumed or kept for later,
// a message limit that holds, and, after a failure, a close frame with a
// code the RFC allows and a closed connection.
func FuzzSession(f *testing.F) {
	f.Add(cat(client(true, frame.OpText, []byte("hello")), client(true, frame.OpPing, []byte("p"))), uint16(3), false)
	f.Add(cat(client(false, frame.OpText, []byte("he")), client(true, frame.OpContinuation, []byte("llo"))), uint16(9), false)
	f.Add(clientRSV(true, true, frame.OpText, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), uint16(1), true)
	f.Add(client(true, frame.OpClose, closePayload(1000, "bye")), uint16(0), false)
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, uint16(2), false)
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, deflate bool) {
		d := deflateParams{}
		if deflate {
			// The cut's low bit picks context takeover both ways.
			takeover := cut&1 == 1
			d = deflateParams{enabled: true, windowBits: 15, serverTakeover: takeover, clientTakeover: takeover}
		}
		h := newHarness(t, &Upgrader{MaxMessageBytes: 4096, OffloadAbove: 512, PingInterval: -1}, d, nil)
		k := int(cut) % (len(in) + 1)
		h.feed(in[:k])
		h.feed(in[k:])
		h.sync()
		h.loop.Do(func() {
			if len(h.ft.in) > frame.MaxHeaderLen+frame.MaxControlPayload && !h.ft.closed {
				t.Errorf("%d bytes left unconsumed", len(h.ft.in))
				return
			}
			for _, m := range h.messages {
				if len(m.data) > 4096 {
					t.Errorf("message of %d bytes over the limit", len(m.data))
					return
				}
			}
		})
		for _, fr := range h.frames() {
			if fr.op == frame.OpClose && len(fr.payload) >= 2 {
				code, _, err := frame.ParseClose(fr.payload)
				if err != nil || !frame.ValidCloseCode(code) {
					t.Fatalf("server sent close % x", fr.payload)
				}
			}
		}
	})
}
