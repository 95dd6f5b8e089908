package websocket

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// Review of issue 12: session-level bugs, each shown on the fake transport.

// TestPingFloodIsBounded: a client that sends pings and never reads must
// not make the server queue pongs without bound; past MaxBufferedBytes the
// session fails with 1008, as for any other output (the issue's
// back-pressure bar).
func TestPingFloodIsBounded(t *testing.T) {
	h := newHarness(t, &Upgrader{MaxBufferedBytes: 4096}, deflateParams{}, nil)
	h.loop.Do(func() { h.ft.highWater = 1 << 30 }) // count the buffer, never wait
	ping := client(true, frame.OpPing, bytes.Repeat([]byte("p"), frame.MaxControlPayload))
	for range 200 { // 200 pongs of 127 bytes: 25 KiB, six times the limit
		h.feed(ping)
	}
	h.sync()
	var buffered int
	h.loop.Do(func() { buffered = h.ft.buffered })
	if buffered > 4096+2*frame.MaxHeaderLen+frame.MaxControlPayload {
		t.Errorf("%d bytes queued for a client that never reads, limit 4096", buffered)
	}
	if got := h.closeCode(); got != 1008 {
		t.Errorf("close code %d, want 1008", got)
	}
	if !h.closed() {
		t.Error("session not closed past MaxBufferedBytes")
	}
}

// TestBroadcastCountsAsActivity: IdleTimeout is about data messages going
// either way; a session fed by a Group (SendPrepared) is not idle.
func TestBroadcastCountsAsActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, &Upgrader{PingInterval: -1, IdleTimeout: 20 * time.Second}, deflateParams{}, nil)
		pm := NewPreparedMessage(TextMessage, []byte("tick"))
		for range 6 {
			time.Sleep(5 * time.Second)
			h.loop.Do(func() { h.c.SendPrepared(pm) })
			synctest.Wait()
		}
		if got := h.closeCode(); got != 0 {
			t.Fatalf("closed with %d after 30 s of broadcasts every 5 s (IdleTimeout 20 s)", got)
		}
	})
}

// TestDeflateBombStaysWithinLimit: a small compressed message that
// inflates far past MaxMessageBytes fails with 1009 without the server
// holding more than the limit (plus a byte to see it is over).
func TestDeflateBombStaysWithinLimit(t *testing.T) {
	const limit = 1 << 20
	bomb := deflateMessage(t, make([]byte, 64<<20))
	for _, budget := range []int{0, 16 << 10} {
		var cd codec
		in := bytes.Clone(bomb)
		f := cd.startInflate(&in, nil)
		out, done, err := f.read(nil, 0, limit, budget)
		for !done {
			out, done, err = f.read(out, 0, limit, budget)
		}
		cd.endInflate(f)
		if err != frame.ErrTooBig {
			t.Fatalf("budget %d: err %v, want ErrTooBig", budget, err)
		}
		if cap(out) > limit+1 {
			t.Errorf("budget %d: a %d-byte buffer for a %d-byte limit", budget, cap(out), limit)
		}
	}
}

// TestCloseReasonIsValidUTF8: the server's own close frame must carry a
// UTF-8 reason (§5.5.1), whatever the caller passed (a reason built from
// client input, or cut at 123 bytes); otherwise the client fails the
// connection with 1007 instead of closing cleanly.
func TestCloseReasonIsValidUTF8(t *testing.T) {
	for _, reason := range []string{"bad \xff byte", "\xe2\x82" + string(bytes.Repeat([]byte("a"), 200))} {
		h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
		h.loop.Do(func() { h.c.Close(StatusNormalClosure, reason) })
		var p []byte
		for _, f := range h.frames() {
			if f.op == frame.OpClose {
				p = f.payload
			}
		}
		if _, _, err := frame.ParseClose(p); err != nil {
			t.Errorf("Close(1000, %q): the server's close frame % x fails the client's check: %v", reason[:8], p, err)
		}
	}
}

// TestServerMaxWindowBitsOfferedIsAnswered: RFC 7692 §7.1.2.1, "a server
// accepts an extension negotiation offer with this parameter by including
// the server_max_window_bits extension parameter in the response"; an
// offer of 15 bits is accepted too, so the response names it.
func TestServerMaxWindowBitsOfferedIsAnswered(t *testing.T) {
	const both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, takeover := range []bool{false, true} {
		resp := negotiateOver(t, &Upgrader{EnableCompression: true, ContextTakeover: takeover},
			upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=15"))
		want := both + "; server_max_window_bits=15"
		if takeover {
			want = "permessage-deflate; server_max_window_bits=15"
		}
		if got := resp.Header.Get("X-Extensions"); got != want {
			t.Errorf("takeover %v: extensions %q, want %q", takeover, got, want)
		}
	}
}
