package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/net/websocket/internal/frame"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// TestSessionFailsOnProtocolErrors drives each RFC 6455 rule through a
// session: the server must answer with a close frame carrying the rule's
// code and close the connection, and never deliver the bad message.
func TestSessionFailsOnProtocolErrors(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 126)
	tests := []struct {
		name string
		in   []byte
		code uint16
	}{
		{"§5.1 unmasked client frame: 1002", frame.AppendHeader(nil, true, false, frame.OpText, 0), 1002},
		{"§5.2 RSV2: 1002", []byte{0x80 | 0x20 | 0x1, 0x80, 1, 2, 3, 4}, 1002},
		{"§5.2 RSV1 without deflate: 1002", clientRSV(true, true, frame.OpText, []byte("x")), 1002},
		{"§5.2 reserved opcode: 1002", []byte{0x80 | 0x3, 0x80, 1, 2, 3, 4}, 1002},
		{"§5.5 control frame over 125 bytes: 1002", client(true, frame.OpPing, long), 1002},
		{"§5.5 fragmented ping: 1002", client(false, frame.OpPing, nil), 1002},
		{"§5.4 continuation with no message: 1002", client(true, frame.OpContinuation, []byte("x")), 1002},
		{"§5.4 new message inside a fragmented one: 1002", cat(client(false, frame.OpText, []byte("a")), client(true, frame.OpText, []byte("b"))), 1002},
		{"§8.1 invalid UTF-8 text: 1007", client(true, frame.OpText, []byte("a\xffb")), 1007},
		{"§8.1 invalid UTF-8 across fragments: 1007", cat(client(false, frame.OpText, []byte("\xe2\x82")), client(true, frame.OpContinuation, []byte("("))), 1007},
		{"§8.1 text ends mid-character: 1007", cat(client(false, frame.OpText, []byte("ok")), client(true, frame.OpContinuation, []byte("\xe2\x82"))), 1007},
		{"§5.5.1 close payload of one byte: 1002", client(true, frame.OpClose, []byte{3}), 1002},
		{"§7.4.1 close code 1005 on the wire: 1002", client(true, frame.OpClose, []byte{0x03, 0xED}), 1002},
		{"§7.4.2 close code 999: 1002", client(true, frame.OpClose, []byte{0x03, 0xE7}), 1002},
		{"§8.1 close reason not UTF-8: 1007", client(true, frame.OpClose, append([]byte{0x03, 0xE8}, 0xC0)), 1007},
		{"§7.4.1 message over the limit: 1009", client(true, frame.OpBinary, make([]byte, 1025)), 1009},
		{"§7.4.1 fragments over the limit: 1009", cat(client(false, frame.OpBinary, make([]byte, 1000)), client(true, frame.OpContinuation, make([]byte, 25))), 1009},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Upgrader{MaxMessageBytes: 1024}, deflateParams{}, nil)
			h.feed(tc.in)
			h.sync()
			if got := h.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
			if !h.closed() {
				t.Fatal("connection not closed after a protocol error")
			}
			h.sync()
			h.loop.Do(func() {
				if len(h.messages) != 0 {
					t.Errorf("bad input delivered: %v", h.messages)
				}
				if len(h.closes) != 1 || h.closes[0].code != StatusAbnormalClosure {
					t.Errorf("OnClose = %v, want once with 1006", h.closes)
				}
			})
		})
	}
}

