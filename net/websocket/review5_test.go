package websocket

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// Review 5 of issue 12: session-level bugs, on the fake transport. Each
// test fails on the code it was written against; see the commit messages.

// TestReview5ShutdownBeforeFirstTraffic: net may tell a protocol of a
// drain (Upgraded.shutdownOnLoop checks gone and closing, not started)
// between the hand-over and the first Traffic call, which is the next pass
// of the connection. Closed already copes with that order (protocol.go:
// "gone before it started"); Shutdown does not: Close writes through c.t,
// still nil, and panics (net logs "panic in an upgraded protocol's
// Shutdown" and closes without a 1001). Latent: net posts the pass that
// calls Traffic in the same pass as the hand-over, before a drain's
// closeIdle task can be queued, so no socket test reaches it today; any
// reordering in net would.
func TestReview5ShutdownBeforeFirstTraffic(t *testing.T) {
	cfg, err := (&Upgrader{}).configure()
	if err != nil {
		t.Fatal(err)
	}
	p := (*protocol)(newConn(cfg, Handler{}, "", deflateParams{}))
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Shutdown before the first Traffic panicked: %v", r)
		}
	}()
	p.Shutdown()
}

// TestReview5StatsCountOnlyMessagesSent: Stats.MessagesOut is documented
// as "data messages handed to the socket" (and BytesOut their bytes), but
// Send counts a message when it is queued behind an off-loop compression
// (conn.go:464-465); a Close before the compression settles rejects it
// with ErrClosed, and it stays counted as sent.
func TestReview5StatsCountOnlyMessagesSent(t *testing.T) {
	u := &Upgrader{PingInterval: -1}
	h := newHarness(t, u, deflateParams{enabled: true, windowBits: 15}, nil)
	var sent runtime.Future[struct{}]
	h.loop.Do(func() {
		sent = h.c.Send(BinaryMessage, bytes.Repeat([]byte("x"), 64<<10)) // past OffloadAbove: off the loop
		h.c.Close(StatusNormalClosure, "")
	})
	if _, err := sent.Wait(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("send: %v, want ErrClosed (the close overtook it)", err)
	}
	if s := u.Stats(); s.MessagesOut != 0 || s.BytesOut != 0 {
		t.Fatalf("Stats %+v: a message never handed to the socket counted as sent", s)
	}
}

// TestReview5MaxMessageBytesNearMaxInt64: MaxMessageBytes accepts any
// positive int64, and a user who wants no limit will write
// math.MaxInt64. Stream.Begin then computes the compressed bound as
// maxMessage + maxMessage>>8 + 1024, which overflows to a negative limit
// (internal/frame/stream.go:64), so every compressed message fails with
// 1009; enqueueOnLoop's 2*maxMessage and inflater.read's start+max+1
// overflow too (inbound.go:161, deflate.go:267). A 5-byte compressed
// message must be delivered.
func TestReview5MaxMessageBytesNearMaxInt64(t *testing.T) {
	h := newHarness(t, &Upgrader{MaxMessageBytes: math.MaxInt64, PingInterval: -1}, deflateParams{enabled: true, windowBits: 15}, nil)
	h.feed(clientRSV(true, true, frame.OpText, deflateMessage(t, []byte("hello"))))
	h.sync()
	if code := h.closeCode(); code != 0 {
		t.Fatalf("closed with %d", code)
	}
	h.loop.Do(func() {
		if len(h.messages) != 1 || h.messages[0].data != "hello" {
			t.Errorf("messages %v, want hello", h.messages)
		}
	})
}

// TestReview5WindowBitsMustBeDigits: RFC 7692 §7.1.2.1 and §7.1.2.2 give
// the window bits parameters the value 1*DIGIT ("8" to "15"), and §7 has
// the server decline an offer with an invalid value. windowBits
// (deflate.go:155) hands the value to strconv.Atoi, which takes a sign:
// "+9" is accepted, and the response echoes server_max_window_bits=9.
func TestReview5WindowBitsMustBeDigits(t *testing.T) {
	for _, offer := range []string{
		"permessage-deflate; server_max_window_bits=+9",
		"permessage-deflate; client_max_window_bits=+9",
	} {
		resp := negotiateOver(t, &Upgrader{EnableCompression: true}, upgradeRequest("Sec-WebSocket-Extensions: "+offer))
		if got := resp.Header.Get("X-Extensions"); got != "" {
			t.Errorf("offer %q accepted with %q; want it declined", offer, got)
		}
	}
}

// TestReview5ShutdownBeforeFirstTrafficClosesOnOpen: the drain that came
// before the session opened is not forgotten: once the session opens (its
// first Traffic), it sends 1001 as any draining session does.
func TestReview5ShutdownBeforeFirstTrafficClosesOnOpen(t *testing.T) {
	cfg, err := (&Upgrader{PingInterval: -1}).configure()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, loop: runtimetest.NewLoop(t)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.ft = &fakeTransport{loop: h.loop, ctx: ctx, cancel: cancel}
	opened := false
	h.c = newConn(cfg, Handler{OnOpen: func(*Conn) { opened = true }}, "", deflateParams{})
	h.ft.c = h.c
	h.loop.Do(func() {
		(*protocol)(h.c).Shutdown()
		h.c.openOnLoop(h.ft)
	})
	if code := h.closeCode(); !opened || code != uint16(StatusGoingAway) {
		t.Fatalf("opened %v, close code %d; want OnOpen then a 1001", opened, code)
	}
}
