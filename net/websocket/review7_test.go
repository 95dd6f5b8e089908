package websocket

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
)

// TestFailedUpgradeAnswerHasNoHandshakeHeaders: a handshake that passes
// the WebSocket checks but cannot upgrade its connection (it asks to close
// it: Connection: close, upgrade) is answered with an error, and that
// answer must not carry the 101's headers (Upgrade, Sec-WebSocket-Accept):
// an Upgrade field without "Connection: upgrade" breaks RFC 9110 §7.8, and
// an accept key on a refusal invites a client to take it for a handshake.
func TestFailedUpgradeAnswerHasNoHandshakeHeaders(t *testing.T) {
	u := &Upgrader{}
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		return u.Upgrade(c, Handler{})
	}}
	tc, err := net.NewTestConn(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte(upgradeRequest("Connection: close, Upgrade")), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res.Body.Close()
	if res.StatusCode == 101 {
		t.Fatalf("upgraded a connection the client asked to close:\n%s", out)
	}
	for _, h := range []string{"Upgrade", "Sec-WebSocket-Accept"} {
		if v := res.Header.Get(h); v != "" {
			t.Errorf("the %d refusal carries %s: %s\n%s", res.StatusCode, h, v, out)
		}
	}
}

// TestBroadcastToASlowMemberIsBounded: a Group member whose client never
// reads does not make a broadcast queue without bound: its output stops at
// MaxBufferedBytes (plus the message in hand), and it is failed with 1008
// (not a bug: SendPrepared checks the limit; this pins it).
func TestBroadcastToASlowMemberIsBounded(t *testing.T) {
	h := newHarness(t, &Upgrader{MaxBufferedBytes: 4096}, deflateParams{}, nil)
	h.loop.Do(func() { h.ft.highWater = 1 << 30 }) // count the buffer, never wait
	g := NewGroup()
	h.loop.Do(func() { g.Add(h.c) })
	pm := NewPreparedMessage(TextMessage, bytes.Repeat([]byte("b"), 1000))
	for range 200 { // 200 KB, fifty times the limit
		g.Broadcast(pm)
	}
	h.sync()
	h.sync() // the group's task, posted by Broadcast, has run
	var buffered int
	h.loop.Do(func() { buffered = h.ft.buffered })
	if buffered > 4096+2*frame.MaxHeaderLen+1000+frame.MaxControlPayload {
		t.Errorf("%d bytes queued for a member that never reads, limit 4096", buffered)
	}
	if got := h.closeCode(); got != 1008 {
		t.Errorf("close code %d, want 1008", got)
	}
	if g.Len() != 0 {
		t.Errorf("the failed member is still in the group (%d)", g.Len())
	}
}

// TestBacklogCountsBytesNotPooledCapacity: messages queued behind an
// off-loop decompression count against the backlog limit (twice
// MaxMessageBytes plus 1 MiB) by their bytes. A small message assembled in
// a pooled buffer grown by an earlier large one (up to 64 KiB) must not
// count, or hold, that capacity: sixty 10-byte messages behind one
// decompression are far under the limit, and are delivered.
func TestBacklogCountsBytesNotPooledCapacity(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15}
	h := newHarness(t, &Upgrader{EnableCompression: true, OffloadAbove: 1024, MaxMessageBytes: 64 << 10}, d, nil)
	h.loop.Do(func() {
		// The pool as a busy server leaves it: buffers grown by large
		// messages of other sessions.
		for range 200 {
			b := make([]byte, 0, maxPooledBuf)
			putBuf(&h.c.cfg.msgs, &b)
		}
	})
	const tiny = 60
	parts := [][]byte{clientRSV(true, true, frame.OpBinary, deflateMessage(t, make([]byte, 60000)))}
	for range tiny {
		parts = append(parts, client(true, frame.OpBinary, []byte("0123456789")))
	}
	parts = append(parts, client(true, frame.OpClose, closePayload(1000, "done")))
	var done runtime.Future[struct{}]
	h.loop.Do(func() { done = h.c.Done() })
	h.feed(cat(parts...))
	if _, err := done.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.closeCode(); got != 1000 {
		t.Fatalf("close code %d, want 1000: %d bytes of small messages behind a decompression failed the session", got, tiny*10)
	}
	h.loop.Do(func() {
		if len(h.messages) != tiny+1 {
			t.Errorf("%d messages delivered, want %d", len(h.messages), tiny+1)
		}
	})
}