// TestSessionMessages checks reassembly (§5.4), control frames between
// fragments (§5.4, §5.5.2: ping answered by a pong with its data), and
// input arriving in any pieces.
func TestSessionMessages(t *testing.T) {
	in := cat(
		client(true, frame.OpText, []byte("héllo")),
		client(false, frame.OpText, []byte("frag\xe2")),
		client(true, frame.OpPing, []byte("are you there")),
		client(false, frame.OpContinuation, []byte("\x82\xac")),
		client(true, frame.OpPong, nil),
		client(true, frame.OpContinuation, []byte("ment")),
		client(true, frame.OpBinary, bytes.Repeat([]byte{0, 1, 2}, 30000)),
		client(true, frame.OpText, nil),
	)
	want := []message{
		{TextMessage, "héllo"},
		{TextMessage, "frag€ment"},
		{BinaryMessage, string(bytes.Repeat([]byte{0, 1, 2}, 30000))},
		{TextMessage, ""},
	}
	for _, step := range []int{len(in), 1, 7, 100, 4096} {
		t.Run("pieces of "+strconv.Itoa(step), func(t *testing.T) {
			h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
			for i := 0; i < len(in); i += step {
				h.feed(in[i:min(i+step, len(in))])
			}
			h.loop.Do(func() {
				if len(h.messages) != len(want) {
					t.Errorf("%d messages, want %d", len(h.messages), len(want))
					return
				}
				for i := range want {
					if h.messages[i] != want[i] {
						t.Errorf("message %d = %v %q...", i, h.messages[i].typ, trunc(h.messages[i].data))
					}
				}
			})
			fs := h.frames()
			if len(fs) != 1 || fs[0].op != frame.OpPong || string(fs[0].payload) != "are you there" {
				t.Fatalf("server frames %+v, want one pong echoing the ping", fs)
			}
			if h.closed() {
				t.Fatal("closed")
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// TestClientInitiatedClose checks §5.5.1/§7.1.1: the server echoes the
// client's code, closes the TCP connection itself, and reports the
// client's code and reason.
func TestClientInitiatedClose(t *testing.T) {
	tests := []struct {
		name     string
		payload  []byte
		wantEcho uint16
		wantCode StatusCode
		wantWhy  string
	}{
		{"code and reason", closePayload(1000, "bye"), 1000, 1000, "bye"},
		{"application code", closePayload(4001, ""), 4001, 4001, ""},
		{"no code", nil, uint16(StatusNoStatusRcvd), StatusNoStatusRcvd, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
			h.feed(cat(client(true, frame.OpClose, tc.payload), client(true, frame.OpText, []byte("after close"))))
			h.sync()
			if got := h.closeCode(); got != tc.wantEcho {
				t.Fatalf("echoed %d, want %d", got, tc.wantEcho)
			}
			if !h.closed() {
				t.Fatal("server did not close the TCP connection")
			}
			h.sync()
			h.loop.Do(func() {
				if len(h.closes) != 1 || h.closes[0] != (closeEvent{tc.wantCode, tc.wantWhy}) {
					t.Errorf("OnClose = %v", h.closes)
				}
				if len(h.messages) != 0 {
					t.Errorf("message after the close delivered: %v", h.messages)
				}
			})
		})
	}
}

// TestServerInitiatedClose checks §7.1.2: the server sends its close and
// closes when the client's arrives, or after CloseTimeout without it.
func TestServerInitiatedClose(t *testing.T) {
	t.Run("client answers", func(t *testing.T) {
		h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
		var done runtime.Future[struct{}]
		h.loop.Do(func() {
			done = h.c.Close(StatusNormalClosure, "done")
			if f := h.c.Send(TextMessage, []byte("x")); !errors.Is(waitErr(f), ErrClosed) {
				t.Errorf("Send after Close: %v", waitErr(f))
			}
		})
		if got := h.closeCode(); got != 1000 {
			t.Fatalf("close code %d", got)
		}
		if h.closed() {
			t.Fatal("closed before the client's close frame")
		}
		h.feed(client(true, frame.OpClose, closePayload(1000, "")))
		if _, err := done.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		h.loop.Do(func() {
			if len(h.closes) != 1 || h.closes[0].code != 1000 {
				t.Errorf("OnClose = %v", h.closes)
			}
		})
	})
	t.Run("client silent: CloseTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, &Upgrader{CloseTimeout: 3 * time.Second}, deflateParams{}, nil)
			h.loop.Do(func() { h.c.Close(StatusGoingAway, "") })
			time.Sleep(2900 * time.Millisecond)
			synctest.Wait()
			if h.closed() {
				t.Fatal("closed before CloseTimeout")
			}
			time.Sleep(200 * time.Millisecond)
			synctest.Wait()
			if !h.closed() {
				t.Fatal("not closed after CloseTimeout")
			}
			h.sync()
			h.loop.Do(func() {
				if len(h.closes) != 1 || h.closes[0].code != StatusAbnormalClosure {
					t.Errorf("OnClose = %v, want 1006", h.closes)
				}
			})
		})
	})
	t.Run("invalid code refused", func(t *testing.T) {
		h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
		h.loop.Do(func() {
			if err := waitErr(h.c.Close(1005, "")); !errors.Is(err, ErrInvalidCloseCode) {
				t.Errorf("Close(1005) = %v", err)
			}
		})
	})
}

// waitErr returns a ready future's error, or ErrPending.
func waitErr(f runtime.Future[struct{}]) error {
	_, err := f.Get()
	return err
}

// TestShutdownSendsGoingAway checks that a draining server closes each
// session with 1001 and waits for the client's close.
func TestShutdownSendsGoingAway(t *testing.T) {
	h := newHarness(t, &Upgrader{}, deflateParams{}, nil)
	h.loop.Do(h.c.shutdownOnLoop)
	if got := h.closeCode(); got != 1001 {
		t.Fatalf("close code %d, want 1001", got)
	}
	if h.closed() {
		t.Fatal("closed without waiting for the handshake")
	}
	h.feed(client(true, frame.OpClose, closePayload(1001, "")))
	h.sync()
	if !h.closed() {
		t.Fatal("not closed after the client's close")
	}
}

func TestPingTimeouts(t *testing.T) {
	t.Run("silent client is pinged then closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, &Upgrader{PingInterval: 10 * time.Second, PongTimeout: 5 * time.Second}, deflateParams{}, nil)
			time.Sleep(9 * time.Second)
			synctest.Wait()
			if n := len(h.frames()); n != 0 {
				t.Fatalf("%d frames before the ping interval", n)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			fs := h.frames()
			if len(fs) != 1 || fs[0].op != frame.OpPing {
				t.Fatalf("frames %+v, want one ping", fs)
			}
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if h.closed() {
				t.Fatal("closed before PongTimeout")
			}
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if !h.closed() {
				t.Fatal("not closed after PongTimeout")
			}
		})
	})
	t.Run("pong keeps the session", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, &Upgrader{PingInterval: 10 * time.Second, PongTimeout: 5 * time.Second}, deflateParams{}, nil)
			for range 5 {
				time.Sleep(11 * time.Second)
				synctest.Wait()
				h.feed(client(true, frame.OpPong, nil))
			}
			if h.closed() {
				t.Fatal("closed although every ping was answered")
			}
			pings := 0
			for _, f := range h.frames() {
				if f.op == frame.OpPing {
					pings++
				}
			}
			if pings != 5 {
				t.Fatalf("%d pings, want 5", pings)
			}
		})
	})
	t.Run("idle timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, &Upgrader{PingInterval: -1, IdleTimeout: 20 * time.Second}, deflateParams{}, nil)
			time.Sleep(15 * time.Second)
			h.feed(client(true, frame.OpText, []byte("keep me")))
			time.Sleep(15 * time.Second)
			synctest.Wait()
			if h.closeCode() != 0 {
				t.Fatal("closed although a message came within IdleTimeout")
			}
			time.Sleep(6 * time.Second)
			synctest.Wait()
			if got := h.closeCode(); got != 1001 {
				t.Fatalf("close code %d after IdleTimeout, want 1001", got)
			}
		})
	})
}

// TestBackPressure checks the send future: ready under the high-water mark,
// pending above it until the client drains, and a hard limit past which
// the session is closed with 1008.
func TestBackPressure(t *testing.T) {
	h := newHarness(t, &Upgrader{MaxBufferedBytes: 10000}, deflateParams{}, nil)
	h.loop.Do(func() {
		h.ft.highWater = 3000
		if f := h.c.Send(BinaryMessage, make([]byte, 1000)); !f.Ready() {
			t.Error("send under the high-water mark is pending")
		}
		f := h.c.Send(BinaryMessage, make([]byte, 5000))
		if f.Ready() {
			t.Error("send over the high-water mark is ready")
		}
		h.ft.drainOnLoop()
		_ = f
	})
	h.sync()
	h.loop.Do(func() {
		// Fill past the hard limit, as a client that never reads.
		h.c.Send(BinaryMessage, make([]byte, 6000))
		h.c.Send(BinaryMessage, make([]byte, 6000))
		f := h.c.Send(BinaryMessage, []byte("one too many"))
		if !errors.Is(waitErr(f), ErrBufferFull) {
			t.Errorf("send past the hard limit: %v", waitErr(f))
		}
	})
	if got := h.closeCode(); got != 1008 {
		t.Fatalf("close code %d, want 1008", got)
	}
	if !h.closed() {
		t.Fatal("not closed past the hard limit")
	}
}

// TestPanicInCallback checks that a panic in OnMessage closes that session
// with 1011 and is logged once.
func TestPanicInCallback(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	h := newHarness(t, &Upgrader{Logger: zap.New(core)}, deflateParams{}, func(c *Conn, typ MessageType, data []byte) {
		panic("boom")
	})
	h.feed(cat(client(true, frame.OpText, []byte("a")), client(true, frame.OpText, []byte("b"))))
	h.sync()
	if got := h.closeCode(); got != 1011 {
		t.Fatalf("close code %d, want 1011", got)
	}
	if n := logs.Len(); n != 1 {
		t.Fatalf("%d log entries, want 1", n)
	}
	h.loop.Do(func() {
		if len(h.messages) != 1 {
			t.Errorf("%d messages delivered after the panic, want only the first", len(h.messages))
		}
	})
}

// TestEchoFromCallback checks Send from OnMessage, the usual echo.
func TestEchoFromCallback(t *testing.T) {
	h := newHarness(t, &Upgrader{}, deflateParams{}, func(c *Conn, typ MessageType, data []byte) {
		c.Send(typ, data)
	})
	h.feed(cat(client(true, frame.OpText, []byte("one")), client(true, frame.OpBinary, []byte{1, 2})))
	fs := h.frames()
	if len(fs) != 2 || fs[0].op != frame.OpText || string(fs[0].payload) != "one" || fs[1].op != frame.OpBinary || !bytes.Equal(fs[1].payload, []byte{1, 2}) || !fs[0].fin {
		t.Fatalf("echo frames %+v", fs)
	}
}

// TestDeflate checks permessage-deflate both ways (RFC 7692 §7.2): a
// compressed client message is delivered decompressed, the server
// compresses large messages and sends small ones plain, the 1009 limit
// counts decompressed bytes, and UTF-8 is checked after decompression.
func TestDeflate(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15}
	big := bytes.Repeat([]byte("weft websocket "), 1000) // 15000 bytes
	t.Run("both ways", func(t *testing.T) {
		h := newHarness(t, &Upgrader{EnableCompression: true, OffloadAbove: -1}, d, func(c *Conn, typ MessageType, data []byte) {
			c.Send(typ, data)
		})
		h.feed(cat(
			clientRSV(true, true, frame.OpText, deflateMessage(t, big)),
			client(true, frame.OpText, []byte("small")),
			clientRSV(false, true, frame.OpBinary, deflateMessage(t, []byte("fragmented, compressed"))[:5]),
			client(true, frame.OpContinuation, deflateMessage(t, []byte("fragmented, compressed"))[5:]),
		))
		fs := h.frames()
		if len(fs) != 3 {
			t.Fatalf("%d frames", len(fs))
		}
		if !fs[0].rsv1 || !bytes.Equal(inflate(t, fs[0].payload), big) || len(fs[0].payload) >= len(big)/4 {
			t.Errorf("large echo: rsv1=%v, %d bytes", fs[0].rsv1, len(fs[0].payload))
		}
		if fs[1].rsv1 || string(fs[1].payload) != "small" {
			t.Errorf("small echo compressed or wrong: %+v", fs[1])
		}
		if fs[2].rsv1 || string(fs[2].payload) != "fragmented, compressed" {
			t.Errorf("fragmented compressed message: %+v", fs[2])
		}
	})
	t.Run("1009 counted after decompression", func(t *testing.T) {
		h := newHarness(t, &Upgrader{EnableCompression: true, MaxMessageBytes: 10000}, d, nil)
		h.feed(clientRSV(true, true, frame.OpBinary, deflateMessage(t, big)))
		if got := h.closeCode(); got != 1009 {
			t.Fatalf("close code %d, want 1009", got)
		}
	})
	t.Run("1007 for invalid UTF-8 after decompression", func(t *testing.T) {
		h := newHarness(t, &Upgrader{EnableCompression: true}, d, nil)
		h.feed(clientRSV(true, true, frame.OpText, deflateMessage(t, []byte("bad \xff text"))))
		if got := h.closeCode(); got != 1007 {
			t.Fatalf("close code %d, want 1007", got)
		}
	})
	t.Run("1007 for corrupt compressed data", func(t *testing.T) {
		h := newHarness(t, &Upgrader{EnableCompression: true}, d, nil)
		h.feed(clientRSV(true, true, frame.OpBinary, []byte{0xff, 0xff, 0xff, 0xff}))
		if got := h.closeCode(); got != 1007 {
			t.Fatalf("close code %d, want 1007", got)
		}
	})
	t.Run("large messages compress off the loop, in order", func(t *testing.T) {
		h := newHarness(t, &Upgrader{EnableCompression: true, OffloadAbove: 4096}, d, nil)
		var futures []runtime.Future[struct{}]
		h.loop.Do(func() {
			futures = append(futures,
				h.c.Send(TextMessage, big),
				h.c.Send(TextMessage, []byte("after the big one")),
				h.c.SendPrepared(NewPreparedMessage(TextMessage, []byte("prepared, last"))))
			if futures[0].Ready() {
				t.Error("large compression finished on the loop")
			}
		})
		for i, f := range futures {
			if _, err := f.Wait(t.Context()); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		fs := h.frames()
		if len(fs) != 3 || !bytes.Equal(inflate(t, fs[0].payload), big) ||
			string(fs[1].payload) != "after the big one" || string(fs[2].payload) != "prepared, last" {
			t.Fatalf("frames out of order or wrong: %d", len(fs))
		}
	})
}

// TestGroupBroadcast checks a broadcast across two loops: every member gets
// the message, and it is encoded once per encoding.
func TestGroupBroadcast(t *testing.T) {
	g := NewGroup()
	u := &Upgrader{EnableCompression: true}
	plain := []*harness{newHarness(t, u, deflateParams{}, nil), newHarness(t, u, deflateParams{}, nil)}
	zipped := []*harness{newHarness(t, u, deflateParams{enabled: true, windowBits: 15}, nil)}
	all := append(plain, zipped...)
	for _, h := range all {
		h.loop.Do(func() { g.Add(h.c) })
	}
	if g.Len() != 3 {
		t.Fatalf("Len %d", g.Len())
	}
	msg := bytes.Repeat([]byte("broadcast "), 100)
	pm := NewPreparedMessage(TextMessage, msg)
	g.Broadcast(pm)
	for _, h := range all {
		h.sync()
	}
	for i, h := range all {
		fs := h.frames()
		if len(fs) != 1 {
			t.Fatalf("session %d got %d frames", i, len(fs))
		}
		got := fs[0].payload
		if fs[0].rsv1 {
			got = inflate(t, got)
		}
		if !bytes.Equal(got, msg) || fs[0].rsv1 != (i == 2) {
			t.Errorf("session %d: rsv1=%v, %d bytes", i, fs[0].rsv1, len(got))
		}
	}
	pm.mu.Lock()
	encodings := len(pm.frames)
	pm.mu.Unlock()
	if encodings != 2 {
		t.Errorf("%d encodings built for 3 sessions of 2 kinds", encodings)
	}
	// A session that ends leaves the group.
	plain[0].feed(client(true, frame.OpClose, nil))
	plain[0].sync()
	plain[0].sync()
	if g.Len() != 2 {
		t.Fatalf("Len %d after a session ended", g.Len())
	}
}

// TestStats checks the counters beside the HTTP metrics.
func TestStats(t *testing.T) {
	u := &Upgrader{}
	h := newHarness(t, u, deflateParams{}, func(c *Conn, typ MessageType, data []byte) { c.Send(typ, data) })
	h.feed(client(true, frame.OpText, []byte("12345")))
	h.sync()
	s := u.Stats()
	if s.Open != 1 || s.Opened != 1 || s.MessagesIn != 1 || s.MessagesOut != 1 || s.BytesIn != 5 || s.BytesOut != 5 {
		t.Fatalf("%+v", s)
	}
	h.loop.Do(func() { h.ft.Close() })
	h.sync()
	if s := u.Stats(); s.Open != 0 {
		t.Fatalf("Open %d after close", s.Open)
	}
}

// TestClosedInsideClose checks the paths that close the connection from
// inside a callback or a frame, with a transport that reports the
// connection gone before Close returns.
func TestClosedInsideClose(t *testing.T) {
	tests := []struct {
		name string
		on   func(c *Conn, typ MessageType, data []byte)
		in   []byte
		code uint16
	}{
		{"panic in OnMessage", func(*Conn, MessageType, []byte) { panic("boom") }, client(true, frame.OpText, []byte("a")), 1011},
		{"Close in OnMessage", func(c *Conn, _ MessageType, _ []byte) { c.Close(4000, "") }, client(true, frame.OpText, []byte("a")), 4000},
		{"protocol error", nil, client(true, frame.OpText, []byte("\xff")), 1007},
		{"client close", nil, client(true, frame.OpClose, closePayload(1000, "")), 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Upgrader{}, deflateParams{}, tc.on)
			h.loop.Do(func() { h.ft.syncClose = true })
			h.feed(cat(tc.in, client(true, frame.OpText, []byte("more"))))
			if got := h.closeCode(); got != tc.code {
				t.Fatalf("close code %d, want %d", got, tc.code)
			}
			h.loop.Do(func() {
				if tc.code != 4000 && (!h.ft.closed || len(h.closes) != 1) {
					t.Errorf("closed=%v, OnClose %v", h.ft.closed, h.closes)
				}
			})
		})
	}
}

// TestPendingCompressionsCountAgainstTheLimit checks that sends waiting
// behind off-loop compressions count toward MaxBufferedBytes, so a
// producer that ignores the futures cannot queue copies without bound.
func TestPendingCompressionsCountAgainstTheLimit(t *testing.T) {
	d := deflateParams{enabled: true, windowBits: 15}
	h := newHarness(t, &Upgrader{EnableCompression: true, OffloadAbove: 1024, MaxBufferedBytes: 100000}, d, nil)
	msg := bytes.Repeat([]byte("x"), 30000)
	h.loop.Do(func() {
		var err error
		sent := 0
		for ; sent < 10 && err == nil; sent++ {
			_, err = h.c.Send(BinaryMessage, msg).Get()
			if errors.Is(err, runtime.ErrPending) {
				err = nil
			}
		}
		if !errors.Is(err, ErrBufferFull) || sent != 5 {
			t.Errorf("after %d sends of 30000 bytes: %v; want ErrBufferFull at the 5th", sent, err)
			return
		}
	})
	if got := h.closeCode(); got != 1008 {
		t.Fatalf("close code %d, want 1008", got)
	}
}

// TestPanicInOnOpen checks that a panic in OnOpen closes the session with
// 1011, as one in OnMessage does.
func TestPanicInOnOpen(t *testing.T) {
	cfg, _ := (&Upgrader{}).configure()
	loop := runtimetest.NewLoop(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ft := &fakeTransport{loop: loop, ctx: ctx, cancel: cancel}
	closes := 0
	c := newConn(cfg, Handler{
		OnOpen:  func(*Conn) { panic("boom") },
		OnClose: func(*Conn, StatusCode, string) { closes++ },
	}, "", deflateParams{})
	ft.c = c
	loop.Do(func() { c.openOnLoop(ft) })
	loop.Do(func() {})
	h := &harness{t: t, loop: loop, ft: ft, c: c}
	if got := h.closeCode(); got != 1011 {
		t.Fatalf("close code %d, want 1011", got)
	}
	loop.Do(func() {
		if !ft.closed || closes != 1 {
			t.Errorf("closed %v, OnClose called %d times", ft.closed, closes)
		}
	})
}

// TestFrameIsOneWrite checks that a data frame up to 64 KiB, header and
// payload, is handed to the connection in one Write: one write(2) and one
// TCP segment, rather than a header the client is woken for alone, then
// its payload. A larger one may take two.
func TestFrameIsOneWrite(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes int
	}{
		{"64 B", 64, 1},
		{"16 KiB", 16 << 10, 1},
		{"64 KiB less the header", maxPooledBuf - 4, 1},
		{"over 64 KiB", maxPooledBuf + 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &Upgrader{MaxMessageBytes: 1 << 20}, deflateParams{}, func(c *Conn, typ MessageType, data []byte) {
				c.Send(typ, data)
			})
			h.loop.Do(func() { h.ft.writes = 0 })
			h.feed(client(true, frame.OpBinary, make([]byte, tt.size)))
			h.sync()
			var writes int
			h.loop.Do(func() { writes = h.ft.writes })
			if writes != tt.writes {
				t.Fatalf("echo of %d bytes: %d writes, want %d", tt.size, writes, tt.writes)
			}
			if f := h.frames(); len(f) != 1 || len(f[0].payload) != tt.size {
				t.Fatalf("frames %d, want one of %d bytes", len(f), tt.size)
			}
		})
	}
}

// TestGroupBroadcastReachesMembersOfItsTime: a broadcast goes to the
// sessions that were members when Broadcast was called. One added on the
// same loop after the call, before the loop's task runs, does not get it
// (a chat that replays its history to a joining session, then adds it,
// would otherwise show it a message twice).
func TestGroupBroadcastReachesMembersOfItsTime(t *testing.T) {
	g := NewGroup()
	u := &Upgrader{PingInterval: -1}
	old := newHarness(t, u, deflateParams{}, nil)
	late := newHarnessOn(t, old.loop, u, deflateParams{}, nil)
	old.loop.Do(func() {
		g.Add(old.c)
		g.Broadcast(NewPreparedMessage(TextMessage, []byte("before")))
		g.Add(late.c) // the broadcast's task has not run yet
	})
	g.Broadcast(NewPreparedMessage(TextMessage, []byte("after")))
	old.sync()
	old.sync()
	var got [2][]string
	for i, h := range []*harness{old, late} {
		for _, f := range h.frames() {
			got[i] = append(got[i], string(f.payload))
		}
	}
	if fmt.Sprint(got[0]) != "[before after]" || fmt.Sprint(got[1]) != "[after]" {
		t.Fatalf("the member of before got %q, the one added after the first broadcast %q; want [before after] and [after]", got[0], got[1])
	}
}
